"""The executor seam: who runs the batches. One interface, a local (joblib) and a Dask implementation.

An executor gets the planned tasks, cuts them into batches, has each batch run
:func:`~genrekit.pipeline.extraction.worker.extract_batch` somewhere (each batch writes shards of
its own) and hands every finished :class:`~genrekit.pipeline.extraction.worker.BatchResult` to
the :class:`~genrekit.pipeline.extraction.merge.IndexMerger` of the process that holds the
store's lock. It handles Ctrl-C and lost workers its own way, keeping every finished shard.

* :class:`LocalExecutor` (``executor="local"``, the command line's ``--backend local``): this
  process (one worker), or worker processes forked after the feature code is imported
  (:mod:`~genrekit.pipeline.extraction.forked`, Linux), or ``joblib`` worker processes when
  ``joblib_backend`` names one of joblib's backends (``loky`` where the system does not fork).
* :class:`~genrekit.pipeline.extraction.dask_executor.DaskExecutor` (``executor="dask"``,
  ``--backend dask``): a Dask cluster over shared storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from genrekit.errors import GenrekitError, ParameterError
from genrekit.pipeline.extraction.merge import IndexMerger
from genrekit.pipeline.extraction.plan import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SHARD_SECONDS,
    DEFAULT_SHARD_SIZE,
    batches_of,
)

if TYPE_CHECKING:  # the feature code and joblib are imported when batches run, not before
    from genrekit.features.config import FeatureConfig

#: Fewer files than this per worker run in this process (or in fewer workers): for a handful of
#: files, starting workers costs about what it saves.
MIN_FILES_PER_WORKER = 2

EXECUTORS = ("local", "dask")
"""The executors by name (``extract(executor=...)``, the command line's ``--backend``)."""


@runtime_checkable
class Executor(Protocol):
    """Runs planned tasks as batches of ``extract_batch`` and merges each one as it finishes."""

    def run_batches(self, tasks: list[dict], store_dir: Path, config: FeatureConfig, merger: IndexMerger, *,
                    progress: bool) -> None:
        """Run ``tasks`` (:func:`~genrekit.pipeline.extraction.plan.plan`) into shards of the store
        at ``store_dir``; merge every finished batch with ``merger`` and flush it at the end. On
        Ctrl-C: keep what is finished, set ``merger.report.interrupted`` and return."""


class LocalExecutor:
    """Batches on this machine: in this process (one worker) or in ``joblib`` worker processes.

    Parameters
    ----------
    workers : int
        Worker processes; ``1`` runs every batch in this process.
    joblib_backend : str, optional
        None (default): processes forked from this one once it has imported the feature code
        (:mod:`~genrekit.pipeline.extraction.forked`; ``loky`` where the system does not fork).
        A name: the joblib backend the batches run under (``loky``: fresh processes).
    shard_size, shard_seconds : int, float
        A batch holds at most ``shard_size`` files; a shard is closed after that many files or
        ``shard_seconds``, whichever comes first.
    """

    def __init__(self, workers: int, *, joblib_backend: str | None = None, shard_size: int = DEFAULT_SHARD_SIZE,
                 shard_seconds: float = DEFAULT_SHARD_SECONDS):
        self.workers, self.joblib_backend = workers, joblib_backend
        self.shard_size, self.shard_seconds = shard_size, shard_seconds

    def run_batches(self, tasks: list[dict], store_dir: Path, config: FeatureConfig, merger: IndexMerger, *,
                    progress: bool = True) -> None:
        """Run planned ``tasks`` as ``extract_batch`` batches on this machine; merge as they finish.

        One worker: batches of ``shard_size`` files run in this process, the bar advancing per file.
        More: ``joblib`` worker processes each take a batch, write its shards and send back only
        their index entries. Batches hold at most ``shard_size`` files and shrink towards the end of
        the run (:func:`~genrekit.pipeline.extraction.plan.batches_of`), for load balance and a
        lively progress bar.
        """
        from genrekit.progress import progress_bar

        report = merger.report
        bar = progress_bar(total=len(tasks), unit="file", desc="extract", disable=not progress or not tasks)
        merger.bar = bar
        try:
            self._run(tasks, str(store_dir), config.to_json(), merger, bar)
        except KeyboardInterrupt:
            # In this process the batch in progress closed its shard with the files it holds; worker
            # processes are stopped and lose the batch they had in progress. Adopt what is on disk.
            report.interrupted = True
            merger.adopt_unreceived()
        except _worker_killed() as e:  # (evaluated only when something is raised)
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

    def _run(self, tasks: list[dict], store: str, config_json: str, merger: IndexMerger, bar):
        from joblib import Parallel, delayed, parallel_config

        from genrekit.pipeline.extraction import forked, worker

        n_jobs = min(self.workers, max(1, len(tasks) // MIN_FILES_PER_WORKER))
        extract_one = worker.extract_one  # looked up now, at call time, and sent with each batch
        if n_jobs == 1:
            for batch in batches_of(tasks, self.shard_size):
                merger.add(worker.extract_batch(batch, store, config_json, shard_seconds=self.shard_seconds,
                                                extract=extract_one, on_file=lambda: bar.update(1)),
                           advance=False)
        elif tasks and self.joblib_backend is None and forked.available():
            forked.warm_up(config_json)  # before forking: the workers inherit the imported feature code
            for res in forked.run(worker.extract_batch, batches_of(tasks, self.shard_size, workers=n_jobs), n_jobs,
                                  store_dir=store, config_json=config_json, shard_seconds=self.shard_seconds,
                                  extract=extract_one):
                merger.add(res)
        elif tasks:
            worker.limit_threads()
            backend = self.joblib_backend or "loky"
            init = dict(initializer=worker.worker_init) if backend == "loky" else {}
            with parallel_config(backend=backend, inner_max_num_threads=1, **init):
                results = Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="2*n_jobs")(
                    delayed(worker.extract_batch)(batch, store, config_json, shard_seconds=self.shard_seconds,
                                                  extract=extract_one)
                    for batch in batches_of(tasks, self.shard_size, workers=n_jobs))
                for res in results:
                    merger.add(res)


def _worker_killed() -> tuple[type[BaseException], ...]:
    """The errors of a worker the system killed: the forked pool's, and joblib's (imported only when
    something was raised)."""
    from concurrent.futures.process import BrokenProcessPool

    from joblib.externals.loky.process_executor import TerminatedWorkerError

    return BrokenProcessPool, TerminatedWorkerError


def make_executor(executor: str | Executor = "local", *, workers: int, joblib_backend: str | None = None,
                  shard_size: int = DEFAULT_SHARD_SIZE, shard_seconds: float = DEFAULT_SHARD_SECONDS,
                  scheduler=None, batch_size: int = DEFAULT_BATCH_SIZE) -> Executor:
    """The executor ``extract(executor=...)`` names (an :class:`Executor` is returned as it is).

    ``local`` takes ``workers``, ``joblib_backend``, ``shard_size`` and ``shard_seconds``;
    ``dask`` takes ``scheduler``, ``workers`` (a local cluster's size) and ``batch_size``, and
    checks that Dask's distributed scheduler is installed.
    """
    if not isinstance(executor, str):
        return executor
    if executor not in EXECUTORS:
        raise ParameterError(f"executor must be 'local' or 'dask', got {executor!r}")
    if executor == "dask":
        from genrekit.pipeline.extraction.dask_executor import DaskExecutor

        return DaskExecutor(scheduler=scheduler, workers=workers, batch_size=batch_size)
    return LocalExecutor(workers, joblib_backend=joblib_backend, shard_size=shard_size,
                         shard_seconds=shard_seconds)
