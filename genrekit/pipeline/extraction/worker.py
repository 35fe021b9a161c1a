"""The unit of work every executor runs: a batch of planned files → shards of its own.

:func:`extract_batch` computes each file with :func:`extract_one` (content hash, then
:func:`~genrekit.pipeline.extraction.analysis.analyse_file`) and writes the results with
:func:`write_result` into new shards of the store (temporary name, renamed when complete; rotated
by count and by time). Only the shards' index entries and counts travel back, as a
:class:`BatchResult`; the process holding the store's lock merges them
(:class:`~genrekit.pipeline.extraction.merge.IndexMerger`). Also here: how a process that only
extracts sets itself up (one BLAS thread, glibc keeping freed memory, Ctrl-C left to the parent).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit import __version__
from genrekit.cache import FailureRow, ShardWriter, TrackRow
from genrekit.errors import AudioError
from genrekit.features.catalog import FEATURES
from genrekit.features.config import FeatureConfig
from genrekit.features.extract import summary_names
from genrekit.features.fingerprint import FINGERPRINT_VERSION, fingerprint
from genrekit.pipeline.extraction.analysis import FileFailure, analyse_file
from genrekit.pipeline.extraction.decode import content_hash

#: What a worker advises when a file does not fit in memory.
OUT_OF_MEMORY = "out of memory while extracting; use --duration to read less of long files"


# ------------------------------------------------------------------------------------ the process
def limit_threads():
    """One BLAS/numba thread per worker: parallelism comes from processes."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for reuse in this (extraction-only) process.

    Each file allocates tens of MB of short-lived arrays (the complex STFT alone is ~10 MB for
    30 s); by default glibc hands such blocks back to the OS when freed, so the next file faults
    in ~4,000 fresh pages again, which costs 5–10 % of extraction time and more when two workers
    fault at once in a VM. Large blocks come from the heap instead (up to 32 MB, glibc's limit),
    and only free space above 256 MB is returned: the process keeps about the peak it reaches on
    every 30-s file anyway (~150 MB), yet stays under the 300 MB of growth at which loky recycles a
    worker as leaking, after a long file too. Only for processes that do nothing but extract
    (worker processes and the ``genrekit extract`` command); a no-op where the C library is not
    glibc. Returns whether it took effect.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    return all(mallopt(option, value) == 1 for option, value in (
        (M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 256 << 20), (M_TOP_PAD, 64 << 20)))


def worker_init():
    """Start of a local worker process: Ctrl-C is the parent's to handle (it stops the pool;
    the batches in progress are lost, at most one per worker, and finished shards are kept)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads()
    keep_freed_memory()


# ------------------------------------------------------------------------------------ one file
def _fail(task: dict, h: str, error_type: str, message: str) -> dict:
    return {"status": "fail", "task": task, "content_hash": h, "error_type": error_type, "message": message}


def extract_one(task: dict, config: FeatureConfig) -> dict:
    """Extract one file. Never raises for bad audio: returns a ``fail`` record instead.

    ``task`` holds the track fields, the file's stat and the content hash stored for this id
    (``known_hash``) if any, or that of its stored failure (``failed_hash``, planned with
    ``rehash``). Returns ``{"status": "ok" | "cached" | "failed_cached" | "fail", ...}``; for
    ``ok`` the frame features are time-major ``(n_frames, dim)`` float32.
    """
    limit_threads()
    path = task["path"]
    try:
        h = content_hash(path)
    except AudioError as e:
        return _fail(task, "", "AudioError", str(e))
    except OSError as e:
        return _fail(task, "", type(e).__name__, f"cannot read file: {e.strerror or e}")
    if task.get("known_hash") == h:
        return {"status": "cached", "task": task, "content_hash": h}
    if task.get("failed_hash") == h:  # the same bytes failed before: not retried
        return {"status": "failed_cached", "task": task, "content_hash": h}
    # One BLAS thread in every process, this one included: the same file gives bit-identical
    # features whichever backend or worker count computed it.
    # The fingerprint (near-duplicate detection) comes from the same decoded signal, in this pass,
    # before the features: they can then free the signal once the last of them has read it.
    got = analyse_file(path, config, max_seconds=task.get("max_seconds"), summary=True,
                       before=lambda y: fingerprint(y, config.sr), out_of_memory=OUT_OF_MEMORY)
    if isinstance(got, FileFailure):
        return _fail(task, h, got.error_type, got.message)
    feats = got.features
    frame_feats = {k: np.ascontiguousarray(v.T) for k, v in feats.items() if k in config.frame_features}
    own_clock = FEATURES.clocks(config.features)  # on a frame grid of their own: not n_frames
    n_frames = next((v.shape[0] for k, v in frame_feats.items() if k not in own_clock), 0)
    return {
        "status": "ok",
        "task": task,
        "content_hash": h,
        "duration": float(got.n_samples / config.sr),
        "sample_rate": got.native_sr,
        "n_frames": int(n_frames),
        "frames": frame_feats,
        "track_features": {k: v for k, v in feats.items() if k in config.track_features},
        "summary": got.summary,
        "fingerprint": got.derived,
    }


# ------------------------------------------------------------------------------------ its shards
def shard_writer_args(config: FeatureConfig) -> dict:
    """:class:`ShardWriter` keyword arguments for shards of ``config`` (the same on every executor)."""
    dims = config.feature_dims()
    return dict(
        config_json=config.to_json(), config_hash=config.hash(),
        frame_dims={k: dims[k] for k in config.frame_features},
        track_dims={k: dims[k] for k in config.track_features},
        summary_names=summary_names(config), genrekit_version=__version__,
        fingerprint_version=FINGERPRINT_VERSION,
        frame_clocks=FEATURES.clocks(config.features),
    )


def write_result(res: dict, get_writer: Callable[[], ShardWriter]) -> TrackRow | FailureRow | None:
    """Write one :func:`extract_one` result into a shard; every executor stores results this way.

    ``get_writer()`` returns the shard to write to (called only when there is something to
    write). Returns the :class:`TrackRow` or :class:`FailureRow` written, or None for a track
    found cached by content hash (nothing written).
    """
    task = res["task"]
    if res["status"] == "cached":
        return None
    if res["status"] == "fail":
        fail = FailureRow(id=task["id"], path=task["path"], content_hash=res["content_hash"],
                          error_type=res["error_type"], message=res["message"],
                          file_size=task["file_size"], file_mtime_ns=task["file_mtime_ns"])
        get_writer().add_failure(fail)
        return fail
    row = TrackRow(
        id=task["id"], path=task["path"], label=task["label"], group=task["group"],
        split=task["split"], content_hash=res["content_hash"],
        duration=res["duration"], sample_rate=res["sample_rate"],
        file_size=task["file_size"], file_mtime_ns=task["file_mtime_ns"],
        n_frames=res["n_frames"], meta=task["meta"], tags=tuple(task.get("tags", ())))
    get_writer().add_track(row, res["frames"], res["track_features"], res["summary"], res.get("fingerprint"))
    return row


@dataclass
class BatchResult:
    """What one batch sends back: its shards' index entries and counts, never feature arrays."""

    n_files: int
    shards: dict[str, dict] = field(default_factory=dict)  # shard name -> index entry, in closing order
    n_extracted: int = 0
    n_cached: int = 0
    failures: list[FailureRow] = field(default_factory=list)
    worker: str = ""
    n_failed_cached: int = 0  # failed before with the same content (hashed with ``rehash``)

    def count(self, row: TrackRow | FailureRow | None):
        if row is None:
            self.n_cached += 1
        elif isinstance(row, FailureRow):
            self.failures.append(row)
        else:
            self.n_extracted += 1


class _Shards:
    """The shard a batch writes into now: opened on first use, closed into ``out.shards``."""

    def __init__(self, store_dir: Path, writer_args: dict, out: BatchResult):
        self.store_dir, self.writer_args, self.out = store_dir, writer_args, out
        self.writer: ShardWriter | None = None

    def get(self) -> ShardWriter:
        if self.writer is None:
            self.writer = ShardWriter(self.store_dir, **self.writer_args)
        return self.writer

    def full(self, shard_size: int | None, shard_seconds: float | None) -> bool:
        w = self.writer
        return w is not None and ((shard_size is not None and w.n_tracks + w.n_failures >= shard_size)
                                  or (shard_seconds is not None and w.age >= shard_seconds))

    def close(self):
        entry = self.writer.close()
        if entry is not None:
            self.out.shards[self.writer.name] = entry
        self.writer = None

    def close_if_open(self):
        if self.writer is not None:
            self.close()

    def keep_or_discard(self):
        """On an interrupt: every file in the open shard is complete, so keep them (the caller
        adopts the shard); discard it if even closing fails."""
        if self.writer is not None:
            try:
                self.close()
            except BaseException:
                self.writer.discard()

    def discard(self):
        if self.writer is not None:
            self.writer.discard()


def extract_batch(tasks: list[dict], store_dir: str, config_json: str, *, shard_size: int | None = None,
                  shard_seconds: float | None = None, extract: Callable[[dict, FeatureConfig], dict] | None = None,
                  on_file: Callable[[], None] | None = None, worker: str = "") -> BatchResult:
    """Extract a batch of planned files in this process into new shards of the store.

    Parameters
    ----------
    tasks : list of dict
        Planned tasks (:func:`~genrekit.pipeline.extraction.plan.plan`); a ``read_path`` key, if
        present, is where to read the file (the path stored is the task's ``path``).
    store_dir : str
    config_json : str
        The feature config (:meth:`FeatureConfig.to_json`).
    shard_size, shard_seconds : int, float, optional
        Close the shard in progress after this many files or seconds and start another (None:
        one shard for the whole batch).
    extract : callable, optional
        The per-file function (default :func:`extract_one`).
    on_file : callable, optional
        Called after each file (progress when the batch runs in the caller's process).
    worker : str
        Who ran the batch, for messages.

    A failure to write (a full disk) discards the shard in progress and raises; an interrupt
    (Ctrl-C) closes it with the files it holds, then raises.
    """
    extract = extract or extract_one
    config = FeatureConfig.from_json(config_json)
    out = BatchResult(n_files=len(tasks), worker=worker)
    shards = _Shards(Path(store_dir), shard_writer_args(config), out)
    try:
        for task in tasks:
            read_path = task.get("read_path")
            res = extract(dict(task, path=read_path) if read_path else task, config)
            res["task"] = task  # store the path as planned, whatever it was read as
            if res["status"] == "failed_cached":
                out.n_failed_cached += 1
            else:
                out.count(write_result(res, shards.get))
            if on_file is not None:
                on_file()
            if shards.full(shard_size, shard_seconds):
                shards.close()
        shards.close_if_open()
    except KeyboardInterrupt:
        shards.keep_or_discard()
        raise
    except BaseException:
        shards.discard()
        raise
    return out


def failures_batch(failures: list[FailureRow], store_dir: Path, config: FeatureConfig) -> BatchResult:
    """Write failures found while planning (files gone, not regular) into a shard of their own."""
    out = BatchResult(n_files=0)
    writer = ShardWriter(store_dir, **shard_writer_args(config))
    try:
        for fail in failures:
            writer.add_failure(fail)
            out.count(fail)
        out.shards[writer.name] = writer.close()
    except BaseException:
        writer.discard()
        raise
    return out
