"""The Free Music Archive: ``fma_metadata/tracks.csv`` paired with an ``fma_*`` audio folder → tracks."""

from __future__ import annotations

import csv
import os

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import (
    SourceScan,
    blank_to_none,
    large_csv_fields,
    normalise_split,
)
from genrekit.pipeline.extraction.tracks import Track
from genrekit.tags import normalise_tags

FMA_SUBSETS: tuple[str, ...] = ("small", "medium", "large", "full")
"""FMA subsets from smallest to largest; each one contains all the smaller ones."""

_UNMODIFIED = "pass an unmodified FMA tracks.csv"


def fma_audio_path(audio_dir: str | os.PathLike[str], track_id: int) -> str:
    """Where FMA keeps a track's MP3: ``audio_dir/NNN/NNNNNN.mp3``.

    Parameters
    ----------
    audio_dir : str or os.PathLike
        The ``fma_small`` / ``fma_medium`` / ``fma_large`` / ``fma_full`` folder.
    track_id : int
        FMA's track id.

    Returns
    -------
    str
        ``NNNNNN`` is the id zero-padded to six digits and ``NNN`` its first three digits.
    """
    name = f"{track_id:06d}"
    return os.path.join(os.fspath(audio_dir), name[:3], name + ".mp3")


def read_fma(
    metadata_dir: str | os.PathLike[str],
    audio_dir: str | os.PathLike[str],
    subset: str | None = None,
) -> SourceScan:
    """Read FMA's ``tracks.csv`` and pair it with the MP3 files that exist.

    ``tracks.csv`` has three header rows: the column group (``album``, ``artist``, ``set``,
    ``track``), the sub-column (``id``, ``split``, ``subset``, ``genre_top`` ...), then a row
    starting with ``track_id``. Data rows start with the track id.

    Parameters
    ----------
    metadata_dir : str or os.PathLike
        Folder holding ``tracks.csv`` (FMA's ``fma_metadata``).
    audio_dir : str or os.PathLike
        Folder holding the audio (``fma_small`` etc.), laid out as ``NNN/NNNNNN.mp3``.
    subset : {'small', 'medium', 'large', 'full'} or None, optional
        Keep only tracks of this subset; subsets are nested, so ``medium`` keeps the tracks
        whose ``set.subset`` is ``small`` or ``medium``. None (default) keeps every row.

    Returns
    -------
    SourceScan
        ``Track.id`` is the track id without leading zeros; ``label`` is ``track.genre_top``
        (None when blank); ``group`` is ``artist.id``; ``split`` is ``set.split`` (normalised
        with :func:`normalise_split`); ``tags`` are ``track.genres_all`` (every genre of the
        track, its parents included) as genre titles from ``genres.csv`` next to ``tracks.csv``
        (normalised by :func:`genrekit.tags.normalise_tags`; an id that ``genres.csv`` lacks, or
        every id when there is no ``genres.csv``, stays its number; a cell that is not a list
        of ids gives no tags); ``meta`` holds ``subset`` and, when not blank,
        ``title`` (``track.title``) and ``artist`` (``artist.name``). Only tracks whose MP3
        exists are in ``tracks``; the ids of the others are in ``missing``. ``skipped`` is
        empty.

    Raises
    ------
    ParameterError
        If ``subset`` is unknown, ``tracks.csv`` is missing or not in FMA's format, a track id
        is not an integer, or an id repeats.
    """
    wanted = _subset_rank(subset)
    csv_file = os.path.join(os.fspath(metadata_dir), "tracks.csv")
    if not os.path.isfile(csv_file):
        raise ParameterError(
            f"expected {csv_file}; pass FMA's metadata folder (fma_metadata) that holds tracks.csv"
        )
    rows = _FmaRows(csv_file, os.fspath(audio_dir), wanted)
    rows.genre_titles = read_genre_titles(os.path.join(os.fspath(metadata_dir), "genres.csv"))
    with open(csv_file, encoding="utf-8-sig", newline="") as handle, large_csv_fields():
        reader = csv.reader(handle)
        try:
            rows.read(reader)
        except csv.Error as exc:
            raise ParameterError(
                f"{csv_file} is not valid CSV (line {reader.line_num}): {exc}; {_UNMODIFIED}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ParameterError(f"{csv_file} is not UTF-8 text ({exc.reason}); {_UNMODIFIED}") from exc
    rows.tracks.sort(key=lambda t: t.id)
    rows.missing.sort()
    return SourceScan(tracks=rows.tracks, missing=rows.missing)


def read_genre_titles(path: str) -> dict[str, str]:
    """FMA's ``genres.csv`` (``genre_id,#tracks,parent,title,top_level``) → ``{genre id: title}``.

    A missing file gives ``{}``; rows without an integer id or a title are ignored; a file that
    is not CSV text is refused (:class:`ParameterError` naming it)."""
    if not os.path.isfile(path):
        return {}
    titles: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [c.strip().lower() for c in next(reader, [])]
            if "genre_id" not in header or "title" not in header:
                raise ParameterError(f"{path} has no genre_id and title columns; pass FMA's unmodified genres.csv")
            at_id, at_title = header.index("genre_id"), header.index("title")
            for row in reader:
                if len(row) > max(at_id, at_title) and row[at_id].strip().isdigit() and row[at_title].strip():
                    titles[str(int(row[at_id]))] = row[at_title].strip()
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path} is not valid CSV text ({exc}); pass FMA's unmodified genres.csv") from exc
    return titles


def genre_tags(cell: str | None, titles: dict[str, str]) -> tuple[str, ...]:
    """A ``genres_all`` cell (``"[21, 76]"``) → the normalised set of those genres' titles.

    Anything but a bracketed list of integers gives ``()``."""
    text = (cell or "").strip()
    if not (text.startswith("[") and text.endswith("]")):
        return ()
    ids = [p.strip() for p in text[1:-1].split(",") if p.strip()]
    if not all(p.isdigit() for p in ids):
        return ()
    return normalise_tags(titles.get(str(int(p)), str(int(p))) for p in ids)


def _subset_rank(subset: str | None) -> int | None:
    """The position of ``subset`` in :data:`FMA_SUBSETS` (None: every row is kept)."""
    if subset is None:
        return None
    key = subset.strip().lower()
    if key not in FMA_SUBSETS:
        raise ParameterError(f"unknown FMA subset {subset!r}; use one of {', '.join(FMA_SUBSETS)}")
    return FMA_SUBSETS.index(key)


def _fma_columns(top: list[str], sub: list[str]) -> dict[str, int]:
    """``group.sub`` column name → position, from FMA's first two header rows (the first wins)."""
    columns: dict[str, int] = {}
    group = ""
    for i in range(1, len(top)):
        group = top[i].strip() or group
        name = sub[i].strip() if i < len(sub) else ""
        columns.setdefault(f"{group}.{name}", i)
    return columns


class _FmaRows:
    """Reads ``tracks.csv``'s rows into tracks (audio present) and missing ids."""

    def __init__(self, csv_file: str, audio_root: str, wanted: int | None):
        self.csv_file, self.audio_root, self.wanted = csv_file, audio_root, wanted
        self.tracks: list[Track] = []
        self.missing: list[str] = []
        self.seen: set[str] = set()
        self.columns: dict[str, int] = {}
        self.genre_titles: dict[str, str] = {}

    def read(self, reader):
        top, sub, third = next(reader, None), next(reader, None), next(reader, None)
        if top is None or sub is None or third is None or third[0].strip() != "track_id":
            raise ParameterError(
                f"{self.csv_file} is not FMA's tracks.csv (expected three header rows, the "
                "third starting with 'track_id'); pass the fma_metadata folder"
            )
        self.columns = _fma_columns(top, sub)
        for row in reader:
            if row and any(c.strip() for c in row):
                self.add(row, reader.line_num)

    def cell(self, row: list[str], column: str) -> str | None:
        """The stripped cell of ``row`` under FMA column ``group.sub``; None when absent or blank."""
        index = self.columns.get(column)
        if index is None or index >= len(row):
            return None
        return blank_to_none(row[index])

    def add(self, row: list[str], line: int):
        """One data row: a track when its subset is wanted and its MP3 exists, else a missing id."""
        try:
            number = int(row[0])
        except ValueError:
            raise ParameterError(
                f"{self.csv_file} line {line}: track id {row[0]!r} is not an integer; {_UNMODIFIED}"
            ) from None
        track_id = str(number)
        if track_id in self.seen:
            raise ParameterError(f"{self.csv_file} lists track {track_id} twice (line {line}); {_UNMODIFIED}")
        self.seen.add(track_id)

        row_subset = (self.cell(row, "set.subset") or "").lower()
        if self.wanted is not None and (
            row_subset not in FMA_SUBSETS or FMA_SUBSETS.index(row_subset) > self.wanted
        ):
            return
        path = fma_audio_path(self.audio_root, number)
        if not os.path.isfile(path):
            self.missing.append(track_id)
            return
        try:
            split = normalise_split(self.cell(row, "set.split"))
        except ParameterError as exc:
            raise ParameterError(f"{self.csv_file} line {line}: {exc}") from None
        meta: dict[str, str] = {"subset": row_subset}
        for key, column in (("title", "track.title"), ("artist", "artist.name")):
            value = self.cell(row, column)
            if value is not None:
                meta[key] = value
        self.tracks.append(Track(id=track_id, path=path, label=self.cell(row, "track.genre_top"),
                                 group=self.cell(row, "artist.id"), split=split, meta=meta,
                                 tags=genre_tags(self.cell(row, "track.genres_all"), self.genre_titles)))
