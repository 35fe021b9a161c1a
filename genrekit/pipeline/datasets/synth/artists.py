"""An artist's personal style: the take-independent choices drawn once per (genre, artist)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from genrekit.pipeline.datasets.synth.genres import PROFILES, SPECS
from genrekit.pipeline.datasets.synth.seeds import TAG_ARTIST, genre_seed

# How far artists stray from their genre: the most an instrument's harmonic profile is mixed
# with a random other one, the spread of an artist's "production" equaliser, and a scale on
# the spread of brightness, levels and drum balance. Tuned so that a classifier that must
# generalise to unseen artists does clearly worse than one that may have seen them, yet a
# single artist's clips still teach most of a genre. With the defaults of make_dataset the
# classic models score about 0.70..0.90 balanced accuracy on an artist-grouped 5-fold split
# and about 1.0 on a random one (SYNTH_VERSION 2).
_CROSSOVER = 1.0
_EQ_BANDS = 3
_EQ_DB = 10.0
_SPREAD = 1.1

# Production habits that cross genres: the chance that an artist uses a noise colour of its
# own (from _NOISE_TILTS) and adds hiss up to _HISS of the tonal RMS, and the chance that an
# artist of a genre without vinyl crackle has some anyway.
_SHARED_NOISE = 0.5
_NOISE_TILTS = (0.0, 0.5, 1.0, 1.5, 2.0)
_HISS = 0.08
_LOFI = 0.25

# Artists that play the drum pattern of a neighbouring genre (same metre), and how likely.
_DRUM_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "ambient": ("hiphop",),
    "rock": ("techno", "hiphop"),
    "techno": ("rock", "hiphop"),
    "hiphop": ("techno", "jazz"),
    "waltz": (),
    "jazz": ("hiphop", "rock"),
}
_BORROW = 0.2


@dataclass(frozen=True)
class Style:
    """An artist's personal, take-independent choices."""

    key: int
    bpm: float
    tilt: float  # extra harmonic roll-off exponent (negative: brighter)
    cutoff_mul: float
    decay_mul: float
    density_mul: float
    swing_mul: float
    progression: int
    part_gains: tuple[float, ...]
    drum_gain: float
    kick_mul: float
    snare_hz: float
    arp_mode: int
    timbres: tuple[tuple[float, ...], ...]  # harmonic profile of every part
    eq: tuple[tuple[float, float, float], ...]  # (centre Hz, gain dB, width in octaves)
    noise_mul: float
    noise_tilt: float | None  # a shared production noise colour; None: the genre's own
    hiss: float  # extra production hiss, RMS relative to the tonal RMS
    crackle: float  # vinyl clicks per second (lo-fi producers exist in every genre)
    drums_from: str  # the genre whose drum patterns the artist plays


@lru_cache(maxsize=256)
def artist_style(genre: str, artist: int) -> Style:
    """The style of artist number ``artist`` of ``genre``: the same for every take."""
    spec = SPECS[genre]
    rng = np.random.default_rng([TAG_ARTIST, genre_seed(genre), artist])
    lo, hi = spec.bpm
    return Style(
        key=int(rng.integers(12)),
        bpm=float(rng.uniform(lo, hi)),
        tilt=float(rng.uniform(-0.8, 0.8) * _SPREAD),
        cutoff_mul=float(2.0 ** (rng.uniform(-1.0, 1.0) * _SPREAD)),
        decay_mul=float(2.0 ** rng.uniform(-0.8, 0.8)),
        density_mul=float(rng.uniform(0.6, 1.4)),
        swing_mul=float(rng.uniform(0.5, 1.5)),
        progression=int(rng.integers(len(spec.progressions))),
        part_gains=tuple(
            float(g) for g in 10.0 ** (rng.uniform(-6.0, 6.0, len(spec.parts)) * _SPREAD / 20.0)
        ),
        drum_gain=float(10.0 ** (rng.uniform(-10.0, 4.0) * _SPREAD / 20.0)),
        kick_mul=float(2.0 ** rng.uniform(-0.3, 0.3)),
        snare_hz=float(rng.uniform(160.0, 240.0)),
        arp_mode=int(rng.integers(4)),
        timbres=tuple(_crossover(part.harmonics, rng) for part in spec.parts),
        eq=tuple(
            (
                float(2.0 ** rng.uniform(np.log2(80.0), np.log2(8000.0))),
                float(rng.uniform(-_EQ_DB, _EQ_DB)),
                float(rng.uniform(0.5, 2.0)),
            )
            for _ in range(_EQ_BANDS)
        ),
        noise_mul=float(2.0 ** rng.uniform(-1.5, 1.5)),
        noise_tilt=(
            float(rng.choice(_NOISE_TILTS)) if rng.random() < _SHARED_NOISE else None
        ),
        hiss=float(rng.uniform(0.0, _HISS)) if rng.random() < _SHARED_NOISE else 0.0,
        crackle=(
            spec.crackle * float(2.0 ** rng.uniform(-1.0, 1.0)) if spec.crackle > 0
            else float(rng.uniform(2.0, 8.0)) if rng.random() < _LOFI else 0.0
        ),
        drums_from=_borrowed_drums(genre, rng),
    )


def _borrowed_drums(genre: str, rng: np.random.Generator) -> str:
    """Usually the genre itself; with chance ``_BORROW`` a neighbouring genre of the same metre."""
    neighbours = _DRUM_NEIGHBOURS[genre]
    if neighbours and rng.random() < _BORROW:
        return neighbours[int(rng.integers(len(neighbours)))]
    return genre


def _crossover(harmonics: tuple[float, ...], rng: np.random.Generator) -> tuple[float, ...]:
    """The genre's harmonic profile, mixed with a random other one by a random amount."""
    other = PROFILES[int(rng.integers(len(PROFILES)))]
    weight = float(rng.uniform(0.0, _CROSSOVER))
    size = max(len(harmonics), len(other))
    mine = np.pad(np.asarray(harmonics, dtype=np.float64), (0, size - len(harmonics)))
    theirs = np.pad(np.asarray(other, dtype=np.float64), (0, size - len(other)))
    return tuple(float(v) for v in (1.0 - weight) * mine + weight * theirs)
