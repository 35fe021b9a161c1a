"""What the runner reads: one small protocol that a feature store and a feature table both meet.

The runner never asks where features come from. It reads a :class:`FeatureSource`:

* ``ids``, ``labels``, ``groups``, ``splits`` — one entry per track, in one order;
* ``summary(features)`` — the fixed-width matrix and its column names;
* ``frame_features`` and ``frame_matrix(id, features)`` — per-frame features where there are any;
* ``content_hashes(ids)``, ``config_hash``, ``config_json``, ``config``, ``describe()`` and
  ``command_args()`` — provenance for ``results.json`` and the command that reruns it;
* ``missing_allowed`` — whether NaN in the summary means "missing" (imputed) or damage;
* ``model_variants(names, specs, save_models)`` — the leaderboard entries a source implies
  (a table of several blocks runs each model per block and fused);
* ``notes``, ``warnings`` — what the source found while it was read.

:class:`StoreSource` adapts a :class:`~genrekit.cache.store.FeatureStore`; the joined tables of
:mod:`genrekit.pipeline.tables.dataset` implement the protocol themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FeatureSource(Protocol):
    """The interface :func:`~genrekit.pipeline.evaluation.runner.run_benchmark` reads (see module doc)."""

    path: object
    frame_features: tuple
    missing_allowed: bool
    notes: list
    warnings: list

    def __len__(self) -> int: ...
    @property
    def ids(self) -> np.ndarray: ...
    @property
    def labels(self) -> np.ndarray: ...
    @property
    def groups(self) -> np.ndarray: ...
    @property
    def splits(self) -> np.ndarray: ...
    @property
    def config(self): ...
    @property
    def config_hash(self) -> str: ...
    @property
    def config_json(self) -> str: ...
    def summary(self, features=None) -> tuple[np.ndarray, list[str]]: ...
    def frame_matrix(self, track_id: str, features) -> np.ndarray: ...
    def content_hashes(self, ids) -> list[str]: ...
    def model_variants(self, names, specs, *, save_models: bool = False) -> dict: ...
    def command_args(self) -> list[str]: ...
    def describe(self) -> dict | None: ...


class StoreSource:
    """A :class:`~genrekit.cache.store.FeatureStore` seen through :class:`FeatureSource`.

    Every value in a store's summary must be finite (NaN means damage: re-extract); a store
    implies no model variants; its provenance is its path, config and content hashes.
    """

    missing_allowed = False

    def __init__(self, store):
        self.store = store
        self.notes: list[str] = []
        self.warnings: list[str] = []

    def __len__(self) -> int:
        return len(self.store)

    def __getattr__(self, name):  # ids, labels, groups, splits, path, config*, summary, frame_*
        if name.startswith("__") or name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)

    def content_hashes(self, ids) -> list[str]:
        return [self.store.track(i).content_hash for i in ids]

    def model_variants(self, names, specs, *, save_models: bool = False) -> dict:
        return {}

    def command_args(self) -> list[str]:
        return ["--store", str(self.store.path)]

    def describe(self) -> dict | None:
        return None


def open_source(store) -> FeatureSource:
    """A :class:`FeatureSource` for a store path, a ``FeatureStore`` or anything already meeting it."""
    from genrekit.cache.store import FeatureStore

    if isinstance(store, (str, Path)):
        store = FeatureStore(store)
    if isinstance(store, FeatureStore):
        return StoreSource(store)
    return store


# ============================================================================ frame-model input
class FrameSequence(Sequence):
    """Per-track frame matrices of a store, read lazily: what ``input="frames"`` models receive.

    ``X[i]`` is a float32 array ``[shape=(n_frames_i, n_dims)]``: the frame features
    ``features`` of track ``ids[i]`` side by side, in that order. Picklable (each process opens
    its own file handles), so it travels to joblib workers without copying frames.

    Parameters
    ----------
    store : FeatureSource
    ids : sequence of str
        Track ids, in the order of the benchmark's ``y``.
    features : sequence of str
        Frame features to stack.
    """

    def __init__(self, store, ids, features):
        self.store = store
        self.ids = np.asarray(ids, dtype=object)
        self.features = tuple(features)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        if isinstance(i, (int, np.integer)):
            return np.asarray(self.store.frame_matrix(self.ids[int(i)], self.features), dtype=np.float32)
        return self.take(i)

    def take(self, indices) -> "FrameSequence":
        """A lazy view of the tracks at ``indices`` (ints or a boolean mask)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return FrameSequence(self.store, self.ids[idx], self.features)

    @property
    def n_dims(self) -> int:
        dims = self.store.config.feature_dims()
        return int(sum(dims[f] for f in self.features))

    def __repr__(self) -> str:
        return f"FrameSequence({len(self)} tracks, features={list(self.features)})"


def take(X, idx):
    """Rows ``idx`` of a summary matrix or a :class:`FrameSequence` (lazily)."""
    return X.take(idx) if isinstance(X, FrameSequence) else X[idx]
