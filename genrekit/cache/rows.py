"""A store's rows in one file: ``rows-<config_hash>.h5``, a cache that opening a store reads
instead of every shard (issue 16: a shard holds 64 tracks, so a 1M-track store has ~16,000
shards, and opening each one to read its rows took minutes).

It holds, for one feature config, the newest row of every track (sorted by id, as
:attr:`FeatureStore.tracks <genrekit.cache.store.FeatureStore.tracks>`), the failures, each row's
shard and row number, the summary matrix in the same order (uncompressed, so
:meth:`~genrekit.cache.store.FeatureStore.summary` reads it at disk speed into the array it
returns), and the names of the shards it was made from. It is a cache: valid only while the
store's shards of that config are exactly those (a store that gained shards reads only the new
ones and rewrites it; one that lost any rebuilds it). Written atomically (temporary name, then
rename) by whichever reader finds it stale; where the store is read-only it is simply not
written. Text columns are stored as one NUL-separated UTF-8 blob each (reading ~1M strings is
one ``split``). Columns follow :data:`~genrekit.cache.layout.TRACK_STR_FIELDS` and friends, and
rows are made from :func:`dataclasses.fields` of :class:`~genrekit.cache.layout.TrackRow`, so a
new field flows through without a change here.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from genrekit.cache.layout import (
    FAILURE_INT_FIELDS,
    FAILURE_STR_FIELDS,
    TRACK_INT_FIELDS,
    TRACK_OPTIONAL_STR_FIELDS,
    TRACK_STR_FIELDS,
    FailureRow,
    TrackRow,
)
from genrekit.files import tmp_name
from genrekit.tags import parse_tags

ROWS_PREFIX = "rows-"
#: Version of this file's layout (a different one is rebuilt, never read).
ROWS_VERSION = 2
_FLOAT_FIELDS = ("duration",)
#: Every text column of a track: the required ones and those older shards may lack ("" when absent).
_TRACK_TEXT = (*TRACK_STR_FIELDS, *TRACK_OPTIONAL_STR_FIELDS)
#: Text columns whose field is not a plain string: column text -> field value.
_PARSED = {"tags": parse_tags}


def rows_path(store: Path, config_hash: str) -> Path:
    return Path(store) / f"{ROWS_PREFIX}{config_hash}.h5"


# ------------------------------------------------------------------------------------ columns
def shard_columns(f) -> tuple[dict, dict]:
    """``(tracks, failures)`` columns of an open shard: text as lists of str, numbers as arrays."""
    g, fg = f["tracks"], f["failures"]
    tracks = {k: list(g[k].asstr()[:]) for k in TRACK_STR_FIELDS}
    n = len(tracks["id"])
    tracks.update({k: list(g[k].asstr()[:]) if k in g else [""] * n for k in TRACK_OPTIONAL_STR_FIELDS})
    tracks.update({k: g[k][:] for k in (*_FLOAT_FIELDS, *TRACK_INT_FIELDS)})
    fails = {k: list(fg[k].asstr()[:]) for k in FAILURE_STR_FIELDS}
    fails.update({k: fg[k][:] for k in FAILURE_INT_FIELDS})
    return tracks, fails


def _column(f: dataclasses.Field, columns: dict, n: int) -> list:
    """The values of TrackRow/FailureRow field ``f`` for ``n`` rows: from its column (``""`` is None
    for an optional text field), from ``<field>_json`` (``""`` is the field's default), or the
    field's default when no column feeds it. Whole columns at a time: 1M rows in about a second."""
    def default():
        return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default

    if f.name in columns and f.name in _PARSED:
        parse = _PARSED[f.name]
        return [parse(v) if v else default() for v in columns[f.name]]
    if f.name in columns:
        col = columns[f.name]
        if isinstance(col, np.ndarray):
            return col.tolist()  # int64 -> int, float64 -> float
        return [v or None for v in col] if "None" in str(f.type) else list(col)
    if f"{f.name}_json" in columns:  # meta <- meta_json
        empty = f.default_factory if f.default_factory is not dataclasses.MISSING else default
        return [json.loads(v) if v else empty() for v in columns[f"{f.name}_json"]]
    return [default() for _ in range(n)]


def make_rows(cls, columns: dict, shards: list[str], shard_of: np.ndarray, row_of: np.ndarray) -> list:
    """``cls`` (TrackRow or FailureRow) objects from columns, field by field (generic in fields)."""
    n = len(row_of)
    args = []
    for f in dataclasses.fields(cls):
        if f.name == "shard":
            args.append([shards[i] for i in shard_of.tolist()])
        elif f.name == "row":
            args.append(row_of.tolist())
        else:
            args.append(_column(f, columns, n))
    return [cls(*a) for a in zip(*args)]


def empty_columns() -> tuple[dict, dict]:
    """``(tracks, failures)`` columns of no rows."""
    def cols(strs, nums):
        return {**{k: [] for k in strs}, **{k: np.zeros(0, np.int64) for k in (*nums, "_shard", "_row")}}

    return cols(_TRACK_TEXT, (*_FLOAT_FIELDS, *TRACK_INT_FIELDS)), cols(FAILURE_STR_FIELDS, FAILURE_INT_FIELDS)


# ------------------------------------------------------------------------------------ the file
def _blob(strings: list[str]) -> np.ndarray:
    return np.frombuffer("\0".join(strings).encode("utf-8", "surrogateescape"), np.uint8)


def _unblob(ds, n: int) -> list[str]:
    if n == 0:
        return []
    return ds[()].tobytes().decode("utf-8", "surrogateescape").split("\0")


def shard_stamps(store: Path, shards: list[str]) -> np.ndarray | None:
    """(size, mtime_ns) of each shard file, or None when one cannot be stat'ed: a shard truncated,
    rewritten or replaced since the rows file was made no longer matches it."""
    try:
        return np.array([(st.st_size, st.st_mtime_ns) for st in (os.stat(Path(store) / s) for s in shards)],
                        np.int64).reshape(-1, 2)
    except OSError:
        return None


def read(path: Path):
    """``(shards, stamps, tracks, failures)`` from a rows file, or None when absent or unreadable;
    the columns carry each row's ``_shard`` (position in ``shards``) and ``_row``."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if int(f.attrs.get("rows_version", -1)) != ROWS_VERSION:
                return None
            shards = _unblob(f["shards"], int(f.attrs["n_shards"]))
            out = [f["stamps"][:]]
            for group, strs, nums in (("tracks", _TRACK_TEXT, (*_FLOAT_FIELDS, *TRACK_INT_FIELDS)),
                                      ("failures", FAILURE_STR_FIELDS, FAILURE_INT_FIELDS)):
                g = f[group]
                n = int(g.attrs["n"])
                cols = {k: _unblob(g[k], n) for k in strs}
                cols.update({k: g[k][:] for k in (*nums, "_shard", "_row")})
                if any(len(c) != n for c in cols.values()):
                    return None
                out.append(cols)
            return shards, out[0], out[1], out[2]
    except (OSError, KeyError, ValueError):
        return None


def write(path: Path, shards: list[str], stamps, tracks: dict, fails: dict, summary_blocks) -> bool:
    """Write the rows file atomically; ``summary_blocks`` yields the summary matrix in row order, in
    blocks. False when it cannot be written (a read-only store, a full disk): it is only a cache."""
    import h5py

    tmp = tmp_name(path)
    try:
        with h5py.File(tmp, "w", libver="latest") as f:
            f.attrs["rows_version"] = ROWS_VERSION
            f.attrs["n_shards"] = len(shards)
            f.create_dataset("shards", data=_blob(shards))
            f.create_dataset("stamps", data=np.asarray(stamps, np.int64).reshape(-1, 2))
            for group, cols, strs in (("tracks", tracks, _TRACK_TEXT), ("failures", fails, FAILURE_STR_FIELDS)):
                g = f.create_group(group)
                g.attrs["n"] = len(cols["_row"])
                for k, v in cols.items():
                    g.create_dataset(k, data=_blob(v) if k in strs else np.asarray(v))
            n = len(tracks["_row"])
            d = None
            for a, block in summary_blocks:
                if d is None:
                    d = f.create_dataset("summary", (n, block.shape[1]), dtype="f4",
                                         chunks=(max(1, min(n, (1 << 20) // max(1, block.shape[1]))), block.shape[1]))
                d[a:a + len(block)] = block
        os.replace(tmp, path)
        return True
    except (OSError, TypeError):  # (no stamps: a shard vanished meanwhile)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return False
