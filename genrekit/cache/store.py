"""The feature store: a directory of HDF5 shards plus a JSON index.

Layout (schema version 1) — readable with plain h5py, see README "Store format"::

    STORE/
      index.json            shard name -> config hash, ids, content hashes, checksum (a cache of
                            what the shards say; rebuilt from the shards whenever it is stale)
      shard-<ns>-<rand>.h5  one writer each; written as .h5.tmp and renamed when complete
      .lock                 held by the one process that writes (extract)

Each shard::

    attrs: schema_version, genrekit_version, config_json, config_hash, created_unix
    tracks/<field>          (n,) one dataset per field: id, path, label, group, split,
                            content_hash, meta_json (UTF-8 strings; "" = none), duration (f8, s),
                            sample_rate (i8, the file's own), file_size (i8), file_mtime_ns (i8),
                            n_frames (i8)
    frames/offsets          (n+1,) int64: track i's frames are rows offsets[i]:offsets[i+1]
    frames/<feature>        (total_frames, dim) float32, chunked, LZF+shuffle (h5py built-in)
    track_features/<feat>   (n, dim) float32 (e.g. tempo)
    summary/matrix          (n, n_columns) float32;  summary/names (n_columns,) str
    failures/<field>        (m,) id, path, content_hash, error_type, message (str);
                            file_size, file_mtime_ns (i8)

This module knows nothing of librosa or models: it stores named arrays for a config it is handed
as JSON, and reads them back.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit.errors import StoreError
from genrekit.files import file_sha256

SCHEMA_VERSION = 1
INDEX_NAME = "index.json"
LOCK_NAME = ".lock"
SHARD_PREFIX = "shard-"
SHARD_SUFFIX = ".h5"
TMP_SUFFIX = ".tmp"

TRACK_STR_FIELDS = ("id", "path", "label", "group", "split", "content_hash", "meta_json")
TRACK_INT_FIELDS = ("sample_rate", "file_size", "file_mtime_ns", "n_frames")
FAILURE_STR_FIELDS = ("id", "path", "content_hash", "error_type", "message")
FAILURE_INT_FIELDS = ("file_size", "file_mtime_ns")

_STR = None  # h5py string dtype, created lazily


def _str_dtype():
    global _STR
    if _STR is None:
        import h5py

        _STR = h5py.string_dtype("utf-8")
    return _STR


@dataclass(frozen=True)
class TrackRow:
    """One extracted track as the store holds it."""

    id: str
    path: str
    label: str | None
    group: str | None
    split: str | None
    content_hash: str
    duration: float
    sample_rate: int
    file_size: int
    file_mtime_ns: int
    n_frames: int
    meta: dict = field(default_factory=dict, compare=False, hash=False)
    shard: str = ""
    row: int = -1


@dataclass(frozen=True)
class FailureRow:
    """A file that could not be extracted, and why."""

    id: str
    path: str
    content_hash: str
    error_type: str
    message: str
    file_size: int = -1
    file_mtime_ns: int = -1
    shard: str = ""


def _none(s: str) -> str | None:
    return s if s else None


def _text(s: str) -> str:
    """``s`` storable as UTF-8: bytes of a file name that are not UTF-8 become ``\\xNN``."""
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


# ===================================================================================== writing
class ShardWriter:
    """Appends tracks to one shard; the shard appears under its final name only on :meth:`close`.

    Parameters
    ----------
    store_dir : path
    config_json, config_hash : str
        The feature config the arrays were computed with.
    frame_dims, track_dims : dict
        ``feature -> width`` of frame-level and track-level features.
    summary_names : list of str
        Column names of the summary vectors.
    """

    def __init__(self, store_dir, *, config_json, config_hash, frame_dims, track_dims, summary_names,
                 genrekit_version, chunk_rows=2048, frame_compression="lzf", flush_bytes=32 << 20,
                 flush_rows=32):
        self.store_dir = Path(store_dir)
        self.name = f"{SHARD_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{SHARD_SUFFIX}"
        self.tmp_path = self.store_dir / (self.name + TMP_SUFFIX)
        self.frame_dims = dict(frame_dims)
        self.track_dims = dict(track_dims)
        self.n_summary = len(summary_names)
        self.config_hash = config_hash
        self.created = time.monotonic()
        self.n_tracks = 0
        self.n_failures = 0
        self.ids: list[str] = []
        self.content_hashes: list[str] = []
        self.failure_ids: list[str] = []
        self._n_frames_total = 0
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
        for k in TRACK_STR_FIELDS:
            ds[f"tracks/{k}"] = g.create_dataset(k, (0,), dtype=s, maxshape=(None,), chunks=(256,))
        ds["tracks/duration"] = g.create_dataset("duration", (0,), dtype="f8", maxshape=(None,), chunks=(256,))
        for k in TRACK_INT_FIELDS:
            ds[f"tracks/{k}"] = g.create_dataset(k, (0,), dtype="i8", maxshape=(None,), chunks=(256,))
        fr = f.create_group("frames")
        ds["frames/offsets"] = fr.create_dataset("offsets", data=np.zeros(1, np.int64), maxshape=(None,),
                                                 chunks=(256,))
        for k, d in self.frame_dims.items():
            ds[f"frames/{k}"] = fr.create_dataset(k, (0, d), dtype="f4", maxshape=(None, d),
                                                  chunks=(max(1, min(chunk_rows, (1 << 18) // d)), d), **fcomp)
        tf = f.create_group("track_features")
        for k, d in self.track_dims.items():
            ds[f"track_features/{k}"] = tf.create_dataset(k, (0, d), dtype="f4", maxshape=(None, d), chunks=(256, d))
        sm = f.create_group("summary")
        ds["summary/matrix"] = sm.create_dataset(
            "matrix", (0, self.n_summary), dtype="f4", maxshape=(None, self.n_summary),
            chunks=(max(1, min(256, (1 << 18) // max(1, self.n_summary))), max(1, self.n_summary)), **comp)
        ds["summary/names"] = sm.create_dataset("names", data=np.array(summary_names, dtype=object), dtype=s)
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

    def add_track(self, row: TrackRow, frames: dict, track_features: dict, summary: np.ndarray):
        """Append one track: ``frames[name]`` is ``(n_frames, dim)``; ``summary`` is 1-D."""
        n_frames = int(row.n_frames)
        for k, d in self.frame_dims.items():
            arr = np.asarray(frames[k], dtype=np.float32)
            if arr.shape != (n_frames, d):
                raise StoreError(f"frames[{k!r}] has shape {arr.shape}, expected {(n_frames, d)}")
        summary = np.asarray(summary, dtype=np.float32).reshape(1, -1)
        if summary.shape[1] != self.n_summary:
            raise StoreError(f"summary has {summary.shape[1]} columns, expected {self.n_summary}")
        values = {
            "id": row.id, "path": row.path, "label": row.label or "", "group": row.group or "",
            "split": row.split or "", "content_hash": row.content_hash,
            "meta_json": json.dumps(row.meta, sort_keys=True) if row.meta else "",
        }
        item = (
            {k: _text(values[k]) for k in TRACK_STR_FIELDS},
            row,
            {k: np.asarray(frames[k], dtype=np.float32) for k in self.frame_dims},
            {k: np.asarray(track_features[k], np.float32).reshape(1, d) for k, d in self.track_dims.items()},
            summary,
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
        for k in TRACK_STR_FIELDS:
            self._append(ds[f"tracks/{k}"], [it[0][k] for it in items])
        self._append(ds["tracks/duration"], np.array([it[1].duration for it in items], np.float64))
        for k in TRACK_INT_FIELDS:
            self._append(ds[f"tracks/{k}"], np.array([int(getattr(it[1], k)) for it in items], np.int64))
        for k in self.frame_dims:
            self._append(ds[f"frames/{k}"], np.concatenate([it[2][k] for it in items]))
        ends = self._n_frames_total + np.cumsum([int(it[1].n_frames) for it in items])
        self._n_frames_total = int(ends[-1])
        self._append(ds["frames/offsets"], ends.astype(np.int64))
        for k in self.track_dims:
            self._append(ds[f"track_features/{k}"], np.concatenate([it[3][k] for it in items]))
        self._append(ds["summary/matrix"], np.concatenate([it[4] for it in items]))

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
            fd = os.open(self.tmp_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            checksum = file_sha256(self.tmp_path)
            final = self.store_dir / self.name
            os.replace(self.tmp_path, final)
        except BaseException:
            self.discard()
            raise
        _fsync_dir(self.store_dir)
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


def _fsync_dir(path: Path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _entry(path: Path, config_hash, ids, content_hashes, failure_ids, checksum) -> dict:
    return {
        "config_hash": config_hash,
        "ids": list(ids),
        "content_hashes": list(content_hashes),
        "failure_ids": list(failure_ids),
        "size": path.stat().st_size,
        "sha256": checksum,
    }


# ===================================================================================== the index
def _read_shard_entry(path: Path) -> tuple[dict, str]:
    """Index entry and config JSON of a finished shard, read from the shard itself."""
    import h5py

    with h5py.File(path, "r") as f:
        sv = int(f.attrs["schema_version"])
        if sv != SCHEMA_VERSION:
            raise StoreError(
                f"{path.name} has store schema version {sv}; this genrekit reads version "
                f"{SCHEMA_VERSION}. Extract into a new store (--store NEW_PATH)."
            )
        ids = [s.decode() if isinstance(s, bytes) else s for s in f["tracks/id"][:]]
        hashes = [s.decode() if isinstance(s, bytes) else s for s in f["tracks/content_hash"][:]]
        fids = [s.decode() if isinstance(s, bytes) else s for s in f["failures/id"][:]]
        entry = {
            "config_hash": str(f.attrs["config_hash"]),
            "ids": ids,
            "content_hashes": hashes,
            "failure_ids": fids,
        }
        config_json = str(f.attrs["config_json"])
    entry["size"] = path.stat().st_size
    entry["sha256"] = None  # unknown: the shard was indexed after the fact
    return entry, config_json


def load_index(store_dir: Path, *, repair_missing: bool = True) -> tuple[dict, bool]:
    """The store's index, reconciled with the shard files on disk.

    Returns ``(index, changed)``; ``changed`` is True when shards on disk were added to or
    removed from what ``index.json`` said (a run killed between a rename and an index write).
    """
    store_dir = Path(store_dir)
    p = store_dir / INDEX_NAME
    index = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": {}, "current_config": None}
    if p.exists():
        try:
            index = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            index["_corrupt"] = str(e)
    sv = index.get("schema_version", SCHEMA_VERSION)
    if sv != SCHEMA_VERSION:
        raise StoreError(
            f"store {store_dir} has schema version {sv}; this genrekit reads version "
            f"{SCHEMA_VERSION}. Extract into a new store with --store NEW_PATH."
        )
    changed = "_corrupt" in index
    index.pop("_corrupt", None)
    on_disk = sorted(p.name for p in store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))
    known = index["shards"]
    for name in list(known):
        if name not in on_disk:
            del known[name]
            changed = True
    for name in on_disk:
        if name not in known:
            try:
                entry, cfg = _read_shard_entry(store_dir / name)
            except StoreError:
                raise
            except Exception as e:  # an unreadable shard is reported by verify, skipped here
                index.setdefault("unreadable", {})[name] = f"{type(e).__name__}: {e}"
                continue
            known[name] = entry
            index["configs"].setdefault(entry["config_hash"], cfg)
            if index.get("current_config") is None:
                index["current_config"] = entry["config_hash"]
            changed = True
    index["shards"] = {k: known[k] for k in sorted(known)}
    return index, changed


def write_index(store_dir: Path, index: dict):
    """Atomically replace ``index.json``."""
    store_dir = Path(store_dir)
    tmp = store_dir / (INDEX_NAME + f".{os.getpid()}{TMP_SUFFIX}")
    data = {k: v for k, v in index.items() if k != "unreadable"}
    try:
        tmp.write_text(json.dumps(data, indent=None, separators=(",", ":")))
        os.replace(tmp, store_dir / INDEX_NAME)
    except BaseException:  # e.g. disk full: leave the old index, not a half-written temp file
        tmp.unlink(missing_ok=True)
        raise


#: errno values that mean "this store cannot be written here".
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class StoreLock:
    """Exclusive writer lock on a store (``STORE/.lock``, fcntl). Refuses with the holder's pid.

    Only writers take it (extract, verify --repair); readers never open the lock file for
    writing, so a read-only store (file modes, a read-only mount) reads as usual. A writer on a
    read-only store is refused with one line that says so.
    """

    def __init__(self, store_dir: Path):
        self.path = Path(store_dir) / LOCK_NAME
        self._fd = None

    def acquire(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in _READ_ONLY:
                raise StoreError(self._read_only(e.errno)) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(
                    f"store {self.path.parent} is being written by {holder}; wait for it to "
                    f"finish or use another --store"
                ) from None
            raise
        try:  # the lock file may be writable where the folder is not: the writer creates shards there
            probe = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}{TMP_SUFFIX}")
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(probe)
        except OSError as e:
            if e.errno in _READ_ONLY:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise StoreError(self._read_only(e.errno)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}".encode(), 0)
        self._fd = fd
        return self

    def _read_only(self, code: int) -> str:
        why = "on a read-only file system" if code == errno.EROFS else "read-only for this user (permission denied)"
        return (f"store {self.path.parent} is {why}: extract and verify --repair write to it (info, export, "
                f"benchmark and verify only read it); use a --store you can write")

    def release(self):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# ===================================================================================== reading
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
        self.frame_features = tuple(
            k for k in self._h5(self.shards[0])["frames"].keys() if k != "offsets"
        ) if self.shards else ()

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
        off = f["frames/offsets"]
        a, b = int(off[r.row]), int(off[r.row + 1])
        out = {}
        for k in feats:
            if k not in self.frame_features:
                raise StoreError(f"frame feature {k!r} is not in this store; it has: {', '.join(self.frame_features)}")
            out[k] = f["frames"][k][a:b]
        return out

    def frame_matrix(self, track_id: str, features) -> np.ndarray:
        """Frame features of one track stacked side by side: ``(n_frames, sum of dims)``."""
        d = self.frames(track_id, features)
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
