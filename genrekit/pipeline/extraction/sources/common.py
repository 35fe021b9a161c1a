"""What every collection reader shares: the audio extensions, the scan result, cell and split rules."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.tracks import Track
from genrekit.roles import SPLIT_ALIASES, SPLITS, split_name

AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".mp3",
    ".aif",
    ".aiff",
    ".aifc",
    ".au",
    ".opus",
)
"""File extensions (lower case) that the readers treat as audio."""

# FMA's tracks.csv holds long free-text fields (album information, artist biographies).
_CSV_FIELD_LIMIT = 16 * 1024 * 1024


@dataclass
class SourceScan:
    """What a reader found.

    Attributes
    ----------
    tracks : list of Track
        The audio tracks, sorted by ``id`` (plain string order).
    skipped : list of str
        Files (folder scan) or manifest rows that are not audio and were ignored, sorted. Folder
        scans give paths relative to the root; manifests give the ``path`` value as written
        (POSIX separators). Hidden files and folders are never listed.
    missing : list of str
        Ids of tracks that the metadata lists but whose audio file does not exist (manifest and
        FMA readers), sorted. A manifest's are in ``tracks`` too, so that extraction records
        them as failures like any other unusable file; FMA's are not (its ``tracks.csv`` lists
        every track of every subset), and the caller decides whether that is an error.
    notes : list of str
        What the user should hear about how the source was read (a manifest found in the audio
        folder, used or suggested).
    """

    tracks: list[Track]
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise_split(value: str | None) -> str | None:
    """Normalise a split name.

    Parameters
    ----------
    value : str or None
        The split as written in the source.

    Returns
    -------
    str or None
        None for a missing or blank value; otherwise ``"train"``, ``"validation"`` or
        ``"test"``: ``val`` and ``valid`` mean validation, ``training`` means train (case and
        surrounding spaces ignored; :data:`genrekit.roles.SPLIT_ALIASES`).

    Raises
    ------
    ParameterError
        For any other value (a typo would otherwise be stored and silently left out of
        ``--split predefined``); the message lists the accepted values.
    """
    split = split_name(value)
    if not split:
        return None
    if split not in SPLITS:
        raise ParameterError(
            f"unknown split {value.strip()!r}; use {', '.join(SPLITS)} "
            f"(or {', '.join(a for a in SPLIT_ALIASES if a not in SPLITS)}), or leave it blank"
        )
    return split


def is_audio(name: str) -> bool:
    """Whether a file name has one of :data:`AUDIO_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def blank_to_none(value: str | None) -> str | None:
    """Strip a cell; return None when nothing is left."""
    if value is None:
        return None
    text = value.strip()
    return text or None


def extensions_text() -> str:
    """The audio extensions as one comma-separated string, for messages."""
    return ", ".join(AUDIO_EXTENSIONS)


def manifest_is_a_folder(path: str) -> str:
    """The message for a manifest path that names a folder."""
    return (f"manifest {path} is a folder; pass the CSV file that lists the audio "
            "(columns path,label[,artist|group][,split])")


@contextmanager
def large_csv_fields() -> Iterator[None]:
    """Raise the csv module's field size limit for the duration of a read, then restore it."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, _CSV_FIELD_LIMIT))
    try:
        yield
    finally:
        csv.field_size_limit(previous)
