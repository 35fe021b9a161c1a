"""Extraction (and benchmarks) on a Dask cluster: ``genrekit extract --backend dask``.

The client — the process that called :func:`~genrekit.pipeline.extraction.run.extract` and holds the
store's lock — plans the run exactly as the local backend does, then sends batches of files to the
cluster. Each batch runs :func:`extract_batch` on a worker: after checking that it sees the
client's store, it runs :func:`~genrekit.pipeline.extraction.run.extract_batch` (the local backend's unit
of work too), which computes every file and writes the results into a shard of its own (temporary
name, renamed when complete). Only the shard's index entry travels back; the client merges it
into the index.

So the store's directory must be shared by every worker, at the same path as on the client (NFS,
Lustre, GPFS, CephFS, …), and so must the audio. Before any batch is sent, a probe runs on every
worker: it must find this run's token file in the store (proof that it is the very same
directory, not merely one with the same name), write a file there, and read one of the audio
files; a worker that cannot is named in a :class:`~genrekit.errors.StoreError`. A worker that
joins later checks the token before it writes its first shard.

Crash rules are the local backend's. A worker lost mid-batch leaves an orphan ``*.tmp`` (removed
by the next run) and Dask runs the batch again; a batch whose finished result was lost with its
worker is computed twice, and the client deletes the redundant shard at the end of the run. A
killed client leaves every finished shard, which the next run finds on disk (the index is a cache
of the shards) and skips. A full disk is never retried: the batch discards its shard and returns
:class:`DiskFull` instead of raising (no worker traceback, no new attempt), and the client stops
the run with the local backend's one-line error.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import NamedTuple

from genrekit import __version__
from genrekit.cache import load_index, write_index
from genrekit.cache.layout import SHARD_PREFIX, SHARD_SUFFIX, TMP_SUFFIX
from genrekit.errors import GenrekitError, ParameterError, StoreError
from genrekit.features.config import FeatureConfig
from genrekit.files import no_space
from genrekit.pipeline.extraction.run import BatchResult, IndexMerger

INSTALL_HINT = "pip install 'genrekit[distributed]'"
DEFAULT_BATCH_SIZE = 32
RETRIES = 2                 # a batch that raises is tried this many more times (lost workers: Dask's own rule)

SHARED_STORAGE = ("every Dask worker must read and write the store's directory at the same path as this "
                  "client (shared storage such as NFS or Lustre, mounted at the same path on every machine), "
                  "and read the audio files there too")


def require_distributed():
    """The ``distributed`` module, or a :class:`ParameterError` that says how to install it."""
    try:
        import distributed
    except ImportError:
        raise ParameterError(f"--backend dask needs Dask's distributed scheduler: {INSTALL_HINT}") from None
    return distributed


# ------------------------------------------------------------------------------------ on a worker
def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()} on {os.uname().nodename}"


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
        Planned tasks (:func:`~genrekit.pipeline.extraction.run.plan`); a ``read_path`` key, if present,
        is where to read the file (the client's absolute path when the task's own is relative).
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
    from genrekit.pipeline.extraction.run import extract_batch as run_batch

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
@contextlib.contextmanager
def connect(scheduler=None, workers: int | None = None):
    """A Dask client: to ``scheduler`` (address or Client), else to a new local cluster.

    The local cluster has ``workers`` processes of one thread each (default: all cores) and a
    dashboard on a free port. A client or cluster made here is closed on exit; a client passed
    in is left open.
    """
    distributed = require_distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            with _sigint_ignored():  # workers inherit it: Ctrl-C stops this client, which stops them
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.ERROR))
            client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
        else:
            try:
                client = stack.enter_context(distributed.Client(str(scheduler), set_as_default=False))
            except (OSError, ValueError, TypeError) as e:
                raise ParameterError(f"cannot connect to the Dask scheduler at --scheduler {scheduler}: {e}") from None
        yield client


@contextlib.contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def dashboard_link(client) -> str | None:
    """The scheduler's dashboard address, or None when it runs none."""
    try:
        return client.dashboard_link
    except Exception:  # no dashboard service: nothing to show
        return None


def _wait_for_workers(client, progress: bool):
    if client.nthreads():
        return
    if progress:
        print("dask: waiting for the first worker to join the scheduler …", file=sys.stderr)
    client.wait_for_workers(1)


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


def _batches(tasks: list[dict], batch_size: int, n_workers: int) -> list[list[dict]]:
    """Consecutive batches of at most ``batch_size`` files, smaller when needed to use every worker."""
    size = max(1, min(batch_size, math.ceil(len(tasks) / max(1, n_workers))))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def _drop_redundant_shards(store_dir: Path, index: dict, config_hash: str, run_ids: set[str]):
    """Shards on disk the client never received are from batches computed twice (their first
    result was lost with its worker): delete those whose files this run's merged shards hold
    already; index any other (nothing is lost)."""
    on_disk = {p.name for p in store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}")}
    orphans = on_disk - set(index["shards"])
    if not orphans:
        return
    write_index(store_dir, index)
    full, _ = load_index(store_dir)
    for name in sorted(orphans):
        entry = full["shards"].get(name)
        if entry is None:
            continue  # unreadable: left for `genrekit info` / verify to report
        held = set(entry["ids"]) | set(entry["failure_ids"])
        if entry["config_hash"] == config_hash and held <= run_ids:
            (store_dir / name).unlink(missing_ok=True)
        else:
            index["shards"][name] = entry


def run_batches(tasks: list[dict], store_dir, config: FeatureConfig, index: dict, report, *,
                scheduler=None, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                progress: bool = True):
    """Run planned ``tasks`` on a Dask cluster; merge each batch's shard into ``index``.

    Called by :func:`~genrekit.pipeline.extraction.run.extract` (``executor="dask"``) with the store's
    lock held and the index loaded; fills ``report``. Nothing is started when there is nothing
    to do.
    """
    from tqdm.auto import tqdm

    distributed = require_distributed()
    if not tasks:
        return
    # The path as typed on this machine (not resolved through symlinks): it must mean the same
    # directory on every worker.
    store_dir = Path(os.path.abspath(store_dir))
    tasks = [t if os.path.isabs(t["path"]) else dict(t, read_path=os.path.abspath(t["path"])) for t in tasks]
    config_json = config.to_json()
    token_name = f".run-{uuid.uuid4().hex}{TMP_SUFFIX}"
    token = uuid.uuid4().hex
    (store_dir / token_name).write_text(token)
    try:
        local_workers = min(workers or os.cpu_count() or 1, len(tasks))  # (without --scheduler)
        with connect(scheduler, local_workers) as client:
            _wait_for_workers(client, progress)
            first = tasks[0]
            check_workers(client, store_dir, token_name, token,
                          sample=(first.get("read_path", first["path"]), first["file_size"]))
            n_workers = len(client.nthreads())
            link = dashboard_link(client)
            if progress:
                print(f"dask: {n_workers} worker{'s' * (n_workers != 1)}"
                      + (f", dashboard {link}" if link else ""), file=sys.stderr)
            merger = _run(client, distributed, _batches(tasks, batch_size, n_workers), store_dir, config_json,
                          (token_name, token), config.hash(), index, report, progress, len(tasks), tqdm)
        if report.interrupted:  # (a local cluster is closed by now: no more shards from it)
            merger.adopt_unreceived()
            merger.flush(force=True)
    finally:
        (store_dir / token_name).unlink(missing_ok=True)


def _run(client, distributed, batches, store_dir, config_json, run_token, config_hash, index, report,
         progress, n_files, tqdm):
    run = run_token[1][:8]
    futures = {}
    for i, batch in enumerate(batches):
        fut = client.submit(extract_batch, batch, str(store_dir), config_json, run_token=run_token,
                            key=f"genrekit-extract-{run}-{i:06d}", retries=RETRIES, pure=False)
        futures[fut] = batch
    run_ids: set[str] = set()
    bar = tqdm(total=n_files, unit="file", desc="extract", disable=not progress, dynamic_ncols=True)
    merger = IndexMerger(store_dir, index, report, bar)
    completed = False
    try:
        for fut in distributed.as_completed(list(futures), loop=client.loop):
            try:
                res: BatchResult | DiskFull = fut.result()
            except distributed.KilledWorker as e:
                raise GenrekitError(
                    f"a batch of {len(futures[fut])} files killed every worker that ran it ({e}); out of "
                    f"memory? Use a smaller --batch-size or --duration; finished shards are kept, run "
                    f"again to resume") from None
            if isinstance(res, DiskFull):  # extract() removes the temporary files and says so in one line
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (Dask worker {res.worker}: {res.message})")
            batch = futures.pop(fut)
            run_ids.update(t["id"] for t in batch)
            merger.add(res)
        completed = True
    except KeyboardInterrupt:
        # Keep what is finished; batches still running on a cluster we did not start may yet
        # finish their shards, which the next run finds and skips.
        report.interrupted = True
    finally:
        if futures:
            client.cancel(list(futures))
        bar.close()
        if completed:
            _drop_redundant_shards(store_dir, index, config_hash, run_ids)
            merger.dirty = True
        merger.flush(force=True)
    return merger


# ------------------------------------------------------------------------------------ benchmarks
def check_workers_read(client, store_dir: Path):
    """Every worker sees ``store_dir`` holding the same shards as here (read-only check)."""
    mine = sorted(p.name for p in Path(store_dir).glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))
    answers = client.run(_list_shards, str(store_dir), on_error="return")
    for worker in sorted(answers):
        got = answers[worker]
        if isinstance(got, BaseException):
            raise GenrekitError(f"Dask worker {worker} cannot run genrekit ({type(got).__name__}: {got}); "
                                f"install genrekit {__version__} in every worker's environment") from got
        if got != mine:
            why = "no such directory there" if got is None else "a directory of that name there holds other shards"
            raise StoreError(f"Dask worker {worker} cannot read the feature store {store_dir}: {why}; "
                             f"every Dask worker must read the store at the same path as this client "
                             f"(shared storage mounted at the same path on every machine)")


def _list_shards(store_dir: str):
    d = Path(store_dir)
    if not d.is_dir():
        return None
    return sorted(p.name for p in d.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))


@contextlib.contextmanager
def joblib_on_dask(scheduler=None, workers: int | None = None, store=None, progress: bool = True):
    """Run joblib-parallel code (the benchmark's folds × models) on a Dask cluster.

    Yields the cluster's number of worker threads (what ``n_jobs`` should be). With ``store``,
    first checks that every worker reads that store at the same path.
    """
    from joblib import parallel_config

    require_distributed()
    with connect(scheduler, workers) as client:
        _wait_for_workers(client, progress)
        if store is not None:
            check_workers_read(client, Path(os.path.abspath(store)))
        n_threads = sum(client.nthreads().values())
        link = dashboard_link(client)
        if progress:
            print(f"dask: {n_threads} worker thread{'s' * (n_threads != 1)}"
                  + (f", dashboard {link}" if link else ""), file=sys.stderr)
        with parallel_config(backend="dask", client=client):
            yield n_threads
