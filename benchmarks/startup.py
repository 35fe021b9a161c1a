"""Start-up cost of the command line: ``genrekit --version``, ``--help``, ``extract --help``, and how
long a one-worker ``genrekit extract`` takes before it opens its first audio file (and until the
whole command is done), on a small folder of audio.

The first file's start is seen from inside the process by an audit hook (``sys.addaudithook``,
event ``open``): the first Python-level ``open()`` of a path under the audio folder, which is the
content hash at the start of a file's work. Times are from the interpreter's start as the parent
sees it (``time.time()`` before ``subprocess.run``), so they include Python's own start-up.

    python benchmarks/startup.py [AUDIO_DIR] [--rounds 5]

AUDIO_DIR: any folder of audio (default: ../shared/data/gtzan-mini when present, else a folder
of generated clips). Goals (issue 16): --help / --version < 0.3 s; first file < 0.5 s.
Also prints the interpreter's bare start-up (``python -c pass``) as the reference of the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import os, sys, time
audio = os.path.abspath(sys.argv[1]); out = sys.argv[2]; argv = sys.argv[3:]
seen = []
def hook(event, args):
    if event == "open" and not seen and isinstance(args[0], str) and os.path.abspath(args[0]).startswith(audio + os.sep):
        seen.append(time.time())
sys.addaudithook(hook)
from genrekit.cli import main
rc = main(argv)
with open(out, "w") as f:
    f.write(f"{seen[0] if seen else 'nan'} {time.time()}")
sys.exit(rc)
"""


def _wall(cmd: list[str]) -> float:
    t = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - t


def _extract(audio: str, workers: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "t")
        argv = ["extract", audio, "--store", os.path.join(tmp, "store"), "--workers", str(workers), "--no-progress"]
        t = time.time()
        subprocess.run([sys.executable, "-c", CHILD, audio, out] + argv, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time()
        first = float(open(out).read().split()[0])
    return first - t, end - t


def _default_audio() -> str:
    gtzan = os.path.join(ROOT, "..", "shared", "data", "gtzan-mini")
    if os.path.isdir(gtzan):
        return gtzan
    sys.path.insert(0, ROOT)
    from genrekit.pipeline.datasets.synth import make_dataset

    folder = os.path.join(tempfile.gettempdir(), "genrekit-startup-audio")
    make_dataset(folder, artists_per_genre=1, clips_per_artist=1, duration=30.0)
    return folder


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", default=None, help="folder of audio (default: gtzan-mini or generated)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--files", type=int, default=3, help="files of AUDIO_DIR the extract reads (default: 3)")
    args = ap.parse_args(argv)
    audio = args.audio or _default_audio()
    with tempfile.TemporaryDirectory() as few:
        picked = sorted(os.path.join(d, f) for d, _, fs in os.walk(audio) for f in fs
                        if f.lower().endswith((".mp3", ".wav", ".flac", ".ogg", ".au")))[:args.files]
        for i, src in enumerate(picked):
            os.symlink(os.path.abspath(src), os.path.join(few, f"{i:03d}{os.path.splitext(src)[1]}"))
        py = [sys.executable]
        cases = {
            "python -c pass (reference)": lambda: _wall(py + ["-c", "pass"]),
            "genrekit --version": lambda: _wall(py + ["-m", "genrekit", "--version"]),
            "genrekit --help": lambda: _wall(py + ["-m", "genrekit", "--help"]),
            "genrekit extract --help": lambda: _wall(py + ["-m", "genrekit", "extract", "--help"]),
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        firsts, wholes = [], []
        for _ in range(args.rounds):  # interleaved rounds: a busy moment hits every case alike
            for k, f in cases.items():
                times[k].append(f())
            first, whole = _extract(few, 1)
            firsts.append(first)
            wholes.append(whole)
        times[f"extract --workers 1 ({len(picked)} files): first file opened"] = firsts
        times[f"extract --workers 1 ({len(picked)} files): whole command"] = wholes
    ref = statistics.median(times["python -c pass (reference)"])
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    print(f"{'case':58s} {'median s':>9s} {'min s':>7s} {'x python':>9s}")
    for k, v in times.items():
        print(f"{k:58s} {statistics.median(v):9.3f} {min(v):7.3f} {statistics.median(v) / ref:9.1f}")


if __name__ == "__main__":
    main()
