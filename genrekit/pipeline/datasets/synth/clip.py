"""`synth_clip`: compose one deterministic clip of a genre, artist and take."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from genrekit.errors import ParameterError
from genrekit.pipeline.datasets.synth.artists import Style, artist_style
from genrekit.pipeline.datasets.synth.genres import KEY_BASE_MIDI, SPECS, Genre, check_genre
from genrekit.pipeline.datasets.synth.score import Grid, mono_onsets, pitches
from genrekit.pipeline.datasets.synth.seeds import TAG_TAKE, genre_seed
from genrekit.pipeline.datasets.synth.sound import (
    drum_kit,
    noise_loop,
    overlay,
    render_voices,
    wavetable,
)

SYNTH_VERSION = 2
"""Version of the synthesis; bump it whenever the audio that a given seed produces changes."""

_PEAK = 0.9
_NOISE_FLOOR = 2e-4  # standard deviation of the white noise floor added after normalisation


def check_index(name: str, value: object) -> int:
    """``value`` as an int if it is a non-negative integer (not a bool), else a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ParameterError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_duration_sr(duration: object, sr: object) -> tuple[float, int]:
    """A positive finite duration in seconds and an integer sample rate in 8000..192000."""
    if (
        isinstance(duration, bool)
        or not isinstance(duration, numbers.Real)
        or not math.isfinite(float(duration))
        or float(duration) <= 0
    ):
        raise ParameterError(f"duration must be a positive number of seconds, got {duration!r}")
    if isinstance(sr, bool) or not isinstance(sr, numbers.Integral) or not 8000 <= sr <= 192000:
        raise ParameterError(f"sr must be an integer sample rate in 8000..192000, got {sr!r}")
    return float(duration), int(sr)


def synth_clip(
    genre: str, artist: int, take: int, *, duration: float = 10.0, sr: int = 22050
) -> np.ndarray:
    """Render one deterministic, music-like clip of a synthetic genre.

    Parameters
    ----------
    genre : str
        One of :data:`GENRES`.
    artist : int
        Artist number (>= 0). An artist keeps key, tempo, timbre, favourite progression and
        drum kit across takes.
    take : int
        Take number (>= 0). Takes of one artist differ in notes, progression order, a small
        tempo jitter, levels and timing.
    duration : float, optional
        Length in seconds (default 10).
    sr : int, optional
        Sample rate in Hz (default 22050; 8000 to 192000).

    Returns
    -------
    numpy.ndarray
        Mono float32 samples, ``round(duration * sr)`` of them (at least one), peak about 0.9
        and always within [-1, 1]. The same arguments always give the same array.

    Raises
    ------
    ParameterError
        For an unknown genre (the message lists the valid ones), a negative or non-integer
        artist or take, a non-positive duration or an unsupported sample rate.
    """
    genre = check_genre(genre)
    artist = check_index("artist", artist)
    take = check_index("take", take)
    duration, sr = check_duration_sr(duration, sr)
    n = max(1, int(round(duration * sr)))

    # One generator for the whole take: the order of the steps below is the order of its draws,
    # so reordering them changes the audio (and needs a new SYNTH_VERSION).
    style = artist_style(genre, artist)
    rng = np.random.default_rng([TAG_TAKE, genre_seed(genre), artist, take])
    plan = _plan_take(SPECS[genre], style, rng, sr, n)
    mix = np.zeros(n, dtype=np.float32)
    for p in range(len(SPECS[genre].parts)):
        mix += _render_part(genre, p, style, plan, rng)
    _add_noise(mix, SPECS[genre], style, rng, sr)
    hits = _drum_hits(genre, artist, style, plan.grid, rng)
    if hits:
        tonal_peak = float(np.max(np.abs(mix))) or 1.0
        mix += overlay(n, hits) * np.float32(style.drum_gain * tonal_peak)
    return _master(mix, rng)


@dataclass(frozen=True)
class _TakePlan:
    """What a take draws before its notes: its tempo grid, progression and where it starts."""

    grid: Grid
    progression: tuple[int, ...]
    rotation: int  # index of the progression's chord the clip starts on


def _plan_take(spec: Genre, style: Style, rng: np.random.Generator, sr: int, n: int) -> _TakePlan:
    """Draw the take's tempo (a small jitter around the artist's), grid phase and progression."""
    jitter = float(np.clip(rng.normal(0.0, 0.01), -0.025, 0.025))
    bpm = float(np.clip(style.bpm * (1.0 + jitter), *spec.bpm))  # stays in the genre's range
    spb = 4 * spec.beats
    grid = Grid(
        spb=spb,
        first=int(rng.integers(spb)),
        step_s=60.0 / bpm / 4.0,
        swing=spec.swing * style.swing_mul,
        swing16=spec.swing16 * style.swing_mul,
        sr=sr,
        n=n,
    )
    if rng.random() < 0.75:
        progression = spec.progressions[style.progression]
    else:
        progression = spec.progressions[int(rng.integers(len(spec.progressions)))]
    rotation = int(rng.integers(len(progression)))
    return _TakePlan(grid, progression, rotation)


def _render_part(
    genre: str, p: int, style: Style, plan: _TakePlan, rng: np.random.Generator
) -> np.ndarray:
    """Draw the notes of the genre's pitched part number ``p`` and render them."""
    spec = SPECS[genre]
    part = spec.parts[p]
    grid, n, sr = plan.grid, plan.grid.n, plan.grid.sr
    key_midi = KEY_BASE_MIDI + style.key
    steps = grid.positions(part.steps, part.every, lead=part.every)
    density = min(1.0, part.density * style.density_mul) if part.density < 1.0 else 1.0
    sounding = rng.random(steps.size) < density
    samples = grid.samples(steps, rng.normal(0.0, 0.003, size=steps.size))
    keep = sounding & (samples < n)
    order = mono_onsets(samples, keep)
    steps, samples = steps[order], samples[order]
    chord_of = steps // (4 * spec.chord_beats)
    chord_degree = np.asarray(plan.progression, dtype=np.int64)[
        (chord_of + plan.rotation) % len(plan.progression)
    ]
    midi = pitches(genre, part, steps, chord_of, chord_degree, key_midi, style, rng)
    gaps = np.diff(np.r_[samples, n]).astype(np.float64)
    lengths = part.gate * gaps
    accent = np.where(steps % 4 == 0, 1.25, 1.0) if part.role == "arp" else 1.0
    level = part.gain * style.part_gains[p] * 10.0 ** (rng.uniform(-1.5, 1.5) / 20.0)
    gains = level * accent * np.clip(1.0 + rng.normal(0.0, 0.08, size=steps.size), 0.6, 1.4)
    typical_hz = 440.0 * 2.0 ** ((key_midi + part.octave + 7 - 69) / 12.0)
    table = wavetable(
        style.timbres[p], style.tilt, typical_hz, spec.cutoff * style.cutoff_mul, sr, style.eq
    )
    return render_voices(
        n, samples, lengths, gains, midi, table, part, part.decay * style.decay_mul, sr
    )


def _add_noise(
    mix: np.ndarray, spec: Genre, style: Style, rng: np.random.Generator, sr: int
) -> None:
    """Add background noise (hiss, a noise wash) in place, relative to the tonal RMS of ``mix``."""
    noise = spec.noise * style.noise_mul + style.hiss
    if noise > 0:
        tilt = spec.noise_tilt if style.noise_tilt is None else style.noise_tilt
        loop = noise_loop(tilt, sr)
        offset = int(rng.integers(loop.size))
        tonal_rms = math.sqrt(float(np.mean(np.square(mix, dtype=np.float64))))
        level = noise * tonal_rms
        mix += np.take(loop, np.arange(offset, offset + mix.size), mode="wrap") * np.float32(level)


def _drum_hits(
    genre: str, artist: int, style: Style, grid: Grid, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Draw the take's drum hits, ghost snares and vinyl clicks as ``(one-shot, onsets, gains)``."""
    spec = SPECS[genre]
    n, sr = grid.n, grid.sr
    kit = drum_kit(genre, artist, sr)
    hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for pattern in SPECS[style.drums_from].drums:
        steps = grid.positions(pattern.steps, lead=1)
        steps = steps[rng.random(steps.size) < pattern.prob]
        samples = grid.samples(steps, rng.normal(0.0, 0.002, size=steps.size))
        gains = pattern.gain * np.clip(1.0 + rng.normal(0.0, 0.1, size=steps.size), 0.5, 1.5)
        hits.append((kit[pattern.kind], samples, gains))
    if spec.ghost > 0:
        steps = grid.positions(range(0, grid.spb, 2), lead=1)
        steps = steps[rng.random(steps.size) < spec.ghost]
        hits.append((kit["snare"], grid.samples(steps), np.full(steps.size, 0.15)))
    if style.crackle > 0:
        count = int(rng.poisson(style.crackle * n / sr))
        samples = rng.integers(n, size=count)
        gains = rng.choice([-1.0, 1.0], size=count) * rng.uniform(0.05, 0.25, size=count)
        hits.append((kit["click"], samples, gains))
    return hits


def _master(mix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normalise ``mix`` in place to the peak, add the white noise floor and clip to [-1, 1]."""
    peak = float(np.max(np.abs(mix)))
    if peak > 0:
        mix *= np.float32(_PEAK / peak)
    mix += (rng.random(mix.size, dtype=np.float32) - np.float32(0.5)) * np.float32(
        _NOISE_FLOOR * math.sqrt(12.0)
    )
    np.clip(mix, -1.0, 1.0, out=mix)
    return mix
