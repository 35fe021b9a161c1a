"""Connecting to a Dask cluster, for ``extract --backend dask`` and ``benchmark --backend dask``.

:func:`connect` gives a client of a running scheduler, or of a local cluster started for the run;
:func:`joblib_on_dask` runs the benchmark's joblib-parallel folds × models on it, after checking
that every worker reads the same store. Extraction's use of the cluster is the Dask executor
(:mod:`genrekit.pipeline.extraction.dask_executor`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from genrekit import __version__
from genrekit.cache.layout import SHARD_PREFIX, SHARD_SUFFIX
from genrekit.errors import GenrekitError, ParameterError, StoreError

INSTALL_HINT = "pip install 'genrekit[distributed]'"


def require_distributed():
    """The ``distributed`` module, or a :class:`ParameterError` that says how to install it."""
    try:
        import distributed
    except ImportError:
        raise ParameterError(f"--backend dask needs Dask's distributed scheduler: {INSTALL_HINT}") from None
    return distributed


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


def wait_for_workers(client, progress: bool):
    """Return once the scheduler has a worker (saying so on stderr while it waits)."""
    if client.nthreads():
        return
    if progress:
        print("dask: waiting for the first worker to join the scheduler …", file=sys.stderr)
    client.wait_for_workers(1)


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
        wait_for_workers(client, progress)
        if store is not None:
            check_workers_read(client, Path(os.path.abspath(store)))
        n_threads = sum(client.nthreads().values())
        link = dashboard_link(client)
        if progress:
            print(f"dask: {n_threads} worker thread{'s' * (n_threads != 1)}"
                  + (f", dashboard {link}" if link else ""), file=sys.stderr)
        with parallel_config(backend="dask", client=client):
            yield n_threads
