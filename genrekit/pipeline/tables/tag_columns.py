"""The tag sets of exported tracks as table columns: one ``tags`` column holding each set (tags
joined by ``;``), or one multi-hot ``tag_<name>`` column (0/1) per tag present."""

from __future__ import annotations

import re

from genrekit.errors import ParameterError
from genrekit.tags import tags_text

#: ``--tags`` values of ``genrekit export``.
TAG_MODES = ("none", "column", "multi-hot")


class TagColumns:
    """Which tag columns an export writes, and each row's values for them."""

    def __init__(self, rows, mode: str | None):
        if mode is None:
            mode = "column" if any(r.tags for r in rows) else "none"
        if mode not in TAG_MODES:
            raise ParameterError(f"unknown --tags {mode!r}; choose one of {', '.join(TAG_MODES)}")
        self.mode = mode
        self.tags = sorted({t for r in rows for t in r.tags}) if mode == "multi-hot" else []
        self.names = ["tags"] if mode == "column" else _column_names(self.tags)

    @property
    def numeric(self) -> bool:
        return self.mode == "multi-hot"

    def values(self, row) -> list:
        """``row``'s cells: its set as text, or 0/1 per tag."""
        if self.mode == "column":
            return [tags_text(row.tags)]
        have = set(row.tags)
        return [int(t in have) for t in self.tags]


def _column_names(tags) -> list[str]:
    """``tag_<name>``: characters other than letters, digits, ``-`` and ``_`` become ``_``; a name
    that two tags would share gets ``_2``, ``_3`` …"""
    names, seen = [], set()
    for t in tags:
        base = "tag_" + re.sub(r"[^0-9A-Za-z_-]", "_", t)
        name, i = base, 2
        while name in seen:
            name, i = f"{base}_{i}", i + 1
        seen.add(name)
        names.append(name)
    return names
