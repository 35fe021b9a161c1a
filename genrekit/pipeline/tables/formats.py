"""Which format a table file is, and CSV and Parquet files parsed into raw columns.

:func:`read_columns` is the one entry: it checks the path, picks the format (``format=`` or the
extension; a Parquet file is also known by its magic bytes), hands the file to the CSV, Parquet or
ARFF (:mod:`~genrekit.pipeline.tables.arff`) parser and checks that the result has rows and
uniquely named columns.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit.errors import ParameterError
from genrekit.pipeline.tables.arff import read_arff
from genrekit.pipeline.tables.columns import RawColumn, read_text

TABLE_FORMATS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".parquet": "parquet",
                 ".pq": "parquet", ".arff": "arff"}
PARQUET_HINT = "pip install pyarrow (or pip install 'genrekit[parquet]')"


def require_pyarrow():
    """``(pyarrow, pyarrow.parquet)``, or a :class:`ParameterError` that says how to install it."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParameterError(f"Parquet needs pyarrow: {PARQUET_HINT}") from None
    return pyarrow, pyarrow.parquet


@dataclass(eq=False)
class RawTable:
    """A file's columns before any role is given to them."""

    path: Path
    format: str               # csv | parquet | arff
    columns: list             # of RawColumn
    notes: list = field(default_factory=list)
    relation: str | None = None  # ARFF's @relation

    @property
    def n_rows(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


def detect_format(path: Path, fmt: str | None) -> str:
    """``csv``, ``parquet`` or ``arff``: ``fmt`` when given, else from the extension (or magic bytes)."""
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


def read_columns(path: Path, format: str | None = None) -> RawTable:
    """Read ``path`` into a :class:`RawTable`; raise when it has no columns, no rows or duplicate names."""
    if not path.exists():
        raise ParameterError(f"table {path} does not exist")
    if path.is_dir():
        raise ParameterError(f"{path} is a folder; --table takes a CSV, Parquet or ARFF file "
                             "(a feature store goes to --store)")
    fmt = detect_format(path, format)
    relation = None
    if fmt == "csv":
        cols, notes = read_csv(path)
    elif fmt == "parquet":
        cols, notes = read_parquet(path)
    else:
        cols, notes, relation = read_arff(path)
    raw = RawTable(path, fmt, cols, notes, relation)
    if not cols:
        raise ParameterError(f"{path} has no columns")
    if raw.n_rows == 0:
        raise ParameterError(f"{path} has a header but no rows")
    named = [c.name for c in cols if c.name]
    dup = sorted({n for n in named if named.count(n) > 1})
    if dup:
        raise ParameterError(f"{path}: column {dup[0]!r} appears {named.count(dup[0])} times; names must be unique")
    return raw


# ---------------------------------------------------------------------------- CSV
def read_csv(path: Path) -> tuple[list[RawColumn], list[str]]:
    """``(columns, notes)`` of a CSV file: a header row names the columns; the separator is the
    one (``,`` ``;`` tab) the header has most of (``.tsv``/``.tab``: tab)."""
    text, note = read_text(path)
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
    cols = [RawColumn(h.strip(), "text", list(v)) for h, v in zip(header, cols_values)]
    return cols, notes


# ---------------------------------------------------------------------------- Parquet
def _exported_metadata(schema_meta) -> set:
    """The columns a genrekit export lists as metadata in the file's ``genrekit`` key (none otherwise)."""
    import json

    try:
        return set(json.loads((schema_meta or {}).get(b"genrekit", b"{}")).get("metadata_columns") or ())
    except (ValueError, AttributeError, TypeError):
        return set()


def read_parquet(path: Path) -> tuple[list[RawColumn], list[str]]:
    """``(columns, notes)`` of a Parquet file: integer and floating columns are numeric."""
    pa, pq = require_pyarrow()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise ParameterError(f"cannot read {path} as Parquet: {e}") from None
    cols = []
    meta = _exported_metadata(table.schema.metadata)
    for name, col in zip(table.column_names, table.columns):
        if name in meta:  # genrekit's own export marks its id/label/group/split/path columns
            cols.append(RawColumn(name, "metadata", [None if v is None else str(v) for v in col.to_pylist()]))
            continue
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = t.value_type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            arr = col.cast(pa.float64()).fill_null(float("nan")).to_numpy().astype(np.float64)
            cols.append(RawColumn(name, "numeric", [None if v is None else str(v) for v in col.to_pylist()], arr))
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            cols.append(RawColumn(name, "string", col.to_pylist()))
        else:
            vals = col.to_pylist()
            cols.append(RawColumn(name, str(t), [None if v is None else str(v) for v in vals]))
    return cols, []

