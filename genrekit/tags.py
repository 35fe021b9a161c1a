"""What a track's tag set is, for every room: the normalisation rule and the text form of a set.

A tag set is a tuple of tag strings, each one normalised by :func:`normalise_tag` and the whole
set by :func:`normalise_tags`: duplicates (after normalisation) dropped, the rest **sorted**, so
that two spellings of one set compare equal and a store, an export and a report list tags in
one order. Written as text (a manifest's ``tags`` cell, a shard's ``tracks/tags`` dataset, an
exported ``tags`` column) a set is its tags joined by :data:`TAG_SEPARATOR`; the empty string is
the empty set (the track is unlabelled for tagging).

This module imports nothing of genrekit: any room may use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Between the tags of a set written as text (a manifest cell, a shard, an export).
TAG_SEPARATOR = ";"

#: Tags on fewer tagged tracks than this are dropped by ``genrekit benchmark --task tagging``
#: (``--min-tag-count``): with 5 folds a kept tag has about 2 positives per test fold, the fewest
#: that make its per-fold ROC-AUC/PR-AUC mean something.
DEFAULT_MIN_TAG_COUNT = 10

_SPACES = re.compile(r"\s+")

__all__ = ["DEFAULT_MIN_TAG_COUNT", "TAG_SEPARATOR", "normalise_tag", "normalise_tags", "parse_tags", "tags_text"]


def normalise_tag(value: str) -> str:
    """One tag as genrekit stores it: Unicode NFC, lower case, control characters and the
    separator ``;`` turned into spaces, runs of white space made one space, stripped.

    ``" Hip  Hop\\t"`` → ``"hip hop"``; ``"genre---Rock"`` → ``"genre---rock"``. The empty string
    means "no tag" (a blank cell)."""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(" " if (unicodedata.category(ch)[0] == "C" or ch == TAG_SEPARATOR) else ch for ch in text)
    return _SPACES.sub(" ", text).strip().lower()


def normalise_tags(values: Iterable[str] | None) -> tuple[str, ...]:
    """A tag set: every value through :func:`normalise_tag`, blanks and duplicates dropped, sorted."""
    if not values:
        return ()
    return tuple(sorted({t for t in (normalise_tag(v) for v in values) if t}))


def parse_tags(text: str | None) -> tuple[str, ...]:
    """The tag set written in ``text`` (tags separated by ``;``, spaces around them ignored);
    None or blank → the empty set."""
    if not text:
        return ()
    return normalise_tags(str(text).split(TAG_SEPARATOR))


def tags_text(tags: Iterable[str] | None) -> str:
    """A tag set as text: its tags joined by ``;`` (the empty set → ``""``)."""
    return TAG_SEPARATOR.join(tags or ())
