"""Numeric kernels of the built-in features: pure functions of arrays, no config, no registry.

Each equals the librosa call named in its docstring (tests/features/test_parity.py proves it) and
is faster than it, because it is computed from intermediates shared with other features (one STFT,
one onset envelope), from matrices built once per process, or in one compiled (numba) pass where
numpy needs several. :mod:`genrekit.features.catalog` registers the features built from them.
"""

from __future__ import annotations

import functools

import numpy as np

from genrekit.errors import AudioError, ParameterError


#: Columns (frames, hops) per block of the kernels that work in blocks (tempogram, MFCC's DCT,
#: per-frame tempo, rms): a block's temporaries take ~10 MB. A multiple of 64: blocks start at
#: multiples of it, so an FFT vectorised over columns groups them as over the whole track.
COLUMN_BLOCK = 1024


def blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks of ``size`` over ``range(n)``; the last takes the
    remainder, so every block but a single short one has at least ``size`` items and every start
    is a multiple of ``size`` (vectorised kernels then group columns as over the whole range)."""
    starts = list(range(0, max(n - size, 0) + 1, size))
    return list(zip(starts, [*starts[1:], n]))


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

    import scipy.signal  # on first use: scipy.signal costs ~0.5 s to import

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

    Equals ``librosa.feature.spectral_contrast(S=S, ...)`` for the bands of :func:`contrast_bands`:
    :func:`contrast_db` of :func:`contrast_levels`.

    Returns
    -------
    np.ndarray [shape=(n_bands + 1, n_frames)]
    """
    return contrast_db(*contrast_levels(S, bands))


def contrast_levels(S: np.ndarray, bands: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The valley and peak of each contrast band per frame (float64): means of the bottom and
    the top ``q`` bins. Each frame from its own column: computed in blocks of frames.

    Each band is a contiguous slice of the spectrogram (no boolean-mask copy) and a band that
    averages one bin takes its min and max instead of sorting.

    Returns
    -------
    valley, peak : np.ndarray [shape=(n_bands + 1, n_frames)]
    """
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
    return valley, peak


def contrast_db(valley: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Peak minus valley in dB, each against the whole track's loudest (librosa's ``top_db=80``)."""
    import librosa

    return librosa.power_to_db(peak) - librosa.power_to_db(valley)


def power_to_db(S: np.ndarray, *, top_db: float | None, amin: float = 1e-10, overwrite: bool = False) -> np.ndarray:
    """``librosa.power_to_db(S, ref=1.0, amin=amin, top_db=top_db)`` for a real ``S``, the same
    operations in the same order; with ``overwrite``, in ``S`` itself (no dB copy beside it).

    Returns
    -------
    np.ndarray, the shape and dtype of ``S``
    """
    out = np.maximum(amin, S, out=S if overwrite else None)
    np.log10(out, out=out)
    out *= 10.0
    out -= 10.0 * np.log10(np.maximum(amin, np.abs(1.0)))
    if top_db is not None:
        if top_db < 0:
            raise ParameterError("top_db must be non-negative")
        np.maximum(out, out.max() - top_db, out=out)
    return out


def n_stft_frames(n_samples: int, n_fft: int, hop_length: int) -> int:
    """Frames of ``librosa.stft(y, center=True)`` for a signal of ``n_samples``."""
    return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length


def stft_frames(y: np.ndarray, n_fft: int, hop_length: int, start: int, stop: int) -> np.ndarray:
    """Frames ``start:stop`` of ``librosa.stft(y, n_fft=n_fft, hop_length=hop_length)`` (Hann,
    centred, zero padding), from only the samples they cover.

    Every frame is the same windowed samples and the same real FFT as in the whole-signal STFT,
    so its values are identical (tests/pipeline/test_long_file_values.py); a block of frames
    costs memory for that block only.

    Returns
    -------
    np.ndarray [shape=(1 + n_fft // 2, stop - start)], complex64 for float32 ``y``
    """
    import librosa

    if start == 0 and stop == n_stft_frames(len(y), n_fft, hop_length):
        return librosa.stft(y, n_fft=n_fft, hop_length=hop_length)
    pad = n_fft // 2
    segment = _padded(y, start * hop_length - pad, (stop - 1) * hop_length + n_fft - pad)
    return librosa.stft(segment, n_fft=n_fft, hop_length=hop_length, center=False)


def flatness(power: np.ndarray, amin: float = 1e-10, *, overwrite: bool = False) -> np.ndarray:
    """Spectral flatness: geometric over arithmetic mean of the power spectrum per frame.

    Equals ``librosa.feature.spectral_flatness(S=power, power=1.0, amin=amin)``. With
    ``overwrite``, ``power`` is used as scratch space (the registry allows it when flatness is
    the power spectrogram's last consumer; see ``scratch`` in :mod:`genrekit.features.registry`).

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
    block sums (every sample squared once, not once per overlapping frame), squared a few
    thousand hops at a time (no padded or squared copy of the whole signal).

    Returns
    -------
    np.ndarray [shape=(1, n_frames)]
    """
    pad = frame_length // 2
    n_frames = 1 + (len(y) + 2 * pad - frame_length) // hop_length
    if frame_length % hop_length:
        import librosa

        return librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop_length)
    k = frame_length // hop_length
    n_blocks = n_frames + k - 1
    # The energy of each hop of the zero-padded signal, a few thousand hops at a time (no padded
    # copy of the signal, no squared copy): each hop's float32 sum is the same on its own.
    sums = np.empty(n_blocks, dtype=np.float32)
    for r0, r1 in blocks(n_blocks, COLUMN_BLOCK):
        sq = np.square(_padded(y, r0 * hop_length - pad, r1 * hop_length - pad), dtype=np.float32)
        sums[r0:r1] = sq.reshape(r1 - r0, hop_length).sum(axis=1)
    energy = np.lib.stride_tricks.sliding_window_view(sums, k).sum(axis=1)
    return np.sqrt(energy / frame_length)[np.newaxis, :]


def _padded(y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``y[lo:hi]`` of the signal extended with zeros on both sides (a view when inside it)."""
    if lo >= 0 and hi <= len(y):
        return y[lo:hi]
    out = np.zeros(hi - lo, dtype=y.dtype)
    a, b = max(lo, 0), min(hi, len(y))
    if b > a:
        out[a - lo:b - lo] = y[a:b]
    return out


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
    import scipy.fft

    win_length = len(window)
    n = onset_envelope.shape[-1]
    padded = np.pad(onset_envelope.astype(np.float32), win_length // 2, mode="linear_ramp", end_values=0)
    framed = librosa.util.frame(padded, frame_length=win_length, hop_length=1)  # a view
    n_pad = scipy.fft.next_fast_len(2 * win_length - 1, real=True)
    out = None
    # Blocks of frames: each frame's autocorrelation is its own FFTs, and the FFTs' temporaries
    # stay a block's size (they were ~4x the tempogram over the whole track).
    for a, b in blocks(n, COLUMN_BLOCK):
        frames = framed[:, a:b] * window[:, np.newaxis]
        spec = scipy.fft.rfft(frames, n=n_pad, axis=0)  # along axis 0: vectorised over frames
        ac = scipy.fft.irfft(spec.real**2 + spec.imag**2, n=n_pad, axis=0)[:win_length]
        # An autocorrelation peaks at lag 0, so row 0 is each frame's max (librosa's inf-norm);
        # frames with no energy stay as they are, as librosa leaves them.
        peak = np.where(ac[0] < np.finfo(ac.dtype).tiny, 1.0, ac[0]).astype(ac.dtype)
        ac /= peak
        if a == 0 and b == n:
            return ac
        if out is None:
            out = np.empty((win_length, n), dtype=ac.dtype)
        out[:, a:b] = ac
    return out


def zero_crossing_rate(y: np.ndarray, *, frame_length: int, hop_length: int, threshold: float = 1e-10) -> np.ndarray:
    """Zero-crossing rate of centred frames, from one pass over the signal.

    Equals ``librosa.feature.zero_crossing_rate(y, frame_length=..., hop_length=...)`` (edge
    padding, |y| <= ``threshold`` counted as positive, rate = crossings / frame_length): one
    compiled pass counts the crossings and records the running count at each frame's first and
    last sample; a frame's count is their difference (no framing, nothing the signal's size kept).

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
        n_frames = 1 + (n_padded - frame_length) // hop_length
        # Sign changes between consecutive samples of the edge-padded signal, counted up to each
        # frame's first and last sample (one pass, nothing the signal's size kept).
        first = np.empty(n_frames, np.int64)
        last = np.empty(n_frames, np.int64)
        jf = 0
        jl = 0
        count = 0
        prev_neg = False
        for i in range(n_padded):
            x = y[min(max(i - pad, 0), n - 1)]
            neg = abs(x) > threshold and x < 0
            if i > 0 and neg != prev_neg:
                count += 1
            prev_neg = neg
            if jf < n_frames and i == jf * hop_length:
                first[jf] = count
                jf += 1
            if jl < n_frames and i == jl * hop_length + frame_length - 1:
                last[jl] = count
                jl += 1
        return last - first

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
