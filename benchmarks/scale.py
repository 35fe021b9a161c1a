"""How each step's cost grows with the store: simulated stores of 1k … 1M tracks.

A store of N tracks is built by simulation: shards of 64 tracks (the default --shard-size)
written through genrekit's own :class:`~genrekit.cache.ShardWriter` with generated feature values
(features mfcc, rms, tempo: 148 summary columns; 4 frames per track) and its index written with
:func:`~genrekit.cache.write_index`; each track is a hard link to a small audio file (one per 1,000 tracks) in a
folder per label (10 labels, 100 artists), so a re-run of ``extract`` lists and stats N real
directory entries. Then, per size, each step runs in a child process of its own, which reports
its seconds (after its imports) and its peak resident memory (``wait4``):

    plan       a re-run of extract over the fully cached store: scan the folder, open the
               index, look up every track (all skipped as cached); the first open after the
               simulated extraction also builds the rows file from every shard
    replan     the same again (the rows file current)
    index      load_index + write_index of the whole index (a run's merges only append to it)
    open       FeatureStore(path)
    summary    FeatureStore.summary(): the (N, 148) float32 matrix
    frames     frames of a random 1 % of the tracks
    verify     verify_store (every shard opened, checked and hashed)
    parquet    export_table(format="parquet")
    classic    run_benchmark(logreg, linsvm, knn) on a 20 % holdout (knn skipped above 100k)

and prints a table of seconds and peak MB per size, with the growth factor per 10x
(10 = linear).

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--steps plan,open,...] [--keep DIR]

Default sizes 1k, 10k and 100k take a few minutes on 2 cores; add 1000000 for the 1M row
(built in about 5 min on a quiet 2-core machine: 1M directory entries, ~3 GB of disk with its rows
file; every step together then takes about 10 min). ``--keep DIR`` builds once and reuses.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FEATURES = ("mfcc", "rms", "tempo")
STEPS = ("plan", "replan", "index", "open", "summary", "frames", "verify", "parquet", "classic")
SHARD = 64
N_FRAMES = 4


def _config():
    from genrekit.features.config import FeatureConfig

    return FeatureConfig(features=FEATURES)


def build(root: str, n: int) -> tuple[str, str]:
    """Audio folder (hard links) and store of ``n`` simulated tracks under ``root``."""
    import numpy as np
    import soundfile as sf

    from genrekit import __version__
    from genrekit.cache import ShardWriter, TrackRow, write_index
    from genrekit.features.extract import summary_names

    audio, store = os.path.join(root, "audio"), os.path.join(root, "store")
    os.makedirs(store, exist_ok=True)
    config = _config()
    dims = config.feature_dims()
    args = dict(config_json=config.to_json(), config_hash=config.hash(),
                frame_dims={k: dims[k] for k in config.frame_features},
                track_dims={k: dims[k] for k in config.track_features},
                summary_names=summary_names(config), genrekit_version=__version__)
    n_sum = len(args["summary_names"])
    rng = np.random.default_rng(n)
    index = {"schema_version": 1, "shards": {}, "configs": {config.hash(): config.to_json()},
             "current_config": config.hash()}
    for a in range(0, n, SHARD):
        w = ShardWriter(store, **args, flush_rows=SHARD)
        for i in range(a, min(n, a + SHARD)):
            label = f"g{i % 10}"
            folder = os.path.join(audio, label, f"{i // 1000:04d}")
            base = os.path.join(root, f"base{i // 1000:04d}.wav")  # (a file takes at most 65,000 links)
            if not os.path.exists(base):
                os.makedirs(folder, exist_ok=True)
                sf.write(base, np.zeros(2205, np.float32), 22050)
            os.makedirs(folder, exist_ok=True)
            st = os.stat(base)
            path = os.path.join(folder, f"t{i:07d}.wav")
            os.link(base, path)
            tid = f"{label}/{i // 1000:04d}/t{i:07d}.wav"
            row = TrackRow(id=tid, path=path, label=label, group=f"artist{i % 100}", split=None,
                           content_hash=f"{i:064x}", duration=30.0, sample_rate=22050, file_size=st.st_size,
                           file_mtime_ns=st.st_mtime_ns, n_frames=N_FRAMES)
            mu = (i % 10) * 0.3
            frames = {k: (rng.standard_normal((N_FRAMES, d)) + mu).astype(np.float32)
                      for k, d in args["frame_dims"].items()}
            track = {k: rng.standard_normal(d).astype(np.float32) for k, d in args["track_dims"].items()}
            w.add_track(row, frames, track, (rng.standard_normal(n_sum) + mu).astype(np.float32))
        index["shards"][w.name] = w.close()
    write_index(store, index)
    return audio, store


# ------------------------------------------------------------------ steps (run in a child process)
def step(name: str, audio: str, store: str, out: str) -> float:
    import numpy as np

    if name in ("plan", "replan"):
        from genrekit.pipeline.extraction.run import extract
        from genrekit.pipeline.extraction.sources import scan_folder

        t = time.perf_counter()
        rep = extract(scan_folder(audio).tracks, store, _config(), workers=1, progress=False)
        assert rep.n_extracted == 0 and rep.n_cached > 0, rep.line()
        return time.perf_counter() - t
    if name == "index":
        from pathlib import Path

        import genrekit.cache.index as idx
        from genrekit.cache import load_index, write_index

        t = time.perf_counter()
        index, _ = load_index(Path(store))
        idx._ON_DISK.clear()  # written whole (what a run pays when it folds the journal in)
        write_index(store, index)
        return time.perf_counter() - t
    from genrekit.cache import FeatureStore

    t = time.perf_counter()
    fs = FeatureStore(store)
    if name == "open":
        return time.perf_counter() - t
    t = time.perf_counter()
    if name == "summary":
        X, _ = fs.summary()
        assert X.shape[0] == len(fs)
    elif name == "frames":
        ids = fs.ids
        pick = np.random.default_rng(0).choice(len(ids), max(1, len(ids) // 100), replace=False)
        for i in sorted(pick):
            fs.frames(ids[i])
    elif name == "verify":
        from genrekit.cache.verify import verify_store

        fs.close()
        t = time.perf_counter()
        assert verify_store(store).ok
    elif name == "parquet":
        from genrekit.pipeline.tables.export import export_table

        export_table(fs, "parquet", os.path.join(out, "x.parquet"), progress=False)
    elif name == "classic":
        from genrekit.pipeline.evaluation.runner import run_benchmark

        models = "logreg,linsvm" + (",knn" if len(fs) <= 100_000 else "")
        run_benchmark(fs, models, split="holdout:0.2", out=os.path.join(out, "run"), workers=1, progress=False)
    return time.perf_counter() - t


def run_step(name: str, audio: str, store: str, tmp: str) -> tuple[float, float]:
    """(seconds, peak resident MB) of one step in a child process of its own."""
    out = tempfile.mkdtemp(dir=tmp)
    code = ("import sys, json, resource; sys.path.insert(0, sys.argv[1]); import scale; "
            "s = scale.step(*sys.argv[2:]); "
            "print(json.dumps([s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, "benchmarks"), name, audio, store, out],
                       cwd=ROOT, capture_output=True, env=env)
    shutil.rmtree(out, ignore_errors=True)
    if p.returncode:
        raise RuntimeError(f"step {name} failed:\n{p.stderr.decode()[-2000:]}")
    sec, mb = json.loads(p.stdout.decode().strip().splitlines()[-1])
    return sec, mb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--keep", default=None, metavar="DIR", help="build (or reuse) the stores under DIR")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    steps = [s for s in args.steps.split(",") if s]
    tmp = args.keep or tempfile.mkdtemp(prefix="genrekit-scale-")
    results = {}
    try:
        for n in sizes:
            root = os.path.join(tmp, f"n{n}")
            t = time.perf_counter()
            if os.path.isdir(os.path.join(root, "store")) and args.keep:
                audio, store = os.path.join(root, "audio"), os.path.join(root, "store")
            else:
                shutil.rmtree(root, ignore_errors=True)
                audio, store = build(root, n)
            print(f"built {n} tracks in {time.perf_counter() - t:.1f} s (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr, flush=True)
            for s in steps:
                results[n, s] = run_step(s, audio, store, tmp)
                print(f"  {n:>8d} {s:8s} {results[n, s][0]:8.2f} s {results[n, s][1]:8.0f} MB",
                      file=sys.stderr, flush=True)
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    _table(sizes, steps, results)


def _table(sizes, steps, results):
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; seconds (peak MB); "
          "x = growth per 10x tracks (10 = linear)")
    head = f"{'step':8s} " + " ".join(f"{n:>18,d}" for n in sizes)
    print(head)
    for s in steps:
        cells = []
        for i, n in enumerate(sizes):
            sec, mb = results[n, s]
            g, prev = "", results[sizes[i - 1], s][0] if i else 0
            if prev > 0:  # growth per 10x, whatever the ratio of the two sizes
                g = f"x{(sec / prev) ** (1 / math.log10(n / sizes[i - 1])):.0f}"
            cells.append(f"{sec:7.2f} ({mb:5.0f}) {g:>4s}")
        print(f"{s:8s} " + " ".join(f"{c:>18s}" for c in cells))


if __name__ == "__main__":
    main()
