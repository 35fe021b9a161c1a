"""A table's columns as a format reader returns them, and the rule that turns text into numbers.

Every format reader (:mod:`~genrekit.pipeline.tables.formats`, :mod:`~genrekit.pipeline.tables.arff`)
returns a list of :class:`RawColumn`; :func:`~genrekit.pipeline.tables.readers.read_table` decides
what each one means.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Cell values a CSV reader takes as missing (compared case-insensitively, after stripping).
MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "-nan", "null", "none", "#n/a"})


@dataclass(eq=False)
class RawColumn:
    """One column of a file, before any role is given to it."""

    name: str
    kind: str                 # numeric | nominal | string | date | text | <arrow type>
    values: list              # raw strings, None = missing (Parquet numeric: a float64 array)
    numeric: np.ndarray | None = None


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text (UTF-8, else Latin-1) and a note when it was not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return data.decode("latin-1"), f"{path.name} is not UTF-8; read as Latin-1"


def to_float(values, missing=MISSING_TOKENS):
    """float64 array of ``values`` (raw strings, None = missing); None if one is not a number.

    Returns ``(array, None)`` or ``(None, (row, value))`` naming the first value that is not a number.
    """
    clean = []
    for v in values:
        if v is None:
            clean.append("nan")
            continue
        s = v.strip()
        clean.append("nan" if s.lower() in missing else s)
    try:
        return np.array(clean, dtype=np.float64) if clean else np.zeros(0), None
    except ValueError:
        for i, s in enumerate(clean):
            try:
                float(s)
            except ValueError:
                return None, (i, s)
    return None, (0, "?")  # pragma: no cover - numpy and float() disagree


def as_text(c: RawColumn, missing=MISSING_TOKENS) -> np.ndarray:
    """The column's values as stripped text (object array); None where missing."""
    out = []
    for v in c.values:
        if v is None:
            out.append(None)
            continue
        s = str(v).strip()
        out.append(None if s.lower() in missing or s == "" else s)
    return np.array(out, dtype=object)
