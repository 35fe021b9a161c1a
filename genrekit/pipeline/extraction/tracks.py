"""The `Track` record: who a piece of audio is, independent of where its features live."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Track:
    """One audio file to extract.

    Attributes
    ----------
    id : str
        Stable identifier: the path relative to the collection root (folder readers), relative to
        the manifest (CSV), or FMA's ``track_id``. Moving the collection keeps ids unchanged.
    path : str
        Where the audio is now (absolute or relative to the working directory).
    label : str or None
        Genre label; None for unlabelled collections.
    group : str or None
        What must not straddle train and test (artist, or album); None when unknown.
    split : str or None
        A predefined split (``train``, ``validation``, ``test``) when the source has one.
    meta : dict
        Any extra metadata columns of the source (strings).
    tags : tuple of str
        The track's tag set for multi-label tagging, normalised by
        :func:`genrekit.tags.normalise_tags` (sorted, no duplicates); ``()`` when it has none.
    """

    id: str
    path: str
    label: str | None = None
    group: str | None = None
    split: str | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)
    tags: tuple[str, ...] = ()
