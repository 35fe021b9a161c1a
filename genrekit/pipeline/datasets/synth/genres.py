"""The invented genres: what makes each one (tempo, metre, swing, harmony, drums, instruments).

The tables here are data, read by every other module of the synthesis; nothing in them is drawn
at random.
"""

from __future__ import annotations

from dataclasses import dataclass

from genrekit.errors import ParameterError

GENRES: tuple[str, ...] = ("ambient", "rock", "techno", "hiphop", "waltz", "jazz")
"""The invented genres, in a fixed order."""

# Modes as semitone offsets of the seven scale degrees.
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_DORIAN = (0, 2, 3, 5, 7, 9, 10)
_LYDIAN = (0, 2, 4, 6, 7, 9, 11)
_PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)

# Chord types as scale-degree offsets stacked on the chord's root degree.
CHORD_DEGREES: dict[str, tuple[int, ...]] = {
    "triad": (0, 2, 4),
    "seventh": (0, 2, 4, 6),
    "add9": (0, 2, 4, 8),
}

# Harmonic profiles (amplitude of harmonic 1, 2, ...).
_SINE = (1.0,)
_SOFT = (1.0, 0.25, 0.08, 0.03)
_BELL = (1.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.12)
_SAW = tuple(1.0 / k for k in range(1, 13))
_SQUARE = tuple((1.0 / k if k % 2 else 0.0) for k in range(1, 12))
_EPIANO = (1.0, 0.45, 0.12, 0.18, 0.05, 0.03)
_STRINGS = (1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08)
_ACCORDION = (1.0, 0.8, 0.6, 0.5, 0.35, 0.25, 0.15)
_PIANO = (1.0, 0.55, 0.3, 0.2, 0.12, 0.08, 0.05)
_REED = (1.0, 0.2, 0.6, 0.15, 0.4, 0.1, 0.25, 0.05, 0.12)
_BASS = (1.0, 0.5, 0.2, 0.1)
_SUB = (1.0, 0.08)

PROFILES = (
    _SINE, _SOFT, _BELL, _SAW, _SQUARE, _EPIANO, _STRINGS, _ACCORDION, _PIANO, _REED, _BASS, _SUB
)

KEY_BASE_MIDI = 36  # C2: a part with octave 0 plays in C2..B2 (plus the key)


@dataclass(frozen=True)
class Part:
    """One pitched instrument of a genre.

    ``role`` says where its pitches come from: ``chord`` (all chord tones), ``power`` (root,
    fifth, octave), ``root`` (the chord root), ``arp`` (chord tones one after another), ``walk``
    (a walking bass) or ``melody`` (a random walk through the scale). ``steps`` are the
    sixteenth-note positions in the bar where it may play, ``every`` restricts it to every n-th
    bar and ``density`` is the chance that a position sounds. ``octave`` is in semitones above
    C2 plus the key. ``gate`` is the fraction of the gap to the part's next note that a note is
    held before its release.
    """

    role: str
    steps: tuple[int, ...]
    octave: int
    harmonics: tuple[float, ...]
    attack: float
    decay: float
    release: float = 0.05
    gate: float = 0.9
    gain: float = 1.0
    density: float = 1.0
    every: int = 1
    detune: float = 0.0  # cents between two copies of every voice; 0: one copy
    drive: float = 0.0  # tanh saturation; 0: clean


@dataclass(frozen=True)
class Hits:
    """A drum pattern: instrument, sixteenth positions in the bar, gain, probability of a hit."""

    kind: str
    steps: tuple[int, ...]
    gain: float
    prob: float = 1.0


@dataclass(frozen=True)
class Genre:
    """Everything that makes a genre."""

    bpm: tuple[float, float]
    beats: int  # beats (quarter notes) per bar
    swing: float  # delay of the off-beat eighths, as a fraction of an eighth
    swing16: float  # delay of the odd sixteenths, as a fraction of a sixteenth
    mode: tuple[int, ...]
    chord: str  # a key of CHORD_DEGREES, or "power"
    chord_beats: int  # beats per chord
    progressions: tuple[tuple[int, ...], ...]  # scale degrees (0 = tonic)
    drums: tuple[Hits, ...]
    parts: tuple[Part, ...]
    cutoff: float  # low-pass corner of the tonal parts, Hz
    noise: float  # coloured noise RMS relative to the tonal RMS
    noise_tilt: float  # noise power falls as f**-noise_tilt (0 white, 1 pink, 2 brown)
    ghost: float = 0.0  # chance of a quiet extra snare on a free eighth
    crackle: float = 0.0  # vinyl clicks per second


_EIGHTHS = (0, 2, 4, 6, 8, 10, 12, 14)

SPECS: dict[str, Genre] = {
    "ambient": Genre(
        bpm=(60.0, 92.0),
        beats=4,
        swing=0.0,
        swing16=0.0,
        mode=_LYDIAN,
        chord="add9",
        chord_beats=8,
        progressions=((0, 3), (0, 4, 5, 3), (3, 0, 4, 0), (5, 3, 0, 4)),
        drums=(),
        parts=(
            Part("chord", (0,), 12, _SOFT, attack=1.5, decay=8.0, release=1.5, gate=1.0,
                 gain=0.6, every=2, detune=9.0),
            Part("melody", (0, 4, 8, 12), 36, _BELL, attack=0.01, decay=1.2, release=0.8,
                 gate=1.0, gain=0.35, density=0.35),
        ),
        cutoff=1800.0,
        noise=0.2,
        noise_tilt=1.5,
    ),
    "rock": Genre(
        bpm=(124.0, 170.0),
        beats=4,
        swing=0.0,
        swing16=0.0,
        mode=_MINOR,
        chord="power",
        chord_beats=4,
        progressions=((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 4, 3), (0, 2, 6, 3)),
        drums=(
            Hits("kick", (0, 8), 1.0),
            Hits("kick", (10,), 0.8, 0.5),
            Hits("snare", (4, 12), 0.9),
            Hits("hat", _EIGHTHS, 0.35),
        ),
        parts=(
            Part("power", _EIGHTHS, 0, _SAW, attack=0.004, decay=0.5, release=0.03, gate=0.85,
                 gain=0.6, drive=4.0),
            Part("root", _EIGHTHS, -12, _BASS, attack=0.005, decay=0.4, gate=0.8, gain=0.5),
            Part("melody", _EIGHTHS, 24, _SAW, attack=0.01, decay=0.6, gate=0.9, gain=0.25,
                 density=0.25, drive=2.0),
        ),
        cutoff=5000.0,
        noise=0.02,
        noise_tilt=0.5,
    ),
    "techno": Genre(
        bpm=(116.0, 140.0),
        beats=4,
        swing=0.0,
        swing16=0.0,
        mode=_PHRYGIAN,
        chord="triad",
        chord_beats=16,
        progressions=((0,), (0, 6), (0, 5), (0, 1)),
        drums=(
            Hits("kick", (0, 4, 8, 12), 1.0),
            Hits("clap", (4, 12), 0.6),
            Hits("hat", tuple(range(16)), 0.18, 0.9),
            Hits("ohat", (2, 6, 10, 14), 0.4),
        ),
        parts=(
            Part("arp", tuple(range(16)), 24, _SQUARE, attack=0.002, decay=0.09, release=0.02,
                 gate=0.6, gain=0.35, density=0.85),
            Part("root", (2, 6, 10, 14), 0, _BASS, attack=0.003, decay=0.12, gate=0.5,
                 gain=0.55),
        ),
        cutoff=3200.0,
        noise=0.01,
        noise_tilt=0.0,
    ),
    "hiphop": Genre(
        bpm=(78.0, 104.0),
        beats=4,
        swing=0.2,
        swing16=0.25,
        mode=_DORIAN,
        chord="seventh",
        chord_beats=8,
        progressions=((0, 3), (0, 5, 3, 4), (1, 4), (0, 6, 5, 4)),
        drums=(
            Hits("kick", (0, 7, 10), 1.0),
            Hits("kick", (3,), 0.6, 0.4),
            Hits("snare", (4, 12), 1.0),
            Hits("hat", _EIGHTHS, 0.3),
            Hits("hat", (1, 3, 5, 7, 9, 11, 13, 15), 0.15, 0.3),
        ),
        parts=(
            Part("chord", (0, 6), 12, _EPIANO, attack=0.01, decay=1.5, release=0.3, gate=0.95,
                 gain=0.4),
            Part("root", (0, 7, 10), 0, _SUB, attack=0.01, decay=0.6, gate=0.9, gain=0.7),
        ),
        cutoff=1600.0,
        noise=0.03,
        noise_tilt=0.0,
        crackle=6.0,
    ),
    "waltz": Genre(
        bpm=(88.0, 128.0),
        beats=3,
        swing=0.0,
        swing16=0.0,
        mode=_MAJOR,
        chord="triad",
        chord_beats=3,
        progressions=((0, 3, 4, 0), (0, 4, 4, 0), (0, 5, 1, 4), (0, 3, 6, 0)),
        drums=(Hits("kick", (0,), 0.5), Hits("hat", (4, 8), 0.15)),
        parts=(
            Part("root", (0,), 0, _STRINGS, attack=0.03, decay=0.8, gate=0.9, gain=0.6),
            Part("chord", (4, 8), 12, _ACCORDION, attack=0.015, decay=0.3, release=0.08,
                 gate=0.6, gain=0.35),
            Part("melody", (0, 2, 4, 6, 8, 10), 36, _STRINGS, attack=0.08, decay=2.0,
                 release=0.15, gate=0.95, gain=0.35, density=0.55),
        ),
        cutoff=4000.0,
        noise=0.01,
        noise_tilt=1.0,
    ),
    "jazz": Genre(
        bpm=(136.0, 196.0),
        beats=4,
        swing=0.33,
        swing16=0.0,
        mode=_MAJOR,
        chord="seventh",
        chord_beats=2,
        progressions=((1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4), (6, 2, 5, 1)),
        drums=(
            Hits("ride", (0, 4, 6, 8, 12, 14), 0.45),
            Hits("hat", (4, 12), 0.25),
            Hits("kick", (0, 8), 0.2, 0.5),
        ),
        parts=(
            Part("walk", (0, 4, 8, 12), 0, _BASS, attack=0.01, decay=0.5, gate=0.9, gain=0.7),
            Part("chord", (0, 2, 6, 8, 10, 14), 12, _PIANO, attack=0.004, decay=0.7,
                 release=0.1, gate=0.6, gain=0.35, density=0.35),
            Part("melody", _EIGHTHS, 24, _REED, attack=0.03, decay=1.5, release=0.06,
                 gate=0.85, gain=0.4, density=0.7),
        ),
        cutoff=3500.0,
        noise=0.01,
        noise_tilt=0.0,
        ghost=0.12,
    ),
}


def check_genre(genre: object) -> str:
    """``genre`` if it is one of :data:`GENRES`, else a ParameterError that lists them."""
    if not isinstance(genre, str) or genre not in SPECS:
        raise ParameterError(f"unknown genre {genre!r}; valid genres: {', '.join(GENRES)}")
    return genre
