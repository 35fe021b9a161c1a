"""HOW extraction flows: tracks → plan → batches → workers that write their own shards → index.

Every backend runs the same unit of work, :func:`extract_batch`: compute a batch of planned files
with :func:`extract_one` and write them with :func:`write_result` into new shards of the store
(temporary name, renamed when complete; rotated by count and by time). Only the shards' index
entries and counts travel back; the process that called :func:`extract` holds the store's lock and
merges them into the index. The executor is the seam that runs the batches: ``local`` runs them in
this process (one worker) or in ``joblib`` worker processes (loky by default); ``dask`` on a Dask
cluster (:mod:`genrekit.pipeline.extraction.cluster`).
"""

from __future__ import annotations

import functools
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from joblib.externals.loky.process_executor import TerminatedWorkerError

from genrekit import __version__
from genrekit.cache import FailureRow, ShardWriter, StoreLock, TrackRow, load_index, write_index
from genrekit.cache.layout import SCHEMA_VERSION, SHARD_PREFIX, SHARD_SUFFIX, TMP_SUFFIX
from genrekit.files import no_space
from genrekit.errors import AudioError, GenrekitError, ParameterError, StoreError
from genrekit.features.config import FeatureConfig
from genrekit.features.extract import compute_features, summary_names, summary_vector
from genrekit.pipeline.extraction.decode import content_hash, decode, not_regular, not_regular_message
from genrekit.pipeline.extraction.tracks import Track

DEFAULT_STORE = "genrekit_store"
#: Least seconds between two rewrites of index.json during a run (it grows with the store).
INDEX_WRITE_SECONDS = 2.0
#: Longest audio analysed per file by default (s): memory grows ~1 MB per second of audio.
DEFAULT_MAX_SECONDS = 30 * 60.0


@dataclass
class ExtractReport:
    """What one ``extract`` run did."""

    store: Path
    n_tracks: int = 0
    n_extracted: int = 0
    n_cached: int = 0
    n_failed: int = 0
    n_failed_cached: int = 0
    shards_written: int = 0
    seconds: float = 0.0
    failures: list[FailureRow] = field(default_factory=list)
    interrupted: bool = False

    def count(self, row: "TrackRow | FailureRow | None"):
        """Account for one file's outcome as :func:`write_result` returns it."""
        if row is None:
            self.n_cached += 1
        elif isinstance(row, FailureRow):
            self.failures.append(row)
            self.n_failed += 1
        else:
            self.n_extracted += 1

    def line(self) -> str:
        parts = [f"{self.n_extracted} extracted", f"{self.n_cached} skipped as cached",
                 f"{self.n_failed + self.n_failed_cached} failed"]
        s = ", ".join(parts) + f" in {self.seconds:.1f} s -> {self.store}"
        if self.n_failed + self.n_failed_cached:
            s += f" (see why: genrekit info {self.store} --failures)"
        if self.interrupted:
            s = "interrupted: " + s + " (finished shards kept; run again to resume)"
        return s


# ------------------------------------------------------------------------------------ the worker
def _limit_threads():
    """One BLAS/numba thread per worker: parallelism comes from processes."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")


@functools.cache
def _thread_controller():
    """This process's threadpoolctl controller, made once (finding the native libraries costs ~3 ms),
    after importing what extraction loads, so that it sees every BLAS/OpenMP library."""
    import importlib

    from threadpoolctl import ThreadpoolController

    for module in ("librosa", "scipy.fft", "scipy.signal"):
        importlib.import_module(module)

    return ThreadpoolController()


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


def _worker_init():
    """Start of a local worker process: Ctrl-C is the parent's to handle (it stops the pool;
    the batches in progress are lost, at most one per worker, and finished shards are kept)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads()
    keep_freed_memory()


def extract_one(task: dict, config: FeatureConfig) -> dict:
    """Extract one file. Never raises for bad audio: returns a ``fail`` record instead.

    ``task`` holds the track fields, the file's stat and the content hash stored for this id
    (``known_hash``) if any, or that of its stored failure (``failed_hash``, planned with
    ``rehash``). Returns ``{"status": "ok" | "cached" | "failed_cached" | "fail", ...}``; for
    ``ok`` the frame features are time-major ``(n_frames, dim)`` float32.
    """
    _limit_threads()
    path = task["path"]
    try:
        h = content_hash(path)
    except AudioError as e:
        return {"status": "fail", "task": task, "content_hash": "", "error_type": "AudioError", "message": str(e)}
    except OSError as e:
        return {"status": "fail", "task": task, "content_hash": "", "error_type": type(e).__name__,
                "message": f"cannot read file: {e.strerror or e}"}
    if task.get("known_hash") == h:
        return {"status": "cached", "task": task, "content_hash": h}
    if task.get("failed_hash") == h:  # the same bytes failed before: not retried
        return {"status": "failed_cached", "task": task, "content_hash": h}
    try:
        # One BLAS thread in every process, this one included: the same file gives bit-identical
        # features whichever backend or worker count computed it.
        with _thread_controller().limit(limits=1):
            y, native_sr = decode(path, config.sr, offset=config.offset, duration=config.duration,
                                  max_seconds=task.get("max_seconds"))
            feats = compute_features(y, config)
            summary = summary_vector(feats, config)
            if not np.isfinite(summary).all():  # never into the summary table, whatever the cause
                raise AudioError("summary statistics came out non-finite (NaN or Inf) for this audio")
    except AudioError as e:
        return {"status": "fail", "task": task, "content_hash": h, "error_type": "AudioError", "message": str(e)}
    except MemoryError:
        return {"status": "fail", "task": task, "content_hash": h, "error_type": "MemoryError",
                "message": "out of memory while extracting; use --duration to read less of long files"}
    except Exception as e:  # a bug or an unexpected decoder error must not kill the batch
        return {"status": "fail", "task": task, "content_hash": h, "error_type": type(e).__name__,
                "message": str(e) or repr(e)}
    frame_feats = {k: np.ascontiguousarray(v.T) for k, v in feats.items() if k in config.frame_features}
    n_frames = next(iter(frame_feats.values())).shape[0] if frame_feats else 0
    return {
        "status": "ok",
        "task": task,
        "content_hash": h,
        "duration": float(len(y) / config.sr),
        "sample_rate": int(native_sr),
        "n_frames": int(n_frames),
        "frames": frame_feats,
        "track_features": {k: v for k, v in feats.items() if k in config.track_features},
        "summary": summary,
    }


def shard_writer_args(config: FeatureConfig) -> dict:
    """:class:`ShardWriter` keyword arguments for shards of ``config`` (the same on every backend)."""
    dims = config.feature_dims()
    return dict(
        config_json=config.to_json(), config_hash=config.hash(),
        frame_dims={k: dims[k] for k in config.frame_features},
        track_dims={k: dims[k] for k in config.track_features},
        summary_names=summary_names(config), genrekit_version=__version__,
    )


def write_result(res: dict, get_writer: Callable[[], ShardWriter]) -> TrackRow | FailureRow | None:
    """Write one :func:`extract_one` result into a shard; every backend stores results this way.

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
        n_frames=res["n_frames"], meta=task["meta"])
    get_writer().add_track(row, res["frames"], res["track_features"], res["summary"])
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


def extract_batch(tasks: list[dict], store_dir: str, config_json: str, *, shard_size: int | None = None,
                  shard_seconds: float | None = None, extract: Callable[[dict, FeatureConfig], dict] | None = None,
                  on_file: Callable[[], None] | None = None, worker: str = "") -> BatchResult:
    """Extract a batch of planned files in this process into new shards of the store.

    Parameters
    ----------
    tasks : list of dict
        Planned tasks (:func:`plan`); a ``read_path`` key, if present, is where to read the file
        (the path stored is the task's ``path``).
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
    d = Path(store_dir)
    config = FeatureConfig.from_json(config_json)
    writer_args = shard_writer_args(config)
    out = BatchResult(n_files=len(tasks), worker=worker)
    writer: ShardWriter | None = None

    def get_writer() -> ShardWriter:
        nonlocal writer
        if writer is None:
            writer = ShardWriter(d, **writer_args)
        return writer

    def close():
        nonlocal writer
        entry = writer.close()
        if entry is not None:
            out.shards[writer.name] = entry
        writer = None

    try:
        for task in tasks:
            read_path = task.get("read_path")
            res = extract(dict(task, path=read_path) if read_path else task, config)
            res["task"] = task  # store the path as planned, whatever it was read as
            if res["status"] == "failed_cached":
                out.n_failed_cached += 1
            else:
                out.count(write_result(res, get_writer))
            if on_file is not None:
                on_file()
            if writer is not None and (
                (shard_size is not None and writer.n_tracks + writer.n_failures >= shard_size)
                or (shard_seconds is not None and writer.age >= shard_seconds)
            ):
                close()
        if writer is not None:
            close()
    except KeyboardInterrupt:
        if writer is not None:  # every file in it is complete: keep them (the caller adopts the shard)
            try:
                close()
            except BaseException:
                writer.discard()
        raise
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    return out


def batches_of(tasks: list[dict], size: int, *, workers: int = 1) -> list[list[dict]]:
    """Consecutive batches of at most ``size`` tasks.

    With several ``workers``, sizes are guided: each batch takes about a quarter of a worker's
    share of what remains (never more than ``size``), so batches shrink towards the end and the
    workers finish together instead of one idling while another works through a full batch.
    """
    out, i, n = [], 0, len(tasks)
    while i < n:
        k = size if workers <= 1 else max(1, min(size, math.ceil((n - i) / (4 * workers))))
        out.append(tasks[i:i + k])
        i += k
    return out


class IndexMerger:
    """Merges finished batches into the index and the report; rewrites index.json at most every
    :data:`INDEX_WRITE_SECONDS` (a shard finished in between is found on disk after a crash)."""

    def __init__(self, store_dir: Path, index: dict, report: "ExtractReport", bar=None):
        self.store_dir, self.index, self.report, self.bar = store_dir, index, report, bar
        self.dirty, self.written = False, time.monotonic()

    def add(self, res: BatchResult, *, advance: bool = True):
        for name, entry in res.shards.items():
            self.index["shards"][name] = entry
            self.report.shards_written += 1
            self.dirty = True
        self.report.n_extracted += res.n_extracted
        self.report.n_cached += res.n_cached
        self.report.n_failed_cached += res.n_failed_cached
        for fail in res.failures:
            self.report.count(fail)
        if advance and self.bar is not None:
            self.bar.update(res.n_files)
        self.flush()

    def flush(self, force: bool = False):
        if self.dirty and (force or time.monotonic() - self.written >= INDEX_WRITE_SECONDS):
            write_index(self.store_dir, self.index)
            self.dirty, self.written = False, time.monotonic()

    def adopt_unreceived(self):
        """Index and count the shards on disk the index lacks: batches that finished (or closed
        on an interrupt) after this process stopped listening."""
        on_disk = {p.name for p in self.store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}")}
        if not on_disk - set(self.index["shards"]):
            return
        write_index(self.store_dir, self.index)
        full, _ = load_index(self.store_dir)
        for name in sorted(on_disk - set(self.index["shards"])):
            if name in full["shards"]:
                self.index["shards"][name] = entry = full["shards"][name]
                self.report.n_extracted += len(entry["ids"])
                self.report.n_failed += len(entry["failure_ids"])
                self.report.shards_written += 1
        self.dirty = True


# ------------------------------------------------------------------------------------ planning
def _task(track: Track, known: TrackRow | FailureRow | None, st: os.stat_result | None = None,
          path: str | None = None) -> dict:
    path = path or track.path
    st = st or os.stat(path)
    return {
        "id": track.id, "path": path, "label": track.label, "group": track.group,
        "split": track.split, "meta": dict(track.meta), "file_size": st.st_size,
        "file_mtime_ns": st.st_mtime_ns,
        "known_hash": known.content_hash if isinstance(known, TrackRow) else None,
    }


def plan(tracks: list[Track], done: dict[str, TrackRow], failed: dict[str, FailureRow],
         retry_failed: bool, rehash: bool = False) -> tuple[list[dict], int, int, list[FailureRow]]:
    """Split tracks into tasks to run, and those the store already holds.

    A track is cached when its id is stored with the same file size and mtime (no need to read
    it), or — decided in the worker — with the same content hash. A track that failed before
    with an unchanged file is not retried unless ``retry_failed``. With ``rehash`` the size and
    mtime are not trusted: every file is hashed, and only an unchanged content hash is cached
    (or, for a file that failed before, not retried).

    Paths are made absolute (:func:`os.path.abspath`: against the working directory, with no
    symbolic link resolved), so the store says where each file is whatever the working
    directory of a later reader. A file that cannot be read is a failure; one that failed the
    same way before is counted as failed again without a new record (unless ``retry_failed``).
    """
    tasks, n_cached, n_failed_cached, vanished = [], 0, 0, []
    for t in tracks:
        prev = done.get(t.id)
        fail = failed.get(t.id)
        path = os.path.abspath(t.path)
        try:
            st = os.stat(path)
        except OSError as e:
            if (fail is not None and not retry_failed and fail.path == path and fail.file_size == -1
                    and fail.error_type == type(e).__name__):
                n_failed_cached += 1  # still missing (a manifest row, a dangling link): recorded once
                continue
            vanished.append(FailureRow(id=t.id, path=path, content_hash="", error_type=type(e).__name__,
                                       message=f"cannot read file: {e.strerror or e}"))
            continue
        stat_key = (st.st_size, st.st_mtime_ns)
        what = not_regular(st)  # a FIFO or device could block the worker that opens it forever
        if prev is not None and not rehash and stat_key == (prev.file_size, prev.file_mtime_ns):
            n_cached += 1
        elif (fail is not None and not retry_failed and (not rehash or what)  # (nothing to hash)
              and stat_key == (fail.file_size, fail.file_mtime_ns)):
            n_failed_cached += 1
        elif what:
            vanished.append(FailureRow(id=t.id, path=path, content_hash="", error_type="AudioError",
                                       message=not_regular_message(what), file_size=st.st_size,
                                       file_mtime_ns=st.st_mtime_ns))
        else:
            task = _task(t, prev, st, path)  # one stat: the file may vanish any time
            if rehash and fail is not None and not retry_failed and fail.content_hash:
                task["failed_hash"] = fail.content_hash
            tasks.append(task)
    return tasks, n_cached, n_failed_cached, vanished


def _existing_rows(store_dir: Path, index: dict, config_hash: str):
    """Latest TrackRow / FailureRow per id for this config (empty store: nothing)."""
    from genrekit.cache.store import FeatureStore

    if not any(e["config_hash"] == config_hash for e in index["shards"].values()):
        return {}, {}
    fs = FeatureStore(store_dir, config_hash=config_hash)
    try:
        return {r.id: r for r in fs.tracks}, {f.id: f for f in fs.failures}
    finally:
        fs.close()


# ------------------------------------------------------------------------------------ the run
def extract(
    tracks: list[Track],
    store: str | os.PathLike = DEFAULT_STORE,
    config: FeatureConfig | None = None,
    *,
    workers: int | None = None,
    shard_size: int = 64,
    shard_seconds: float = 60.0,
    retry_failed: bool = False,
    progress: bool = True,
    backend: str = "loky",
    executor: str = "local",
    scheduler=None,
    batch_size: int = 32,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    rehash: bool = False,
) -> ExtractReport:
    """Extract ``tracks`` into the store at ``store``; resumable and incremental.

    Parameters
    ----------
    tracks : list of Track
    store : path
        Store directory (created if absent).
    config : FeatureConfig
    workers : int, optional
        Worker processes (default: all cores). ``1`` runs in this process.
    shard_size, shard_seconds : int, float
        A shard is closed (and safe from crashes) after this many files or seconds, whichever
        comes first; a crash loses at most the shard each worker has in progress.
    retry_failed : bool
        Retry files that failed before even if unchanged.
    progress : bool
        Show a tqdm progress bar on stderr.
    backend : str
        With ``executor="local"``: the joblib backend the tasks run under (``loky`` processes).
    executor : {"local", "dask"}
        ``local``: batches of files in worker processes on this machine, each writing its own
        shards. ``dask``: batches of files on a Dask cluster, each batch written by its worker
        into its own shard on storage every worker shares (:mod:`genrekit.pipeline.extraction.cluster`).
    scheduler : str or distributed.Client, optional
        With ``executor="dask"``: the scheduler address (``tcp://host:8786``) or a connected
        client; None starts a local cluster of ``workers`` processes.
    batch_size : int
        With ``executor="dask"``: files per task, and so per shard.
    max_seconds : float or None
        A file with more audio than this to analyse is recorded as a failure instead of being
        decoded (memory grows about 1 MB per second of audio); None: no limit.
    rehash : bool
        Hash every file's content instead of trusting an unchanged size and mtime (which a file
        rewritten in place with the same size and a restored mtime fools); only files whose
        content changed are recomputed.

    Each track's ``path`` is stored absolute (see :func:`plan`).
    """

    config = config or FeatureConfig()
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ParameterError(f"--workers must be >= 1, got {workers}")
    if shard_size < 1:
        raise ParameterError(f"shard_size must be >= 1, got {shard_size}")
    if executor not in ("local", "dask"):
        raise ParameterError(f"executor must be 'local' or 'dask', got {executor!r}")
    if executor == "dask":
        from genrekit.pipeline.extraction.cluster import require_distributed

        require_distributed()
        if batch_size < 1:
            raise ParameterError(f"--batch-size must be >= 1, got {batch_size}")
    store_dir = Path(store)
    if store_dir.exists() and not store_dir.is_dir():
        raise StoreError(f"--store {store_dir} is a file; pass a directory path for the feature store")
    store_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    report = ExtractReport(store=store_dir, n_tracks=len(tracks))

    lock = StoreLock(store_dir).acquire()
    index = None
    try:
        for stale in store_dir.glob("*" + TMP_SUFFIX):  # left by a killed run; we hold the lock
            stale.unlink(missing_ok=True)
        index, changed = load_index(store_dir)
        chash = config.hash()
        index["configs"].setdefault(chash, config.to_json())
        if index.get("current_config") != chash:
            index["current_config"] = chash
            changed = True
        index["schema_version"] = SCHEMA_VERSION
        if changed:
            write_index(store_dir, index)

        done, failed = _existing_rows(store_dir, index, chash)
        tasks, report.n_cached, report.n_failed_cached, vanished = plan(tracks, done, failed, retry_failed,
                                                                        rehash=rehash)
        for t in tasks:
            t["max_seconds"] = max_seconds

        merger = IndexMerger(store_dir, index, report)
        if vanished:  # files gone since the scan: a failures-only shard of their own, written here
            vanished_batch = BatchResult(n_files=0)
            writer = ShardWriter(store_dir, **shard_writer_args(config))
            try:
                for fail in vanished:
                    writer.add_failure(fail)
                    vanished_batch.count(fail)
                vanished_batch.shards[writer.name] = writer.close()
            except BaseException:
                writer.discard()
                raise
            merger.add(vanished_batch)
            merger.flush(force=True)

        if executor == "dask":
            from genrekit.pipeline.extraction.cluster import run_batches

            run_batches(tasks, store_dir, config, index, report, scheduler=scheduler, workers=workers,
                        batch_size=batch_size, progress=progress)
            report.seconds = time.monotonic() - t0
            return report  # (the lock is released below)

        _run_local(tasks, store_dir, config, merger, workers=workers, backend=backend, shard_size=shard_size,
                   shard_seconds=shard_seconds, progress=progress)
    except (OSError, RuntimeError) as e:  # h5py reports a failed write as either
        if not no_space(e):
            raise
        for stale in store_dir.glob("*" + TMP_SUFFIX):  # the shard in progress; finished ones stay
            stale.unlink(missing_ok=True)
        _index_finished_shards(store_dir, index)
        raise StoreError(f"disk full while writing the store {store_dir}: finished shards kept; "
                         f"free space and run again to resume") from e
    finally:
        lock.release()
    report.seconds = time.monotonic() - t0
    return report


def _run_local(tasks: list[dict], store_dir: Path, config: FeatureConfig, merger: IndexMerger, *, workers: int,
               backend: str, shard_size: int, shard_seconds: float, progress: bool):
    """Run planned ``tasks`` as :func:`extract_batch` batches on this machine; merge as they finish.

    One worker: batches of ``shard_size`` files run in this process, the bar advancing per file.
    More: ``joblib`` worker processes each take a batch, write its shards and send back only
    their index entries. Batches hold at most ``shard_size`` files and shrink towards the end of
    the run (:func:`batches_of`), for load balance and a lively progress bar.
    """
    from joblib import Parallel, delayed, parallel_config
    from tqdm.auto import tqdm

    report = merger.report
    n_jobs = min(workers, len(tasks))
    bar = tqdm(total=len(tasks), unit="file", desc="extract", disable=not progress or not tasks,
               dynamic_ncols=True)
    merger.bar = bar
    store, config_json = str(store_dir), config.to_json()
    try:
        if n_jobs == 1:
            for batch in batches_of(tasks, shard_size):
                merger.add(extract_batch(batch, store, config_json, shard_seconds=shard_seconds,
                                         extract=extract_one, on_file=lambda: bar.update(1)), advance=False)
        elif tasks:
            _limit_threads()
            init = dict(initializer=_worker_init) if backend == "loky" else {}
            with parallel_config(backend=backend, inner_max_num_threads=1, **init):
                # extract_one is looked up here, at call time, and sent with each batch
                results = Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="2*n_jobs")(
                    delayed(extract_batch)(batch, store, config_json, shard_seconds=shard_seconds,
                                           extract=extract_one)
                    for batch in batches_of(tasks, shard_size, workers=n_jobs))
                for res in results:
                    merger.add(res)
    except KeyboardInterrupt:
        # In this process the batch in progress closed its shard with the files it holds; worker
        # processes are stopped and lose the batch they had in progress. Adopt what is on disk.
        report.interrupted = True
        merger.adopt_unreceived()
    except TerminatedWorkerError as e:
        # The system killed a worker (most often out of memory): keep what is finished.
        merger.adopt_unreceived()
        merger.flush(force=True)
        raise GenrekitError(
            f"a worker process was killed by the system (most likely out of memory) while "
            f"extracting; {report.n_extracted} files extracted in this run are kept in {store_dir}. "
            f"Run again to resume, with fewer --workers, a lower --max-minutes or a --duration"
        ) from e
    finally:
        bar.close()
    merger.flush(force=True)


def _index_finished_shards(store_dir: Path, index: dict | None):
    """After a full disk, list every finished shard in ``index.json``, so the store verifies clean.

    Those are the shards merged into ``index`` but not written yet (the index is rewritten at
    most every :data:`INDEX_WRITE_SECONDS`) and those a worker finished after the run stopped
    listening. The temporary files are gone by now, which usually frees the few kB this needs;
    if the disk is still full the old index stays (readers reconcile it with the shards).
    """
    try:
        if index is not None:
            write_index(store_dir, index)
        full, changed = load_index(store_dir)
        if changed:
            write_index(store_dir, full)
    except (OSError, RuntimeError, GenrekitError):
        pass


def install_sigterm_as_interrupt():
    """Make SIGTERM behave like Ctrl-C (finish the shard in progress, then stop)."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)
