"""The score of a clip: when notes and hits fall, and which pitches the notes have."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from genrekit.pipeline.datasets.synth.artists import Style
from genrekit.pipeline.datasets.synth.genres import CHORD_DEGREES, SPECS, Part


@dataclass
class Grid:
    """Where the sixteenth-note grid of a clip falls in time."""

    spb: int  # sixteenths per bar
    first: int  # global sixteenth index of the clip's start
    step_s: float  # seconds per sixteenth
    swing: float
    swing16: float
    sr: int
    n: int

    def positions(self, steps: Sequence[int], every: int = 1, lead: int = 0) -> np.ndarray:
        """Global sixteenth indices of the pattern ``steps`` in every ``every``-th bar.

        They start ``lead`` bars before the clip, so that notes and hits that began earlier
        can ring into it.
        """
        begin = self.first - lead * self.spb
        last = self.first + int(math.ceil(self.n / self.sr / self.step_s)) + 1
        bars = np.arange(begin // self.spb, last // self.spb + 1)
        bars = bars[bars % every == 0]
        grid = (bars[:, None] * self.spb + np.asarray(steps, dtype=np.int64)[None, :]).ravel()
        return grid[(grid >= begin) & (grid <= last)]

    def samples(self, grid: np.ndarray, jitter: np.ndarray | None = None) -> np.ndarray:
        """Onset samples of global sixteenths, with swing and optional jitter in seconds."""
        pos = grid % self.spb
        delay = self.swing * 2.0 * (pos % 4 == 2) + self.swing16 * (pos % 2 == 1)
        seconds = (grid - self.first + delay) * self.step_s
        if jitter is not None:
            seconds = seconds + jitter
        return np.round(seconds * self.sr).astype(np.int64)


def _semitones(mode: tuple[int, ...], degrees: np.ndarray) -> np.ndarray:
    """Semitones above the tonic of (possibly negative or > 6) scale degrees."""
    degrees = np.asarray(degrees, dtype=np.int64)
    return 12 * (degrees // 7) + np.asarray(mode)[degrees % 7]


@lru_cache(maxsize=None)
def _chord_table(genre: str) -> np.ndarray:
    """The genre's chord on every scale degree (rows), read-only.

    Tones are semitones above the tonic, root first and in 0..11.
    """
    spec = SPECS[genre]
    rows = []
    for degree in range(7):
        if spec.chord == "power":
            root = int(_semitones(spec.mode, np.array([degree]))[0]) % 12
            rows.append(np.array([root, root + 7, root + 12]))
        else:
            tones = _semitones(spec.mode, degree + np.asarray(CHORD_DEGREES[spec.chord]))
            rows.append(tones - 12 * (tones[0] // 12))
    table = np.stack(rows)
    table.flags.writeable = False
    return table


def pitches(
    genre: str,
    part: Part,
    grid: np.ndarray,
    chord_of: np.ndarray,
    chord_degree: np.ndarray,
    key_midi: int,
    style: Style,
    rng: np.random.Generator,
) -> np.ndarray:
    """MIDI pitches, one row per note and one column per voice."""
    count = grid.size
    if count == 0:
        return np.zeros((0, 1))
    spec = SPECS[genre]
    base = key_midi + part.octave
    tones = _chord_table(genre)[chord_degree % 7]  # every note's chord, root first
    roots = tones[:, 0]
    if part.role == "chord":
        return base + tones.astype(np.float64)
    if part.role == "power":
        return base + (roots[:, None] + np.array([0, 7, 12])).astype(np.float64)
    if part.role == "root":
        jumps = rng.random() < 0.5  # this take alternates octaves
        octave = 12 * ((np.arange(count) % 2 == 1) & jumps)
        return (base + roots + octave)[:, None].astype(np.float64)
    if part.role == "arp":
        width = tones.shape[1]
        i = np.arange(count)
        mode = style.arp_mode if rng.random() < 0.7 else int(rng.integers(4))
        if mode == 0:
            pick, octave = i % width, (i // width) % 2
        elif mode == 1:
            pick, octave = width - 1 - i % width, (i // width) % 2
        elif mode == 2:
            cycle = np.r_[np.arange(width), np.arange(width - 2, 0, -1)]
            pick, octave = cycle[i % cycle.size], np.zeros(count, dtype=np.int64)
        else:
            pick, octave = rng.integers(width, size=count), rng.integers(2, size=count)
        return (base + tones[i, pick] + 12 * octave)[:, None].astype(np.float64)
    if part.role == "walk":
        first = np.r_[True, chord_of[1:] != chord_of[:-1]]
        last = np.r_[chord_of[1:] != chord_of[:-1], False]
        pick = rng.integers(1, tones.shape[1], size=count)
        semis = tones[np.arange(count), pick] % 12
        semis = np.where(first, roots, semis)
        next_root = np.r_[roots[1:], roots[-1:]]
        approach = next_root + rng.choice([-1, 1], size=count)
        semis = np.where(last & (rng.random(count) < 0.7), approach, semis)
        return (base + semis % 12)[:, None].astype(np.float64)
    if part.role == "melody":
        moves = rng.choice([-2, -1, -1, 0, 1, 1, 2], size=count)
        walk = np.cumsum(moves) + int(rng.integers(-3, 4))
        span = 5
        degrees = np.abs((walk + span) % (4 * span) - 2 * span) - span  # folded into -5..5
        # Land on a chord tone whenever the chord changes.
        first = np.r_[True, chord_of[1:] != chord_of[:-1]]
        offsets = np.array([-7, -5, -3, 0, 2, 4, 7, 9, 11])
        candidates = chord_degree[:, None] + offsets[None, :]
        nearest = candidates[np.arange(count), np.argmin(np.abs(candidates - degrees[:, None]), 1)]
        degrees = np.where(first, nearest, degrees)
        return (base + _semitones(spec.mode, degrees))[:, None].astype(np.float64)
    raise AssertionError(f"unknown part role {part.role!r}")


def mono_onsets(samples: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Indices of the notes a monophonic voice plays, in time order.

    Of the notes in ``keep`` that start before the clip only the last one (still sounding at
    sample 0) is kept; of notes that start on the same sample only one.
    """
    order = np.argsort(samples, kind="stable")
    order = order[keep[order]]
    if order.size:
        unique = np.r_[samples[order][1:] != samples[order][:-1], True]
        order = order[unique]
        early = int(np.count_nonzero(samples[order] < 0))
        order = order[max(early - 1, 0):]
    return order
