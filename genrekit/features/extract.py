"""One signal → named feature arrays, and a track's summary vector. Pure functions: no files.

What is computed, from what and in which order is the feature registry's business
(:mod:`genrekit.features.catalog`); this module checks the signal, has the registry compute the
config's features (each shared intermediate once), and turns frame features into the fixed-width
summary vector with its column names.

Every frame feature has librosa's orientation ``[shape=(dim, n_frames)]``; every track feature is
``[shape=(dim,)]``. Each equals the librosa reference call with the same parameters (the tests
prove it).
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import AudioError
from genrekit.features.catalog import FEATURES, Filterbanks, filterbanks
from genrekit.features.config import STATISTICS, FeatureConfig

__all__ = ["check_signal", "compute_features", "summarize", "summary_names", "summary_vector", "Filterbanks", "filterbanks"]


def compute_features(y: np.ndarray | list, config: FeatureConfig, *, sr: int | None = None
                     ) -> dict[str, np.ndarray]:
    """Compute the configured features of one mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float32, or a list holding it
        Mono audio at ``config.sr``. A one-item list hands the signal over: the list is emptied
        and the signal freed after its last use (the caller keeps no other reference), so a long
        track's signal is not held while its tempo is computed.
    config : FeatureConfig
    sr : int, optional
        Sample rate of ``y``; must equal ``config.sr`` (resampling happens at decode time).

    Returns
    -------
    dict
        ``name -> array`` in the order of ``config.features``. Frame features
        ``[shape=(dim, n_frames)]``, track features ``[shape=(dim,)]``, all float32, all finite.

    Raises
    ------
    AudioError
        If ``y`` is shorter than one analysis frame (or than a selected feature needs) or holds
        non-finite samples.
    """
    c = config
    if sr is not None and sr != c.sr:
        raise AudioError(f"signal is at {sr} Hz but the config expects {c.sr} Hz; resample first")
    handed = isinstance(y, list)
    y = np.ascontiguousarray(y.pop() if handed else y, dtype=np.float32)
    check_signal(y, c)

    if handed:  # the registry holds the only reference from here on
        y = [y]
    result = {}
    for name, value in FEATURES.compute(y, c, c.features).items():
        arr = np.asarray(value, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise AudioError(f"feature {name!r} came out non-finite for this audio")
        result[name] = arr
    return result


#: Rows of a frame feature summarised at a time (each row's statistics are its own).
SUMMARY_ROWS = 16


def check_signal(y: np.ndarray, config: FeatureConfig) -> None:
    """Raise :class:`AudioError` when ``config``'s features cannot be computed from ``y``: not
    mono, shorter than one analysis frame or than a selected feature needs, or non-finite."""
    c = config
    if y.ndim != 1:
        raise AudioError(f"expected a mono signal, got shape {y.shape}")
    if y.size < c.n_fft:
        raise AudioError(
            f"audio too short: {y.size} samples ({y.size / c.sr:.3f} s) is less than one "
            f"analysis frame of {c.n_fft} samples"
        )
    FEATURES.check_signal(y, c, c.features)
    if not np.isfinite(y).all():
        raise AudioError("audio holds non-finite samples (NaN or Inf)")


def summarize(frames: np.ndarray) -> np.ndarray:
    """The seven statistics of each row of a frame feature.

    Parameters
    ----------
    frames : np.ndarray [shape=(dim, n_frames)]

    Returns
    -------
    np.ndarray [shape=(dim, 7)], float32
        mean, std, skew, kurtosis (Fisher, biased, as ``scipy.stats``), median, min, max per row.
        Skew and kurtosis of a constant row are defined as 0 (scipy would give NaN).

    Computed in float64, :data:`SUMMARY_ROWS` rows at a time: its temporaries are a few rows of
    the track, not five float64 copies of the whole feature.
    """
    frames = np.asarray(frames)
    if frames.shape[0] <= SUMMARY_ROWS:
        return _summarize_rows(frames)
    return np.concatenate([_summarize_rows(frames[r:r + SUMMARY_ROWS])
                           for r in range(0, frames.shape[0], SUMMARY_ROWS)])


def _summarize_rows(frames: np.ndarray) -> np.ndarray:
    x = np.asarray(frames, dtype=np.float64)
    mean = x.mean(axis=1)
    d = x - mean[:, None]
    d2 = d * d
    m2 = d2.mean(axis=1)
    m3 = (d2 * d).mean(axis=1)
    m4 = (d2 * d2).mean(axis=1)
    # A row is constant when its variance is negligible relative to its magnitude.
    scale = np.maximum(np.abs(mean), 1.0)
    flat = m2 <= (1e-12 * scale) ** 2
    safe = np.where(flat, 1.0, m2)
    skew = np.where(flat, 0.0, m3 / safe**1.5)
    kurt = np.where(flat, 0.0, m4 / safe**2 - 3.0)
    stats = np.stack(
        [mean, np.sqrt(m2), skew, kurt, np.median(x, axis=1), x.min(axis=1), x.max(axis=1)], axis=1
    )
    return stats.astype(np.float32)


def summary_names(config: FeatureConfig) -> list[str]:
    """Column names of :func:`summary_vector` for ``config``, e.g. ``mfcc_03_mean``.

    Multi-row frame features are ``{feature}_{row:02d}_{stat}`` (rows from 0); single-row frame
    features are ``{feature}_{stat}``; track features are ``{feature}`` or ``{feature}_{i:02d}``.
    A feature registered with ``row_names`` names its rows instead of numbering them.
    """
    names = []
    for name in config.features:
        spec = FEATURES[name]
        rows = spec.row_labels(config)
        if spec.level == "frame":
            names.extend(f"{row}_{s}" for row in rows for s in STATISTICS)
        else:
            names.extend(rows)
    return names


def summary_vector(features: dict[str, np.ndarray], config: FeatureConfig) -> np.ndarray:
    """Fixed-width summary of one track, in the column order of :func:`summary_names`."""
    parts = []
    for name in config.features:
        arr = features[name]
        if FEATURES[name].level == "frame":
            parts.append(summarize(arr).ravel())
        else:
            parts.append(np.asarray(arr, dtype=np.float32).ravel())
    return np.concatenate(parts).astype(np.float32)
