"""ARFF files (Weka, Marsyas, jAudio) parsed into raw columns.

``@attribute`` types ``numeric``/``real``/``integer``, nominal ``{a,b,c}``, ``string`` and ``date``
(kept as text); ``%`` comments, quoted values with backslash escapes, ``?`` for missing, sparse rows
``{index value, …}`` (columns not listed are 0) and trailing instance weights ``{w}`` (ignored, with
a note). Errors name the file and the line.

Not liac-arff (which scikit-learn vendors): it refuses ARFF that Weka writes and this reader
documents -- ``date`` attributes, instance weights (``, {0.5}``) and ``%`` comments after a
declaration or a row -- and names neither the attribute nor the value of a bad number. Where both
read a file they agree (tests/pipeline/test_arff.py). liac-arff parses ~3x faster (0.27 vs 0.78 s
for 1,000 rows x 519 columns), which a table read once per benchmark does not feel.
"""

from __future__ import annotations

import re
from pathlib import Path

from genrekit.errors import ParameterError
from genrekit.pipeline.tables.columns import RawColumn, read_text, to_float

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "%": "%", "0": "\0"}
_WEIGHT = re.compile(r"^\{\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\}$")


class _ArffSyntax(Exception):
    pass


def _scan_value(s: str, i: int) -> tuple[str | None, bool, int]:
    """One value starting at ``s[i]`` (whitespace skipped): ``(text, quoted, next index)``.

    Unquoted ``?`` is returned as None (missing).
    """
    n = len(s)
    while i < n and s[i] in " \t":
        i += 1
    if i < n and s[i] in "'\"":
        q = s[i]
        i += 1
        buf = []
        while i < n and s[i] != q:
            if s[i] == "\\" and i + 1 < n:
                buf.append(_ESCAPES.get(s[i + 1], s[i + 1]))
                i += 2
            else:
                buf.append(s[i])
                i += 1
        if i >= n:
            raise _ArffSyntax(f"unterminated {q}quote{q}")
        return "".join(buf), True, i + 1
    j = i
    while j < n and s[j] not in ",}%":
        j += 1
    tok = s[i:j].strip()
    return (None if tok == "?" else tok), False, j


def _scan_list(s: str, sparse: bool = False) -> tuple[list, str]:
    """Comma-separated values (or ``index value`` pairs) up to the end, a ``}`` or a comment.

    Returns ``(items, rest)``: items are ``(text, quoted)`` (sparse: ``(index, text, quoted)``);
    ``rest`` is what follows a closing ``}``.
    """
    items = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n or s[i] == "%":
            return items, ""
        if s[i] == "}":
            return items, s[i + 1:]
        if sparse:
            m = re.match(r"(\d+)\s+", s[i:])
            if not m:
                raise _ArffSyntax(f"sparse values are 'index value' pairs, got {s[i:i + 20]!r}")
            index = int(m.group(1))
            i += m.end()
            text, quoted, i = _scan_value(s, i)
            items.append((index, text, quoted))
        else:
            text, quoted, i = _scan_value(s, i)
            items.append((text, quoted))
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ",":
            i += 1
            continue
        if i >= n or s[i] == "%":
            return items, ""
        if s[i] == "}":
            return items, s[i + 1:]
        raise _ArffSyntax(f"expected ',' after a value, got {s[i:i + 20]!r}")


def _parse_attribute(rest: str) -> tuple[str, str, list | None]:
    rest = rest.strip()
    if not rest:
        raise _ArffSyntax("@attribute needs a name and a type")
    if rest[0] in "'\"":
        name, _, i = _scan_value(rest, 0)
    else:
        m = re.match(r"[^\s{]+", rest)
        name, i = m.group(0), m.end()
    typ = rest[i:].strip()
    low = typ.lower()
    if low.startswith("{"):
        items, _ = _scan_list(typ[1:])
        return name, "nominal", [t if t is not None else "?" for t, _ in items]
    word = re.split(r"[\s%]", low, maxsplit=1)[0]
    if word in ("numeric", "real", "integer"):
        return name, "numeric", None
    if word == "string":
        return name, "string", None
    if word == "date":
        return name, "date", None
    if word == "relational":
        raise _ArffSyntax(f"attribute {name!r} is relational (multi-instance), which genrekit does not read")
    raise _ArffSyntax(f"attribute {name!r} has unknown type {typ!r} (expected numeric, real, integer, "
                      "string, date or {{nominal values}})")


def _parse_header(lines: list[str], path: Path) -> tuple[str | None, list[tuple[str, str, list | None]], int]:
    """``(relation, attributes, line number of @data)`` from the lines before the data."""
    attrs: list[tuple[str, str, list | None]] = []
    relation = None
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s or s.startswith("%"):
            continue
        low = s.lower()
        try:
            if low.startswith("@relation"):
                relation = s[len("@relation"):].strip()
            elif low.startswith("@attribute"):
                attrs.append(_parse_attribute(s[len("@attribute"):]))
            elif low.startswith("@data"):
                break
            else:
                raise _ArffSyntax(f"expected @relation, @attribute or @data, got {s[:40]!r}")
        except _ArffSyntax as e:
            raise ParameterError(f"{path}, line {lineno}: {e}") from None
    else:
        raise ParameterError(f"{path} has no @data section; is it an ARFF file?")
    if not attrs:
        raise ParameterError(f"{path} declares no @attribute")
    return relation, attrs, lineno


def _parse_row(s: str, n: int, defaults: list) -> tuple[list, bool]:
    """One data row (dense or sparse) → ``(values, whether it carried an instance weight)``."""
    weighted = False
    if s.startswith("{"):
        items, rest = _scan_list(s[1:], sparse=True)
        row = list(defaults)
        for index, val, _ in items:
            if not 0 <= index < n:
                raise _ArffSyntax(f"sparse index {index} is outside the {n} attributes")
            row[index] = val
        rest = rest.strip().lstrip(",").strip()
        if rest:
            if not _WEIGHT.match(rest):
                raise _ArffSyntax(f"unexpected text after the sparse row: {rest[:20]!r}")
            weighted = True
        return row, weighted
    items, rest = _scan_list(s)
    if rest.strip():
        raise _ArffSyntax("unexpected '}' in a dense row")
    if len(items) == n + 1 and not items[-1][1] and items[-1][0] and _WEIGHT.match(items[-1][0] + "}"):
        items = items[:-1]  # "{w" was cut at the brace: an instance weight
        weighted = True
    if len(items) != n:
        raise _ArffSyntax(f"{len(items)} values, the header declares {n} attributes")
    return [t for t, _ in items], weighted


def _parse_data(lines: list[str], data_at: int, attrs: list, path: Path) -> tuple[list[list], int]:
    """The values of each attribute, from the lines after ``@data``, and the rows that had weights."""
    n = len(attrs)
    columns: list[list] = [[] for _ in attrs]
    nominal_sets = [set(v) if k == "nominal" else None for _, k, v in attrs]
    defaults = [(v[0] if k == "nominal" and v else ("0" if k == "numeric" else "")) for _, k, v in attrs]
    n_weights = 0
    for lineno in range(data_at + 1, len(lines) + 1):
        s = lines[lineno - 1].strip()
        if not s or s.startswith("%"):
            continue
        try:
            row, weighted = _parse_row(s, n, defaults)
        except _ArffSyntax as e:
            raise ParameterError(f"{path}, line {lineno}: {e}") from None
        n_weights += weighted
        for j, v in enumerate(row):
            if v is not None and nominal_sets[j] is not None and v not in nominal_sets[j]:
                allowed = ", ".join(attrs[j][2][:10])
                raise ParameterError(f"{path}, line {lineno}: {v!r} is not a value of nominal attribute "
                                     f"{attrs[j][0]!r} ({{{allowed}}})")
            columns[j].append(v)
    return columns, n_weights


def read_arff(path: Path) -> tuple[list[RawColumn], list[str], str | None]:
    """``(columns, notes, relation)`` of an ARFF file; numeric attributes parsed to float64."""
    text, note = read_text(path)
    notes = [note] if note else []
    lines = text.splitlines()
    relation, attrs, data_at = _parse_header(lines, path)
    columns, n_weights = _parse_data(lines, data_at, attrs, path)
    if n_weights:
        notes.append(f"{path.name}: instance weights on {n_weights} rows ignored")
    cols = []
    for (name, kind, _), vals in zip(attrs, columns):
        c = RawColumn(name, kind, vals)
        if kind == "numeric":
            arr, bad = to_float(vals, missing=frozenset())
            if arr is None:
                raise ParameterError(f"{path}: numeric attribute {name!r} holds {bad[1]!r} (data row {bad[0] + 1}), "
                                     "which is not a number")
            c.numeric = arr
        cols.append(c)
    return cols, notes, relation
