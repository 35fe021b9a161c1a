"""One audio file → its features, or why not: decode, compute, summarise, every error captured.

``genrekit extract`` (:func:`~genrekit.pipeline.extraction.worker.extract_one`) and ``genrekit
predict`` (:func:`~genrekit.pipeline.prediction.predict.featurise_file`) analyse a file through
:func:`analyse_file`: the same decoder, the same feature code, and the same rule for what a bad
file becomes (a :class:`FileFailure`, never an exception, so one file cannot stop a batch).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from genrekit.errors import AudioError
from genrekit.features.config import FeatureConfig
from genrekit.features.extract import check_signal, compute_features, summary_vector
from genrekit.pipeline.extraction.decode import decode


@dataclass
class FileAnalysis:
    """What one file gave.

    Attributes
    ----------
    signal : ndarray of float32, shape (n_samples,), or None
        The decoded mono signal at ``config.sr``; None when it was handed to the features (an
        analysis with ``before`` and no ``then``) and freed.
    native_sr : int
        The file's own sample rate.
    features : dict
        :func:`~genrekit.features.compute_features` output (feature-major arrays).
    n_samples : int
        Samples of the signal (its duration times ``config.sr``).
    summary : ndarray or None
        The summary vector (finite), when asked for.
    derived : object
        What ``before`` or ``then`` returned, when given.
    """

    signal: np.ndarray | None
    native_sr: int
    features: dict
    n_samples: int = 0
    summary: np.ndarray | None = None
    derived: Any = None


@dataclass(frozen=True)
class FileFailure:
    """Why one file could not be analysed: the error's type name and a one-line message."""

    error_type: str
    message: str

    def line(self) -> str:
        """``"ErrorType: message"``."""
        return f"{self.error_type}: {self.message}"


@functools.cache
def thread_controller():
    """This process's threadpoolctl controller, made once (finding the native libraries costs ~3 ms),
    after importing what extraction loads, so that it sees every BLAS/OpenMP library."""
    import importlib

    from threadpoolctl import ThreadpoolController

    for module in ("librosa", "scipy.fft", "scipy.signal"):
        importlib.import_module(module)

    return ThreadpoolController()


def analyse_file(path: str | os.PathLike, config: FeatureConfig, *, max_seconds: float | None = None,
                 summary: bool = False, then: Callable[[np.ndarray, dict], Any] | None = None,
                 before: Callable[[np.ndarray], Any] | None = None, one_thread: bool = True,
                 out_of_memory: str = "out of memory") -> FileAnalysis | FileFailure:
    """Decode ``path`` and compute ``config``'s features; never raises for a bad file.

    Parameters
    ----------
    path : path-like
    config : FeatureConfig
        Sample rate, offset, duration and the features to compute.
    max_seconds : float, optional
        Refuse a file with more audio than this to analyse, before decoding it.
    summary : bool
        Also compute the summary vector; a non-finite one is a failure (never stored).
    then : callable, optional
        ``then(signal, features)``, run under the same error capture (and thread limit); its
        result is :attr:`FileAnalysis.derived`.
    before : callable, optional
        Instead of ``then``: ``before(signal)``, run before the features; its result is
        :attr:`FileAnalysis.derived`. The signal is then handed to the features and freed after
        its last use, so a long file's signal is not held while its tempo is computed
        (:attr:`FileAnalysis.signal` is None).
    one_thread : bool
        Run with one BLAS/OpenMP thread, so the same file gives bit-identical features whichever
        process or machine load computed it (extraction). False: the process's own setting.
    out_of_memory : str
        The message of a :class:`MemoryError` failure (what the caller advises).

    Returns
    -------
    FileAnalysis or FileFailure
        The failure's type is ``AudioError`` (unreadable, empty, too long, non-finite…),
        ``MemoryError``, or the class name of any other exception (a bug or an unexpected decoder
        error), whose message is its text (its repr when the text is empty).
    """
    if then is not None and before is not None:
        raise ValueError("analyse_file takes then or before, not both")
    try:
        if one_thread:
            with thread_controller().limit(limits=1):
                return _analyse(path, config, max_seconds, summary, then, before)
        return _analyse(path, config, max_seconds, summary, then, before)
    except AudioError as e:
        return FileFailure("AudioError", str(e))
    except MemoryError:
        return FileFailure("MemoryError", out_of_memory)
    except Exception as e:  # a bug or an unexpected decoder error must not kill the batch
        return FileFailure(type(e).__name__, str(e) or repr(e))


def _analyse(path, config: FeatureConfig, max_seconds, summary: bool, then, before) -> FileAnalysis:
    y, native_sr = decode(path, config.sr, offset=config.offset, duration=config.duration,
                          max_seconds=max_seconds)
    n_samples, derived = len(y), None
    if before is not None:
        check_signal(y, config)  # a signal the features refuse fails as it would without ``before``
        derived = before(y)
        y = [y]  # handed over: the features free it after its last consumer
    features = compute_features(y, config)
    if before is not None:
        y = None
    out = FileAnalysis(signal=y, native_sr=int(native_sr), features=features, n_samples=n_samples,
                       derived=derived)
    if summary:
        out.summary = summary_vector(features, config)
        if not np.isfinite(out.summary).all():  # never into the summary table, whatever the cause
            raise AudioError("summary statistics came out non-finite (NaN or Inf) for this audio")
    if then is not None:
        out.derived = then(y, features)
    return out
