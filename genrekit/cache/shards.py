"""Writing one shard: :class:`ShardWriter` appends tracks to ``NAME.h5.tmp`` and renames it to
``NAME.h5`` when complete (the format: :mod:`genrekit.cache.layout`)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import numpy as np

from genrekit.cache.layout import (
    FAILURE_INT_FIELDS,
    FAILURE_STR_FIELDS,
    SCHEMA_VERSION,
    SHARD_PREFIX,
    SHARD_SUFFIX,
    TMP_SUFFIX,
    TRACK_INT_FIELDS,
    TRACK_OPTIONAL_STR_FIELDS,
    TRACK_STR_FIELDS,
    FailureRow,
    TrackRow,
)
from genrekit.errors import StoreError
from genrekit.files import file_sha256, fsync_dir, fsync_file
from genrekit.tags import tags_text

_STR = None  # h5py string dtype, created lazily


def _str_dtype():
    global _STR
    if _STR is None:
        import h5py

        _STR = h5py.string_dtype("utf-8")
    return _STR


def _text(s: str) -> str:
    """``s`` storable as UTF-8: bytes of a file name that are not UTF-8 become ``\\xNN``."""
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def frame_group(clock: str) -> str:
    """The shard group of a frame clock: ``frames`` for the STFT's grid, else ``frames_<clock>``."""
    return "frames" if clock == "frames" else f"frames_{clock}"


class ShardWriter:
    """Appends tracks to one shard; the shard appears under its final name only on :meth:`close`.

    Parameters
    ----------
    store_dir : path
    config_json, config_hash : str
        The feature config the arrays were computed with.
    frame_dims, track_dims : dict
        ``feature -> width`` of frame-level and track-level features.
    frame_clocks : dict, optional
        ``feature -> clock`` of frame features on a frame grid of their own (``"patches"``),
        stored under ``frames_<clock>/`` with offsets of their own; the others are under
        ``frames/`` with ``tracks/n_frames`` rows each.
    summary_names : list of str
        Column names of the summary vectors.
    """

    def __init__(self, store_dir, *, config_json, config_hash, frame_dims, track_dims, summary_names,
                 genrekit_version, chunk_rows=2048, frame_compression="lzf", flush_bytes=32 << 20,
                 flush_rows=32, frame_clocks=None, fingerprint_version: int | None = None):
        self.store_dir = Path(store_dir)
        self.name = f"{SHARD_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{SHARD_SUFFIX}"
        self.tmp_path = self.store_dir / (self.name + TMP_SUFFIX)
        self.frame_dims = dict(frame_dims)
        self.frame_groups = {k: frame_group((frame_clocks or {}).get(k, "frames")) for k in self.frame_dims}
        self.track_dims = dict(track_dims)
        self.n_summary = len(summary_names)
        self.config_hash = config_hash
        self.fingerprint_version = fingerprint_version
        self._n_hashes_total = 0
        self.created = time.monotonic()
        self.n_tracks = 0
        self.n_failures = 0
        self.ids: list[str] = []
        self.content_hashes: list[str] = []
        self.failure_ids: list[str] = []
        self._n_frames_total = {g: 0 for g in {"frames", *self.frame_groups.values()}}
        self._pending: list = []  # tracks buffered until flush(): bounded by flush_bytes/rows
        self._pending_bytes = 0
        self.flush_bytes = flush_bytes
        self.flush_rows = flush_rows
        self._closed = False
        # Frames: LZF + shuffle (h5py's built-in filter) — gzip costs several times the CPU of the
        # features themselves for ~6% smaller files, and the single writer would become the
        # bottleneck. The small summary table uses gzip, readable by any HDF5 tool.
        fcomp = dict(compression=frame_compression, shuffle=True) if frame_compression else {}
        comp = dict(compression="gzip", compression_opts=4, shuffle=True)
        # Every dataset stays open until close(): dropping an h5py handle flushes its chunks, and a
        # flush that fails there (a full disk) is only printed by h5py, never raised, and leaves
        # the shard damaged. Held open, chunks are written by calls that raise. No chunk cache
        # (rdcc_nbytes=0): each append writes its chunks at once, as closing the handles after
        # every append did, so memory stays as it was (a cache costs ~30 MB per open shard).
        self._ds: dict = {}
        self._f = None
        try:
            self._create(genrekit_version, config_json, config_hash, summary_names, chunk_rows, fcomp, comp)
        except BaseException:
            self.discard()
            raise

    def _create(self, genrekit_version, config_json, config_hash, summary_names, chunk_rows, fcomp, comp):
        import h5py

        ds = self._ds
        f = self._f = h5py.File(self.tmp_path, "w", libver="latest", rdcc_nbytes=0)
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["genrekit_version"] = genrekit_version
        f.attrs["config_json"] = config_json
        f.attrs["config_hash"] = config_hash
        f.attrs["created_unix"] = time.time()
        s = _str_dtype()
        g = f.create_group("tracks")
        for k in (*TRACK_STR_FIELDS, *TRACK_OPTIONAL_STR_FIELDS):
            ds[f"tracks/{k}"] = g.create_dataset(k, (0,), dtype=s, maxshape=(None,), chunks=(256,))
        ds["tracks/duration"] = g.create_dataset("duration", (0,), dtype="f8", maxshape=(None,), chunks=(256,))
        for k in TRACK_INT_FIELDS:
            ds[f"tracks/{k}"] = g.create_dataset(k, (0,), dtype="i8", maxshape=(None,), chunks=(256,))
        for group in self._n_frames_total:
            fr = f.create_group(group)
            ds[f"{group}/offsets"] = fr.create_dataset("offsets", data=np.zeros(1, np.int64), maxshape=(None,),
                                                       chunks=(256,))
        for k, d in self.frame_dims.items():
            g = self.frame_groups[k]
            ds[f"{g}/{k}"] = f[g].create_dataset(k, (0, d), dtype="f4", maxshape=(None, d),
                                                 chunks=(max(1, min(chunk_rows, (1 << 18) // d)), d), **fcomp)
        tf = f.create_group("track_features")
        for k, d in self.track_dims.items():
            ds[f"track_features/{k}"] = tf.create_dataset(k, (0, d), dtype="f4", maxshape=(None, d), chunks=(256, d))
        sm = f.create_group("summary")
        ds["summary/matrix"] = sm.create_dataset(
            "matrix", (0, self.n_summary), dtype="f4", maxshape=(None, self.n_summary),
            chunks=(max(1, min(256, (1 << 18) // max(1, self.n_summary))), max(1, self.n_summary)), **comp)
        ds["summary/names"] = sm.create_dataset("names", data=np.array(summary_names, dtype=object), dtype=s)
        if self.fingerprint_version is not None:  # per-track landmark hashes (genrekit.features.fingerprint)
            fp = f.create_group("fingerprints")
            fp.attrs["version"] = self.fingerprint_version
            ds["fingerprints/offsets"] = fp.create_dataset("offsets", data=np.zeros(1, np.int64), maxshape=(None,),
                                                           chunks=(256,))
            for k, dt in (("hashes", "u4"), ("times", "i4")):
                ds[f"fingerprints/{k}"] = fp.create_dataset(k, (0,), dtype=dt, maxshape=(None,), chunks=(16384,), **fcomp)
        fl = f.create_group("failures")
        for k in FAILURE_STR_FIELDS:
            ds[f"failures/{k}"] = fl.create_dataset(k, (0,), dtype=s, maxshape=(None,), chunks=(64,))
        for k in FAILURE_INT_FIELDS:
            ds[f"failures/{k}"] = fl.create_dataset(k, (0,), dtype="i8", maxshape=(None,), chunks=(64,))

    @staticmethod
    def _append(ds, values):
        n = ds.shape[0]
        values = np.asarray(values) if not isinstance(values, list) else values
        k = len(values)
        ds.resize(n + k, axis=0)
        ds[n:n + k] = values

    def add_track(self, row: TrackRow, frames: dict, track_features: dict, summary: np.ndarray,
                  fingerprint: tuple[np.ndarray, np.ndarray] | None = None):
        """Append one track: ``frames[name]`` is ``(n_frames, dim)`` (``n_frames`` of its own frame grid
        for a feature with its own clock); ``summary`` is 1-D; ``fingerprint`` is ``(hashes, times)``
        (stored when the shard has fingerprints; None: none)."""
        counts = {"frames": int(row.n_frames)}
        for k, d in self.frame_dims.items():
            arr = np.asarray(frames[k], dtype=np.float32)
            n = counts.setdefault(self.frame_groups[k], arr.shape[0] if arr.ndim == 2 else -1)
            if arr.shape != (n, d):
                raise StoreError(f"frames[{k!r}] has shape {arr.shape}, expected {(n, d)}")
        counts.update({g: 0 for g in self._n_frames_total if g not in counts})
        summary = np.asarray(summary, dtype=np.float32).reshape(1, -1)
        if summary.shape[1] != self.n_summary:
            raise StoreError(f"summary has {summary.shape[1]} columns, expected {self.n_summary}")
        values = {
            "id": row.id, "path": row.path, "label": row.label or "", "group": row.group or "",
            "split": row.split or "", "content_hash": row.content_hash,
            "meta_json": json.dumps(row.meta, sort_keys=True) if row.meta else "",
            "tags": tags_text(row.tags),
        }
        item = (
            {k: _text(values[k]) for k in (*TRACK_STR_FIELDS, *TRACK_OPTIONAL_STR_FIELDS)},
            row,
            {k: np.asarray(frames[k], dtype=np.float32) for k in self.frame_dims},
            {k: np.asarray(track_features[k], np.float32).reshape(1, d) for k, d in self.track_dims.items()},
            summary,
            counts,
            _fingerprint_arrays(fingerprint),
        )
        self._pending.append(item)
        self._pending_bytes += sum(a.nbytes for a in item[2].values())
        self.n_tracks += 1
        self.ids.append(row.id)
        self.content_hashes.append(row.content_hash)
        if self._pending_bytes >= self.flush_bytes or len(self._pending) >= self.flush_rows:
            self.flush()

    def flush(self):
        """Write the buffered tracks: one resize and one write per dataset, not per track."""
        if not self._pending:
            return
        ds = self._ds
        items, self._pending, self._pending_bytes = self._pending, [], 0
        for k in (*TRACK_STR_FIELDS, *TRACK_OPTIONAL_STR_FIELDS):
            self._append(ds[f"tracks/{k}"], [it[0][k] for it in items])
        self._append(ds["tracks/duration"], np.array([it[1].duration for it in items], np.float64))
        for k in TRACK_INT_FIELDS:
            self._append(ds[f"tracks/{k}"], np.array([int(getattr(it[1], k)) for it in items], np.int64))
        for k, g in self.frame_groups.items():
            self._append(ds[f"{g}/{k}"], np.concatenate([it[2][k] for it in items]))
        for g, total in self._n_frames_total.items():
            ends = total + np.cumsum([it[5][g] for it in items])
            self._n_frames_total[g] = int(ends[-1])
            self._append(ds[f"{g}/offsets"], ends.astype(np.int64))
        for k in self.track_dims:
            self._append(ds[f"track_features/{k}"], np.concatenate([it[3][k] for it in items]))
        self._append(ds["summary/matrix"], np.concatenate([it[4] for it in items]))
        if self.fingerprint_version is not None:
            for j, k in enumerate(("hashes", "times")):
                self._append(ds[f"fingerprints/{k}"], np.concatenate([it[6][j] for it in items]))
            ends = self._n_hashes_total + np.cumsum([len(it[6][0]) for it in items])
            self._n_hashes_total = int(ends[-1])
            self._append(ds["fingerprints/offsets"], ends.astype(np.int64))

    def add_failure(self, fail: FailureRow):
        ds = self._ds
        for k in FAILURE_STR_FIELDS:
            self._append(ds[f"failures/{k}"], [_text(getattr(fail, k) or "")])
        for k in FAILURE_INT_FIELDS:
            self._append(ds[f"failures/{k}"], [int(getattr(fail, k))])
        self.n_failures += 1
        self.failure_ids.append(fail.id)

    @property
    def empty(self) -> bool:
        return self.n_tracks == 0 and self.n_failures == 0

    @property
    def age(self) -> float:
        return time.monotonic() - self.created

    def close(self) -> dict | None:
        """Flush, fsync and rename into place. Returns the shard's index entry (None if empty).

        A failure (a full disk) discards the shard, then raises: no temporary file is left.
        """
        if self._closed:
            return None
        try:
            self.flush()
            # Flush before closing: a failed flush leaves the file open and whole, to be discarded;
            # a close that fails half-way (HDF5 flushes inside it too) leaves handles that crash.
            self._f.flush()
            self._f.close()
            self._ds.clear()
            self._closed = True
            if self.empty:
                self.tmp_path.unlink(missing_ok=True)
                return None
            fsync_file(self.tmp_path)
            checksum = file_sha256(self.tmp_path)
            final = self.store_dir / self.name
            os.replace(self.tmp_path, final)
        except BaseException:
            self.discard()
            raise
        fsync_dir(self.store_dir)
        return _entry(final, self.config_hash, self.ids, self.content_hashes, self.failure_ids, checksum)

    def discard(self):
        """Drop the shard in progress (its tracks will be recomputed by the next run).

        Never writes to the store: what HDF5 still holds to write goes to an anonymous
        in-memory file, so discarding on a full disk is quiet and closes the file for good.
        """
        self._closed = True
        self._pending, self._pending_bytes = [], 0
        f, self._f = self._f, None
        if f is not None:
            _close_without_writing(f)
        self._ds.clear()  # (closed with the file: dropping them writes nothing)
        self.tmp_path.unlink(missing_ok=True)


def _fingerprint_arrays(fingerprint) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes uint32, times int32)`` of equal length (empty for None)."""
    if fingerprint is None:
        return np.zeros(0, np.uint32), np.zeros(0, np.int32)
    h, t = (np.asarray(a).ravel() for a in fingerprint)
    if h.shape != t.shape:
        raise StoreError(f"a fingerprint has {h.size} hashes but {t.size} times")
    return h.astype(np.uint32), t.astype(np.int32)


def _close_without_writing(f):
    """Close an h5py file whose pending writes must not (or cannot) reach its file.

    HDF5 flushes its caches when a file is closed, and when that flush fails (ENOSPC) the file
    stays open: h5py prints an ignored exception for every handle dropped later, and the
    library may crash at exit. So the file's descriptor is pointed at a scratch file first
    (``memfd_create`` where there is one), which every write succeeds on, and the close is
    certain.
    """
    try:
        if not f.id.valid:
            return
        fd = f.id.get_vfd_handle()
    except Exception:  # not a POSIX-file driver, or already closed: close it as it is
        fd = None
    if isinstance(fd, int) and fd >= 0:
        try:
            if hasattr(os, "memfd_create"):
                sink = os.memfd_create("genrekit-discarded-shard")
                try:
                    os.dup2(sink, fd)
                finally:
                    os.close(sink)
            else:  # pragma: no cover - not Linux
                import tempfile

                with tempfile.TemporaryFile() as sink:
                    os.dup2(sink.fileno(), fd)
        except OSError:
            pass
    try:
        f.close()
    except Exception:  # the file is dropped anyway; a failing close must not mask why
        pass


def _entry(path: Path, config_hash, ids, content_hashes, failure_ids, checksum) -> dict:
    return {
        "config_hash": config_hash,
        "ids": list(ids),
        "content_hashes": list(content_hashes),
        "failure_ids": list(failure_ids),
        "size": path.stat().st_size,
        "sha256": checksum,
    }
