"""A CSV manifest (``path,label[,artist|group][,split][,tags][,...]``) → tracks."""

from __future__ import annotations

import csv
import os
import posixpath
from dataclasses import dataclass

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import (
    SourceScan,
    blank_to_none,
    is_audio,
    large_csv_fields,
    manifest_is_a_folder,
    normalise_split,
)
from genrekit.pipeline.extraction.tracks import Track
from genrekit.roles import ALBUM_COLUMN, GROUP_COLUMNS
from genrekit.tags import parse_tags


def read_manifest(
    csv_path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None
) -> SourceScan:
    """Read a CSV manifest of audio files.

    The file is UTF-8 (a byte-order mark is tolerated) with a header row. Column names are
    matched after stripping spaces, ignoring case.

    * ``path`` (required): the audio file, relative to ``base`` or absolute.
    * ``id`` (optional): the track id; when absent or blank, the ``path`` value as written is
      the id, normalised to POSIX (``/`` separators, ``.`` and ``x/..`` steps removed).
    * ``label`` (optional): the genre.
    * ``group``, else ``artist``, else ``album`` (the first present): what must not straddle
      train and test.
    * ``tags`` (optional): the track's tags for multi-label tagging, separated by ``;`` (spaces
      around them ignored), normalised by :func:`genrekit.tags.parse_tags` (lower case,
      duplicates dropped, sorted); a blank cell is no tags. ``label`` stays the single-label
      target: a track may have both.
    * ``split`` (optional): normalised with :func:`normalise_split`; any other value than
      train, validation or test (and their aliases) is refused.
    * any other column goes into ``Track.meta`` (stripped strings, keyed by the header as
      written, stripped).

    A column name may appear once (ignoring case): a second ``label`` column is refused rather
    than one of them silently winning.

    Blank ``label``, group and ``split`` cells become None.

    Parameters
    ----------
    csv_path : str or os.PathLike
        The manifest.
    base : str or os.PathLike or None, optional
        Folder that relative ``path`` values are relative to. Default: the manifest's folder.

    Returns
    -------
    SourceScan
        Every audio row as a track, sorted by id, with an absolute ``path`` (relative values are
        joined to ``base`` made absolute, so a later change of working directory is harmless);
        rows whose ``path`` is not audio in ``skipped``; ids of audio rows whose file does not
        exist in ``missing`` (they stay in ``tracks``: extraction records them as failures).

    Raises
    ------
    ParameterError
        If the file cannot be read or is a folder, is empty, has no ``path`` column or a column
        name twice, has a row with a blank ``path``, more cells than the header or an unknown
        ``split``, or two rows share an id.
    """
    manifest = os.fspath(csv_path)
    if base is None:
        base_dir = os.path.dirname(os.path.abspath(manifest))
    else:
        base_dir = os.path.abspath(os.fspath(base))

    if os.path.isdir(manifest):
        raise ParameterError(manifest_is_a_folder(manifest))
    try:
        handle = open(manifest, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ParameterError(
            f"cannot read manifest {manifest}: {exc.strerror or exc}; pass an existing CSV file"
        ) from exc

    with handle, large_csv_fields():
        reader = csv.reader(handle)
        try:
            return _ManifestRows(manifest, base_dir).read(reader)
        except csv.Error as exc:
            raise ParameterError(
                f"manifest {manifest} is not valid CSV (line {reader.line_num}): {exc}; "
                "fix the quoting on that line"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ParameterError(
                f"manifest {manifest} is not UTF-8 text ({exc.reason}); save it as UTF-8"
            ) from exc


def _normalise_manifest_path(value: str) -> str:
    """A manifest ``path`` cell with POSIX separators and no ``.`` or ``x/..`` steps."""
    return posixpath.normpath(value.strip().replace("\\", "/"))


@dataclass(frozen=True)
class _Columns:
    """Where each role is in a manifest's rows (column positions; None: absent)."""

    names: list[str]
    path: int
    id: int | None
    label: int | None
    split: int | None
    group: int | None
    meta: list[int]
    tags: int | None = None

    @classmethod
    def of(cls, header: list[str] | None, manifest: str) -> _Columns:
        """The columns of a header row; refuses an empty header, no ``path``, a name twice."""
        if header is None or not any(cell.strip() for cell in header):
            raise ParameterError(
                f"manifest {manifest} is empty; it needs a header row with a 'path' column"
            )
        names = [cell.strip() for cell in header]
        lower = [name.lower() for name in names]
        if "path" not in lower:
            raise ParameterError(
                f"manifest {manifest} has no 'path' column (columns: {', '.join(names)}); "
                "add a 'path' column with each audio file's path"
            )
        first: dict[str, int] = {}
        for i, name in enumerate(lower):
            if name and name in first:
                raise ParameterError(
                    f"manifest {manifest} has two {names[i]!r} columns (columns {first[name] + 1} "
                    f"and {i + 1}); keep one, or rename the other"
                )
            first.setdefault(name, i)

        def at(name: str) -> int | None:
            return lower.index(name) if name in lower else None

        group = next((lower.index(c) for c in (*GROUP_COLUMNS, ALBUM_COLUMN) if c in lower), None)
        used = {lower.index("path"), at("id"), at("label"), at("split"), group, at("tags")}
        return cls(names=names, path=lower.index("path"), id=at("id"), label=at("label"),
                   split=at("split"), group=group, meta=[i for i in range(len(names)) if i not in used],
                   tags=at("tags"))

    def cell(self, row: list[str], column: int | None) -> str | None:
        """A role's stripped cell (None when the column is absent or the cell blank)."""
        return blank_to_none(row[column]) if column is not None else None


class _ManifestRows:
    """Reads a manifest's rows into a :class:`SourceScan`, one row at a time."""

    def __init__(self, manifest: str, base_dir: str):
        self.manifest, self.base_dir = manifest, base_dir
        self.scan = SourceScan(tracks=[])
        self.seen: set[str] = set()

    def read(self, reader) -> SourceScan:
        cols = _Columns.of(next(reader, None), self.manifest)
        for row in reader:
            if any(cell.strip() for cell in row):
                self.add(row, reader.line_num, cols)
        scan = self.scan
        scan.tracks.sort(key=lambda t: t.id)
        scan.skipped.sort()
        scan.missing.sort()
        return scan

    def add(self, row: list[str], line: int, cols: _Columns):
        """One non-blank row: a track (missing file or not), or a skipped non-audio path."""
        manifest, names = self.manifest, cols.names
        if len(row) > len(names):
            raise ParameterError(
                f"manifest {manifest} line {line} has {len(row)} cells but the header "
                f"has {len(names)}; quote cells that contain commas"
            )
        row = row + [""] * (len(names) - len(row))
        written = row[cols.path].strip()
        if not written:
            raise ParameterError(
                f"manifest {manifest} line {line} has a blank 'path'; "
                "fill it in or delete the row"
            )
        rel = _normalise_manifest_path(written)
        track_id = cols.cell(row, cols.id) or rel
        if track_id in self.seen:
            raise ParameterError(
                f"manifest {manifest} has duplicate id {track_id!r} (line {line}); "
                "give every row its own id"
            )
        self.seen.add(track_id)
        if not is_audio(rel):
            self.scan.skipped.append(rel)
            return
        path = rel if os.path.isabs(rel) else os.path.join(self.base_dir, rel)
        if not os.path.exists(path):
            self.scan.missing.append(track_id)  # still a track: extraction records it as a failure
        try:
            split = normalise_split(row[cols.split]) if cols.split is not None else None
        except ParameterError as exc:
            raise ParameterError(f"manifest {manifest} line {line}: {exc}") from None
        self.scan.tracks.append(Track(
            id=track_id, path=path, label=cols.cell(row, cols.label), group=cols.cell(row, cols.group),
            split=split, meta={names[i]: row[i].strip() for i in cols.meta},
            tags=parse_tags(row[cols.tags]) if cols.tags is not None else (),
        ))
