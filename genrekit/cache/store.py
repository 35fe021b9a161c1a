"""Reading a feature store: :class:`FeatureStore` (the format: :mod:`genrekit.cache.layout`).

This module knows nothing of librosa or models: it reads back the named arrays the store holds
for a config, and the config as JSON.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np

from genrekit.cache.index import load_index
from genrekit.cache.layout import (
    FAILURE_INT_FIELDS,
    FAILURE_STR_FIELDS,
    TRACK_INT_FIELDS,
    TRACK_STR_FIELDS,
    FailureRow,
    TrackRow,
)
from genrekit.errors import StoreError


def _none(s: str) -> str | None:
    return s if s else None


class FeatureStore:
    """Read a feature store.

    Parameters
    ----------
    path : path-like
        The store directory.
    config_hash : str, optional
        Which feature config to read when the store holds several (default: the one the last
        ``extract`` used).

    Attributes
    ----------
    tracks : list of TrackRow
        One row per track id (the newest extraction of it), sorted by id.
    failures : list of FailureRow
        Files that failed and have not been extracted since.
    """

    def __init__(self, path, config_hash: str | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise StoreError(f"no feature store at {self.path}; create one with `genrekit extract AUDIO_DIR --store {self.path}`")
        if not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not a feature store directory")
        index, _ = load_index(self.path)
        self.index = index
        if not index["shards"]:
            raise StoreError(f"feature store {self.path} holds no finished shards yet")
        self.config_hash = config_hash or index.get("current_config")
        if self.config_hash not in index["configs"]:
            have = ", ".join(sorted(index["configs"])) or "none"
            raise StoreError(f"store {self.path} has no features for config {self.config_hash}; it has: {have}")
        self.config_json = index["configs"][self.config_hash]
        self.shards = [n for n, e in index["shards"].items() if e["config_hash"] == self.config_hash]
        self._handles: dict = {}
        self._load_rows()

    # pickling (DataLoader workers, joblib): each process opens its own handles
    def __getstate__(self):
        d = dict(self.__dict__)
        d["_handles"] = {}
        return d

    def _h5(self, shard: str):
        f = self._handles.get(shard)
        if f is None:
            import h5py

            try:
                f = self._handles[shard] = h5py.File(self.path / shard, "r")
            except OSError as e:  # truncated, overwritten or deleted since the index was read
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                if e.errno in (errno.EACCES, errno.EPERM):
                    raise StoreError(f"shard {shard} of store {self.path} cannot be read: permission denied; "
                                     f"give this user read access to it (it is not damaged, do not "
                                     f"delete it)") from e
                raise StoreError(f"shard {shard} of store {self.path} cannot be read ({reason}); "
                                 f"check and repair the store with `genrekit verify --repair {self.path}`") from e
        return f

    def close(self):
        for f in self._handles.values():
            f.close()
        self._handles.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def config(self):
        """The :class:`~genrekit.features.FeatureConfig` these features were computed with."""
        from genrekit.features.config import FeatureConfig

        return FeatureConfig.from_json(self.config_json)

    def _load_rows(self):
        latest: dict[str, TrackRow] = {}
        fails: dict[str, FailureRow] = {}
        self.summary_names: list[str] | None = None
        for shard in self.shards:  # chronological: later shards win
            f = self._h5(shard)
            g = f["tracks"]
            cols = {k: g[k].asstr()[:] for k in TRACK_STR_FIELDS}
            dur = g["duration"][:]
            ints = {k: g[k][:] for k in TRACK_INT_FIELDS}
            for i in range(len(dur)):
                meta = json.loads(cols["meta_json"][i]) if cols["meta_json"][i] else {}
                r = TrackRow(
                    id=cols["id"][i], path=cols["path"][i], label=_none(cols["label"][i]),
                    group=_none(cols["group"][i]), split=_none(cols["split"][i]),
                    content_hash=cols["content_hash"][i], duration=float(dur[i]),
                    sample_rate=int(ints["sample_rate"][i]), file_size=int(ints["file_size"][i]),
                    file_mtime_ns=int(ints["file_mtime_ns"][i]), n_frames=int(ints["n_frames"][i]),
                    meta=meta, shard=shard, row=i,
                )
                latest[r.id] = r
                fails.pop(r.id, None)
            fg = f["failures"]
            fc = {k: fg[k].asstr()[:] for k in FAILURE_STR_FIELDS}
            fi = {k: fg[k][:] for k in FAILURE_INT_FIELDS}
            for i in range(len(fc["id"])):
                fr = FailureRow(**{k: fc[k][i] for k in FAILURE_STR_FIELDS},
                                **{k: int(fi[k][i]) for k in FAILURE_INT_FIELDS}, shard=shard)
                fails[fr.id] = fr
                latest.pop(fr.id, None)
            if self.summary_names is None:
                self.summary_names = list(f["summary/names"].asstr()[:])
        self.tracks: list[TrackRow] = [latest[k] for k in sorted(latest)]
        self.failures: list[FailureRow] = [fails[k] for k in sorted(fails)]
        self._by_id = {r.id: r for r in self.tracks}
        #: frame feature -> its shard group (``frames``, or ``frames_<clock>`` for its own frame grid)
        self.frame_groups = {
            k: g for g in self._h5(self.shards[0]).keys() if g == "frames" or g.startswith("frames_")
            for k in self._h5(self.shards[0])[g].keys() if k != "offsets"
        } if self.shards else {}
        self.frame_features = tuple(self.frame_groups)

    # ------------------------------------------------------------------ convenience views
    def __len__(self):
        return len(self.tracks)

    @property
    def ids(self) -> np.ndarray:
        return np.array([r.id for r in self.tracks], dtype=object)

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.tracks], dtype=object)

    @property
    def groups(self) -> np.ndarray:
        return np.array([r.group for r in self.tracks], dtype=object)

    @property
    def splits(self) -> np.ndarray:
        return np.array([r.split for r in self.tracks], dtype=object)

    def track(self, track_id: str) -> TrackRow:
        try:
            return self._by_id[track_id]
        except KeyError:
            raise StoreError(f"track {track_id!r} is not in store {self.path}") from None

    # ------------------------------------------------------------------ arrays
    def _column_mask(self, features):
        names = self.summary_names or []
        if features is None:
            return np.ones(len(names), bool)
        features = [features] if isinstance(features, str) else list(features)
        known = set(self.frame_features) | set(self.config.track_features)
        bad = [f for f in features if f not in known]
        if bad:
            raise StoreError(f"feature {bad[0]!r} is not in this store; it has: {', '.join(sorted(known))}")

        def owner(col):
            # longest feature name that prefixes the column ("mfcc_delta_00_mean" -> mfcc_delta)
            best = None
            for f in known:
                if col == f or col.startswith(f + "_"):
                    if best is None or len(f) > len(best):
                        best = f
            return best

        return np.array([owner(c) in features for c in names], bool)

    def summary(self, features=None) -> tuple[np.ndarray, list[str]]:
        """The summary table.

        Parameters
        ----------
        features : list of str, optional
            Restrict to the columns of these features.

        Returns
        -------
        X : np.ndarray [shape=(n_tracks, n_columns)], float32
            Rows in the order of :attr:`tracks`.
        names : list of str
        """
        mask = self._column_mask(features)
        X = np.empty((len(self.tracks), int(mask.sum())), np.float32)
        by_shard: dict[str, list[tuple[int, int]]] = {}
        for out_i, r in enumerate(self.tracks):
            by_shard.setdefault(r.shard, []).append((out_i, r.row))
        for shard, pairs in by_shard.items():
            m = self._h5(shard)["summary/matrix"][:]
            outs, rows = zip(*pairs)
            X[list(outs)] = m[list(rows)][:, mask]
        names = [n for n, k in zip(self.summary_names or [], mask) if k]
        return X, names

    def frames(self, track_id: str, features=None) -> dict[str, np.ndarray]:
        """Frame-level features of one track: ``name -> (n_frames, dim)`` float32."""
        r = self.track(track_id)
        return self._frames_of(r, features)

    def _frames_of(self, r: TrackRow, features=None) -> dict[str, np.ndarray]:
        feats = self.frame_features if features is None else ([features] if isinstance(features, str) else list(features))
        f = self._h5(r.shard)
        out, spans = {}, {}
        for k in feats:
            if k not in self.frame_features:
                raise StoreError(f"frame feature {k!r} is not in this store; it has: {', '.join(self.frame_features)}")
            g = self.frame_groups[k]
            if g not in spans:
                off = f[g]["offsets"]
                spans[g] = int(off[r.row]), int(off[r.row + 1])
            a, b = spans[g]
            out[k] = f[g][k][a:b]
        return out

    def frame_matrix(self, track_id: str, features) -> np.ndarray:
        """Frame features of one track stacked side by side: ``(n_frames, sum of dims)``."""
        feats = [features] if isinstance(features, str) else list(features)
        groups = {self.frame_groups.get(k, "frames") for k in feats}
        if len(groups) > 1:
            raise StoreError(f"frame features {', '.join(feats)} are on different frame grids ({', '.join(sorted(groups))}); "
                             "choose frame features of one grid (e.g. musicnn,musicnn_tags or mfcc,chroma)")
        d = self.frames(track_id, feats)
        return np.concatenate([d[k] for k in d], axis=1)

    def track_features(self, name: str) -> np.ndarray:
        """A track-level feature for every track: ``(n_tracks, dim)``."""
        out = []
        for r in self.tracks:
            out.append(self._h5(r.shard)["track_features"][name][r.row])
        return np.asarray(out, np.float32)

    def summary_columns(self, features=None) -> list[str]:
        """Names of the summary columns of ``features`` (all columns when None), in table order."""
        return [n for n, k in zip(self.summary_names or [], self._column_mask(features)) if k]

    def iter_summary(self, features=None, *, ids=None, block_rows: int = 4096):
        """Yield ``(rows, X)``: summary vectors in track-id order, ``block_rows`` tracks at a time.

        Parameters
        ----------
        features : list of str, optional
            Restrict to the columns of these features (see :meth:`summary_columns`).
        ids : sequence of str, optional
            The tracks to read, in this order (default: every track, sorted by id).
        block_rows : int
            Tracks per block: memory stays bounded by one block, whatever the store's size.

        Yields
        ------
        rows : list of TrackRow
        X : np.ndarray [shape=(len(rows), n_columns)], float32
        """
        mask = self._column_mask(features)
        rows = self.tracks if ids is None else [self.track(i) for i in ids]
        for a in range(0, len(rows), block_rows):
            block = rows[a:a + block_rows]
            X = np.empty((len(block), int(mask.sum())), np.float32)
            by_shard: dict[str, list[tuple[int, int]]] = {}
            for out_i, r in enumerate(block):
                by_shard.setdefault(r.shard, []).append((out_i, r.row))
            for shard, pairs in by_shard.items():
                pairs.sort(key=lambda p: p[1])  # h5py reads rows in increasing order
                outs, src = zip(*pairs)
                X[list(outs)] = self._h5(shard)["summary/matrix"][list(src)][:, mask]
            yield block, X

    def iter_frames(self, features=None, *, ids=None):
        """Yield ``(TrackRow, {name: (n_frames, dim)})`` in track-id order (or the order of ``ids``);
        one track in memory at a time."""
        rows = self.tracks if ids is None else [self.track(i) for i in ids]
        for r in rows:
            yield r, self._frames_of(r, features)

    def size_bytes(self) -> int:
        return sum((self.path / s).stat().st_size for s in self.index["shards"])
