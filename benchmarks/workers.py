"""Whole-command wall clock of ``genrekit extract`` by worker count and collection size.

Builds (once, in a temporary folder) collections of N distinct real clips from a folder of audio
(benchmarks/collection.py: the files as they are, then FLAC copies with a tiny gain so each has its
own content hash), then runs whole ``genrekit extract`` commands into fresh stores, in
interleaved rounds (every size x worker setting once per round, so a busy moment on a shared
machine hits them alike), and prints medians and the ratios against ``--workers 1`` of the same
run. Goals (issue 16): the default (no --workers) is never slower than --workers 1 at any size,
and --workers 2 is >= 1.5x --workers 1 on 101 clips.

    python benchmarks/workers.py [AUDIO_DIR] [--sizes 2,10,101] [--workers 1,2,default] [--rounds 3]

AUDIO_DIR defaults to ../shared/data/gtzan-mini (50 real 30-s GTZAN clips).
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
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from collection import make_collection  # noqa: E402


def run_once(audio: str, workers: str, tmp: str) -> float:
    store = tempfile.mkdtemp(dir=tmp)
    cmd = [sys.executable, "-m", "genrekit", "extract", audio, "--store", store, "--no-progress"]
    if workers != "default":
        cmd += ["--workers", workers]
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="?", default=os.path.join(ROOT, "..", "shared", "data", "gtzan-mini"))
    ap.add_argument("--sizes", default="2,10,101")
    ap.add_argument("--workers", default="1,2,default")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.audio):
        raise SystemExit(f"no audio folder at {args.audio}; pass one")
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = args.workers.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        colls = {n: os.path.join(tmp, f"c{n}") for n in sizes}
        for n, d in colls.items():
            make_collection(args.audio, d, n)
        times = {(n, w): [] for n in sizes for w in settings}
        loads = []
        for r in range(args.rounds):
            for n in sizes:
                for w in settings:
                    times[n, w].append(run_once(colls[n], w, tmp))
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1}/{args.rounds} done, load average {loads[-1]:.2f}", file=sys.stderr)
    print(f"{os.cpu_count()} CPUs; 1-min load average after each round: {', '.join(f'{x:.1f}' for x in loads)}")
    print(f"{'files':>6s} {'workers':>8s} {'median s':>9s} {'min s':>7s} {'ms/file':>8s} {'x workers 1':>12s}")
    for n in sizes:
        base = statistics.median(times[n, "1"]) if (n, "1") in times else None
        for w in settings:
            med = statistics.median(times[n, w])
            ratio = f"{base / med:12.2f}" if base else f"{'':12s}"
            print(f"{n:6d} {w:>8s} {med:9.2f} {min(times[n, w]):7.2f} {1000 * med / n:8.0f} {ratio}")


if __name__ == "__main__":
    main()
