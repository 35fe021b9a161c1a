"""Feature tables made elsewhere: read CSV, Parquet and ARFF; join them with a store for the benchmark.

:func:`read_table` reads one file into a :class:`Table` — track ids, a float32 feature matrix with
column names, and the labels, groups (artists) and predefined splits when the table has them:

- **CSV** (``.csv``; ``;`` or tab separators are detected, ``.tsv``/``.tab`` are tab): a header
  row names the columns. A column is numeric when every value parses as a number; empty cells,
  ``?``, ``NA``, ``N/A``, ``NaN``, ``null`` and ``None`` are missing.
- **Parquet** (``.parquet``, ``.pq``; needs pyarrow): integer and floating columns are numeric,
  nulls are missing.
- **ARFF** (``.arff``; Weka, Marsyas, jAudio): ``@attribute`` types ``numeric``/``real``/
  ``integer``, nominal ``{a,b,c}``, ``string`` and ``date`` (kept as text); ``%`` comments, quoted
  values with backslash escapes, ``?`` for missing, sparse rows ``{index value, …}`` (columns
  not listed are 0) and trailing instance weights ``{w}`` (ignored, with a note).

Which columns mean what: the label column is ``label`` (or ``--label-column``; for ARFF without
a ``label`` attribute, the last nominal attribute — Weka's class), the group column ``group``, else
``artist``, the id column ``id`` (without one, rows are numbered from 0 and the note says so), the
split column ``split``; a ``path`` column is kept as metadata. Names match exactly, else
case-insensitively. Every other numeric column is a feature. Columns that are not numeric — text,
nominal, dates, booleans, unnamed columns (a saved pandas index) or columns without a single value —
are left out and reported (:attr:`Table.warnings`, and a :class:`TableWarning`), never coerced.
Infinite values are an error; missing values stay ``NaN`` (the benchmark imputes them inside each
model's pipeline, fitted on the training fold only).

:func:`build_dataset` joins a store's summary table and any number of tables on track id (inner
join) into a :class:`Dataset`: the input :func:`~genrekit.pipeline.benchmark.run_benchmark` takes
instead of a store path. Rows are ordered by track id, as a store's are, so the same data gives
the same folds whatever the order of the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from genrekit.errors import ParameterError

#: Cell values a CSV reader takes as missing (compared case-insensitively, after stripping).
MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "-nan", "null", "none", "#n/a"})
TABLE_FORMATS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".parquet": "parquet",
                 ".pq": "parquet", ".arff": "arff"}
PARQUET_HINT = "pip install pyarrow (or pip install 'genrekit[parquet]')"


class TableWarning(UserWarning):
    """Something in a table was left out or guessed (columns left out, ids numbered)."""


def require_pyarrow():
    """``(pyarrow, pyarrow.parquet)``, or a :class:`ParameterError` that says how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParameterError(f"Parquet needs pyarrow: {PARQUET_HINT}") from None
    return pyarrow, pyarrow.parquet


# ============================================================================ the Table
@dataclass
class Table:
    """One feature table, as read from a file (or a store's summary table).

    Attributes
    ----------
    ids : ndarray of str (object)
        One per row; unique.
    X : ndarray [shape=(n_rows, n_features)], float32
        The numeric feature columns; ``NaN`` where a value is missing.
    names : list of str
        Column names of ``X``.
    labels, groups, splits : ndarray (object)
        Per row; ``None`` where unknown (or when the table has no such column).
    paths : ndarray (object) or None
        The ``path`` column, when there is one.
    source : str
        The file as given (or the store's path).
    format : str
        ``csv``, ``parquet``, ``arff`` or ``store``.
    columns : dict
        Role (``id``, ``label``, ``group``, ``split``, ``path``) → the column used, or None.
    left_out : dict
        Column → why it is not a feature (``"text"``, ``"nominal"``, ``"no values"``, …).
    notes, warnings : list of str
        Neutral facts (rows numbered, weights ignored) and things to look at (columns left out).
    missing_roles : dict
        Role → column asked for but absent (only when read with ``strict=False``).
    """

    ids: np.ndarray
    X: np.ndarray
    names: list
    labels: np.ndarray
    groups: np.ndarray
    splits: np.ndarray
    paths: np.ndarray | None = None
    source: str = ""
    format: str = ""
    columns: dict = field(default_factory=dict)
    left_out: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    missing_roles: dict = field(default_factory=dict)
    all_columns: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def name(self) -> str:
        """The file name (what the benchmark calls this block)."""
        return Path(self.source).name or self.source

    @property
    def n_missing(self) -> int:
        """Missing values in ``X``."""
        return int(np.isnan(self.X).sum())

    @classmethod
    def from_store(cls, store, features=None) -> "Table":
        """The summary table of a :class:`~genrekit.cache.store.FeatureStore` (or its path)."""
        from genrekit.cache.store import FeatureStore

        fs = store if isinstance(store, FeatureStore) else FeatureStore(store)
        X, names = fs.summary(features)
        t = cls(ids=fs.ids, X=X, names=list(names), labels=fs.labels, groups=fs.groups, splits=fs.splits,
                paths=np.array([r.path for r in fs.tracks], dtype=object), source=str(fs.path), format="store",
                columns={"id": "id", "label": "label", "group": "group", "split": "split", "path": "path"},
                all_columns=["id", "path", "label", "group", "split", *names])
        t.store = fs
        return t


# ============================================================================ raw columns
@dataclass(eq=False)
class _Column:
    name: str
    kind: str                 # numeric | nominal | string | date | text | <arrow type>
    values: list              # raw strings, None = missing (Parquet numeric: a float64 array)
    numeric: np.ndarray | None = None


def _detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        f = fmt.lower().lstrip(".")
        if f not in ("csv", "parquet", "arff"):
            raise ParameterError(f"unknown table format {fmt!r}; genrekit reads csv, parquet and arff")
        return f
    f = TABLE_FORMATS.get(path.suffix.lower())
    if f is None:
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError:
            head = b""
        if head == b"PAR1":
            return "parquet"
        raise ParameterError(f"cannot tell the format of {path} from its extension {path.suffix or '(none)'}; "
                             "name it .csv, .tsv, .parquet or .arff")
    return f


def _read_text(path: Path) -> tuple[str, str | None]:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return data.decode("latin-1"), f"{path.name} is not UTF-8; read as Latin-1"


def _to_float(values, missing=MISSING_TOKENS):
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


# ---------------------------------------------------------------------------- CSV
def _read_csv(path: Path) -> tuple[list[_Column], list[str]]:
    text, note = _read_text(path)
    notes = [note] if note else []
    first = text.split("\n", 1)[0]
    if path.suffix.lower() in (".tsv", ".tab"):
        delim = "\t"
    else:
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delim = max(counts, key=lambda d: (counts[d], d == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = next(reader)
        rows = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise ParameterError(f"{path}, line {reader.line_num}: {len(row)} fields, "
                                     f"the header has {len(header)}")
            rows.append(row)
    except StopIteration:
        raise ParameterError(f"{path} is empty; a table needs a header row naming its columns") from None
    except csv.Error as e:
        raise ParameterError(f"{path}, line {reader.line_num}: {e}") from None
    cols_values = list(zip(*rows)) if rows else [() for _ in header]
    cols = [_Column(h.strip(), "text", list(v)) for h, v in zip(header, cols_values)]
    return cols, notes


# ---------------------------------------------------------------------------- Parquet
def _read_parquet(path: Path) -> tuple[list[_Column], list[str]]:
    pa, pq = require_pyarrow()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise ParameterError(f"cannot read {path} as Parquet: {e}") from None
    cols = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = t.value_type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            arr = col.cast(pa.float64()).fill_null(float("nan")).to_numpy().astype(np.float64)
            cols.append(_Column(name, "numeric", [None if v is None else str(v) for v in col.to_pylist()], arr))
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            cols.append(_Column(name, "string", col.to_pylist()))
        else:
            vals = col.to_pylist()
            cols.append(_Column(name, str(t), [None if v is None else str(v) for v in vals]))
    return cols, []


# ---------------------------------------------------------------------------- ARFF
# Not liac-arff (which scikit-learn vendors): it refuses ARFF that Weka writes and this reader
# documents -- `date` attributes, instance weights (`, {0.5}`) and `%` comments after a declaration
# or a row -- and names neither the attribute nor the value of a bad number. Where both read a file
# they agree (tests/pipeline/test_arff.py). liac-arff parses ~3x faster (0.27 vs 0.78 s for 1,000
# rows x 519 columns), which a table read once per benchmark does not feel.
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


def _read_arff(path: Path) -> tuple[list[_Column], list[str], str | None]:
    text, note = _read_text(path)
    notes = [note] if note else []
    lines = text.splitlines()
    attrs: list[tuple[str, str, list | None]] = []
    relation = None
    data_at = None
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
                data_at = lineno
                break
            else:
                raise _ArffSyntax(f"expected @relation, @attribute or @data, got {s[:40]!r}")
        except _ArffSyntax as e:
            raise ParameterError(f"{path}, line {lineno}: {e}") from None
    if data_at is None:
        raise ParameterError(f"{path} has no @data section; is it an ARFF file?")
    if not attrs:
        raise ParameterError(f"{path} declares no @attribute")
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
                    n_weights += 1
            else:
                items, rest = _scan_list(s)
                if rest.strip():
                    raise _ArffSyntax("unexpected '}' in a dense row")
                if len(items) == n + 1 and not items[-1][1] and items[-1][0] and _WEIGHT.match(items[-1][0] + "}"):
                    items = items[:-1]  # "{w" was cut at the brace: an instance weight
                    n_weights += 1
                if len(items) != n:
                    raise _ArffSyntax(f"{len(items)} values, the header declares {n} attributes")
                row = [t for t, _ in items]
        except _ArffSyntax as e:
            raise ParameterError(f"{path}, line {lineno}: {e}") from None
        for j, v in enumerate(row):
            if v is not None and nominal_sets[j] is not None and v not in nominal_sets[j]:
                allowed = ", ".join(attrs[j][2][:10])
                raise ParameterError(f"{path}, line {lineno}: {v!r} is not a value of nominal attribute "
                                     f"{attrs[j][0]!r} ({{{allowed}}})")
            columns[j].append(v)
    if n_weights:
        notes.append(f"{path.name}: instance weights on {n_weights} rows ignored")
    cols = []
    for (name, kind, _), vals in zip(attrs, columns):
        c = _Column(name, kind, vals)
        if kind == "numeric":
            arr, bad = _to_float(vals, missing=frozenset())
            if arr is None:
                raise ParameterError(f"{path}: numeric attribute {name!r} holds {bad[1]!r} (data row {bad[0] + 1}), "
                                     "which is not a number")
            c.numeric = arr
        cols.append(c)
    return cols, notes, relation


# ============================================================================ reading
def _find(cols: list[_Column], wanted: str) -> _Column | None:
    for c in cols:
        if c.name == wanted:
            return c
    hits = [c for c in cols if c.name.lower() == wanted.lower()]
    return hits[0] if len(hits) == 1 else None


def _show_columns(cols: list[_Column], limit: int = 25) -> str:
    names = [c.name or "(unnamed)" for c in cols]
    more = f", … ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _as_text(c: _Column, missing=MISSING_TOKENS) -> np.ndarray:
    out = []
    for v in c.values:
        if v is None:
            out.append(None)
            continue
        s = str(v).strip()
        out.append(None if s.lower() in missing or s == "" else s)
    return np.array(out, dtype=object)


def read_table(path, *, label_column: str | None = None, group_column: str | None = None,
               id_column: str | None = None, split_column: str | None = None, format: str | None = None,
               require_label: bool = True, strict: bool = True) -> Table:
    """Read a feature table (CSV, Parquet or ARFF).

    Parameters
    ----------
    path : path-like
    label_column, group_column, id_column, split_column : str, optional
        Columns with those roles. Defaults: ``label`` (ARFF: else the last nominal attribute),
        ``group`` else ``artist``, ``id`` (else rows are numbered from 0), ``split``.
    format : {"csv", "parquet", "arff"}, optional
        Default: from the extension.
    require_label : bool
        Raise when the table has no label column (False: labels are all None).
    strict : bool
        Raise when a column named by a ``*_column`` argument is absent (False: record it in
        :attr:`Table.missing_roles` and go on).

    Returns
    -------
    Table

    Raises
    ------
    ParameterError
        A missing file, unreadable syntax (with the line), a missing label or named column (the
        message lists the table's columns), duplicate ids or column names, infinite values.

    Warns
    -----
    TableWarning
        Columns left out (not numeric) and ids numbered; also in :attr:`Table.warnings`.
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"table {path} does not exist")
    if path.is_dir():
        raise ParameterError(f"{path} is a folder; --table takes a CSV, Parquet or ARFF file "
                             "(a feature store goes to --store)")
    fmt = _detect_format(path, format)
    relation = None
    if fmt == "csv":
        cols, notes = _read_csv(path)
    elif fmt == "parquet":
        cols, notes = _read_parquet(path)
    else:
        cols, notes, relation = _read_arff(path)
    n_rows = len(cols[0].values) if cols else 0
    if not cols:
        raise ParameterError(f"{path} has no columns")
    if n_rows == 0:
        raise ParameterError(f"{path} has a header but no rows")
    named = [c.name for c in cols if c.name]
    dup = sorted({n for n in named if named.count(n) > 1})
    if dup:
        raise ParameterError(f"{path}: column {dup[0]!r} appears {named.count(dup[0])} times; names must be unique")

    warn: list[str] = []
    missing_roles: dict = {}
    roles: dict[str, _Column | None] = {}

    def taken(c):
        return any(c is d for d in roles.values())

    def role(key, given, defaults):
        if given is not None:
            c = _find(cols, given)
            if c is None:
                if strict:
                    raise ParameterError(f"{path.name} has no column {given!r} (--{key}-column); "
                                         f"its columns: {_show_columns(cols)}")
                missing_roles[key] = given
            elif taken(c):
                other = next(k for k, d in roles.items() if d is c)
                raise ParameterError(f"{path.name}: column {c.name!r} cannot be both the {other} and the {key} column")
            roles[key] = c
            return
        for d in defaults:
            c = _find(cols, d)
            if c is not None and not taken(c):
                roles[key] = c
                return
        roles[key] = None

    role("id", id_column, ("id",))
    role("label", label_column, ("label",))
    if label_column is None and roles["label"] is None and fmt == "arff":
        nominal = [c for c in cols if c.kind == "nominal" and not taken(c)]
        if nominal:
            roles["label"] = nominal[-1]
            notes.append(f"{path.name}: class = the last nominal attribute, {nominal[-1].name!r}")
    role("group", group_column, ("group", "artist"))
    role("split", split_column, ("split",))
    role("path", None, ("path",))
    used = [c for c in roles.values() if c is not None]
    if roles["label"] is None and require_label:
        asked = label_column or "label"
        text_cols = [c.name for c in cols if c.kind != "numeric" and c.name and c not in used]
        hint = f" (text columns: {', '.join(text_cols[:10])})" if text_cols else ""
        raise ParameterError(f"{path.name} has no label column {asked!r}; its columns: {_show_columns(cols)}. "
                             f"Name the label column with --label-column{hint}")

    missing = MISSING_TOKENS if fmt == "csv" else frozenset()
    # ids
    if roles["id"] is not None:
        ids = _as_text(roles["id"], missing)
        blank = np.flatnonzero([v is None for v in ids])
        if len(blank):
            raise ParameterError(f"{path.name}: {len(blank)} rows have no id in column {roles['id'].name!r} "
                                 f"(first: data row {blank[0] + 1})")
    else:
        ids = np.array([str(i) for i in range(n_rows)], dtype=object)
        unique_text = [c.name for c in cols if c.name and c not in used and c.kind != "numeric"
                       and len(set(c.values)) == n_rows]
        hint = f"; columns with a unique value per row: {', '.join(unique_text[:5])}" if unique_text else ""
        msg = (f"{path.name} has no {id_column or 'id'!r} column: rows are numbered from 0 as track ids "
               f"(a join with other sources matches row numbers); name the id column with --id-column{hint}")
        notes.append(msg)

    def meta(key):
        c = roles[key]
        return _as_text(c, missing) if c is not None else np.array([None] * n_rows, dtype=object)

    labels, groups, splits = meta("label"), meta("group"), meta("split")
    paths = meta("path") if roles["path"] is not None else None

    # features
    X_cols, names, left_out = [], [], {}
    for j, c in enumerate(cols):
        if c in used:
            continue
        if not c.name:
            left_out[f"(unnamed column {j + 1})"] = "unnamed (a saved row index?)"
            continue
        if c.numeric is None and c.kind in ("text",):
            arr, bad = _to_float(c.values)
            if arr is None:
                left_out[c.name] = f"text (e.g. {bad[1][:30]!r})"
                continue
            c.numeric = arr
        if c.numeric is None:
            left_out[c.name] = c.kind
            continue
        arr = c.numeric
        if np.isinf(arr).any():
            r = int(np.flatnonzero(np.isinf(arr))[0])
            raise ParameterError(f"{path.name}: column {c.name!r} holds an infinite value (data row {r + 1}); "
                                 "replace it, or mark it missing (an empty cell or ?)")
        if np.isnan(arr).all():
            left_out[c.name] = "no values"
            continue
        X_cols.append(arr.astype(np.float32))
        names.append(c.name)
    if left_out:
        shown = ", ".join(f"{k} ({v})" for k, v in list(left_out.items())[:12])
        more = f", … ({len(left_out)} in all)" if len(left_out) > 12 else ""
        warn.append(f"{path.name}: {len(left_out)} column{'s' if len(left_out) > 1 else ''} left out, "
                    f"not numeric: {shown}{more}")
    if not X_cols:
        raise ParameterError(f"{path.name} has no numeric feature column; its columns: {_show_columns(cols)}")
    X = np.column_stack(X_cols).astype(np.float32, copy=False)

    # duplicate ids
    uniq, counts = np.unique(ids.astype(str), return_counts=True)
    if (counts > 1).any():
        k = int(np.argmax(counts))
        frames = any(_find(cols, n) is not None for n in ("frame", "time"))
        hint = (" — this looks like a frame-level table (one row per frame); the benchmark needs one row per "
                "track (genrekit export --level summary)") if frames else ""
        raise ParameterError(f"{path.name}: id {uniq[k]!r} appears on {counts[k]} rows; ids must be unique{hint}")

    table = Table(ids=ids, X=X, names=names, labels=labels, groups=groups, splits=splits, paths=paths,
                  source=str(path), format=fmt,
                  columns={k: (c.name if c is not None else None) for k, c in roles.items()},
                  left_out=left_out, notes=notes, warnings=warn, missing_roles=missing_roles,
                  all_columns=[c.name for c in cols])
    table.relation = relation
    for w in warn:
        warnings.warn(w, TableWarning, stacklevel=2)
    return table


# ============================================================================ the Dataset
@dataclass
class Block:
    """The columns one source contributes to a :class:`Dataset`."""

    name: str
    source: str
    format: str
    names: list
    X: np.ndarray

    @property
    def width(self) -> int:
        return self.X.shape[1]


class Dataset:
    """Tracks joined across sources: what :func:`~genrekit.pipeline.benchmark.run_benchmark` takes
    instead of a store path (see :func:`build_dataset`).

    It offers the part of :class:`~genrekit.cache.store.FeatureStore`'s interface the runner reads
    — ``ids``, ``labels``, ``groups``, ``splits`` (rows ordered by id), ``summary()`` (the blocks
    side by side), ``path``, ``config_hash``, ``config_json``, ``track(id).content_hash`` — and
    :meth:`plan_models`, which names the leaderboard entries (per block, fused).

    Attributes
    ----------
    blocks : list of Block
    fusion : tuple of str
        ``("early",)``, ``("late",)`` or both (only used with two or more blocks).
    notes, warnings : list of str
        What the join and the readers found; the runner puts them into the report.
    """

    frame_features: tuple = ()

    def __init__(self, ids, labels, groups, splits, blocks, *, fusion=("early",), notes=(), warnings=(),
                 store=None, options=None, sources=None):
        self._ids = np.asarray(ids, dtype=object)
        self._labels = np.asarray(labels, dtype=object)
        self._groups = np.asarray(groups, dtype=object)
        self._splits = np.asarray(splits, dtype=object)
        self.blocks = list(blocks)
        self.fusion = tuple(fusion)
        self.notes = list(notes)
        self.warnings = list(warnings)
        self.store = store
        self.options = dict(options or {})
        self.sources = list(sources or [])
        n = len(self._ids)
        for b in self.blocks:
            if b.X.shape[0] != n:
                raise ParameterError(f"block {b.name} has {b.X.shape[0]} rows, the dataset {n}")
        self._hashes = None

    # ---- the store-like interface
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

    @property
    def groups(self) -> np.ndarray:
        return self._groups.copy()

    @property
    def splits(self) -> np.ndarray:
        return self._splits.copy()

    @property
    def path(self) -> str:
        """What the data is, in a few words: ``store genrekit_store + lyrics.csv``."""
        return " + ".join((f"store {b.name}" if b.format == "store" else b.name) for b in self.blocks)

    @property
    def config_hash(self) -> str:
        return self.store.config_hash if self.store is not None else "none"

    @property
    def config_json(self) -> str:
        return self.store.config_json if self.store is not None else "null"

    @property
    def config(self):
        """The store's :class:`~genrekit.features.FeatureConfig`; None without a store."""
        return self.store.config if self.store is not None else None

    @property
    def n_missing(self) -> int:
        return int(sum(np.isnan(b.X).sum() for b in self.blocks))

    def summary(self, features=None) -> tuple[np.ndarray, list[str]]:
        """Every block side by side: ``X`` float32 ``[shape=(n_tracks, sum of widths)]`` and names.

        Column names that occur in two blocks are prefixed with their block: ``lyrics.csv:mean``.
        """
        if features is not None:
            raise ParameterError("--features selects store columns before the join: pass it to "
                                 "build_dataset(..., features=...), not to the benchmark of a dataset")
        X = np.concatenate([b.X for b in self.blocks], axis=1) if self.blocks else np.zeros((len(self), 0), np.float32)
        all_names = [n for b in self.blocks for n in b.names]
        seen = {n for n in all_names if all_names.count(n) > 1}
        names = [(f"{b.name}:{n}" if n in seen else n) for b in self.blocks for n in b.names]
        return X, names

    def track(self, track_id: str):
        """``.content_hash`` of a row: a hash of its values in every block and its label."""
        if self._hashes is None:
            self._hashes = {}
            for i, tid in enumerate(self._ids):
                h = hashlib.blake2b(digest_size=16)
                for b in self.blocks:
                    h.update(np.ascontiguousarray(b.X[i]).tobytes())
                h.update(str(self._labels[i]).encode())
                self._hashes[tid] = h.hexdigest()
        try:
            return SimpleNamespace(id=track_id, content_hash=self._hashes[track_id])
        except KeyError:
            raise ParameterError(f"track {track_id!r} is not in the dataset") from None

    # ---- what the runner asks
    def plan_models(self, names, specs, *, save_models: bool = False) -> dict:
        """Leaderboard name → :class:`~genrekit.classifiers.fusion.ModelVariant` for ``names``.

        Raises
        ------
        ParameterError
            For a frame-sequence model (tables hold one vector per track) or ``save_models``.
        """
        from genrekit.classifiers.fusion import plan_variants

        frames = [n for n in names if specs[n].input != "summary"]
        if frames:
            s = "s" if len(frames) > 1 else ""
            raise ParameterError(
                f"model{s} {', '.join(frames)} read{'' if s else 's'} frame sequences, and a feature table holds "
                "one summary vector per track: benchmark tables with summary models (see `genrekit models`), "
                f"or run {', '.join(frames)} on the store alone (--store without --table)")
        if save_models:
            raise ParameterError("--save-models needs a store alone: a model trained on external tables "
                                 "cannot extract those features from audio for `genrekit predict`")
        return plan_variants(names, [(b.name, b.width) for b in self.blocks], self.fusion,
                             impute=self.n_missing > 0)

    def command_args(self) -> list[str]:
        """The ``genrekit benchmark`` arguments that rebuild this dataset."""
        out = []
        for b in self.blocks:
            out += ["--store" if b.format == "store" else "--table", b.source]
        for k in ("label", "group", "id", "split"):
            v = self.options.get(f"{k}_column")
            if v:
                out += [f"--{k}-column", v]
        if self.options.get("features"):
            out += ["--features", ",".join(self.options["features"])]
        if len(self.blocks) > 1:
            out += ["--fusion", "both" if len(self.fusion) == 2 else self.fusion[0]]
        return out

    def describe(self) -> dict:
        """JSON-ready description for ``results.json``."""
        return {
            "blocks": [{"name": b.name, "source": b.source, "format": b.format, "n_columns": b.width,
                        "n_missing": int(np.isnan(b.X).sum())} for b in self.blocks],
            "n_tracks": len(self),
            "fusion": list(self.fusion) if len(self.blocks) > 1 else None,
            "sources": self.sources,
            "options": self.options,
            "notes": self.notes,
            "warnings": self.warnings,
        }

    def __repr__(self) -> str:
        return f"Dataset({len(self)} tracks, blocks={[f'{b.name} ({b.width})' for b in self.blocks]})"


def _block_names(sources: list[Table]) -> list[str]:
    names = []
    for t in sources:
        p = Path(t.source)
        name = p.name if t.format != "store" else (p.name or str(p))
        if name in names:
            name = f"{p.parent.name}/{p.name}" if p.parent.name else name
        base, k = name, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        names.append(name)
    return names


def _coalesce(sources, values, ids_sorted, what, strict):
    """One value per track: the first source's, else the next's… Conflicts: error or count."""
    out = np.array([None] * len(ids_sorted), dtype=object)
    origin = [None] * len(ids_sorted)
    conflicts = []
    for t, vals in zip(sources, values):
        for i, v in enumerate(vals):
            if v is None:
                continue
            if out[i] is None:
                out[i], origin[i] = v, t
            elif out[i] != v:
                conflicts.append((ids_sorted[i], out[i], origin[i].name, v, t.name))
    if conflicts and strict:
        tid, a, sa, b, sb = conflicts[0]
        raise ParameterError(f"{len(conflicts)} tracks have different {what}s in different sources, e.g. {tid!r}: "
                             f"{a!r} in {sa} but {b!r} in {sb}; fix the tables or name the column of one "
                             f"source only")
    note = None
    if conflicts:
        tid, a, sa, b, sb = conflicts[0]
        note = (f"{len(conflicts)} tracks have different {what}s in different sources (e.g. {tid!r}: {a!r} in {sa}, "
                f"{b!r} in {sb}); the first source's is used")
    return out, note


def build_dataset(store=None, tables=(), *, features=None, label_column: str | None = None,
                  group_column: str | None = None, id_column: str | None = None,
                  split_column: str | None = None, fusion="early") -> Dataset:
    """Join a store's summary table and feature tables on track id, for the benchmark.

    Parameters
    ----------
    store : path-like or FeatureStore, optional
        Its summary table is the first block (restricted to ``features``); its labels, artists and
        splits come first.
    tables : sequence of path-like
        CSV, Parquet or ARFF files (see :func:`read_table`), one block each, named by file name.
    features : list of str, optional
        Store features to keep (``--features``).
    label_column, group_column, id_column, split_column : str, optional
        Role columns of the tables (defaults as in :func:`read_table`). A named id column must be
        in every table; a named label, group or split column in at least one.
    fusion : str or sequence
        ``early``, ``late`` or ``both``: how models use two or more blocks.

    Returns
    -------
    Dataset
        Rows = the track ids every source has (inner join), ordered by id; labels, groups and
        splits from the first source that has one for a track (labels that disagree between
        sources are an error).

    Raises
    ------
    ParameterError
        No source, no labels anywhere (naming the columns), ids that match nowhere (with examples
        from each side), duplicate ids, an unknown fusion.
    """
    from genrekit.classifiers.fusion import parse_fusion

    try:
        modes = parse_fusion(fusion)
    except ValueError as e:
        raise ParameterError(f"--fusion: {e}") from None
    tables = [tables] if isinstance(tables, (str, Path)) else list(tables or [])
    if store is None and not tables:
        raise ParameterError("nothing to benchmark: give a store, one or more tables, or both")
    if features is not None and store is None:
        raise ParameterError("--features selects columns of a store; the tables are used whole")
    sources: list[Table] = []
    if store is not None:
        sources.append(Table.from_store(store, features))
    lone = store is None and len(tables) == 1
    for p in tables:
        sources.append(read_table(p, label_column=label_column, group_column=group_column, id_column=id_column,
                                  split_column=split_column, require_label=lone, strict=lone))
    table_sources = [t for t in sources if t.format != "store"]
    for t in table_sources:
        if "id" in t.missing_roles:
            raise ParameterError(f"{t.name} has no id column {t.missing_roles['id']!r} (--id-column); "
                                 f"its columns: {', '.join(t.all_columns[:25])}")
    for key, given in (("label", label_column), ("group", group_column), ("split", split_column)):
        if given and table_sources and all(key in t.missing_roles for t in table_sources):
            raise ParameterError(f"no table has the {key} column {given!r} (--{key}-column); columns of "
                                 + "; ".join(f"{t.name}: {', '.join(t.all_columns[:25])}" for t in table_sources))
    if not any(any(v is not None for v in t.labels) for t in sources):
        if store is not None:
            raise ParameterError(f"no labels: store {sources[0].source} has no labelled tracks and no table has a "
                                 f"label column {label_column or 'label'!r} (columns of {table_sources[0].name}: "
                                 f"{', '.join(table_sources[0].all_columns[:25])}); name it with --label-column")
        raise ParameterError("no table has a label column " + repr(label_column or "label") + "; columns of "
                             + "; ".join(f"{t.name}: {', '.join(t.all_columns[:25])}" for t in table_sources)
                             + ". Name it with --label-column")

    names = _block_names(sources)
    notes, warns = [], []
    for t in sources:
        notes += t.notes
        warns += t.warnings
    # inner join on id
    id_sets = [set(t.ids.tolist()) for t in sources]
    common = set.intersection(*id_sets)
    if not common:
        ex = "; ".join(f"{n}: {', '.join(repr(v) for v in sorted(s)[:3])}" for n, s in zip(names, id_sets))
        numbered = [n for n, t in zip(names, sources) if t.columns.get("id") is None]
        hint = (f" ({', '.join(numbered)} ha{'ve' if len(numbered) > 1 else 's'} no id column, so rows are "
                "numbered 0, 1, …; name the id column with --id-column)") if numbered else \
            " (name the id column with --id-column)"
        raise ParameterError(f"no track id is in every source, so the join is empty; ids look like — {ex}{hint}")
    if len(sources) > 1:
        for n, t, s in zip(names, sources, id_sets):
            left = len(s) - len(common)
            if left:
                ex = sorted(s - common)[:2]
                notes.append(f"{n}: {left} of {len(s)} tracks have no match in the other source"
                             f"{'s' if len(sources) > 2 else ''} and are left out (e.g. {', '.join(map(repr, ex))})")
        notes.append(f"joined on track id: {len(common)} tracks in all {len(sources)} sources")
    order = sorted(common)
    rows = []
    for t in sources:
        where = {v: i for i, v in enumerate(t.ids.tolist())}
        rows.append(np.array([where[v] for v in order], dtype=np.int64))
    labels, note = _coalesce(sources, [t.labels[r] for t, r in zip(sources, rows)], order, "label", strict=True)
    groups, note_g = _coalesce(sources, [t.groups[r] for t, r in zip(sources, rows)], order, "group", strict=False)
    splits, note_s = _coalesce(sources, [t.splits[r] for t, r in zip(sources, rows)], order, "split", strict=False)
    notes += [n for n in (note_g, note_s) if n]
    blocks = [Block(name=n, source=t.source, format=t.format, names=list(t.names), X=t.X[r])
              for n, t, r in zip(names, sources, rows)]
    for b in blocks:
        miss = np.isnan(b.X)
        if miss.any():
            cols = [b.names[j] for j in np.flatnonzero(miss.any(axis=0))]
            shown = f"{', '.join(cols[:5])}{', …' if len(cols) > 5 else ''}"
            plural = "s" if len(cols) > 1 else ""
            notes.append(f"{b.name}: {int(miss.sum())} missing values in {len(cols)} column{plural} "
                         f"({shown}): mean-imputed inside each model's pipeline, fitted on the training fold only")
    options = {"label_column": label_column, "group_column": group_column, "id_column": id_column,
               "split_column": split_column, "features": list(features) if features else None}
    described = [{"name": n, "source": t.source, "format": t.format, "rows": len(t), "columns": t.columns,
                  "left_out": t.left_out} for n, t in zip(names, sources)]
    fs = sources[0].store if sources[0].format == "store" else None
    return Dataset(np.array(order, dtype=object), labels, groups, splits, blocks, fusion=modes, notes=notes,
                   warnings=warns, store=fs, options=options, sources=described)
