"""The tags of a synthetic clip: what a listener could tag, read from its genre and artist style.

Tags overlap the genres, as real tags do: layers present (``drums``, ``bass``, ``chords``,
``melody``, ``arpeggio``), the tempo class (``slow`` below 95 BPM, ``fast`` from 130, ``mid``
between), and mood-like traits (``bright`` for a mode with a major third, else ``dark``;
``distorted``; ``swing``; ``lo-fi`` for audible noise or crackle). A layer counts when its level
in the artist's mix is high enough to hear clearly (:data:`AUDIBLE`), so two artists of one genre
may differ. Everything is a pure function of ``(genre, artist)``: nothing is drawn here.
"""

from __future__ import annotations

from genrekit.pipeline.datasets.synth.artists import artist_style
from genrekit.pipeline.datasets.synth.genres import SPECS

#: The level (artist part gain × genre part gain, or drum gain) from which a layer is tagged.
AUDIBLE = 0.6
_LAYER = {"root": "bass", "walk": "bass", "chord": "chords", "power": "chords", "melody": "melody",
          "arp": "arpeggio"}


def clip_tags(genre: str, artist: int) -> tuple[str, ...]:
    """The sorted tag set of every take of ``artist`` in ``genre``."""
    spec, style = SPECS[genre], artist_style(genre, artist)
    tags = set()
    if style.drum_gain >= AUDIBLE:
        tags.add("drums")
    for part, gain in zip(spec.parts, style.part_gains):
        if part.role in _LAYER and gain * part.gain >= AUDIBLE:
            tags.add(_LAYER[part.role])
        if part.drive > 0:
            tags.add("distorted")
    tags.add("slow" if style.bpm < 95 else "fast" if style.bpm >= 130 else "mid")
    tags.add("bright" if 4 in spec.mode else "dark")
    if spec.swing * style.swing_mul >= 0.15:
        tags.add("swing")
    if spec.noise * style.noise_mul >= 0.05 or spec.crackle > 0:
        tags.add("lo-fi")
    return tuple(sorted(tags))
