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
import scipy.fft
import scipy.signal

from genrekit.errors import AudioError, ParameterError
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
        self.mel_bands = band_blocks(self.mel)
        self.fft_freqs = librosa.fft_frequencies(sr=c.sr, n_fft=c.n_fft)
        self.contrast_bands = contrast_bands(self.fft_freqs, c.contrast_fmin, c.n_contrast_bands, c.sr)
        self.tempo_freqs = librosa.tempo_frequencies(
            c.tempo_win_length, hop_length=c.hop_length, sr=c.sr
        )
        self.tempo_window = scipy.signal.get_window("hann", c.tempo_win_length, fftbins=True).astype(np.float32)


def band_blocks(fb: np.ndarray, rows: int = 8) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Cut a filterbank whose rows are narrow bands (mel triangles) into dense blocks.

    Each block is ``rows`` consecutive filters and only the FFT bins where any of them is
    non-zero: ``(row_start, row_stop, bin_start, bin_stop, weights)``. For 128 mel filters over
    1025 bins the blocks hold ~7 % of the matrix, and :func:`banded_matmul` skips the rest.
    """
    nonzero = fb != 0
    first = np.array([np.argmax(r) if r.any() else 0 for r in nonzero])
    stop = np.array([len(r) - np.argmax(r[::-1]) if r.any() else 0 for r in nonzero])
    blocks = []
    for r0 in range(0, fb.shape[0], rows):
        r1 = min(r0 + rows, fb.shape[0])
        a, b = int(first[r0:r1].min()), int(stop[r0:r1].max())
        b = max(a + 1, b)
        blocks.append((r0, r1, a, b, np.ascontiguousarray(fb[r0:r1, a:b])))
    return blocks


def banded_matmul(blocks: list[tuple[int, int, int, int, np.ndarray]], X: np.ndarray) -> np.ndarray:
    """``fb @ X`` for the :func:`band_blocks` of ``fb``: the same sums, without the zero terms."""
    out = np.empty((blocks[-1][1], X.shape[1]), dtype=np.result_type(blocks[0][4], X))
    for r0, r1, a, b, w in blocks:
        np.matmul(w, X[a:b], out=out[r0:r1])
    return out


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
        mel = banded_matmul(fb.mel_bands, power)
        logmel = librosa.power_to_db(mel, top_db=c.top_db)
        out["logmel"] = logmel
    if "mfcc" in need:
        out["mfcc"] = librosa.feature.mfcc(S=logmel, n_mfcc=c.n_mfcc)
        if "mfcc_delta" in need:
            out["mfcc_delta"] = delta(out["mfcc"], width=c.delta_width, order=1)
        if "mfcc_delta2" in need:
            out["mfcc_delta2"] = delta(out["mfcc"], width=c.delta_width, order=2)
    if "chroma" in need:
        out["chroma"] = librosa.util.normalize(fb.chroma @ power, norm=np.inf, axis=-2)
    if "contrast" in need:
        out["contrast"] = spectral_contrast(S, fb.contrast_bands)
    if need & {"centroid", "bandwidth", "rolloff"}:
        out["centroid"], out["bandwidth"], out["rolloff"] = spectral_shape(S, fb.fft_freqs, c.rolloff_percent)
    if "flatness" in need:
        out["flatness"] = flatness(power, overwrite=True)  # power's last use (mel and chroma are done)
    if "zcr" in need:
        out["zcr"] = zero_crossing_rate(y, frame_length=c.n_fft, hop_length=c.hop_length)
    if "rms" in need:
        out["rms"] = rms(y, frame_length=c.n_fft, hop_length=c.hop_length)
    if "onset" in need:
        oenv = librosa.onset.onset_strength(S=logmel, sr=c.sr, n_fft=c.n_fft, hop_length=c.hop_length)
        out["onset"] = oenv[np.newaxis, :]
    if "tempogram" in need:
        tg = tempogram(oenv, fb.tempo_window)
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


def spectral_shape(S: np.ndarray, freqs: np.ndarray, roll_percent: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral centroid, (p=2) bandwidth and roll-off, from one compiled pass over each frame.

    Equal to ``librosa.feature.spectral_centroid(S=S)``, ``spectral_bandwidth(S=S)`` and
    ``spectral_rolloff(S=S, roll_percent=...)``:

    - centroid and bandwidth from float64 sums of S, f·S and f²·S (bandwidth² = E[f²] − centroid²);
      silent frames give 0 for both, as in librosa;
    - roll-off from the same float32 running sum as librosa's ``cumsum``, added in the same order,
      so the chosen bin is identical; the scan stops at the threshold instead of writing the
      cumulative matrix. A silent frame gives the lowest bin's frequency (librosa's NaN masking aside).

    Returns
    -------
    centroid, bandwidth, rolloff : np.ndarray [shape=(1, n_frames)]
    """
    St = np.asarray(S, dtype=np.float32).T  # (n_frames, n_bins); C-contiguous for librosa's STFT
    f = np.ascontiguousarray(freqs, dtype=np.float64)
    totals, firsts, seconds, bins = _shape_kernel()(St, f, np.float32(roll_percent))
    silent = totals < np.finfo(np.float32).tiny
    safe = np.where(silent, 1.0, totals)
    centroid = np.where(silent, 0.0, firsts / safe)
    second = np.where(silent, 0.0, seconds / safe)
    bandwidth = np.sqrt(np.maximum(second - centroid**2, 0.0))
    return centroid[np.newaxis, :], bandwidth[np.newaxis, :], freqs[bins][np.newaxis, :]


@functools.cache
def _shape_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(St, f, pct):
        n_frames, n_bins = St.shape
        totals = np.empty(n_frames)
        firsts = np.empty(n_frames)
        seconds = np.empty(n_frames)
        bins = np.zeros(n_frames, np.int64)
        for j in range(n_frames):
            total32 = np.float32(0.0)
            t = 0.0
            m1 = 0.0
            m2 = 0.0
            for i in range(n_bins):
                x = St[j, i]
                total32 += x
                w = np.float64(x)
                t += w
                m1 += f[i] * w
                m2 += f[i] * f[i] * w
            totals[j], firsts[j], seconds[j] = t, m1, m2
            threshold = pct * total32
            acc = np.float32(0.0)
            for i in range(n_bins):
                acc += St[j, i]
                if acc >= threshold:
                    bins[j] = i
                    break
        return totals, firsts, seconds, bins

    return kernel


@functools.lru_cache(maxsize=8)
def _delta_filters(width: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Savitzky-Golay derivative filter, and the weights giving the edge frames' derivative."""
    import math

    coeffs = scipy.signal.savgol_coeffs(width, order, deriv=order)
    # scipy fits a degree-`order` polynomial to the first / last `width` frames; its order-th
    # derivative is order! x the leading least-squares coefficient, a fixed weighting of the frames.
    vander = np.vander(np.arange(width, dtype=np.float64), order + 1)
    edge = np.linalg.pinv(vander)[0] * math.factorial(order)
    return coeffs, edge


def delta(data: np.ndarray, *, width: int, order: int) -> np.ndarray:
    """Delta features along time: ``librosa.feature.delta(data, width=..., order=...)``.

    librosa runs ``scipy.signal.savgol_filter(mode="interp")``, which designs the filter and fits
    two edge polynomials with ``polyfit`` on every call; here the filter and the edge weights are
    computed once, the interior is the same ``convolve1d``.

    Returns
    -------
    np.ndarray, the shape and dtype of ``data``
    """
    import scipy.ndimage

    if data.shape[-1] < width:
        raise AudioError(f"deltas need at least {width} frames, got {data.shape[-1]}")
    coeffs, edge = _delta_filters(width, order)
    out = scipy.ndimage.convolve1d(data, coeffs, axis=-1, mode="constant")
    half = width // 2
    out[..., :half] = (data[..., :width] @ edge)[..., np.newaxis]
    out[..., out.shape[-1] - half:] = (data[..., -width:] @ edge)[..., np.newaxis]
    return out


def contrast_bands(freqs: np.ndarray, fmin: float, n_bands: int, sr: int,
                   quantile: float = 0.02) -> list[tuple[int, int, int]]:
    """The bins of each spectral-contrast band as ``(first, stop, q)`` (``q``: bins averaged).

    The same octave bands as ``librosa.feature.spectral_contrast`` (a band's lower neighbour
    bin joins it, the top band runs to Nyquist, every band but the top drops its last bin), so
    they are worked out once per process instead of once per file.
    """
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if np.any(octa[:-1] >= 0.5 * sr):  # FeatureConfig refuses such a config first
        raise ParameterError(f"spectral contrast: {n_bands} bands from {fmin} Hz exceed Nyquist ({sr / 2} Hz)")
    bands = []
    for k, (f_low, f_high) in enumerate(zip(octa[:-1], octa[1:])):
        band = (freqs >= f_low) & (freqs <= f_high)
        idx = np.flatnonzero(band)
        if k > 0:
            band[idx[0] - 1] = True
        if k == n_bands:
            band[idx[-1] + 1:] = True
        rows = np.flatnonzero(band)
        if k < n_bands:
            rows = rows[:-1]
        q = int(max(np.rint(quantile * band.sum()), 1))
        bands.append((int(rows[0]), int(rows[-1]) + 1, q))
    return bands


def spectral_contrast(S: np.ndarray, bands: list[tuple[int, int, int]]) -> np.ndarray:
    """Spectral contrast (dB): mean of the top ``q`` minus mean of the bottom ``q`` bins per band.

    Equals ``librosa.feature.spectral_contrast(S=S, ...)`` for the bands of :func:`contrast_bands`;
    each band is a contiguous slice of the spectrogram (no boolean-mask copy) and a band that
    averages one bin takes its min and max instead of sorting.

    Returns
    -------
    np.ndarray [shape=(n_bands + 1, n_frames)]
    """
    import librosa

    valley = np.empty((len(bands), S.shape[1]))
    peak = np.empty_like(valley)
    for k, (first, stop, q) in enumerate(bands):
        sub = S[first:stop]
        if q == 1:
            valley[k], peak[k] = sub.min(axis=0), sub.max(axis=0)
        else:
            ordered = np.sort(sub, axis=0)
            valley[k] = ordered[:q].mean(axis=0)
            peak[k] = ordered[-q:].mean(axis=0)
    return librosa.power_to_db(peak) - librosa.power_to_db(valley)


def flatness(power: np.ndarray, amin: float = 1e-10, *, overwrite: bool = False) -> np.ndarray:
    """Spectral flatness: geometric over arithmetic mean of the power spectrum per frame.

    Equals ``librosa.feature.spectral_flatness(S=power, power=1.0, amin=amin)``. With
    ``overwrite``, ``power`` is used as scratch space (its last use in :func:`compute_features`).

    Returns
    -------
    np.ndarray [shape=(1, n_frames)]
    """
    p = np.maximum(amin, power, out=power if overwrite else None)
    amean = np.mean(p, axis=0, keepdims=True)
    gmean = np.exp(np.mean(np.log(p, out=p), axis=0, keepdims=True))  # (p is ours: log in place)
    return gmean / amean


def rms(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Root-mean-square energy of centred, zero-padded frames.

    Equals ``librosa.feature.rms(y=y, frame_length=..., hop_length=...)``. When the hop divides
    the frame length, each frame's energy is the sum of ``frame_length / hop_length`` per-hop
    block sums (every sample squared once, not once per overlapping frame).

    Returns
    -------
    np.ndarray [shape=(1, n_frames)]
    """
    pad = frame_length // 2
    yp = np.pad(y, pad)
    n_frames = 1 + (len(yp) - frame_length) // hop_length
    if frame_length % hop_length:
        import librosa

        return librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop_length)
    k = frame_length // hop_length
    n_blocks = n_frames + k - 1
    sq = np.square(yp[: n_blocks * hop_length], dtype=np.float32)
    blocks = sq.reshape(n_blocks, hop_length).sum(axis=1)
    energy = np.lib.stride_tricks.sliding_window_view(blocks, k).sum(axis=1)
    return np.sqrt(energy / frame_length)[np.newaxis, :]


def tempogram(onset_envelope: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Autocorrelation tempogram of centred windows of the onset envelope, in float32.

    Equals ``librosa.feature.tempogram(onset_envelope=..., win_length=len(window))`` (Hann window,
    linear-ramp padding, each frame scaled to max 1), computed in single precision, which more
    than halves the cost of its FFTs (relative error ~1e-6).

    Returns
    -------
    np.ndarray [shape=(win_length, n_frames)], float32
    """
    import librosa

    win_length = len(window)
    n = onset_envelope.shape[-1]
    padded = np.pad(onset_envelope.astype(np.float32), win_length // 2, mode="linear_ramp", end_values=0)
    frames = librosa.util.frame(padded, frame_length=win_length, hop_length=1)[:, :n] * window[:, np.newaxis]
    n_pad = scipy.fft.next_fast_len(2 * win_length - 1, real=True)
    spec = scipy.fft.rfft(frames, n=n_pad, axis=0)  # along axis 0: vectorised over frames
    ac = scipy.fft.irfft(spec.real**2 + spec.imag**2, n=n_pad, axis=0)[:win_length]
    # An autocorrelation peaks at lag 0, so row 0 is each frame's max (librosa's inf-norm); frames
    # with no energy stay as they are, as librosa leaves them.
    peak = np.where(ac[0] < np.finfo(ac.dtype).tiny, 1.0, ac[0]).astype(ac.dtype)
    ac /= peak
    return ac


def zero_crossing_rate(y: np.ndarray, *, frame_length: int, hop_length: int, threshold: float = 1e-10) -> np.ndarray:
    """Zero-crossing rate of centred frames, from one pass over the signal.

    Equals ``librosa.feature.zero_crossing_rate(y, frame_length=..., hop_length=...)`` (edge
    padding, |y| <= ``threshold`` counted as positive, rate = crossings / frame_length): one
    compiled pass counts the crossings up to every sample, and each frame's count is the
    difference of two of those running counts, instead of framing the signal.

    Returns
    -------
    np.ndarray [shape=(1, n_frames)]
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    counts = _zcr_kernel()(y, frame_length, hop_length, np.float32(threshold))
    return (counts / frame_length)[np.newaxis, :]


@functools.cache
def _zcr_kernel():
    import numba

    @numba.njit(cache=True, nogil=True)
    def kernel(y, frame_length, hop_length, threshold):
        n = y.size
        pad = frame_length // 2
        n_padded = n + 2 * pad
        # running[i]: sign changes between consecutive samples of the edge-padded signal up to i
        running = np.empty(n_padded, np.int64)
        count = 0
        prev_neg = False
        for i in range(n_padded):
            x = y[min(max(i - pad, 0), n - 1)]
            neg = abs(x) > threshold and x < 0
            if i > 0 and neg != prev_neg:
                count += 1
            running[i] = count
            prev_neg = neg
        n_frames = 1 + (n_padded - frame_length) // hop_length
        out = np.empty(n_frames, np.int64)
        for j in range(n_frames):
            start = j * hop_length
            out[j] = running[start + frame_length - 1] - running[start]
        return out

    return kernel


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
