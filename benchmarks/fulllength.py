"""Extraction of real full-length music: files/s, x real time and peak memory per worker, with
and without ``--duration 30``.

Point it at a folder of full-length tracks, e.g. the freely licensed game soundtracks Debian
ships (never commit them)::

    cd /tmp && apt-get download warzone2100-music hyperrogue-music
    dpkg-deb -x warzone2100-music_*.deb wz && dpkg-deb -x hyperrogue-music_*.deb hr
    python benchmarks/fulllength.py /tmp/wz/usr/share/games/warzone2100/music --files 8

(warzone2100-music: 30 Opus tracks of 3-14 min at 48 kHz stereo; hyperrogue-music: 17 OGG
Vorbis tracks of 0.5-2.3 min at 44.1 kHz stereo.) Each setting is one whole ``genrekit extract``
into a fresh store, run in a child process that reports its own peak RSS (the work of
``--workers 1`` runs there) and the largest of its worker processes' (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AUDIO = (".mp3", ".wav", ".flac", ".ogg", ".opus", ".au")

CHILD = r"""
import json, resource, sys, time
from genrekit.cli import main
t = time.perf_counter()
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t,
                  "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def run(folder: str, workers: int, duration: float | None, tmp: str) -> dict:
    store = tempfile.mkdtemp(dir=tmp)
    argv = ["extract", folder, "--store", store, "--no-progress", "--workers", str(workers)]
    if duration:
        argv += ["--duration", str(duration)]
    p = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"extract failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--files", type=int, default=8, help="the first N audio files of FOLDER (default 8)")
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args(argv)
    import soundfile as sf

    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.folder) for f in fs
                   if f.lower().endswith(AUDIO))[:args.files]
    if not files:
        raise SystemExit(f"no audio files in {args.folder}")
    seconds = [sf.info(f).duration for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "audio")
        os.makedirs(folder)
        for i, f in enumerate(files):
            os.symlink(os.path.abspath(f), os.path.join(folder, f"{i:03d}-{os.path.basename(f)}"))
        print(f"{len(files)} files, {sum(seconds) / 60:.1f} min of audio (longest {max(seconds) / 60:.1f} min); "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        print(f"{'setting':28s} {'wall s':>8s} {'files/s':>8s} {'x real time':>12s} {'peak MB parent':>15s} "
              f"{'peak MB worker':>15s}")
        for duration in (None, 30.0):
            audio = sum(min(s, duration) if duration else s for s in seconds)
            for w in (int(x) for x in args.workers.split(",")):
                t = time.perf_counter()
                r = run(folder, w, duration, tmp)
                wall = time.perf_counter() - t
                name = f"--workers {w}" + (f" --duration {duration:g}" if duration else " (whole tracks)")
                print(f"{name:28s} {wall:8.1f} {len(files) / wall:8.2f} {audio / wall:12.1f} {r['self_mb']:15.0f} "
                      f"{r['children_mb'] if w > 1 else float('nan'):15.0f}", flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
