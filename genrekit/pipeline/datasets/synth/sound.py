"""Sound primitives: the float32 buffers a clip is mixed from.

Wavetable instrument voices, the coloured-noise loop, an artist's drum kit and the overlay of
drum one-shots, all shaped by the artist's production equaliser.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from genrekit.pipeline.datasets.synth.artists import artist_style
from genrekit.pipeline.datasets.synth.genres import Part
from genrekit.pipeline.datasets.synth.seeds import TAG_KIT, TAG_NOISE, genre_seed

_TABLE_SIZE = 4096  # wavetable length, a power of two


def eq_gain(eq: tuple[tuple[float, float, float], ...], hz: np.ndarray) -> np.ndarray:
    """Linear gain of a smooth equaliser made of bell curves on a log-frequency axis."""
    octaves = np.log2(np.maximum(np.asarray(hz, dtype=np.float64), 1.0))
    db = np.zeros_like(octaves)
    for centre, gain, width in eq:
        db += gain * np.exp(-0.5 * ((octaves - math.log2(centre)) / width) ** 2)
    return 10.0 ** (db / 20.0)


@lru_cache(maxsize=512)
def wavetable(
    harmonics: tuple[float, ...],
    tilt: float,
    fundamental: float,
    cutoff: float,
    sr: int,
    eq: tuple[tuple[float, float, float], ...] = (),
) -> np.ndarray:
    """One period of a sum of harmonics, peak-normalised, as read-only float32.

    Harmonic ``k`` is scaled by ``k ** -tilt`` and by the gain of a fourth-order low-pass with
    corner ``cutoff`` at ``k * fundamental`` (the part's typical pitch) and by the equaliser
    ``eq`` there, which sets the brightness and colour without filtering the rendered signal;
    harmonics at or above 0.45 ``sr`` are dropped.
    """
    k = np.arange(1, len(harmonics) + 1, dtype=np.float64)
    partial_hz = k * fundamental
    amps = np.asarray(harmonics, dtype=np.float64) * k ** (-tilt)
    amps = amps / np.sqrt(1.0 + (partial_hz / cutoff) ** 4) * (partial_hz < 0.45 * sr)
    amps = amps * eq_gain(eq, partial_hz)
    amps[0] = max(amps[0], 1e-3)  # never silent
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    table = np.sin(2.0 * np.pi * np.outer(phase, k)) @ amps
    table = (table / np.max(np.abs(table))).astype(np.float32)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=32)
def noise_loop(tilt: float, sr: int) -> np.ndarray:
    """A fixed loop of unit-RMS noise whose power falls as ``f ** -tilt`` (read-only float32).

    Clips read it from a random offset, which is much cheaper than shaping fresh noise.
    """
    size = 1 << 17
    rng = np.random.default_rng([TAG_NOISE, int(round(tilt * 1000)), sr])
    freqs = np.fft.rfftfreq(size, 1.0 / sr)
    spectrum = rng.standard_normal(freqs.size) + 1j * rng.standard_normal(freqs.size)
    spectrum *= np.maximum(freqs, 20.0) ** (-tilt / 2.0)
    spectrum[0] = 0.0
    loop = np.fft.irfft(spectrum, size)
    loop = (loop / np.sqrt(np.mean(loop**2))).astype(np.float32)
    loop.flags.writeable = False
    return loop


def render_voices(
    n: int,
    onsets: np.ndarray,
    lengths: np.ndarray,
    gains: np.ndarray,
    midi: np.ndarray,
    table: np.ndarray,
    part: Part,
    decay: float,
    sr: int,
) -> np.ndarray:
    """Render a part whose notes (rows of ``midi``, one column per voice) start at ``onsets``.

    Every voice is monophonic: a note lasts until the part's next onset. The phase restarts at
    each onset, so the waveform is ``table[(t * f / sr) mod 1]`` with ``t`` the samples since
    the current note's onset, and the envelope is an attack ramp times an exponential decay
    times an exponential release after ``lengths`` samples.
    """
    out = np.zeros(n, dtype=np.float32)
    if onsets.size == 0:
        return out
    # Segment 0 is the silence before the first note, segment i the i-th note. Only the first
    # onset may be negative (a note that started before the clip).
    segment = np.diff(np.concatenate(([0], np.maximum(onsets, 0), [n])))

    def per_sample(values: np.ndarray) -> np.ndarray:
        return np.repeat(np.concatenate(([0.0], values)).astype(np.float32), segment)

    start = np.repeat(np.concatenate(([0], onsets)), segment)
    t = (np.arange(n) - start).astype(np.float32)
    attack_rate = np.float32(1.0 / max(part.attack * sr, 1.0))
    decay_rate = np.float32(1.0 / (decay * sr))
    release_rate = np.float32(1.0 / max(part.release * sr, 1.0))
    released = np.maximum(t - per_sample(lengths), np.float32(0.0))
    env = per_sample(gains) * np.minimum(t * attack_rate, np.float32(1.0))
    env *= np.exp(-(t * decay_rate + released * release_rate))

    cents = (0.0,) if part.detune <= 0 else (-part.detune / 2.0, part.detune / 2.0)
    mask = _TABLE_SIZE - 1
    for j in range(midi.shape[1]):
        for c in cents:
            hz = 440.0 * 2.0 ** ((midi[:, j] + c / 100.0 - 69.0) / 12.0)
            pos = (t * per_sample(hz * (_TABLE_SIZE / sr))).astype(np.int32)
            pos &= mask
            out += np.take(table, pos)
    out *= env / np.float32(math.sqrt(midi.shape[1] * len(cents)))
    if part.drive > 0:
        out = np.tanh(part.drive * out) / np.float32(math.tanh(part.drive))
    return out


def _highpassed_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """White noise differentiated twice: a cheap +12 dB/octave tilt towards the top."""
    return np.diff(rng.standard_normal(size + 2), n=2)


@lru_cache(maxsize=64)
def drum_kit(genre: str, artist: int, sr: int) -> dict[str, np.ndarray]:
    """Peak-normalised one-shot samples of every drum: the artist's own kit, read-only."""
    style = artist_style(genre, artist)
    rng = np.random.default_rng([TAG_KIT, genre_seed(genre), artist, sr])

    def seconds(s: float) -> np.ndarray:
        return np.arange(int(s * sr)) / sr

    kit: dict[str, np.ndarray] = {}
    t = seconds(0.35)
    top, bottom = 150.0 * style.kick_mul, 48.0 * style.kick_mul
    sweep = bottom + (top - bottom) * np.exp(-t / 0.03)
    kit["kick"] = np.sin(2.0 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t / 0.12)
    t = seconds(0.22)
    kit["snare"] = 0.7 * _highpassed_noise(rng, t.size) * np.exp(-t / 0.05) + 0.5 * np.sin(
        2.0 * np.pi * style.snare_hz * t
    ) * np.exp(-t / 0.03)
    t = seconds(0.25)
    bursts = sum(np.exp(-np.maximum(t - d, 0.0) / 0.006) * (t >= d) for d in (0.0, 0.011, 0.022))
    kit["clap"] = rng.standard_normal(t.size) * (bursts + 0.4 * np.exp(-t / 0.08))
    t = seconds(0.06)
    kit["hat"] = _highpassed_noise(rng, t.size) * np.exp(-t / 0.012)
    t = seconds(0.3)
    kit["ohat"] = _highpassed_noise(rng, t.size) * np.exp(-t / 0.09)
    t = seconds(0.6)
    partials = [hz for hz in (3150.0, 4630.0, 5870.0) if hz < 0.45 * sr]
    bell = sum((np.sin(2.0 * np.pi * hz * t) for hz in partials), np.zeros_like(t))
    ride = 0.3 * bell + 0.5 * _highpassed_noise(rng, t.size) / 2.0
    kit["ride"] = ride * np.exp(-t / 0.35)
    t = seconds(0.0015)
    kit["click"] = np.exp(-t / 0.0003)
    for name, x in kit.items():
        spectrum = np.fft.rfft(x) * eq_gain(style.eq, np.fft.rfftfreq(x.size, 1.0 / sr))
        x = np.fft.irfft(spectrum, x.size)
        x = (x / np.max(np.abs(x))).astype(np.float32)
        x.flags.writeable = False
        kit[name] = x
    return kit


def overlay(n: int, hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Sum ``(template, onsets, gains)`` one-shots into a buffer of ``n`` samples.

    Onsets are in samples and may be negative (a hit before the clip whose tail rings into
    it); what falls outside ``0..n-1`` is dropped.
    """
    out = np.zeros(n, dtype=np.float32)
    for template, onsets, gains in hits:
        size = template.size
        for onset, gain in zip(onsets.tolist(), gains.tolist()):
            begin, end = max(onset, 0), min(onset + size, n)
            if begin < end:
                out[begin:end] += np.float32(gain) * template[begin - onset : end - onset]
    return out
