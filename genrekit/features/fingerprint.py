"""An audio fingerprint of one signal: spectral peak pairs ("landmarks") hashed with their time.

The method is the landmark fingerprint of Wang (2003, "An industrial-strength audio search
algorithm", the Shazam paper), as Ellis's audfprint implements it: find the local maxima of a
log-magnitude spectrogram (a *constellation* of peaks), pair each peak (the anchor) with a few
later peaks near it, and hash each pair as ``(anchor frequency, frequency difference, time
difference)``. A hash keeps the anchor's frame as its time. Two signals are the same recording
when many of their hashes agree *at one time offset* (:mod:`genrekit.pipeline.duplicates`).

It is computed at a fixed low rate (:data:`FP_SR`, 8 kHz: what a re-encode keeps), so what
changes the file but not the recording leaves most peaks where they were:

* gain: a gain is a constant in dB, and peaks are local maxima above a level relative to the
  loudest bin, so the same bins win;
* resampling and lossy re-encoding: the 0–4 kHz band where the peaks are chosen survives them
  (an MP3 at 64 kbit/s low-passes above ~11 kHz);
* an excerpt: hashes depend only on what is near each anchor, so the part two excerpts share
  gives the same hashes, shifted by the excerpts' offset.

Pure functions: a signal and its rate in, two arrays out (no files).
"""

from __future__ import annotations

import numpy as np

from genrekit.features.kernels import blocks

#: Rate (Hz), STFT size and hop (samples) of the fingerprint: 31.25 frames per second.
FP_SR = 8000
FP_N_FFT = 512
FP_HOP = 128
FRAMES_PER_SECOND = FP_SR / FP_HOP
#: A peak is kept when fewer than PEAKS_PER_SECOND stronger ones lie within RANK_WINDOW frames of
#: it (±0.5 s); FAN_OUT later peaks are paired with each anchor.
PEAKS_PER_SECOND = 12
RANK_WINDOW = 32
FAN_OUT = 4
#: A target peak lies 1..MAX_DT frames after its anchor (~2 s) and within MAX_DF bins of it.
MAX_DT = 63
MAX_DF = 63
#: Peaks are local maxima over ±PEAK_DF bins and ±PEAK_DT frames, at most FLOOR_DB below the loudest.
PEAK_DF = 12
PEAK_DT = 8
FLOOR_DB = 60.0
#: Each signal is analysed on two frame grids, half a hop apart, and their hashes pooled: two
#: excerpts cut at arbitrary samples then share a grid to within a quarter hop (8 ms), where a
#: single grid can be half a hop off and lose most peak pairs to timing jitter.
GRID_SHIFTS = (0, FP_HOP // 2)
#: Hashes are below 2 ** HASH_BITS.
HASH_BITS = 21
#: Bumped whenever the hashes change: fingerprints of other versions are never compared.
FINGERPRINT_VERSION = 1
#: Frames of spectrogram computed at a time (~65 s); the last block takes the remainder.
BLOCK_FRAMES = 4096


def fingerprint(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """The landmark hashes of a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``sr``.
    sr : int
        Its sample rate (resampled to :data:`FP_SR` here).

    Returns
    -------
    hashes : np.ndarray [shape=(n_hashes,)], uint32
        21-bit hashes ``anchor bin << 13 | (Δbin + 64) << 6 | Δframe``, in anchor-time order.
    times : np.ndarray [shape=(n_hashes,)], int32
        The anchor's frame (:data:`FRAMES_PER_SECOND` per second) of each hash.

    Hashes of both grids (:data:`GRID_SHIFTS`), sorted by time. A signal too short or too quiet
    to have peaks gives two empty arrays.
    """
    import soxr

    y = np.ascontiguousarray(y, dtype=np.float32)
    if sr != FP_SR:
        y = soxr.resample(y, sr, FP_SR).astype(np.float32, copy=False)
    if y.size < FP_N_FFT or not np.any(y):
        return _empty()
    parts = []
    for shift in GRID_SHIFTS:  # two frame grids: an excerpt's grid is never off by more than hop / 4
        t, f, level = _local_maxima(y[shift:])
        if t.size:
            parts.append(_pairs(*_strongest(t, f, level)))
    if not parts:
        return _empty()
    hashes = np.concatenate([h for h, _ in parts])
    times = np.concatenate([t for _, t in parts])
    order = np.argsort(times, kind="stable")
    return hashes[order], times[order]


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.uint32), np.zeros(0, np.int32)


def _level(y: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The level (dB, float32) of the lowest 256 bins of (uncentred) frames ``start:stop``."""
    import librosa

    part = y[start * FP_HOP:(stop - 1) * FP_HOP + FP_N_FFT]
    mag = np.abs(librosa.stft(part, n_fft=FP_N_FFT, hop_length=FP_HOP, center=False))[:256]
    return 20.0 * np.log10(np.maximum(mag, 1e-10))


def _local_maxima(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local maxima of the level spectrogram of ``y``, the loudest bin of the track at 0 dB,
    at most :data:`FLOOR_DB` below it: their frames, bins and levels, by time then bin.

    Two passes over :data:`BLOCK_FRAMES` frames of STFT at a time: the track's loudest bin,
    then each block's maxima, each block with the :data:`PEAK_DT` frames on either side that its
    maxima are compared with (a frame's level is the same in any block). Never the whole
    spectrogram at once.
    """
    from scipy.ndimage import maximum_filter

    n = 1 + (len(y) - FP_N_FFT) // FP_HOP if len(y) >= FP_N_FFT else 0
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    spans = blocks(n, BLOCK_FRAMES)
    whole = _level(y, 0, n) if len(spans) == 1 else None
    top = whole.max() if whole is not None else max((_level(y, a, b).max() for a, b in spans), default=0)
    ts, fs, levels = [], [], []
    for a, b in spans:
        lo, hi = max(a - PEAK_DT, 0), min(b + PEAK_DT, n)
        db = (whole if whole is not None else _level(y, lo, hi)) - top
        local = maximum_filter(db, size=(2 * PEAK_DF + 1, 2 * PEAK_DT + 1), mode="constant", cval=-np.inf)
        f, t = np.nonzero((db == local) & (db > -FLOOR_DB))
        inside = (t + lo >= a) & (t + lo < b)
        f, t = f[inside], t[inside]
        order = np.lexsort((f, t))
        f, t = f[order], t[order]
        levels.append(db[f, t])
        ts.append(t + lo)
        fs.append(f)
    return (np.concatenate(ts).astype(np.int64), np.concatenate(fs).astype(np.int64), np.concatenate(levels))


def _strongest(t: np.ndarray, f: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The local maxima (by time) kept: fewer than :data:`PEAKS_PER_SECOND` stronger ones lie
    within half a second of each.

    The density is bounded everywhere, and which peaks a passage keeps depends only on the
    second around it, not on the rest of the file (an excerpt keeps the peaks the whole
    recording kept there).
    """
    stronger = np.zeros(t.size, np.int64)
    for k in range(1, t.size):  # the k-th neighbour in time order, both ways
        near = t[k:] - t[:-k] <= RANK_WINDOW
        if not near.any():
            break
        a = np.flatnonzero(near)
        b = a + k
        stronger[a] += level[b] > level[a]
        stronger[b] += level[a] > level[b]
    keep = stronger < PEAKS_PER_SECOND
    return t[keep], f[keep]


def _pairs(t: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each peak paired with the (up to) :data:`FAN_OUT` nearest later peaks in its target zone."""
    n = t.size
    if n < 2:
        return _empty()
    taken = np.zeros(n, np.int64)
    anchors, targets = [], []
    for k in range(1, n):  # the k-th next peak in time order; stops once no anchor can reach it
        a = np.arange(n - k)
        b = a + k
        dt = t[b] - t[a]
        if not np.any(dt <= MAX_DT):
            break
        ok = (dt >= 1) & (dt <= MAX_DT) & (np.abs(f[b] - f[a]) <= MAX_DF) & (taken[a] < FAN_OUT)
        taken[a[ok]] += 1
        anchors.append(a[ok])
        targets.append(b[ok])
    a = np.concatenate(anchors)
    b = np.concatenate(targets)
    if a.size == 0:
        return _empty()
    order = np.argsort(t[a], kind="stable")
    a, b = a[order], b[order]
    h = (f[a] << 13) | ((f[b] - f[a] + 64) << 6) | (t[b] - t[a])
    return h.astype(np.uint32), t[a].astype(np.int32)
