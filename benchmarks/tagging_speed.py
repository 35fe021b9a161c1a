"""How much more does tagging cost than genre classification on the same tracks?

Builds one real feature store (HDF5 shards through the cache's ShardWriter, genrekit's own summary
vectors) of synthetic tracks — by default 1,000 tracks, 10 labels, 10 artists per label, 50 tags
(each tag shifts a few feature dimensions; an artist's tracks share most of their tags) — then runs
the same models on the same artist-grouped 5 folds twice through
:func:`genrekit.pipeline.evaluation.runner.run_benchmark`: ``--task genre`` (one label per track)
and ``--task tagging`` (50 tags, multi-hot). Prints, per model, the fit CPU seconds of both and
their ratio, plus the tagging run's threshold-choosing time (inner folds of each training fold).

    python benchmarks/tagging_speed.py                         # 1,000 tracks x 50 tags, 2 workers
    python benchmarks/tagging_speed.py --models logreg,svm --tags 20

Issue 13: one-vs-rest over 50 tags must not multiply the cost needlessly — knn, rf and extratrees
fit once on the multi-hot matrix, mlp is one network with 50 sigmoid outputs; one-vs-rest models
(logreg, svm, linsvm, hgb, gmm) fit once per tag.
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

FEATURES = ("mfcc", "mfcc_delta", "chroma", "contrast", "rms", "onset", "tempo")


def build_store(path: Path, n_tracks: int, n_tags: int, n_labels: int = 10, artists_per_label: int = 10,
                n_frames: int = 64, seed: int = 0) -> Path:
    """A store whose frames depend on the label and on the tags of the track."""
    from genrekit.cache import SCHEMA_VERSION, ShardWriter, TrackRow, write_index
    from genrekit.features import FeatureConfig, summary_vector
    from genrekit.pipeline.extraction.worker import shard_writer_args

    config = FeatureConfig(features=FEATURES, n_mfcc=24)
    dims = config.feature_dims()
    rng = np.random.default_rng(seed)
    label_mean = {f: rng.normal(0, 0.05, (n_labels, dims[f])) for f in config.frame_features}
    tag_mean = {f: rng.normal(0, 0.08, (n_tags, dims[f])) for f in config.frame_features}
    rate = np.linspace(0.02, 0.3, n_tags)  # tag frequencies from rare to common
    artist_tags = rng.random((n_labels * artists_per_label, n_tags)) < rate
    index = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": {config.hash(): config.to_json()},
             "current_config": config.hash()}
    path.mkdir(parents=True, exist_ok=True)
    writer = None
    for i in range(n_tracks):
        lab, art = i % n_labels, (i // n_labels) % artists_per_label
        on = artist_tags[lab * artists_per_label + art] ^ (rng.random(n_tags) < 0.05)  # a few per-track flips
        writer = writer or ShardWriter(path, **shard_writer_args(config))
        frames = {f: (label_mean[f][lab] + tag_mean[f][on].sum(axis=0)
                      + rng.normal(0, 1, (n_frames, dims[f]))).astype(np.float32) for f in config.frame_features}
        feats = {f: x.T for f, x in frames.items()}
        feats["tempo"] = np.array([90 + 5 * lab + rng.normal(0, 8)], np.float32)
        tid = f"track{i:05d}.wav"
        row = TrackRow(id=tid, path=tid, label=f"genre{lab}", group=f"genre{lab}-artist{art}", split=None,
                       content_hash=hashlib.blake2b(tid.encode(), digest_size=16).hexdigest(), duration=30.0,
                       sample_rate=22050, file_size=1, file_mtime_ns=i, n_frames=n_frames,
                       tags=tuple(f"tag{j:02d}" for j in np.flatnonzero(on)) or ("tag00",))
        writer.add_track(row, frames, {"tempo": feats["tempo"]}, summary_vector(feats, config))
        if writer.n_tracks >= 250:
            index["shards"][writer.name] = writer.close()
            writer = None
    if writer is not None:
        index["shards"][writer.name] = writer.close()
    write_index(path, index)
    return path


def _fit_cpu(result, key="fit_cpu_seconds") -> dict:
    return {n: sum(f.get(key) or 0.0 for f in m.get("folds", [])) for n, m in result.results["models"].items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tracks", type=int, default=1000)
    p.add_argument("--tags", type=int, default=50)
    p.add_argument("--models", default="logreg,knn,rf,mlp")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)

    from genrekit.pipeline.evaluation.runner import run_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(Path(tmp) / "store", args.tracks, args.tags)
        runs, walls = {}, {}
        for task in ("genre", "tagging"):
            t0 = time.perf_counter()
            runs[task] = run_benchmark(store, args.models, task=task, split="group-kfold:5", seed=0,
                                       out=Path(tmp) / task, workers=args.workers, progress=False, min_tag_count=5)
            walls[task] = time.perf_counter() - t0
            print(runs[task].table(), "\n")
        genre, tagging = _fit_cpu(runs["genre"]), _fit_cpu(runs["tagging"])
        thresholds = _fit_cpu(runs["tagging"], "threshold_seconds")
        n_tags = len(runs["tagging"].results["tags"])
        print(f"{args.tracks} tracks, {n_tags} tags, 5 artist-grouped folds, {args.workers} workers "
              f"(load average {os.getloadavg()[0]:.1f}: other load disturbs wall times, less so CPU times)")
        print(f"{'model':<8} {'genre fit CPU s':>16} {'tagging fit CPU s':>18} {'ratio':>6} {'thresholds wall s':>18}")
        for n in genre:
            ratio = tagging[n] / genre[n] if genre[n] else float("nan")
            print(f"{n:<8} {genre[n]:16.2f} {tagging[n]:18.2f} {ratio:6.1f} {thresholds[n]:18.2f}")
        print(f"whole run wall: genre {walls['genre']:.1f} s, tagging {walls['tagging']:.1f} s "
              f"({walls['tagging'] / walls['genre']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
