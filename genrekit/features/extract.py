"""One signal → named feature arrays, from ONE STFT. Pure functions: no files, no globals.

Every frame feature has librosa's orientation ``[shape=(dim, n_frames)]``; every track feature is
``[shape=(dim,)]``. Each equals the librosa reference call with the same parameters (the tests
prove it); what genrekit adds is that the spectrogram, the mel power, the log-mel, the onset
envelope and the tempogram are each computed once and shared, and the filterbanks are built
once per process.
"""

from __future__ import annotations

import functools

import numpy as np

from genrekit.errors import AudioError
from genrekit.features.config import FeatureConfig


class Filterbanks:
    """The fixed matrices a config needs: built once per process (see :func:`filterbanks`)."""

    def __init__(self, config: FeatureConfig):
        import librosa

        c = config
        self.mel = librosa.filters.mel(
            sr=c.sr, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax
        ).astype(np.float32)
        self.chroma = librosa.filters.chroma(
            sr=c.sr, n_fft=c.n_fft, tuning=c.tuning, n_chroma=c.n_chroma
        ).astype(np.float32)
        self.fft_freqs = librosa.fft_frequencies(sr=c.sr, n_fft=c.n_fft)
        self.tempo_freqs = librosa.tempo_frequencies(
            c.tempo_win_length, hop_length=c.hop_length, sr=c.sr
        )


@functools.lru_cache(maxsize=8)
def filterbanks(config: FeatureConfig) -> Filterbanks:
    """The :class:`Filterbanks` of ``config``, built on first use in this process, then reused."""
    return Filterbanks(config)


def _needs(config: FeatureConfig) -> set[str]:
    """Which intermediate products the selected features need."""
    f = set(config.features)
    need = set(f)
    if f & {"tempo", "tempogram_ratio"}:
        need.add("tempogram")
    if need & {"tempogram", "onset"}:
        need.add("onset")
        need.add("logmel")
    if f & {"mfcc_delta", "mfcc_delta2"}:
        need.add("mfcc")
    if "mfcc" in need:
        need.add("logmel")
    return need


def compute_features(y: np.ndarray, config: FeatureConfig, *, sr: int | None = None) -> dict[str, np.ndarray]:
    """Compute the configured features of one mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)], float32
        Mono audio at ``config.sr``.
    config : FeatureConfig
    sr : int, optional
        Sample rate of ``y``; must equal ``config.sr`` (resampling happens at decode time).

    Returns
    -------
    dict
        ``name -> array``. Frame features ``[shape=(dim, n_frames)]``, track features
        ``[shape=(dim,)]``, all float32, all finite.

    Raises
    ------
    AudioError
        If ``y`` is shorter than one analysis frame or holds non-finite samples.
    """
    import librosa

    c = config
    if sr is not None and sr != c.sr:
        raise AudioError(f"signal is at {sr} Hz but the config expects {c.sr} Hz; resample first")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise AudioError(f"expected a mono signal, got shape {y.shape}")
    if y.size < c.n_fft:
        raise AudioError(
            f"audio too short: {y.size} samples ({y.size / c.sr:.3f} s) is less than one "
            f"analysis frame of {c.n_fft} samples"
        )
    # MFCC deltas need delta_width frames (1 + n // hop with centred frames).
    min_delta = (c.delta_width - 1) * c.hop_length
    if set(c.features) & {"mfcc_delta", "mfcc_delta2"} and y.size < min_delta:
        raise AudioError(
            f"audio too short: {y.size} samples ({y.size / c.sr:.3f} s) is less than the "
            f"{min_delta} samples ({c.delta_width} analysis frames) that MFCC deltas need"
        )
    if not np.isfinite(y).all():
        raise AudioError("audio holds non-finite samples (NaN or Inf)")

    fb = filterbanks(c)
    need = _needs(c)
    out: dict[str, np.ndarray] = {}

    S = np.abs(librosa.stft(y, n_fft=c.n_fft, hop_length=c.hop_length))
    power = S**2 if need & {"logmel", "chroma", "flatness"} else None

    if "logmel" in need:
        mel = fb.mel @ power
        logmel = librosa.power_to_db(mel, top_db=c.top_db)
        out["logmel"] = logmel
    if "mfcc" in need:
        out["mfcc"] = librosa.feature.mfcc(S=logmel, n_mfcc=c.n_mfcc)
        if "mfcc_delta" in need:
            out["mfcc_delta"] = librosa.feature.delta(out["mfcc"], width=c.delta_width, order=1)
        if "mfcc_delta2" in need:
            out["mfcc_delta2"] = librosa.feature.delta(out["mfcc"], width=c.delta_width, order=2)
    if "chroma" in need:
        out["chroma"] = librosa.util.normalize(fb.chroma @ power, norm=np.inf, axis=-2)
    if "contrast" in need:
        out["contrast"] = librosa.feature.spectral_contrast(
            S=S, sr=c.sr, n_fft=c.n_fft, fmin=c.contrast_fmin, n_bands=c.n_contrast_bands
        )
    if need & {"centroid", "bandwidth"}:
        out["centroid"], bandwidth = centroid_bandwidth(S, fb.fft_freqs)
        if "bandwidth" in need:
            out["bandwidth"] = bandwidth
    if "rolloff" in need:
        out["rolloff"] = rolloff(S, fb.fft_freqs, c.rolloff_percent)
    if "flatness" in need:
        out["flatness"] = librosa.feature.spectral_flatness(S=power, power=1.0)
    if "zcr" in need:
        out["zcr"] = zero_crossing_rate(y, frame_length=c.n_fft, hop_length=c.hop_length)
    if "rms" in need:
        out["rms"] = librosa.feature.rms(y=y, frame_length=c.n_fft, hop_length=c.hop_length)
    if "onset" in need:
        oenv = librosa.onset.onset_strength(S=logmel, sr=c.sr, hop_length=c.hop_length)
        out["onset"] = oenv[np.newaxis, :]
    if "tempogram" in need:
        tg = librosa.feature.tempogram(
            onset_envelope=oenv, sr=c.sr, hop_length=c.hop_length, win_length=c.tempo_win_length
        )
        if "tempo" in need:
            out["tempo"] = librosa.feature.tempo(tg=tg, sr=c.sr, hop_length=c.hop_length)
        if "tempogram_ratio" in need:
            bpm = librosa.feature.tempo(tg=tg, sr=c.sr, hop_length=c.hop_length, aggregate=None)
            out["tempogram_ratio"] = tempogram_ratio(tg, bpm, fb.tempo_freqs)

    result = {}
    for name in c.features:
        arr = np.asarray(out[name], dtype=np.float32)
        if not np.isfinite(arr).all():
            raise AudioError(f"feature {name!r} came out non-finite for this audio")
        result[name] = arr
    return result


def centroid_bandwidth(S: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral centroid and (p=2) bandwidth from two matrix-vector products.

    Equals ``librosa.feature.spectral_centroid(S=S)`` and ``spectral_bandwidth(S=S)``, which each
    normalise the whole spectrogram; here bandwidth² = E[f²] − centroid² (in float64). Silent frames
    give 0 for both, as in librosa.

    Returns
    -------
    centroid, bandwidth : np.ndarray [shape=(1, n_frames)]
    """
    f = freqs.astype(np.float64)
    total, first, second = np.stack([np.ones_like(f), f, f * f]) @ S.astype(np.float64)  # one GEMM
    silent = total < np.finfo(S.dtype).tiny
    safe = np.where(silent, 1.0, total)
    centroid = np.where(silent, 0.0, first / safe)
    second = np.where(silent, 0.0, second / safe)
    bandwidth = np.sqrt(np.maximum(second - centroid**2, 0.0))
    return centroid[np.newaxis, :], bandwidth[np.newaxis, :]


def rolloff(S: np.ndarray, freqs: np.ndarray, roll_percent: float) -> np.ndarray:
    """Spectral roll-off: the lowest frequency below which ``roll_percent`` of the energy lies.

    Equals ``librosa.feature.spectral_rolloff(S=S, roll_percent=...)`` without its NaN masking.

    Returns
    -------
    np.ndarray [shape=(1, n_frames)]
    """
    cs = np.cumsum(S, axis=0)
    first = np.argmax(cs >= roll_percent * cs[-1], axis=0)
    return freqs[first][np.newaxis, :]


def zero_crossing_rate(y: np.ndarray, *, frame_length: int, hop_length: int, threshold: float = 1e-10) -> np.ndarray:
    """Zero-crossing rate of centred frames, from one pass over the signal.

    Equals ``librosa.feature.zero_crossing_rate(y, frame_length=..., hop_length=...)`` (edge
    padding, |y| <= ``threshold`` counted as positive, rate = crossings / frame_length) by
    differencing a cumulative count instead of framing the signal.

    Returns
    -------
    np.ndarray [shape=(1, n_frames)]
    """
    pad = frame_length // 2
    yp = np.pad(y, pad, mode="edge")
    neg = np.signbit(np.where(np.abs(yp) <= threshold, 0.0, yp))
    cross = np.concatenate([[0], np.cumsum(neg[1:] != neg[:-1])])  # cross[i]: crossings in yp[:i+1]
    n_frames = 1 + (len(yp) - frame_length) // hop_length
    starts = np.arange(n_frames) * hop_length
    counts = cross[starts + frame_length - 1] - cross[starts]
    return (counts / frame_length)[np.newaxis, :]


#: Metrical multiples of the tempo sampled by the tempogram ratio (Prockup et al. 2015; librosa).
TEMPOGRAM_RATIO_FACTORS = np.array(
    [4, 8 / 3, 3, 2, 4 / 3, 3 / 2, 1, 2 / 3, 3 / 4, 1 / 2, 1 / 3, 3 / 8, 1 / 4]
)


def tempogram_ratio(tg: np.ndarray, bpm: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Tempogram ratio features, vectorised over frames.

    Equals ``librosa.feature.tempogram_ratio(tg=tg, bpm=bpm, freqs=freqs)`` (linear
    interpolation of each frame's tempogram along tempo, 0 outside the observed range), without
    building one interpolator per frame.

    Parameters
    ----------
    tg : np.ndarray [shape=(n_lags, n_frames)]
        Tempogram.
    bpm : np.ndarray [shape=(n_frames,)]
        Tempo estimate per frame.
    freqs : np.ndarray [shape=(n_lags,)]
        Tempo (BPM) of each tempogram row; row 0 (lag 0) is infinite.

    Returns
    -------
    np.ndarray [shape=(13, n_frames)]
    """
    # Ascending tempo axis over the finite rows (lags n-1 … 1).
    x = freqs[1:][::-1]
    rows = tg[1:][::-1]
    n_frames = tg.shape[1]
    targets = TEMPOGRAM_RATIO_FACTORS[:, None] * np.asarray(bpm).reshape(1, -1)  # (13, n_frames)
    k = np.searchsorted(x, targets, side="right") - 1  # left neighbour
    valid = (targets >= x[0]) & (targets <= x[-1])
    k = np.clip(k, 0, len(x) - 2)
    w = (targets - x[k]) / (x[k + 1] - x[k])
    cols = np.broadcast_to(np.arange(n_frames), targets.shape)
    vals = rows[k, cols] * (1 - w) + rows[k + 1, cols] * w
    return np.where(valid, vals, 0.0)


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
    """
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
    """
    from genrekit.features.config import STATISTICS

    names = []
    for name, dim in config.feature_dims().items():
        if name in config.frame_features:
            for i in range(dim):
                prefix = name if dim == 1 else f"{name}_{i:02d}"
                names.extend(f"{prefix}_{s}" for s in STATISTICS)
        else:
            names.extend([name] if dim == 1 else [f"{name}_{i:02d}" for i in range(dim)])
    return names


def summary_vector(features: dict[str, np.ndarray], config: FeatureConfig) -> np.ndarray:
    """Fixed-width summary of one track, in the column order of :func:`summary_names`."""
    parts = []
    for name in config.features:
        arr = features[name]
        if name in config.frame_features:
            parts.append(summarize(arr).ravel())
        else:
            parts.append(np.asarray(arr, dtype=np.float32).ravel())
    return np.concatenate(parts).astype(np.float32)
