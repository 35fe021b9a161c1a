"""What a track's group and split values mean, written once for every room that reads them.

A **group** (artist, album) is what must not straddle train and test. A value that is None or
only whitespace is *unknown*; an unknown group becomes a group of its own track, named
``"\\x00track-<i>"`` (unique, and never a real name: it starts with a NUL character). Readers
find the group in the first present of :data:`GROUP_COLUMNS` (a manifest also takes
:data:`ALBUM_COLUMN` when it has neither).

A **split** is ``train``, ``validation`` or ``test``; :data:`SPLIT_ALIASES` are the other names a
source may write (case and surrounding spaces ignored).

This module imports nothing of genrekit, so that ``classifiers`` and ``pipeline`` may both use it.
"""

from __future__ import annotations

import numpy as np

GROUP_COLUMNS: tuple[str, ...] = ("group", "artist")
"""Columns a group is read from, the first present wins (manifests and feature tables)."""

ALBUM_COLUMN = "album"
"""A manifest's group column when it has none of :data:`GROUP_COLUMNS`."""

FILL_IN_PREFIX = "\x00track-"
"""How the group made up for a track without one starts (NUL: never a real name)."""

METADATA_COLUMNS: frozenset[str] = frozenset({
    "id", "track_id", "label", "genre", "group", "artist", "artist_id", "album", "album_id", "split", "set",
    "path", "filename", "file", "frame", "time"})
"""Column names (compared in lower case) that describe a track rather than measure it: ids, labels,
groups, splits, paths, and the frame index and time of a frame-level table. A table's column of one of
these names is never a feature, whatever its type (a numeric artist id would leak the group)."""

SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""The split values a source may give (after :data:`SPLIT_ALIASES`)."""

SPLIT_ALIASES: dict[str, str] = {
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "training": "train",
}
"""Other names of a split (lower case) → its name in :data:`SPLITS`."""


# ------------------------------------------------------------------------------------ groups
def unknown_group(value) -> bool:
    """Whether a group value says nothing: None, a string of only whitespace (or empty), or a
    group made up by :func:`fill_groups` (so filled groups can be filled again, or tested)."""
    return value is None or (isinstance(value, str) and (not value.strip() or value.startswith(FILL_IN_PREFIX)))


def any_group_known(groups) -> bool:
    """Whether at least one of ``groups`` is known (see :func:`unknown_group`)."""
    return any(not unknown_group(v) for v in groups)


def fill_in_group(i: int) -> str:
    """The group of track ``i`` (its position) when it has none of its own."""
    return f"{FILL_IN_PREFIX}{i}"


def is_fill_in(group: str) -> bool:
    """Whether ``group`` was made up by :func:`fill_groups` (not a real artist)."""
    return group.startswith(FILL_IN_PREFIX)


def fill_groups(groups) -> np.ndarray:
    """Groups as strings (object array), each unknown one made a group of its own track.

    Parameters
    ----------
    groups : iterable
        One group per track; None or whitespace-only where unknown. Known values are kept as
        ``str(value)`` (not stripped).

    Returns
    -------
    ndarray of object, shape (n_tracks,)
        Unknown groups become ``fill_in_group(i)``, ``i`` the track's position (a made-up group
        given again is unknown too, so filling is idempotent).
    """
    return np.array([fill_in_group(i) if unknown_group(v) else str(v) for i, v in enumerate(groups)],
                    dtype=object)


# ------------------------------------------------------------------------------------ splits
def split_name(value) -> str | None:
    """A split value as a name: stripped, lower case, with :data:`SPLIT_ALIASES` applied.

    None stays None; a blank value becomes ``""``; a value that is neither a split nor an alias
    is returned as it is (stripped, lower case), for the caller to refuse or to leave out.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    return SPLIT_ALIASES.get(text, text)
