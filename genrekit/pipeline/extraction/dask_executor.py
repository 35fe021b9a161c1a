"""The Dask executor (``extract(executor="dask")``, ``genrekit extract --backend dask``).

The client — the process that called :func:`~genrekit.pipeline.extraction.run.extract` and holds the
store's lock — plans the run exactly as with the local executor, then sends batches of files to
the cluster. Each batch runs :func:`extract_batch` on a worker: after checking that it sees the
client's store, it runs :func:`~genrekit.pipeline.extraction.worker.extract_batch` (the local
executor's unit of work too), which computes every file and writes the results into a shard of
its own (temporary name, renamed when complete). Only the shard's index entry travels back; the
client merges it into the index.

So the store's directory must be shared by every worker, at the same path as on the client (NFS,
Lustre, GPFS, CephFS, …), and so must the audio. Before any batch is sent, a probe runs on every
worker: it must find this run's token file in the store (proof that it is the very same
directory, not merely one with the same name), write a file there, and read one of the audio
files; a worker that cannot is named in a :class:`~genrekit.errors.StoreError`. A worker that
joins later checks the token before it writes its first shard.

Crash rules are the local executor's. A worker lost mid-batch leaves an orphan ``*.tmp`` (removed
by the next run) and Dask runs the batch again; a batch whose finished result was lost with its
worker is computed twice, and the client deletes the redundant shard at the end of the run. A
killed client leaves every finished shard, which the next run finds on disk (the index is a cache
of the shards) and skips. A full disk is never retried: the batch discards its shard and returns
:class:`DiskFull` instead of raising (no worker traceback, no new attempt), and the client stops
the run with the local executor's one-line error.
"""

from __future__ import annotations

import errno
import os
import sys
import uuid
from pathlib import Path
from typing import NamedTuple

from genrekit import __version__
from genrekit.cache.layout import TMP_SUFFIX
from genrekit.errors import GenrekitError, ParameterError, StoreError
from genrekit.features.config import FeatureConfig
from genrekit.files import no_space, process_note
from genrekit.pipeline.extraction.cluster import connect, dashboard_link, require_distributed, wait_for_workers
from genrekit.pipeline.extraction.merge import IndexMerger
from genrekit.pipeline.extraction.plan import DEFAULT_BATCH_SIZE, even_batches
from genrekit.pipeline.extraction.worker import BatchResult
from genrekit.pipeline.extraction.worker import extract_batch as run_batch

RETRIES = 2                 # a batch that raises is tried this many more times (lost workers: Dask's own rule)

SHARED_STORAGE = ("every Dask worker must read and write the store's directory at the same path as this "
                  "client (shared storage such as NFS or Lustre, mounted at the same path on every machine), "
                  "and read the audio files there too")


# ------------------------------------------------------------------------------------ on a worker
def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return process_note()


def _token_problem(store_dir: Path, token_name: str, token: str) -> str | None:
    """Why this process does not see the client's store directory, or None if it does."""
    if not store_dir.is_dir():
        return "no such directory there"
    try:
        found = (store_dir / token_name).read_text()
    except FileNotFoundError:
        return "a directory of that name exists there but it is not the client's (it lacks this run's token file)"
    except OSError as e:
        return f"cannot read it there ({e.strerror or e})"
    if found != token:
        return "a directory of that name exists there but it is not the client's (its token file differs)"
    return None


def _not_shared(worker: str, store_dir: Path, why: str) -> StoreError:
    return StoreError(f"Dask worker {worker} cannot use the feature store {store_dir}: {why}; {SHARED_STORAGE}")


def probe_store(store_dir: str, token_name: str, token: str, sample: tuple[str, int] | None = None) -> dict:
    """Run on every worker before a run: does it see and write this store, and read the audio?

    Returns ``{"version": genrekit version, "problem": None or why not}``.
    """
    d = Path(store_dir)
    problem = _token_problem(d, token_name, token)
    if problem is None:
        probe = d / f".probe-{uuid.uuid4().hex}{TMP_SUFFIX}"
        try:
            probe.write_bytes(b"genrekit probe")
            probe.unlink()
        except OSError as e:
            problem = f"cannot write there ({e.strerror or e})"
    if problem is None and sample is not None:
        path, size = sample
        try:
            got = os.stat(path).st_size
        except OSError as e:
            problem = f"cannot read the audio file {path} there ({e.strerror or e})"
        else:
            if got != size:
                problem = f"the audio file {path} there is not the client's ({got} bytes, the client sees {size})"
    return {"version": __version__, "problem": problem}


class DiskFull(NamedTuple):
    """What a batch returns when the store's disk is full (its shard discarded): retrying is pointless."""

    worker: str
    message: str


def extract_batch(tasks: list[dict], store_dir: str, config_json: str, *,
                  run_token: tuple[str, str] | None = None) -> BatchResult | DiskFull:
    """Extract a batch of planned files on a worker into one new shard of the store.

    Parameters
    ----------
    tasks : list of dict
        Planned tasks (:func:`~genrekit.pipeline.extraction.plan.plan`); a ``read_path`` key, if
        present, is where to read the file (the client's absolute path when the task's own is relative).
    store_dir : str
        The store directory, as the client sees it.
    config_json : str
        The feature config (:meth:`FeatureConfig.to_json`).
    run_token : (name, content), optional
        The run's token file in the store; the batch refuses to write where it is missing.

    Returns
    -------
    BatchResult or DiskFull
        The shard's name and index entry (none when nothing was written), and the counts; or,
        when the disk is full, :class:`DiskFull` (returned, not raised: Dask retries what raises).
    """
    worker = _worker_address()
    if run_token is not None:
        problem = _token_problem(Path(store_dir), *run_token)
        if problem is not None:
            raise _not_shared(worker, Path(store_dir), problem)
    try:
        return run_batch(tasks, store_dir, config_json, worker=worker)
    except (OSError, RuntimeError) as e:  # h5py reports a failed write as either
        if not no_space(e):
            raise
        return DiskFull(worker, f"{type(e).__name__}: {e}".splitlines()[0])


# ------------------------------------------------------------------------------------ the client
def check_workers(client, store_dir: Path, token_name: str, token: str, sample: tuple[str, int] | None = None):
    """Run :func:`probe_store` on every worker; raise naming the first that cannot work here."""
    answers = client.run(probe_store, str(store_dir), token_name, token, sample, on_error="return")
    for worker in sorted(answers):
        got = answers[worker]
        if isinstance(got, BaseException):
            raise GenrekitError(
                f"Dask worker {worker} cannot run genrekit ({type(got).__name__}: {got}); install the same "
                f"genrekit version ({__version__}) in every worker's environment") from got
        if got["version"] != __version__:
            raise GenrekitError(
                f"Dask worker {worker} runs genrekit {got['version']} and this client {__version__}; install "
                f"the same version everywhere (features must not depend on which worker computed them)")
        if got["problem"]:
            raise _not_shared(worker, store_dir, got["problem"])


class DaskExecutor:
    """Batches on a Dask cluster, each written by its worker into a shard of its own.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        The scheduler address (``tcp://host:8786``) or a connected client; None starts a local
        cluster of ``workers`` processes.
    workers : int, optional
        The local cluster's size (default: all cores, at most one per task).
    batch_size : int
        Files per Dask task, and so per shard.

    Raises
    ------
    ParameterError
        When Dask's distributed scheduler is not installed, or ``batch_size < 1``.
    """

    def __init__(self, scheduler=None, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE):
        require_distributed()
        if batch_size < 1:
            raise ParameterError(f"--batch-size must be >= 1, got {batch_size}")
        self.scheduler, self.workers, self.batch_size = scheduler, workers, batch_size

    def run_batches(self, tasks: list[dict], store_dir: Path, config: FeatureConfig, merger: IndexMerger, *,
                    progress: bool = True) -> None:
        """Run planned ``tasks`` on the cluster; merge each batch's shard with ``merger``.

        Called by :func:`~genrekit.pipeline.extraction.run.extract` with the store's lock held.
        Nothing is started when there is nothing to do.
        """
        if not tasks:
            return
        # The path as typed on this machine (not resolved through symlinks): it must mean the same
        # directory on every worker.
        store_dir = Path(os.path.abspath(store_dir))
        tasks = [t if os.path.isabs(t["path"]) else dict(t, read_path=os.path.abspath(t["path"])) for t in tasks]
        token_name = f".run-{uuid.uuid4().hex}{TMP_SUFFIX}"
        token = uuid.uuid4().hex
        (store_dir / token_name).write_text(token)
        try:
            local_workers = min(self.workers or os.cpu_count() or 1, len(tasks))  # (without --scheduler)
            with connect(self.scheduler, local_workers) as client:
                wait_for_workers(client, progress)
                first = tasks[0]
                check_workers(client, store_dir, token_name, token,
                              sample=(first.get("read_path", first["path"]), first["file_size"]))
                n_workers = len(client.nthreads())
                link = dashboard_link(client)
                if progress:
                    print(f"dask: {n_workers} worker{'s' * (n_workers != 1)}"
                          + (f", dashboard {link}" if link else ""), file=sys.stderr)
                run = _Run(client, store_dir, config, (token_name, token), merger)
                run.submit(even_batches(tasks, self.batch_size, n_workers))
                run.collect(progress, len(tasks))
            if merger.report.interrupted:  # (a local cluster is closed by now: no more shards from it)
                merger.adopt_unreceived()
                merger.flush(force=True)
        finally:
            (store_dir / token_name).unlink(missing_ok=True)


class _Run:
    """One run's batches on the cluster: submitted as Dask futures, merged as they complete."""

    def __init__(self, client, store_dir: Path, config: FeatureConfig, run_token: tuple[str, str],
                 merger: IndexMerger):
        self.client, self.store_dir, self.config, self.run_token, self.merger = (
            client, store_dir, config, run_token, merger)
        self.futures: dict = {}

    def submit(self, batches: list[list[dict]]):
        run, config_json = self.run_token[1][:8], self.config.to_json()
        for i, batch in enumerate(batches):
            fut = self.client.submit(extract_batch, batch, str(self.store_dir), config_json, run_token=self.run_token,
                                     key=f"genrekit-extract-{run}-{i:06d}", retries=RETRIES, pure=False)
            self.futures[fut] = batch

    def collect(self, progress: bool, n_files: int):
        """Merge every batch as it completes; on Ctrl-C keep what is finished."""
        import distributed
        from genrekit.progress import progress_bar

        futures, merger = self.futures, self.merger
        run_ids: set[str] = set()
        merger.bar = bar = progress_bar(total=n_files, unit="file", desc="extract", disable=not progress)
        completed = False
        try:
            for fut in distributed.as_completed(list(futures), loop=self.client.loop):
                res = self._result(fut, distributed)
                batch = futures.pop(fut)
                run_ids.update(t["id"] for t in batch)
                merger.add(res)
            completed = True
        except KeyboardInterrupt:
            # Keep what is finished; batches still running on a cluster we did not start may yet
            # finish their shards, which the next run finds and skips.
            merger.report.interrupted = True
        finally:
            if futures:
                self.client.cancel(list(futures))
            bar.close()
            if completed:
                merger.drop_redundant(self.config.hash(), run_ids)
            merger.flush(force=True)

    def _result(self, fut, distributed) -> BatchResult:
        try:
            res: BatchResult | DiskFull = fut.result()
        except distributed.KilledWorker as e:
            raise GenrekitError(
                f"a batch of {len(self.futures[fut])} files killed every worker that ran it ({e}); out of "
                f"memory? Use a smaller --batch-size or --duration; finished shards are kept, run "
                f"again to resume") from None
        if isinstance(res, DiskFull):  # extract() removes the temporary files and says so in one line
            raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (Dask worker {res.worker}: {res.message})")
        return res
