"""``genrekit export``: a store's features as a table other tools read — CSV, Parquet, ARFF, NPZ.

Every column is named and every row carries its track's metadata:

``--level summary`` (one row per track)
    ``id, path, label, group, split`` then the summary columns in the store's order
    (``mfcc_03_mean``, ``chroma_07_std``, ``tempo``, …). ARFF puts ``label`` last, as Weka's class.
    A store with tags adds ``tags`` (the set, ``;``-joined) after ``split``, or with ``--tags
    multi-hot`` one 0/1 ``tag_<name>`` column per tag (:mod:`~genrekit.pipeline.tables.tag_columns`).
``--level frames`` (one row per frame, long form; CSV and Parquet only)
    ``id, label, group, split, frame, time`` then one column per feature dimension
    (``mfcc_00`` … ``mfcc_19``, ``chroma_00`` …; a one-dimensional feature keeps its name,
    ``centroid``). ``frame`` counts from 0 within the track; ``time`` is in seconds from the start
    of the file: ``offset + frame * hop_length / sr`` (the frame's centre).

Formats:

``csv``
    A header row, then one line per row; features with 9 significant digits (a float32 reads back
    bit-identical); missing metadata is an empty cell.
``parquet`` (pyarrow)
    ``string`` metadata (null where unknown), ``int32`` frame, ``float64`` time, ``float32``
    features, written in row groups by a ``ParquetWriter``; the file's key-value metadata
    ``genrekit`` holds the feature config as JSON.
``arff``
    ``@attribute`` ``id``, ``path``, ``group``, ``split`` as ``string``, the features ``numeric``, and
    ``label`` last as a nominal ``{…}`` of the labels present; ``?`` where unknown.
``npz``
    ``X`` (float32, tracks × columns), ``y`` (labels; ``""`` where unknown), ``names``, ``ids``,
    ``groups``, ``splits``, ``paths`` — fixed-width unicode arrays, so ``np.load`` needs no pickle.

Rows come shard by shard (within a shard in id order), and each shard is read, written and let go
before the next: memory stays bounded by one shard (plus one Parquet row group) whatever the size
of the store. The file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrekit import __version__
from genrekit.errors import GenrekitError, ParameterError, StoreError
from genrekit.files import no_space
from genrekit.pipeline.tables.tag_columns import TagColumns

FORMATS = ("csv", "parquet", "arff", "npz")
LEVELS = ("summary", "frames")
#: Formats that can hold frame-level (long-form) tables.
FRAME_FORMATS = ("csv", "parquet")
SUMMARY_META = ("id", "path", "label", "group", "split")
FRAME_META = ("id", "label", "group", "split")
EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".arff": "arff", ".npz": "npz"}
#: Target size of one Parquet row group (bytes of feature data buffered before a write).
ROW_GROUP_BYTES = 64 << 20
_NUM = "%.9g"  # 9 significant digits: every float32 round-trips exactly


@dataclass
class ExportReport:
    """What :func:`export_table` wrote."""

    path: Path
    format: str
    level: str
    n_tracks: int
    n_rows: int
    columns: list

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def line(self) -> str:
        rows = "" if self.level == "summary" else f", {self.n_rows} frames"
        return (f"exported {self.n_tracks} tracks{rows} × {self.n_columns} columns "
                f"({self.level}, {self.format}) to {self.path}")


def infer_format(out) -> str | None:
    """The format an output path's extension names (``.csv`` → ``csv``), or None."""
    return EXTENSIONS.get(Path(out).suffix.lower())


def _frame_export_features(fs, features) -> list[str]:
    """The frame features a frame export writes: those asked for (known, frame level, one frame
    grid), else the STFT grid's (the store's only grid when it has one other)."""
    groups = getattr(fs, "frame_groups", {})
    feats = list(features) if features else (
        [f for f in fs.frame_features if groups.get(f, "frames") == "frames"] or list(fs.frame_features))
    bad = [f for f in feats if f not in fs.frame_features]
    if bad:
        track_level = [f for f in bad if f in fs.config.track_features]
        why = (f"{bad[0]} is a track-level feature (one value per track, in the summary export)"
               if track_level else f"the store has no frame feature {bad[0]!r}")
        raise ParameterError(f"{why}; frame features of this store: {', '.join(fs.frame_features)}")
    if len({groups.get(f, "frames") for f in feats}) > 1:
        raise ParameterError(f"frame features {', '.join(feats)} are on different frame grids; "
                             "export one grid at a time (e.g. --features musicnn,musicnn_tags)")
    return feats


def frame_column_names(store, features) -> list[str]:
    """Column names of a frame-level export: ``mfcc_00`` …, ``centroid`` for one dimension, or the
    rows' own names (``musicnn_tags_rock``) — the summary columns' names without the statistic."""
    from genrekit.features.catalog import FEATURES

    return [r for f in features for r in FEATURES[f].row_labels(store.config)]


# ============================================================================ helpers
def _csv_cells(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _num_lines(X: np.ndarray, missing: str = "") -> list[str]:
    """Rows of ``X`` as comma-joined numbers; NaN as ``missing``."""
    if X.shape[1] == 0:
        return [""] * X.shape[0]
    fmt = ",".join([_NUM] * X.shape[1])
    if not np.isnan(X).any():
        return [fmt % tuple(r) for r in X.tolist()]
    return [",".join(missing if v != v else _NUM % v for v in r) for r in X.tolist()]


_ARFF_SPECIAL = set(" ,{}'\"%?\t\n\r\\")
_ARFF_ESC = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def arff_quote(text) -> str:
    """An ARFF value or name: as is when plain, else single-quoted with backslash escapes; None → ``?``."""
    if text is None:
        return "?"
    s = str(text)
    if s and not (set(s) & _ARFF_SPECIAL):
        return s
    return "'" + "".join(_ARFF_ESC.get(c, c) for c in s) + "'"


class _Tmp:
    """A temporary file next to ``out``, renamed to ``out`` on success and removed on failure.

    Entering creates it, so an ``out`` that cannot be written is refused (one line) before any
    row is read."""

    def __init__(self, out: Path):
        self.out = out
        self.tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")

    def __enter__(self):
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            open(self.tmp, "wb").close()
        except OSError as e:
            with contextlib.suppress(OSError):
                self.tmp.unlink(missing_ok=True)
            if no_space(e):
                raise  # reported by export_table
            why = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                   errno.EPERM: "permission denied"}.get(e.errno, e.strerror or str(e))
            if e.errno in (errno.EEXIST, errno.ENOTDIR):
                file = next((p for p in reversed(self.out.parents) if p.exists() and not p.is_dir()), None)
                why = f"{file} is a file, not a folder" if file else why
            raise ParameterError(f"cannot write --out {self.out}: {why}; give a path you can write") from e
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                os.replace(self.tmp, self.out)
            except BaseException:
                self.tmp.unlink(missing_ok=True)
                raise
        else:
            self.tmp.unlink(missing_ok=True)


def _iter_summary(fs, rows, features):
    """``(rows, X)`` blocks in track-id order: the summary columns of ``features``, bounded memory."""
    yield from fs.iter_summary(features, ids=[r.id for r in rows])


# ============================================================================ writers: summary
def _summary_csv(tmp, fs, rows, features, names, bar, tagcols):
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(_csv_cells([*SUMMARY_META, *tagcols.names, *names]) + "\n")
        for rs, X in _iter_summary(fs, rows, features):
            lines = _num_lines(X)
            f.write("".join(_csv_cells([("" if getattr(r, k) is None else getattr(r, k)) for k in SUMMARY_META]
                                       + tagcols.values(r)) + "," + line + "\n" for r, line in zip(rs, lines)))
            bar.update(len(rs))


def _arff_header(fs, names, labels, level_note, tagcols=None):
    cfg = fs.config
    L = [f"% genrekit {__version__} export of store {fs.path.name}: {level_note}",
         f"% feature config {fs.config_hash}: sr={cfg.sr}, n_fft={cfg.n_fft}, hop_length={cfg.hop_length}",
         "% string attributes id, path, group, split: remove them before classifying in Weka",
         "% (Filter > unsupervised > attribute > RemoveType -T string); the class is the last attribute, label",
         f"@relation {arff_quote('genrekit-' + fs.path.name)}", ""]
    for k in ("id", "path", "group", "split"):
        L.append(f"@attribute {k} string")
    for n in (tagcols.names if tagcols is not None else []):
        L.append(f"@attribute {arff_quote(n)} {'numeric' if tagcols.numeric else 'string'}")
    for n in names:
        L.append(f"@attribute {arff_quote(n)} numeric")
    if labels:
        L.append("@attribute label {" + ",".join(arff_quote(v) for v in labels) + "}")
    else:  # a nominal attribute needs values: no label anywhere → text
        L.append("@attribute label string")
    L += ["", "@data"]
    return "\n".join(L) + "\n"


def _summary_arff(tmp, fs, rows, features, names, bar, tagcols):
    labels = sorted({r.label for r in rows if r.label is not None})
    with open(tmp, "w", newline="\n", encoding="utf-8") as f:
        f.write(_arff_header(fs, names, labels, "summary features, one row per track", tagcols))
        for rs, X in _iter_summary(fs, rows, features):
            out = []
            for r, nums in zip(rs, _num_lines(X, missing="?")):
                tag_cells = [str(v) if tagcols.numeric else arff_quote(v) for v in tagcols.values(r)]
                head = ",".join([*(arff_quote(v) for v in (r.id, r.path, r.group, r.split)), *tag_cells])
                out.append(f"{head},{nums},{arff_quote(r.label)}\n")
            f.write("".join(out))
            bar.update(len(rs))


def _npy_header(fp, dtype, shape):
    np.lib.format.write_array_header_1_0(
        fp, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)})


def _str_array(values) -> np.ndarray:
    vals = ["" if v is None else str(v) for v in values]
    return np.array(vals, dtype=str) if vals else np.zeros(0, dtype="<U1")


def _summary_npz(tmp, fs, rows, features, names, bar, tagcols):
    ordered = list(rows)
    d = len(names)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as fp:
            _npy_header(fp, "<f4", (len(ordered), d))
            for rs, X in _iter_summary(fs, rows, features):
                fp.write(np.ascontiguousarray(X, dtype="<f4").tobytes())
                bar.update(len(rs))
        for key, arr in (("y", _str_array(r.label for r in ordered)), ("names", _str_array(names)),
                         ("ids", _str_array(r.id for r in ordered)),
                         ("groups", _str_array(r.group for r in ordered)),
                         ("splits", _str_array(r.split for r in ordered)),
                         ("paths", _str_array(r.path for r in ordered)),
                         *((("tags", _str_array(tagcols.values(r)[0] for r in ordered)),) if tagcols.mode == "column"
                           else (("tag_names", _str_array(tagcols.tags)),
                                 ("tag_matrix", np.array([tagcols.values(r) for r in ordered], np.uint8)
                                  .reshape(len(ordered), len(tagcols.tags)))) if tagcols.numeric else ())):
            with zf.open(f"{key}.npy", "w", force_zip64=True) as fp:
                np.lib.format.write_array(fp, arr, allow_pickle=False)


def _parquet_meta(fs, level, names):
    cfg = fs.config
    return {b"genrekit": json.dumps({
        "genrekit_version": __version__, "level": level, "store": fs.path.name, "config_hash": fs.config_hash,
        "feature_config": json.loads(fs.config_json), "sr": cfg.sr, "hop_length": cfg.hop_length,
        "offset": cfg.offset, "n_feature_columns": len(names),
        "metadata_columns": list(SUMMARY_META) if level == "summary" else [*FRAME_META, "frame", "time"],
    }).encode()}


class _ParquetSink:
    """Buffers column batches and writes them as row groups of about ``rows_per_group`` rows."""

    def __init__(self, tmp, schema, rows_per_group):
        from genrekit.pipeline.tables.readers import require_pyarrow

        self.pa, pq = require_pyarrow()
        self.schema = schema
        self.rows_per_group = max(1, int(rows_per_group))
        self.writer = pq.ParquetWriter(tmp, schema, compression="snappy")
        self.batches: list = []
        self.n = 0

    def add(self, table):
        self.batches.append(table)
        self.n += table.num_rows
        if self.n >= self.rows_per_group:
            self.flush()

    def flush(self):
        if self.batches:
            t = self.pa.concat_tables(self.batches)
            self.writer.write_table(t, row_group_size=self.rows_per_group)
            self.batches, self.n = [], 0

    def close(self):
        self.flush()
        self.writer.close()


def _rows_per_group(n_float_cols, given):
    if given:
        return given
    return max(1024, ROW_GROUP_BYTES // max(1, 4 * n_float_cols))


def _summary_parquet(tmp, fs, rows, features, names, bar, tagcols, row_group_rows=None):
    from genrekit.pipeline.tables.readers import require_pyarrow

    pa, _ = require_pyarrow()
    fields = [pa.field("id", pa.string(), nullable=False)] + [pa.field(k, pa.string()) for k in SUMMARY_META[1:]]
    fields += [pa.field(n, pa.int8() if tagcols.numeric else pa.string()) for n in tagcols.names]
    fields += [pa.field(n, pa.float32()) for n in names]
    schema = pa.schema(fields, metadata=_parquet_meta(fs, "summary", names))
    sink = _ParquetSink(tmp, schema, _rows_per_group(len(names), row_group_rows))
    try:
        for rs, X in _iter_summary(fs, rows, features):
            cols = [pa.array([getattr(r, k) for r in rs], pa.string()) for k in SUMMARY_META]
            tag_rows = [tagcols.values(r) for r in rs]
            cols += [pa.array([v[j] for v in tag_rows], fields[len(SUMMARY_META) + j].type)
                     for j in range(len(tagcols.names))]
            cols += [pa.array(X[:, j]) for j in range(X.shape[1])]
            sink.add(pa.Table.from_arrays(cols, schema=schema))
            bar.update(len(rs))
    finally:
        sink.close()


# ============================================================================ writers: frames
def _iter_frames(fs, rows, features):
    """``(row, frames matrix)`` per track in the order of ``rows`` (one track in memory)."""
    for r, frames in fs.iter_frames(features, ids=[r.id for r in rows]):
        yield r, np.ascontiguousarray(np.concatenate([frames[f] for f in features], axis=1), dtype=np.float32)


def _times(fs, n, features=()):
    """Seconds of each frame: the STFT's hop, or the frame rate of a feature on a grid of its own."""
    from genrekit.features.catalog import FEATURES

    cfg = fs.config
    first = next(iter(features), None)
    rate = FEATURES[first].frames_per_second(cfg) if first in FEATURES else cfg.sr / cfg.hop_length
    return cfg.offset + np.arange(n) / rate


def _frames_csv(tmp, fs, rows, features, names, bar):
    n_rows = 0
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(_csv_cells([*FRAME_META, "frame", "time", *names]) + "\n")
        for r, M in _iter_frames(fs, rows, features):
            prefix = _csv_cells([("" if v is None else v) for v in (r.id, r.label, r.group, r.split)])
            t = _times(fs, len(M), features).tolist()
            f.write("".join(f"{prefix},{i},{t[i]!r},{line}\n" for i, line in enumerate(_num_lines(M))))
            n_rows += len(M)
            bar.update(1)
    return n_rows


def _frames_parquet(tmp, fs, rows, features, names, bar, row_group_rows=None):
    from genrekit.pipeline.tables.readers import require_pyarrow

    pa, _ = require_pyarrow()
    fields = [pa.field("id", pa.string(), nullable=False)] + [pa.field(k, pa.string()) for k in FRAME_META[1:]]
    fields += [pa.field("frame", pa.int32(), nullable=False), pa.field("time", pa.float64(), nullable=False)]
    fields += [pa.field(n, pa.float32()) for n in names]
    schema = pa.schema(fields, metadata=_parquet_meta(fs, "frames", names))
    sink = _ParquetSink(tmp, schema, _rows_per_group(len(names) + 3, row_group_rows))
    n_rows = 0
    try:
        for r, M in _iter_frames(fs, rows, features):
            n = len(M)
            cols = [pa.array([getattr(r, k)] * n, pa.string()) for k in FRAME_META]
            cols += [pa.array(np.arange(n, dtype=np.int32)), pa.array(_times(fs, n, features))]
            cols += [pa.array(M[:, j]) for j in range(M.shape[1])]
            sink.add(pa.Table.from_arrays(cols, schema=schema))
            n_rows += n
            bar.update(1)
    finally:
        sink.close()
    return n_rows


# ============================================================================ the function
def export_table(store, fmt: str | None = None, out=None, *, level: str = "summary", features=None,
                 labels_only: bool = False, progress: bool = True, row_group_rows: int | None = None,
                 tags: str | None = None) -> ExportReport:
    """Write a store's features as a named-column table.

    Parameters
    ----------
    store : path-like or FeatureStore
    fmt : {"csv", "parquet", "arff", "npz"}, optional
        Default: from ``out``'s extension.
    out : path-like
        The file to write (parent folders are created; an existing file is replaced when the new
        one is complete). When the disk fills up, the partial file is removed and an existing
        ``out`` is left as it was.
    level : {"summary", "frames"}
        One row per track (summary vectors), or one row per frame (frame features, long form;
        CSV and Parquet only).
    features : list of str, optional
        Keep the columns of these features (summary: frame or track features; frames: frame
        features). Default: all.
    labels_only : bool
        Only tracks with a label.
    progress : bool
        A tqdm bar over tracks on stderr.
    row_group_rows : int, optional
        Rows per Parquet row group (default: about 64 MB of features each).
    tags : {"none", "column", "multi-hot"}, optional
        Summary level: the tracks' tag sets as one ``tags`` column (tags joined by ``;``), as one
        0/1 ``tag_<name>`` column per tag, or not at all; columns after ``split``, before the
        features (NPZ: a ``tags`` array, or ``tag_names`` and ``tag_matrix``). Default: ``column``
        when any exported track has tags, else ``none``.

    Returns
    -------
    ExportReport

    Raises
    ------
    ParameterError
        Unknown format or level, frames in a format that cannot hold them, unknown features,
        nothing to export, pyarrow missing for Parquet.
    StoreError
        A missing or unusable store.
    GenrekitError
        The disk filled up while writing (nothing partial is left).
    """
    from genrekit.progress import progress_bar

    from genrekit.cache.store import FeatureStore

    if out is None:
        raise ParameterError("--out is required: the file to write (e.g. features.parquet)")
    out = Path(out)
    if fmt is None:
        fmt = infer_format(out)
        if fmt is None:
            raise ParameterError(f"cannot tell the format from {out.name!r}; pass --format "
                                 f"{'|'.join(FORMATS)} or name the file .csv, .parquet, .arff or .npz")
    fmt = str(fmt).lower()
    if fmt not in FORMATS:
        raise ParameterError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if level not in LEVELS:
        raise ParameterError(f"unknown --level {level!r}; choose summary or frames")
    if level == "frames" and fmt not in FRAME_FORMATS:
        raise ParameterError(f"--format {fmt} holds one row per track and cannot hold --level frames (one row per "
                             f"frame); use --format parquet (best for large stores) or --format csv")
    if level == "frames" and tags not in (None, "none"):
        raise ParameterError("--tags applies to --level summary (one row per track); drop it or export the summary")
    if fmt == "parquet":
        from genrekit.pipeline.tables.readers import require_pyarrow

        require_pyarrow()
    if out.exists() and out.is_dir():
        raise ParameterError(f"--out {out} is a folder; give a file name, e.g. {out / ('features.' + fmt)}")
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]

    fs = store if isinstance(store, FeatureStore) else FeatureStore(store)
    rows = [r for r in fs.tracks if r.label is not None] if labels_only else list(fs.tracks)
    if not rows:
        raise StoreError(f"store {fs.path} has no {'labelled ' if labels_only else ''}tracks to export")

    bar = progress_bar(total=len(rows), desc=f"export {fmt}", unit="track", disable=not progress)
    try:
        with _Tmp(out) as tmp:
            if level == "summary":
                names = fs.summary_columns(features)
                if not names:
                    raise ParameterError(f"no summary columns for features {features}")
                tagcols = TagColumns(rows, tags)
                write = {"csv": _summary_csv, "arff": _summary_arff, "npz": _summary_npz}.get(fmt)
                if write is None:
                    _summary_parquet(tmp, fs, rows, features, names, bar, tagcols, row_group_rows)
                else:
                    write(tmp, fs, rows, features, names, bar, tagcols)
                n_rows = len(rows)
                meta = list(SUMMARY_META) if fmt in ("csv", "parquet") else (
                    ["id", "path", "group", "split", "label"] if fmt == "arff" else [])
                extra = tagcols.names if fmt != "npz" else []
                columns = (meta[:4] + extra + names + ["label"]) if fmt == "arff" else meta + extra + names
            else:
                feats = _frame_export_features(fs, features)
                names = frame_column_names(fs, feats)
                if fmt == "csv":
                    n_rows = _frames_csv(tmp, fs, rows, feats, names, bar)
                else:
                    n_rows = _frames_parquet(tmp, fs, rows, feats, names, bar, row_group_rows)
                columns = [*FRAME_META, "frame", "time", *names]
    except (OSError, RuntimeError) as e:  # pyarrow and h5py report a failed write as either
        if not no_space(e):
            raise
        kept = f"; {out} is as it was" if out.exists() else ""
        raise GenrekitError(f"disk full while writing {out}: no partial file kept{kept}; free space and "
                            f"run again") from e
    finally:
        bar.close()
        fs_close = getattr(fs, "close", None)
        if fs_close is not None and fs is not store:
            fs_close()
    return ExportReport(path=out, format=fmt, level=level, n_tracks=len(rows), n_rows=n_rows, columns=columns)
