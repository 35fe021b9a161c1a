"""A small, deterministic, music-like data set for demos, tests and benchmarks.

:func:`synth_clip` renders one clip of an invented genre with plain numpy; :func:`make_dataset`
writes a labelled collection of such clips with a CSV manifest (``path,label,artist,tags``; the
tags of :func:`~genrekit.pipeline.datasets.synth.tags.clip_tags`: layers, tempo class, mood) that
:func:`genrekit.pipeline.extraction.sources.read_manifest` reads.

The genres differ in the ways real ones do:

* **tempo**: every genre has its own BPM range, overlapping those of its neighbours;
* **rhythm**: metre (4/4 or 3/4), straight or swung eighths/sixteenths, where kick, snare,
  clap, hi-hat and ride fall in the bar, or no drums at all;
* **timbre**: the harmonic profile of each instrument, its attack and decay, distortion, the
  brightness (a low-pass on the tonal parts) and the background noise (hiss, vinyl crackle, a
  dark noise wash) -- though, as in real music, instruments, noise and drum patterns are
  shared across genres by some artists;
* **harmony**: the mode (major, minor, dorian, lydian, phrygian), the chord type (power chords,
  triads with the diatonic diminished chord, sevenths, add9), the progressions and how often
  the chord changes.

Within a genre an *artist* has a consistent personal style (key, tempo inside the genre's
range, a brighter or darker timbre, instruments borrowed from other genres, a production
equaliser and noise colour, longer or shorter notes, a favourite progression, busier or sparser
parts, a drum kit of their own, sometimes a neighbouring genre's beat), and the *takes* of an
artist vary (melody and arpeggio notes, progression and where it starts, a small tempo jitter,
levels, humanised timing). A split that keeps artists apart is therefore clearly harder than a
random one, but the genre is still learnable.

Everything is fully determined by ``(genre, artist, take, duration, sr)``: the random
generators are seeded from a CRC-32 of the genre name and the two integers, never from
Python's salted :func:`hash`.
"""

from genrekit.pipeline.datasets.synth.clip import SYNTH_VERSION, synth_clip
from genrekit.pipeline.datasets.synth.collection import FORMATS, make_dataset
from genrekit.pipeline.datasets.synth.genres import GENRES

__all__ = ["GENRES", "SYNTH_VERSION", "FORMATS", "synth_clip", "make_dataset"]
