"""``extract()``: tracks → a feature store, resumably. Orchestration only.

Take the store's lock and remove what a killed run left; bring the index to this feature config
(:func:`_open_index`); plan what is not cached yet (:mod:`~genrekit.pipeline.extraction.plan`);
record files found unusable while planning; let the executor
(:mod:`~genrekit.pipeline.extraction.executor`) run the batches, whose workers write shards of
their own (:mod:`~genrekit.pipeline.extraction.worker`), while the
:class:`~genrekit.pipeline.extraction.merge.IndexMerger` here merges their index entries. A full
disk stops the run in one line, keeping every finished shard.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from genrekit.cache import StoreLock, load_index, write_index
from genrekit.cache.layout import SCHEMA_VERSION, TMP_SUFFIX
from genrekit.cache.layout import DEFAULT_STORE
from genrekit.errors import ParameterError, StoreError
from genrekit.features.catalog import FEATURES
from genrekit.features.config import FeatureConfig
from genrekit.features.fingerprint import FINGERPRINT_VERSION
from genrekit.files import no_space
from genrekit.pipeline.extraction.executor import Executor, make_executor
from genrekit.pipeline.extraction.metadata import sync_metadata
from genrekit.pipeline.extraction.merge import ExtractReport, IndexMerger, index_finished_shards
from genrekit.pipeline.extraction.plan import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_SECONDS,
    DEFAULT_SHARD_SECONDS,
    DEFAULT_SHARD_SIZE,
    existing_rows,
    plan,
)
from genrekit.pipeline.extraction.tracks import Track



def extract(
    tracks: list[Track],
    store: str | os.PathLike = DEFAULT_STORE,
    config: FeatureConfig | None = None,
    *,
    workers: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    shard_seconds: float = DEFAULT_SHARD_SECONDS,
    retry_failed: bool = False,
    progress: bool = True,
    joblib_backend: str | None = None,
    executor: str | Executor = "local",
    scheduler=None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    rehash: bool = False,
    add_fingerprints: bool = False,
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
    joblib_backend : str, optional
        With ``executor="local"``: None (default) forks the workers from this process once it has
        imported the feature code (Linux; elsewhere ``loky``); a name: the joblib backend the
        batches run under.
    executor : {"local", "dask"} or Executor
        Who runs the batches (the command line's ``--backend``). ``local``: worker processes on
        this machine, each writing its own shards. ``dask``: batches of files on a Dask cluster,
        each batch written by its worker into its own shard on storage every worker shares
        (:mod:`genrekit.pipeline.extraction.dask_executor`). Or any
        :class:`~genrekit.pipeline.extraction.executor.Executor`.
    scheduler : str or distributed.Client, optional
        With ``executor="dask"``: the scheduler address (``tcp://host:8786``) or a connected
        client; None starts a local cluster of ``workers`` processes.
    batch_size : int
        With ``executor="dask"``: files per task, and so per shard.
    max_seconds : float or None
        A file with more audio than this to analyse is recorded as a failure instead of being
        decoded (memory grows about 0.12 MB per second of audio); None: no limit.
    rehash : bool
        Hash every file's content instead of trusting an unchanged size and mtime (which a file
        rewritten in place with the same size and a restored mtime fools); only files whose
        content changed are recomputed.
    add_fingerprints : bool
        Extract again the tracks stored without a fingerprint (by a genrekit that did not store
        them), so that ``genrekit duplicates`` and duplicate-aware splits can check them.

    Each track's ``path`` is stored absolute (see :func:`~genrekit.pipeline.extraction.plan.plan`).
    """
    config = config or FeatureConfig()
    FEATURES.ready(config, config.features)  # e.g. musicnn's weights: refused before anything is written
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ParameterError(f"--workers must be >= 1, got {workers}")
    if shard_size < 1:
        raise ParameterError(f"shard_size must be >= 1, got {shard_size}")
    runner = make_executor(executor, workers=workers, joblib_backend=joblib_backend, shard_size=shard_size,
                           shard_seconds=shard_seconds, scheduler=scheduler, batch_size=batch_size)
    store_dir = Path(store)
    if store_dir.exists() and not store_dir.is_dir():
        raise StoreError(f"--store {store_dir} is a file; pass a directory path for the feature store")
    store_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    report = ExtractReport(store=store_dir, n_tracks=len(tracks))

    lock = StoreLock(store_dir).acquire()
    index = None
    try:
        _remove_temporary_files(store_dir)  # left by a killed run; we hold the lock
        index = _open_index(store_dir, config)
        done, failed = existing_rows(store_dir, index, config.hash(),
                                     fingerprint_version=FINGERPRINT_VERSION if add_fingerprints else None)
        tasks, report.n_cached, report.n_failed_cached, vanished = plan(
            tracks, done, failed, retry_failed, rehash=rehash, max_seconds=max_seconds)
        report.n_metadata_changed = sync_metadata(store_dir, tracks, done)
        merger = IndexMerger(store_dir, index, report)
        if vanished:  # files gone since the scan: a failures-only shard of their own, written here
            from genrekit.pipeline.extraction.worker import failures_batch

            merger.add(failures_batch(vanished, store_dir, config))
            merger.flush(force=True)
        runner.run_batches(tasks, store_dir, config, merger, progress=progress)
    except (OSError, RuntimeError) as e:  # h5py reports a failed write as either
        if not no_space(e):
            raise
        _remove_temporary_files(store_dir)  # the shard in progress; finished ones stay
        index_finished_shards(store_dir, index)
        raise StoreError(f"disk full while writing the store {store_dir}: finished shards kept; "
                         f"free space and run again to resume") from e
    finally:
        lock.release()
    report.seconds = time.monotonic() - t0
    return report


def _remove_temporary_files(store_dir: Path):
    for stale in store_dir.glob("*" + TMP_SUFFIX):
        stale.unlink(missing_ok=True)


def _open_index(store_dir: Path, config: FeatureConfig) -> dict:
    """The store's index (reconciled with the shards), with ``config`` registered and current."""
    index, changed = load_index(store_dir)
    chash = config.hash()
    index["configs"].setdefault(chash, config.to_json())
    if index.get("current_config") != chash:
        index["current_config"] = chash
        changed = True
    index["schema_version"] = SCHEMA_VERSION
    if changed:
        write_index(store_dir, index)
    return index


def install_sigterm_as_interrupt():
    """Make SIGTERM behave like Ctrl-C (finish the shard in progress, then stop)."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)
