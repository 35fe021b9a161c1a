"""Reading a feature store: :class:`FeatureStore` (the format: :mod:`genrekit.cache.layout`).

This module knows nothing of librosa or models: it reads back the named arrays the store holds
for a config, and the config as JSON.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from genrekit.cache.index import load_index
from genrekit.cache.layout import FailureRow, TrackRow
from genrekit.cache.metadata import apply_metadata, load_metadata
from genrekit.errors import StoreError


#: Shards a FeatureStore keeps open at once.
MAX_OPEN_SHARDS = 64


def _take(sources: list[dict], positions: list[int]) -> dict:
    """Columns of several sources concatenated, then the rows at ``positions``."""
    out = {}
    for k in sources[0] if sources else ():
        parts = [s[k] for s in sources]
        if isinstance(parts[0], np.ndarray):
            out[k] = np.concatenate(parts)[np.asarray(positions, np.int64)] if positions else parts[0][:0]
        else:
            whole = [v for p in parts for v in p]
            out[k] = [whole[i] for i in positions]
    return out


def _open_rows(path):
    import h5py

    return h5py.File(path, "r")


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
        self._rows_current = False
        self._load_rows()

    # pickling (DataLoader workers, joblib): each process opens its own handles
    def __getstate__(self):
        d = dict(self.__dict__)
        # absolute: a worker process may run in another directory (a reused process pool keeps
        # the working directory it was started in)
        d["path"] = Path(os.path.abspath(self.path))
        d["_handles"] = {}
        d["_rows_current"] = False  # (the summary is then read shard by shard)
        return d

    def _h5(self, shard: str):
        """The open shard (at most :data:`MAX_OPEN_SHARDS` stay open, least recently used closed
        first: a 1M-track store has ~16,000 shards, each open file costs memory and a descriptor)."""
        f = self._handles.pop(shard, None)
        if f is not None:
            self._handles[shard] = f  # most recently used last
        else:
            import h5py

            open_shards = [k for k in self._handles if k != "rows"]
            for old in open_shards[:max(0, len(open_shards) - MAX_OPEN_SHARDS + 1)]:
                self._handles.pop(old).close()
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
        self._rows_current = False  # (reopened shards are read one by one)

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
        """Rows from the rows file (:mod:`genrekit.cache.rows`) when it is current; else from the
        shards it lacks (all of them when it is missing or stale), then written again."""
        from genrekit.cache import rows as rowfile

        self._rows_file = rowfile.rows_path(self.path, self.config_hash)
        cached = rowfile.read(self._rows_file)
        stamps = rowfile.shard_stamps(self.path, self.shards)
        if cached is not None and stamps is not None and cached[0] == self.shards and np.array_equal(cached[1], stamps):
            tracks, fails = cached[2], cached[3]
            self._rows_current = True
        else:
            if cached is not None and (stamps is None or not np.array_equal(cached[1], stamps[:len(cached[0])])):
                cached = None  # a shard it was made from changed: rebuilt from the shards
            tracks, fails = self._merge_rows(cached, stamps, rowfile)
        self.tracks: list[TrackRow] = rowfile.make_rows(TrackRow, tracks, self.shards, tracks["_shard"],
                                                        tracks["_row"])
        self.failures: list[FailureRow] = rowfile.make_rows(FailureRow, fails, self.shards, fails["_shard"],
                                                            fails["_row"])
        updates = load_metadata(self.path)  # a later source's metadata, applied over the shards'
        if updates:
            self.tracks = [apply_metadata(r, updates[r.id]) if r.id in updates else r for r in self.tracks]
        self._by_id = {r.id: r for r in self.tracks}
        if self._rows_current:  # held open now: a reader may replace the file later
            try:
                f = self._handles["rows"] = _open_rows(self._rows_file)
                self._rows_current = len(self.tracks) == 0 or f["summary"].shape[0] == len(self.tracks)
            except (OSError, KeyError):
                self._rows_current = False
        first = self._h5(self.shards[0]) if self.shards else None
        self.summary_names: list[str] | None = list(first["summary/names"].asstr()[:]) if first else None
        #: frame feature -> its shard group (``frames``, or ``frames_<clock>`` for its own frame grid)
        self.frame_groups = {
            k: g for g in first.keys() if g == "frames" or g.startswith("frames_")
            for k in first[g].keys() if k != "offsets"
        } if first else {}
        self.frame_features = tuple(self.frame_groups)

    def _merge_rows(self, cached, stamps, rowfile) -> tuple[dict, dict]:
        """Newest row per id (later shards win; a failure after a track hides it and vice versa),
        sorted by id; reads only the shards a still-valid prefix of the rows file lacks."""
        sources = []  # (tracks, failures, summary) per source, chronological
        start = 0
        if cached is not None and cached[0] and self.shards[:len(cached[0])] == cached[0]:
            import h5py

            with h5py.File(self._rows_file, "r") as f:
                summary = f["summary"][:] if "summary" in f else None
            sources.append((cached[2], cached[3], summary))
            start = len(cached[0])
        for i, shard in enumerate(self.shards[start:], start):
            f = self._h5(shard)
            try:
                t, fl = rowfile.shard_columns(f)
                summary = f["summary/matrix"][:]
            except (OSError, KeyError) as e:  # damaged inside: the same pointer as a shard that will not open
                raise StoreError(f"shard {shard} of store {self.path} cannot be read ({str(e).splitlines()[0]}); "
                                 f"check and repair the store with `genrekit verify --repair {self.path}`") from e
            t["_shard"], t["_row"] = np.full(len(t["id"]), i, np.int64), np.arange(len(t["id"]), dtype=np.int64)
            fl["_shard"], fl["_row"] = np.full(len(fl["id"]), i, np.int64), np.arange(len(fl["id"]), dtype=np.int64)
            sources.append((t, fl, summary))
        latest_t, latest_f, t_off, f_off = {}, {}, 0, 0
        for t, fl, _ in sources:
            for i, k in enumerate(t["id"], t_off):
                latest_t[k] = i
                latest_f.pop(k, None)
            for i, k in enumerate(fl["id"], f_off):
                latest_f[k] = i
                latest_t.pop(k, None)
            t_off, f_off = t_off + len(t["id"]), f_off + len(fl["id"])
        if not sources:
            return rowfile.empty_columns()
        tracks = _take([s[0] for s in sources], [latest_t[k] for k in sorted(latest_t)])
        fails = _take([s[1] for s in sources], [latest_f[k] for k in sorted(latest_f)])
        pick = np.array([latest_t[k] for k in sorted(latest_t)], np.int64)
        mats = [s[2] for s in sources if s[2] is not None and len(s[2])]
        matrix = np.concatenate(mats) if mats else np.zeros((0, 0), np.float32)
        blocks = ((a, matrix[pick[a:a + 65536]]) for a in range(0, len(pick), 65536))
        self._rows_current = stamps is not None and rowfile.write(self._rows_file, self.shards, stamps, tracks,
                                                                  fails, blocks)
        return tracks, fails

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
        """One group per track, never None: a track without an artist is a group of its own
        (:func:`genrekit.roles.fill_groups`, as the command line treats it), so the array goes
        straight into scikit-learn's ``GroupKFold`` and ``cross_val_score(..., groups=)``."""
        from genrekit.roles import fill_groups

        return fill_groups(self.raw_groups)

    @property
    def raw_groups(self) -> np.ndarray:
        """The stored group (artist) of each track, None where the source gave none."""
        return np.array([r.group for r in self.tracks], dtype=object)

    @property
    def splits(self) -> np.ndarray:
        return np.array([r.split for r in self.tracks], dtype=object)

    @property
    def tags(self) -> list[tuple[str, ...]]:
        """Each track's tag set (``()``: none), in track order."""
        return [r.tags for r in self.tracks]

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
        if self._rows_current and len(X):  # one contiguous read, in this order, at disk speed
            return self._summary_from_rows(X, mask), [n for n, k in zip(self.summary_names or [], mask) if k]
        by_shard: dict[str, list[tuple[int, int]]] = {}
        for out_i, r in enumerate(self.tracks):
            by_shard.setdefault(r.shard, []).append((out_i, r.row))
        for shard, pairs in by_shard.items():
            m = self._h5(shard)["summary/matrix"][:]
            outs, rows = zip(*pairs)
            X[list(outs)] = m[list(rows)][:, mask]
        names = [n for n, k in zip(self.summary_names or [], mask) if k]
        return X, names

    def _summary_from_rows(self, X: np.ndarray, mask: np.ndarray, start: int = 0) -> np.ndarray:
        d = self._handles["rows"]["summary"]
        if mask.all():
            d.read_direct(X, np.s_[start:start + len(X)])
            return X
        step = max(1, (64 << 20) // max(1, 4 * d.shape[1]))
        for a in range(0, len(X), step):
            X[a:a + step] = d[start + a:start + min(len(X), a + step)][:, mask]
        return X

    def _rows_span(self, block: list[TrackRow]):
        """``(first, positions - first)`` of ``block``'s rows in the rows file when they lie close
        together there (at most 4x the block's size apart), else None."""
        if not self._rows_current or not block:
            return None
        if getattr(self, "_position", None) is None:
            self._position = {r.id: i for i, r in enumerate(self.tracks)}
        pos = np.fromiter((self._position[r.id] for r in block), np.int64, len(block))
        lo, hi = int(pos.min()), int(pos.max())
        return (lo, pos - lo) if hi - lo < 4 * len(block) + 1024 else None

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
            if ids is None and self._rows_current:
                yield block, self._summary_from_rows(X, mask, a)
                continue
            span = self._rows_span(block)
            if span is not None:  # the rows file in one contiguous read, then these rows of it
                lo, where = span
                S = np.empty((int(where.max()) + 1, int(mask.sum())), np.float32)
                yield block, self._summary_from_rows(S, mask, lo)[where]
                continue
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

    def fingerprint_version(self, shard: str) -> int | None:
        """The fingerprint version a shard's tracks were fingerprinted with (None: no fingerprints,
        a shard written before genrekit stored them)."""
        f = self._h5(shard)
        return int(f["fingerprints"].attrs["version"]) if "fingerprints" in f else None

    def iter_fingerprints(self, rows=None):
        """Yield ``(TrackRow, hashes, times)`` per track (``rows``, default all, in their order),
        reading each shard's fingerprints once; ``hashes`` and ``times`` are None for a track whose
        shard holds none (see :meth:`fingerprint_version`)."""
        rows = self.tracks if rows is None else list(rows)
        cache: dict = {}
        for r in rows:
            if r.shard not in cache:
                cache.clear()  # one shard's arrays at a time (rows come grouped by shard in practice)
                f = self._h5(r.shard)
                g = f["fingerprints"] if "fingerprints" in f else None
                cache[r.shard] = None if g is None else (g["offsets"][:], g["hashes"][:], g["times"][:])
            got = cache[r.shard]
            if got is None:
                yield r, None, None
                continue
            off, h, t = got
            a, b = int(off[r.row]), int(off[r.row + 1])
            yield r, h[a:b], t[a:b]

    def size_bytes(self) -> int:
        return sum((self.path / s).stat().st_size for s in self.index["shards"])
