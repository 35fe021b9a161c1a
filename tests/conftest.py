"""Shared test fixtures: feature stores written directly, without audio."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from genrekit.cache import SCHEMA_VERSION, ShardWriter, TrackRow, write_index
from genrekit.features import FeatureConfig, summary_vector


@pytest.fixture(autouse=True, scope="session")
def _model_key(tmp_path_factory):
    """Saved models are signed with a key made on the first save: the tests' own, not the user's."""
    import os

    if "GENREKIT_MODEL_KEY" not in os.environ:
        os.environ["GENREKIT_MODEL_KEY"] = str(tmp_path_factory.mktemp("model-key") / "model-key")
    yield
from genrekit.pipeline.extraction.worker import shard_writer_args


def make_synthetic_store(path, n_per_class: int = 12, n_classes: int = 3, n_artists_per_class: int = 3,
                         seed: int = 0, *, n_frames: int = 40, features=("mfcc", "chroma"),
                         separation: float = 0.35, artist_spread: float = 0.3, with_groups: bool = True,
                         splits: bool = False, n_unlabelled: int = 0, shard_size: int = 0) -> Path:
    """Write a feature store whose frames depend on the class (and a little on the artist).

    Frames of class ``c`` are Gaussian around a class mean (``separation`` apart per dimension,
    on a few dimensions), shifted by a per-artist offset, so models have something to learn and
    artists something to leak. Summary vectors are computed from the frames with genrekit's own
    :func:`~genrekit.features.summary_vector`, so column names and statistics are the real ones.

    Parameters
    ----------
    path : path-like
        Store directory (created).
    n_per_class, n_classes, n_artists_per_class : int
        Tracks per label, labels (``genre0`` …), artists per label (``genre0-artist1`` …; each
        artist belongs to one label, tracks are dealt round-robin).
    seed : int
    n_frames : int
        Frames per track (varied by ±25 % per track).
    features : tuple of str
        Frame features of the store (any frame features of :class:`FeatureConfig`).
    with_groups : bool
        Store artists as groups (False: groups unknown).
    splits : bool
        Fill the predefined split column (train / validation / test by track position).
    n_unlabelled : int
        Extra tracks without a label.
    shard_size : int
        Tracks per shard (0: one shard).

    Returns
    -------
    Path
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = FeatureConfig(features=tuple(features))
    dims = config.feature_dims()
    chash = config.hash()
    rng = np.random.default_rng(seed)
    class_means = {f: rng.normal(0, 1, (n_classes, dims[f])) * separation for f in config.frame_features}
    artist_offsets = {f: rng.normal(0, artist_spread, (n_classes, n_artists_per_class, dims[f]))
                      for f in config.frame_features}
    writer_args = shard_writer_args(config)
    index = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": {chash: config.to_json()},
             "current_config": chash}
    rows = []
    for c in range(n_classes):
        for i in range(n_per_class):
            rows.append((f"genre{c}", c, i % n_artists_per_class, i))
    for j in range(n_unlabelled):
        rows.append((None, j % n_classes, 0, n_per_class + j))
    writer = None
    for k, (label, c, a, i) in enumerate(rows):
        if writer is None:
            writer = ShardWriter(path, **writer_args)
        nf = int(n_frames * rng.uniform(0.75, 1.25))
        frames, feats = {}, {}
        for f in config.frame_features:
            x = class_means[f][c] + artist_offsets[f][c, a] + rng.normal(0, 1, (nf, dims[f]))
            frames[f] = x.astype(np.float32)
            feats[f] = frames[f].T
        for f in config.track_features:
            feats[f] = np.array([100.0 + 10 * c + rng.normal()], np.float32)
        tid = f"{label or 'unlabelled'}/track{i:04d}.wav"
        split = None
        if splits:
            split = ("train", "train", "train", "validation", "test")[i % 5]
        row = TrackRow(id=tid, path=f"/nonexistent/{tid}", label=label,
                       group=f"genre{c}-artist{a}" if with_groups and label else None, split=split,
                       content_hash=hashlib.blake2b(tid.encode(), digest_size=16).hexdigest(),
                       duration=nf * config.hop_length / config.sr, sample_rate=config.sr,
                       file_size=1000 + k, file_mtime_ns=k, n_frames=nf)
        writer.add_track(row, frames, {f: feats[f] for f in config.track_features}, summary_vector(feats, config))
        if shard_size and writer.n_tracks >= shard_size:
            index["shards"][writer.name] = writer.close()
            writer = None
    if writer is not None:
        index["shards"][writer.name] = writer.close()
    write_index(path, index)
    return path


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory) -> Path:
    """A small store: 3 labels × 10 tracks, 5 artists per label (2 tracks each), MFCC + chroma."""
    return make_synthetic_store(tmp_path_factory.mktemp("stores") / "synthetic", n_per_class=10, n_classes=3,
                                n_artists_per_class=5, seed=0)
