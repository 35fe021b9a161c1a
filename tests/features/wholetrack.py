"""A frozen copy of how genrekit computed a file's features when every intermediate was a
whole-track array (one STFT of the whole signal, its magnitude and power, the whole tempogram, …).

Extraction now computes long signals in blocks to bound its memory; the tests compare it with
this reference, bit for bit, so a block boundary can never change a stored value. Kernels whose
code did not change are imported from genrekit; the ones that were rewritten to work in blocks
are copied here as they were.
"""

from __future__ import annotations

import librosa
import numpy as np
import scipy.fft
import soxr

from genrekit.features import fingerprint as fp
from genrekit.features.catalog import filterbanks
from genrekit.features.kernels import banded_matmul, delta, flatness, spectral_shape, tempogram_ratio


def _contrast(S, bands):
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


def _rms(y, frame_length, hop_length):
    pad = frame_length // 2
    yp = np.pad(y, pad)
    n_frames = 1 + (len(yp) - frame_length) // hop_length
    k = frame_length // hop_length
    n_blocks = n_frames + k - 1
    sq = np.square(yp[: n_blocks * hop_length], dtype=np.float32)
    blocks = sq.reshape(n_blocks, hop_length).sum(axis=1)
    energy = np.lib.stride_tricks.sliding_window_view(blocks, k).sum(axis=1)
    return np.sqrt(energy / frame_length)[np.newaxis, :]


def _tempogram(onset_envelope, window):
    win_length = len(window)
    n = onset_envelope.shape[-1]
    padded = np.pad(onset_envelope.astype(np.float32), win_length // 2, mode="linear_ramp", end_values=0)
    frames = librosa.util.frame(padded, frame_length=win_length, hop_length=1)[:, :n] * window[:, np.newaxis]
    n_pad = scipy.fft.next_fast_len(2 * win_length - 1, real=True)
    spec = scipy.fft.rfft(frames, n=n_pad, axis=0)
    ac = scipy.fft.irfft(spec.real**2 + spec.imag**2, n=n_pad, axis=0)[:win_length]
    peak = np.where(ac[0] < np.finfo(ac.dtype).tiny, 1.0, ac[0]).astype(ac.dtype)
    ac /= peak
    return ac


def features(y: np.ndarray, c) -> dict[str, np.ndarray]:
    """Every default feature of ``y`` (mono float32 at ``c.sr``), as whole-track arrays, float32."""
    fb = filterbanks(c)
    mag = np.abs(librosa.stft(y, n_fft=c.n_fft, hop_length=c.hop_length))
    power = mag**2
    mel = banded_matmul(fb.mel_bands, power)
    out = {"logmel": librosa.power_to_db(mel, top_db=c.top_db)}
    out["mfcc"] = librosa.feature.mfcc(S=out["logmel"], n_mfcc=c.n_mfcc)
    out["mfcc_delta"] = delta(out["mfcc"], width=c.delta_width, order=1)
    out["mfcc_delta2"] = delta(out["mfcc"], width=c.delta_width, order=2)
    out["chroma"] = librosa.util.normalize(fb.chroma @ power, norm=np.inf, axis=-2)
    out["contrast"] = _contrast(mag, fb.contrast_bands)
    out["centroid"], out["bandwidth"], out["rolloff"] = spectral_shape(mag, fb.fft_freqs, c.rolloff_percent)
    out["flatness"] = flatness(power, overwrite=True)
    out["zcr"] = librosa.feature.zero_crossing_rate(y, frame_length=c.n_fft, hop_length=c.hop_length)
    out["rms"] = _rms(y, c.n_fft, c.hop_length)
    onset_env = librosa.onset.onset_strength(S=out["logmel"], sr=c.sr, n_fft=c.n_fft, hop_length=c.hop_length)
    out["onset"] = onset_env[np.newaxis, :]
    tg = _tempogram(onset_env, fb.tempo_window)
    bpm = librosa.feature.tempo(tg=tg, sr=c.sr, hop_length=c.hop_length, aggregate=None)
    out["tempogram_ratio"] = tempogram_ratio(tg, bpm, fb.tempo_freqs)
    out["tempo"] = librosa.feature.tempo(tg=tg, sr=c.sr, hop_length=c.hop_length)
    return {k: np.asarray(out[k], dtype=np.float32) for k in c.features}


def summarize(frames: np.ndarray) -> np.ndarray:
    """The seven statistics of each row, all rows at once in float64."""
    x = np.asarray(frames, dtype=np.float64)
    mean = x.mean(axis=1)
    d = x - mean[:, None]
    d2 = d * d
    m2 = d2.mean(axis=1)
    m3 = (d2 * d).mean(axis=1)
    m4 = (d2 * d2).mean(axis=1)
    scale = np.maximum(np.abs(mean), 1.0)
    flat = m2 <= (1e-12 * scale) ** 2
    safe = np.where(flat, 1.0, m2)
    skew = np.where(flat, 0.0, m3 / safe**1.5)
    kurt = np.where(flat, 0.0, m4 / safe**2 - 3.0)
    stats = np.stack([mean, np.sqrt(m2), skew, kurt, np.median(x, axis=1), x.min(axis=1), x.max(axis=1)], axis=1)
    return stats.astype(np.float32)


def _peaks(mag):
    from scipy.ndimage import maximum_filter

    db = 20.0 * np.log10(np.maximum(mag, 1e-10))
    db -= db.max()
    local = maximum_filter(db, size=(2 * fp.PEAK_DF + 1, 2 * fp.PEAK_DT + 1), mode="constant", cval=-np.inf)
    f, t = np.nonzero((db == local) & (db > -fp.FLOOR_DB))
    order = np.lexsort((f, t))
    f, t = f[order].astype(np.int64), t[order].astype(np.int64)
    level = db[f, t]
    stronger = np.zeros(t.size, np.int64)
    for k in range(1, t.size):
        near = t[k:] - t[:-k] <= fp.RANK_WINDOW
        if not near.any():
            break
        a = np.flatnonzero(near)
        b = a + k
        stronger[a] += level[b] > level[a]
        stronger[b] += level[a] > level[b]
    keep = stronger < fp.PEAKS_PER_SECOND
    return t[keep], f[keep]


def fingerprint(y: np.ndarray, sr: int):
    """The landmark hashes and times of ``y``, from whole-track spectrograms."""
    y = np.ascontiguousarray(y, dtype=np.float32)
    if sr != fp.FP_SR:
        y = soxr.resample(y, sr, fp.FP_SR).astype(np.float32, copy=False)
    if y.size < fp.FP_N_FFT or not np.any(y):
        return fp._empty()
    parts = []
    for shift in fp.GRID_SHIFTS:
        mag = np.abs(librosa.stft(y[shift:], n_fft=fp.FP_N_FFT, hop_length=fp.FP_HOP, center=False))[:256]
        if mag.shape[1]:
            parts.append(fp._pairs(*_peaks(mag)))
    hashes = np.concatenate([h for h, _ in parts])
    times = np.concatenate([t for _, t in parts])
    order = np.argsort(times, kind="stable")
    return hashes[order], times[order]


def decode(path, sr: int) -> np.ndarray:
    """The whole file, mono, resampled in one stream (soxr HQ) as genrekit's decoder streams it."""
    import soundfile as sf

    from genrekit.pipeline.extraction.decode import BLOCK_FRAMES, downmix

    stream = soxr.ResampleStream(sf.info(str(path)).samplerate, sr, 1, dtype="float32", quality="HQ")
    chunks = [stream.resample_chunk(downmix(b)) for b in sf.blocks(str(path), BLOCK_FRAMES, dtype="float32",
                                                                   always_2d=True)]
    chunks.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    return np.concatenate(chunks)
