"""How long does `genrekit benchmark` take on a realistic summary table?

Builds a real feature store (HDF5 shards written with the cache module's ShardWriter, summary
vectors computed by genrekit's own summary code) of synthetic tracks — by default 1,000 tracks,
10 labels, 10 artists per label, 519 summary columns — then times the whole benchmark path
(open store → split → svm, knn, gmm, rf, logreg × 5 folds → results, report, figures) through
:func:`genrekit.pipeline.evaluation.runner.run_benchmark`.

    python benchmarks/benchmark_speed.py                  # 1,000 tracks, 2 workers
    python benchmarks/benchmark_speed.py --workers 1 --tracks 500

Target (issue 3): under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEATURES = ("mfcc", "mfcc_delta", "chroma", "contrast", "centroid", "bandwidth", "rolloff", "flatness",
            "zcr", "rms", "onset", "tempo")


def build_store(path: Path, n_tracks: int, n_labels: int = 10, artists_per_label: int = 10,
                n_frames: int = 64, seed: int = 0, label_spread: float = 0.03, artist_spread: float = 0.03) -> Path:
    """A store of ``n_tracks`` synthetic tracks whose frames depend on label and artist."""
    from genrekit.cache import SCHEMA_VERSION, ShardWriter, TrackRow, write_index
    from genrekit.features import FeatureConfig, summary_vector
    from genrekit.pipeline.extraction.worker import shard_writer_args

    config = FeatureConfig(features=FEATURES, n_mfcc=24)
    dims = config.feature_dims()
    chash = config.hash()
    rng = np.random.default_rng(seed)
    label_mean = {f: rng.normal(0, label_spread, (n_labels, dims[f])) for f in config.frame_features}
    artist_mean = {f: rng.normal(0, artist_spread, (n_labels, artists_per_label, dims[f]))
                   for f in config.frame_features}
    args = shard_writer_args(config)
    index = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": {chash: config.to_json()},
             "current_config": chash}
    path.mkdir(parents=True, exist_ok=True)
    writer = None
    for i in range(n_tracks):
        lab, art = i % n_labels, (i // n_labels) % artists_per_label
        if writer is None:
            writer = ShardWriter(path, **args)
        frames = {f: (label_mean[f][lab] + artist_mean[f][lab, art]
                      + rng.normal(0, 1, (n_frames, dims[f]))).astype(np.float32) for f in config.frame_features}
        feats = {f: x.T for f, x in frames.items()}
        feats["tempo"] = np.array([90 + 5 * lab + rng.normal(0, 8)], np.float32)
        tid = f"genre{lab}/track{i:05d}.wav"
        row = TrackRow(id=tid, path=tid, label=f"genre{lab}", group=f"genre{lab}-artist{art}", split=None,
                       content_hash=hashlib.blake2b(tid.encode(), digest_size=16).hexdigest(), duration=30.0,
                       sample_rate=22050, file_size=1, file_mtime_ns=i, n_frames=n_frames)
        writer.add_track(row, frames, {"tempo": feats["tempo"]}, summary_vector(feats, config))
        if writer.n_tracks >= 250:
            index["shards"][writer.name] = writer.close()
            writer = None
    if writer is not None:
        index["shards"][writer.name] = writer.close()
    write_index(path, index)
    return path


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished child processes."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracks", type=int, default=1000)
    p.add_argument("--models", default="svm,knn,gmm,rf,logreg")
    p.add_argument("--split", default="group-kfold:5")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--keep", metavar="DIR", default=None, help="write store and run here instead of a temp folder")
    args = p.parse_args(argv)

    from genrekit.cache.store import FeatureStore
    from genrekit.pipeline.evaluation.runner import run_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        store = base / "store"
        t0 = time.perf_counter()
        if not (store / "index.json").exists():  # --keep DIR reuses a store built before
            build_store(store, args.tracks)
        t_store = time.perf_counter() - t0
        X, names = FeatureStore(store).summary()
        print(f"store: {X.shape[0]} tracks x {X.shape[1]} summary columns ({t_store:.1f} s to build)")
        cpu0 = _cpu_seconds()
        t0 = time.perf_counter()
        result = run_benchmark(store, args.models, split=args.split, seed=0, out=base / time.strftime("run-%Y%m%d-%H%M%S"),
                               workers=args.workers, progress=False)
        seconds = time.perf_counter() - t0
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)  # so the workers' CPU time is counted
        cpu = _cpu_seconds() - cpu0
        fits = sum(f["fit_cpu_seconds"] for m in result.results["models"].values() for f in m.get("folds", []))
        print(result.table())
        print(f"benchmark: {args.models} x {result.split.n_folds} folds ({result.split.spec}) on "
              f"{args.workers} worker{'s' if args.workers > 1 else ''} (cpu count {os.cpu_count()}): "
              f"{seconds:.1f} s wall")
        print(f"CPU time: {cpu:.1f} s in all (this process and its workers: imports, fits, reports, figures), "
              f"{fits:.1f} s of it fitting; unlike wall time, unaffected by other load "
              f"(load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
