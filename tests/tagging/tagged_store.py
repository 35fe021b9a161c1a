"""A feature store with tag sets, written directly (no audio): tags that the frames reveal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from genrekit.cache import ShardWriter, TrackRow, write_index
from genrekit.cache.layout import SCHEMA_VERSION
from genrekit.features import FeatureConfig, summary_vector
from genrekit.pipeline.extraction.worker import shard_writer_args

TAGS = ("bass", "drums", "fast", "happy", "strings")


def make_tagged_store(path, n_tracks: int = 60, n_artists: int = 12, seed: int = 0, *, rare: int = 0,
                      labels: bool = False, untagged: int = 0, splits: bool = False, strength: float = 1.5) -> Path:
    """Tracks whose tags each shift a few MFCC dimensions (``strength`` apart), plus ``rare`` tracks
    tagged ``rare-tag`` (to be dropped by --min-tag-count) and ``untagged`` tracks without tags.

    Every track carries at least one of :data:`TAGS`; artists (``artist0`` …) deal tracks round-robin.
    ``labels`` also stores a genre label (``g0``/``g1``)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = FeatureConfig(features=("mfcc",))
    dims = config.feature_dims()
    rng = np.random.default_rng(seed)
    shifts = rng.normal(0, strength, (len(TAGS), dims["mfcc"]))
    writer = ShardWriter(path, **shard_writer_args(config))
    for k in range(n_tracks + untagged):
        on = rng.random(len(TAGS)) < 0.35
        if not on.any():
            on[k % len(TAGS)] = True
        tags = tuple(sorted(t for t, o in zip(TAGS, on) if o)) if k < n_tracks else ()
        if k < rare:
            tags = tuple(sorted(tags + ("rare-tag",)))
        nf = 30
        x = (shifts[on].sum(axis=0) + rng.normal(0, 1, (nf, dims["mfcc"]))).astype(np.float32)
        tid = f"t{k:04d}.wav"
        split = ("train", "train", "train", "validation", "test")[k % 5] if splits else None
        row = TrackRow(id=tid, path=f"/nonexistent/{tid}", label=(f"g{int(on[0])}" if labels else None),
                       group=f"artist{k % n_artists}", split=split,
                       content_hash=hashlib.blake2b(tid.encode(), digest_size=16).hexdigest(),
                       duration=1.0, sample_rate=config.sr, file_size=100 + k, file_mtime_ns=k, n_frames=nf, tags=tags)
        writer.add_track(row, {"mfcc": x}, {}, summary_vector({"mfcc": x.T}, config))
    index = {"schema_version": SCHEMA_VERSION, "shards": {writer.name: writer.close()},
             "configs": {config.hash(): config.to_json()}, "current_config": config.hash()}
    write_index(path, index)
    return path
