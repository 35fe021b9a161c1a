"""Local worker processes forked from a process that has already imported the feature code.

A fresh worker interpreter (loky's) imports numpy, scipy, librosa, numba and h5py again — about
1.5 s of CPU on an idle core, several seconds on a busy one — before its first file, and on a
small collection that costs more than the work (issue 16: 10 clips took 1.9 s with one worker and
2.7–6.1 s with two). Here the parent imports the feature code once and computes one short
warm-up signal (filterbanks built, compiled kernels loaded), then forks: each worker starts in
milliseconds with all of it in shared memory. Used by :class:`~genrekit.pipeline.extraction.executor.LocalExecutor`
where the system forks safely (Linux); elsewhere joblib's loky processes are used.

Batches stream back as they finish (at most two in flight per worker); a worker killed by the
system (out of memory) surfaces as :class:`~concurrent.futures.process.BrokenProcessPool`, and
Ctrl-C stops the workers, each losing only the batch it had in progress.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator


def available() -> bool:
    """Whether worker processes are forked here (Linux: fork is safe with numpy and HDF5 when no
    file is open; macOS's system libraries are not fork-safe)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def warm_up(config_json: str):
    """Import the feature code and compute features of a short signal once in this process, so that
    forked workers inherit imported modules, built filterbanks and loaded compiled kernels."""
    import numpy as np

    from genrekit.features.config import FeatureConfig
    from genrekit.features.extract import compute_features, summary_vector
    from genrekit.pipeline.extraction import worker  # noqa: F401  (imports what a batch needs)
    from genrekit.pipeline.extraction.analysis import thread_controller

    config = FeatureConfig.from_json(config_json)
    y = np.random.default_rng(0).standard_normal(config.sr).astype(np.float32) * 0.1
    try:
        with thread_controller().limit(limits=1):
            summary_vector(compute_features(y, config), config)
    except Exception:  # a warm-up that fails only costs the workers their own first-call work
        pass


def _init():
    """A forked worker: Ctrl-C is the parent's to handle; SIGTERM ends it as the system's default."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run(fn: Callable, batches: list, n_jobs: int, **kwargs) -> Iterator:
    """Yield ``fn(batch, **kwargs)`` for each batch as it finishes, in ``n_jobs`` forked processes."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork"), initializer=_init)
    todo, running = list(reversed(batches)), set()
    try:
        while todo or running:
            while todo and len(running) < 2 * n_jobs:
                running.add(pool.submit(fn, todo.pop(), **kwargs))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def _stop(pool):
    """Stop the workers now: their batches in progress are lost (the next run redoes them)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended between the check and the kill
                pass
