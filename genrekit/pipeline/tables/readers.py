"""Feature tables made elsewhere: CSV, Parquet and ARFF files read into :class:`Table` records.

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
case-insensitively. Role and metadata columns are never features, whatever their type: those with a
role, those named as in :data:`~genrekit.roles.METADATA_COLUMNS` (``id``, ``label``, ``genre``,
``group``, ``artist``, ``album``, ``split``, ``path``, ``filename``, ``frame``, ``time``, …, in any
case) and those a genrekit Parquet export lists as metadata (a note names them). Every other numeric
column is a feature. Columns that are not numeric — text,
nominal, dates, booleans, unnamed columns (a saved pandas index) or columns without a single value —
are left out and reported (:attr:`Table.warnings`, and a :class:`TableWarning`), never coerced.
Infinite values are an error; missing values stay ``NaN`` (the benchmark imputes them inside each
model's pipeline, fitted on the training fold only).

:func:`read_table` reads the file into raw columns (:func:`~genrekit.pipeline.tables.formats.read_columns`;
ARFF in :mod:`~genrekit.pipeline.tables.arff`), gives the id, label, group, split and path roles their
columns, picks the numeric feature columns (reporting what is left out) and builds the :class:`Table`.
:func:`~genrekit.pipeline.tables.dataset.build_dataset` joins tables (and a store) for the benchmark.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit.errors import ParameterError
from genrekit.pipeline.tables.columns import MISSING_TOKENS, RawColumn, as_text, to_float
from genrekit.pipeline.tables.formats import (PARQUET_HINT, TABLE_FORMATS, RawTable, read_columns,
                                              require_pyarrow)
from genrekit.roles import GROUP_COLUMNS, METADATA_COLUMNS

__all__ = ["MISSING_TOKENS", "PARQUET_HINT", "TABLE_FORMATS", "Table", "TableWarning", "read_table",
           "require_pyarrow"]


class TableWarning(UserWarning):
    """Something in a table was left out or guessed (columns left out, ids numbered)."""


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
        t = cls(ids=fs.ids, X=X, names=list(names), labels=fs.labels, groups=fs.raw_groups, splits=fs.splits,
                paths=np.array([r.path for r in fs.tracks], dtype=object), source=str(fs.path), format="store",
                columns={"id": "id", "label": "label", "group": "group", "split": "split", "path": "path"},
                all_columns=["id", "path", "label", "group", "split", *names])
        t.store = fs
        return t


# ============================================================================ roles
def _find(cols: list[RawColumn], wanted: str) -> RawColumn | None:
    """The column named ``wanted`` exactly, else the one column named so case-insensitively."""
    for c in cols:
        if c.name == wanted:
            return c
    hits = [c for c in cols if c.name.lower() == wanted.lower()]
    return hits[0] if len(hits) == 1 else None


def _show_columns(cols: list[RawColumn], limit: int = 25) -> str:
    names = [c.name or "(unnamed)" for c in cols]
    more = f", … ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _taken(roles: dict, c: RawColumn) -> bool:
    return any(c is d for d in roles.values())


def _pick_role(raw: RawTable, roles: dict, missing_roles: dict, key: str, given: str | None, defaults,
               strict: bool) -> None:
    """Give role ``key`` its column: ``given`` (which must exist when ``strict``), else the first free default."""
    cols, path = raw.columns, raw.path
    if given is not None:
        c = _find(cols, given)
        if c is None:
            if strict:
                raise ParameterError(f"{path.name} has no column {given!r} (--{key}-column); "
                                     f"its columns: {_show_columns(cols)}")
            missing_roles[key] = given
        elif _taken(roles, c):
            other = next(k for k, d in roles.items() if d is c)
            raise ParameterError(f"{path.name}: column {c.name!r} cannot be both the {other} and the {key} column")
        roles[key] = c
        return
    for d in defaults:
        c = _find(cols, d)
        if c is not None and not _taken(roles, c):
            roles[key] = c
            return
    roles[key] = None


def _resolve_roles(raw: RawTable, *, id_column, label_column, group_column, split_column,
                   require_label: bool, strict: bool) -> tuple[dict, dict]:
    """``(role → column or None, role → column asked for but absent)`` for id, label, group, split, path."""
    roles: dict[str, RawColumn | None] = {}
    missing_roles: dict = {}

    def pick(key, given, defaults):
        _pick_role(raw, roles, missing_roles, key, given, defaults, strict)

    pick("id", id_column, ("id",))
    pick("label", label_column, ("label",))
    if label_column is None and roles["label"] is None and raw.format == "arff":
        nominal = [c for c in raw.columns if c.kind == "nominal" and not _taken(roles, c)]
        if nominal:
            roles["label"] = nominal[-1]
            raw.notes.append(f"{raw.path.name}: class = the last nominal attribute, {nominal[-1].name!r}")
    pick("group", group_column, GROUP_COLUMNS)
    pick("split", split_column, ("split",))
    pick("path", None, ("path",))
    if roles["label"] is None and require_label:
        used = [c for c in roles.values() if c is not None]
        asked = label_column or "label"
        text_cols = [c.name for c in raw.columns if c.kind != "numeric" and c.name and c not in used]
        hint = f" (text columns: {', '.join(text_cols[:10])})" if text_cols else ""
        raise ParameterError(f"{raw.path.name} has no label column {asked!r}; its columns: "
                             f"{_show_columns(raw.columns)}. Name the label column with --label-column{hint}")
    return roles, missing_roles


def _role_values(raw: RawTable, roles: dict, id_column: str | None) -> tuple[np.ndarray, ...]:
    """``(ids, labels, groups, splits, paths)`` per row; without an id column rows are numbered (noted)."""
    missing = MISSING_TOKENS if raw.format == "csv" else frozenset()
    n_rows, name = raw.n_rows, raw.path.name
    used = [c for c in roles.values() if c is not None]
    if roles["id"] is not None:
        ids = as_text(roles["id"], missing)
        blank = np.flatnonzero([v is None for v in ids])
        if len(blank):
            raise ParameterError(f"{name}: {len(blank)} rows have no id in column {roles['id'].name!r} "
                                 f"(first: data row {blank[0] + 1})")
    else:
        ids = np.array([str(i) for i in range(n_rows)], dtype=object)
        unique_text = [c.name for c in raw.columns if c.name and c not in used and c.kind != "numeric"
                       and len(set(c.values)) == n_rows]
        hint = f"; columns with a unique value per row: {', '.join(unique_text[:5])}" if unique_text else ""
        raw.notes.append(f"{name} has no {id_column or 'id'!r} column: rows are numbered from 0 as track ids "
                         f"(a join with other sources matches row numbers); name the id column with --id-column{hint}")

    def meta(key):
        c = roles[key]
        return as_text(c, missing) if c is not None else np.array([None] * n_rows, dtype=object)

    paths = meta("path") if roles["path"] is not None else None
    return ids, meta("label"), meta("group"), meta("split"), paths


# ============================================================================ features
def _feature_columns(raw: RawTable, used: list) -> tuple[np.ndarray, list, dict, list]:
    """``(X, names, left_out, warnings)``: every numeric column no role took; the others left out, reported."""
    name = raw.path.name
    X_cols, names, left_out, warn = [], [], {}, []
    meta = []
    for j, c in enumerate(raw.columns):
        if c in used:
            continue
        if c.kind == "metadata" or c.name.strip().lower() in METADATA_COLUMNS:  # roles are never features
            left_out[c.name] = "metadata"
            meta.append(c.name)
            continue
        if not c.name:
            left_out[f"(unnamed column {j + 1})"] = "unnamed (a saved row index?)"
            continue
        if c.numeric is None and c.kind in ("text",):
            arr, bad = to_float(c.values)
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
            raise ParameterError(f"{name}: column {c.name!r} holds an infinite value (data row {r + 1}); "
                                 "replace it, or mark it missing (an empty cell or ?)")
        if np.isnan(arr).all():
            left_out[c.name] = "no values"
            continue
        X_cols.append(arr.astype(np.float32))
        names.append(c.name)
    if meta:
        raw.notes.append(f"{name}: metadata column{'s' if len(meta) > 1 else ''} {', '.join(meta)} "
                         "never used as features")
    other = {k: v for k, v in left_out.items() if v != "metadata"}
    if other:
        shown = ", ".join(f"{k} ({v})" for k, v in list(other.items())[:12])
        more = f", … ({len(other)} in all)" if len(other) > 12 else ""
        warn.append(f"{name}: {len(other)} column{'s' if len(other) > 1 else ''} left out, "
                    f"not numeric: {shown}{more}")
    if not X_cols:
        raise ParameterError(f"{name} has no numeric feature column; its columns: {_show_columns(raw.columns)}")
    return np.column_stack(X_cols).astype(np.float32, copy=False), names, left_out, warn


def _check_unique_ids(ids: np.ndarray, raw: RawTable) -> None:
    """Raise on an id that appears twice (with a hint when the table looks frame-level)."""
    uniq, counts = np.unique(ids.astype(str), return_counts=True)
    if (counts > 1).any():
        k = int(np.argmax(counts))
        frames = any(_find(raw.columns, n) is not None for n in ("frame", "time"))
        hint = (" — this looks like a frame-level table (one row per frame); the benchmark needs one row per "
                "track (genrekit export --level summary)") if frames else ""
        raise ParameterError(f"{raw.path.name}: id {uniq[k]!r} appears on {counts[k]} rows; ids must be unique{hint}")


# ============================================================================ reading
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
    raw = read_columns(Path(path), format)
    roles, missing_roles = _resolve_roles(raw, id_column=id_column, label_column=label_column,
                                          group_column=group_column, split_column=split_column,
                                          require_label=require_label, strict=strict)
    ids, labels, groups, splits, paths = _role_values(raw, roles, id_column)
    X, names, left_out, warn = _feature_columns(raw, [c for c in roles.values() if c is not None])
    _check_unique_ids(ids, raw)
    table = Table(ids=ids, X=X, names=names, labels=labels, groups=groups, splits=splits, paths=paths,
                  source=str(raw.path), format=raw.format,
                  columns={k: (c.name if c is not None else None) for k, c in roles.items()},
                  left_out=left_out, notes=raw.notes, warnings=warn, missing_roles=missing_roles,
                  all_columns=[c.name for c in raw.columns])
    table.relation = raw.relation
    for w in warn:
        warnings.warn(w, TableWarning, stacklevel=2)
    return table
