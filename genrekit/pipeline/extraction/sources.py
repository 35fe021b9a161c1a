"""Readers that turn a collection on disk into a sorted list of :class:`Track` records.

Three layouts are understood:

* a plain folder of audio files, optionally in GTZAN layout (``root/<label>/<file>``):
  :func:`scan_folder`;
* a CSV manifest with a ``path`` column and optional ``label``, ``group``/``artist``/``album``,
  ``split`` and ``id`` columns: :func:`read_manifest`;
* the Free Music Archive (FMA) metadata file ``tracks.csv`` next to an ``fma_*`` audio folder:
  :func:`read_fma`.

:func:`load_source` picks one of them from the command-line arguments. No reader decodes audio:
they only look at names and metadata, so they are fast on large collections.
"""

from __future__ import annotations

import csv
import os
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.tracks import Track

AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".mp3",
    ".aif",
    ".aiff",
    ".aifc",
    ".au",
    ".opus",
)
"""File extensions (lower case) that the readers treat as audio."""

FMA_SUBSETS: tuple[str, ...] = ("small", "medium", "large", "full")
"""FMA subsets from smallest to largest; each one contains all the smaller ones."""

_SPLIT_ALIASES: dict[str, str] = {
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "training": "train",
}

SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""The split values a source may give (after :func:`normalise_split`'s aliases)."""

_GROUP_COLUMNS: tuple[str, ...] = ("group", "artist", "album")

# FMA's tracks.csv holds long free-text fields (album information, artist biographies).
_CSV_FIELD_LIMIT = 16 * 1024 * 1024


@dataclass
class SourceScan:
    """What a reader found.

    Attributes
    ----------
    tracks : list of Track
        The audio tracks, sorted by ``id`` (plain string order).
    skipped : list of str
        Files (folder scan) or manifest rows that are not audio and were ignored, sorted. Folder
        scans give paths relative to the root; manifests give the ``path`` value as written
        (POSIX separators). Hidden files and folders are never listed.
    missing : list of str
        Ids of tracks that the metadata lists but whose audio file does not exist (manifest and
        FMA readers), sorted. A manifest's are in ``tracks`` too, so that extraction records
        them as failures like any other unusable file; FMA's are not (its ``tracks.csv`` lists
        every track of every subset), and the caller decides whether that is an error.
    """

    tracks: list[Track]
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def normalise_split(value: str | None) -> str | None:
    """Normalise a split name.

    Parameters
    ----------
    value : str or None
        The split as written in the source.

    Returns
    -------
    str or None
        None for a missing or blank value; otherwise ``"train"``, ``"validation"`` or
        ``"test"``: ``val`` and ``valid`` mean validation, ``training`` means train (case and
        surrounding spaces ignored).

    Raises
    ------
    ParameterError
        For any other value (a typo would otherwise be stored and silently left out of
        ``--split predefined``); the message lists the accepted values.
    """
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    split = _SPLIT_ALIASES.get(text, text)
    if split not in SPLITS:
        raise ParameterError(
            f"unknown split {value.strip()!r}; use {', '.join(SPLITS)} "
            f"(or {', '.join(a for a in _SPLIT_ALIASES if a not in SPLITS)}), or leave it blank"
        )
    return split


def _is_audio(name: str) -> bool:
    """Whether a file name has one of :data:`AUDIO_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _text_name(name: str) -> str:
    """``name`` as valid Unicode text: undecodable bytes of a file name become ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _blank_to_none(value: str | None) -> str | None:
    """Strip a cell; return None when nothing is left."""
    if value is None:
        return None
    text = value.strip()
    return text or None


def _manifest_is_a_folder(path: str) -> str:
    return (f"manifest {path} is a folder; pass the CSV file that lists the audio "
            "(columns path,label[,artist|group][,split])")


def _extensions_text() -> str:
    """The audio extensions as one comma-separated string, for messages."""
    return ", ".join(AUDIO_EXTENSIONS)


@contextmanager
def _large_csv_fields() -> Iterator[None]:
    """Raise the csv module's field size limit for the duration of a read, then restore it."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, _CSV_FIELD_LIMIT))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def scan_folder(root: str | os.PathLike[str], labelled: bool | None = None) -> SourceScan:
    """Find the audio files under a folder.

    The walk is recursive, does not follow symbolic links to folders, and visits folders and
    files in sorted order. Hidden files and folders (name starting with ``.``) are ignored
    silently; other files that are not audio are listed in ``skipped``.

    Parameters
    ----------
    root : str or os.PathLike
        The collection's folder.
    labelled : bool or None, optional
        True: the label of a track is the first folder of its relative path (GTZAN layout
        ``root/<label>/<file>``); files directly in ``root`` get no label. False: no labels.
        None (default): labelled when every audio file sits exactly one folder below ``root``
        and there are at least two such folders; unlabelled otherwise.

    Returns
    -------
    SourceScan
        ``Track.id`` is the POSIX path relative to ``root`` (e.g. ``blues/blues.00000.mp3``;
        bytes of a name that are not UTF-8 appear as ``\\xNN``);
        ``Track.path`` is ``os.path.join(root, <relative path>)``. ``group`` and ``split`` are
        None. ``missing`` is empty.

    Raises
    ------
    ParameterError
        If ``root`` is not an existing folder, or ``labelled`` is not True, False or None.
    """
    if labelled not in (True, False, None):
        raise ParameterError(f"labelled must be True, False or None, got {labelled!r}")
    root_text = os.fspath(root)
    if not os.path.isdir(root_text):
        raise ParameterError(
            f"no such folder: {root_text}; pass the folder that holds the audio files"
        )

    audio: list[tuple[str, str]] = []  # (relative native path, relative POSIX path)
    skipped: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root_text, followlinks=False):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), root_text)
            rel_posix = _text_name(PurePath(rel).as_posix())
            if _is_audio(name):
                audio.append((rel, rel_posix))
            else:
                skipped.append(rel_posix)

    parts = [rel_posix.split("/") for _, rel_posix in audio]
    if labelled is None:
        folders = {p[0] for p in parts}
        labelled = bool(parts) and all(len(p) == 2 for p in parts) and len(folders) >= 2

    tracks = [
        Track(
            id=rel_posix,
            path=os.path.join(root_text, rel),
            label=p[0] if labelled and len(p) >= 2 else None,
        )
        for (rel, rel_posix), p in zip(audio, parts)
    ]
    tracks.sort(key=lambda t: t.id)
    skipped.sort()
    return SourceScan(tracks=tracks, skipped=skipped)


def _normalise_manifest_path(value: str) -> str:
    """A manifest ``path`` cell with POSIX separators and no ``.`` or ``x/..`` steps."""
    return posixpath.normpath(value.strip().replace("\\", "/"))


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
        raise ParameterError(_manifest_is_a_folder(manifest))
    try:
        handle = open(manifest, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ParameterError(
            f"cannot read manifest {manifest}: {exc.strerror or exc}; pass an existing CSV file"
        ) from exc

    with handle, _large_csv_fields():
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
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
            path_col = lower.index("path")
            id_col = lower.index("id") if "id" in lower else None
            label_col = lower.index("label") if "label" in lower else None
            split_col = lower.index("split") if "split" in lower else None
            group_col = next((lower.index(c) for c in _GROUP_COLUMNS if c in lower), None)
            used = {path_col, id_col, label_col, split_col, group_col}
            meta_cols = [i for i in range(len(names)) if i not in used]

            tracks: list[Track] = []
            skipped: list[str] = []
            missing: list[str] = []
            seen: set[str] = set()
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if len(row) > len(names):
                    raise ParameterError(
                        f"manifest {manifest} line {line} has {len(row)} cells but the header "
                        f"has {len(names)}; quote cells that contain commas"
                    )
                row = row + [""] * (len(names) - len(row))
                written = row[path_col].strip()
                if not written:
                    raise ParameterError(
                        f"manifest {manifest} line {line} has a blank 'path'; "
                        "fill it in or delete the row"
                    )
                rel = _normalise_manifest_path(written)
                track_id = (_blank_to_none(row[id_col]) if id_col is not None else None) or rel
                if track_id in seen:
                    raise ParameterError(
                        f"manifest {manifest} has duplicate id {track_id!r} (line {line}); "
                        "give every row its own id"
                    )
                seen.add(track_id)
                if not _is_audio(rel):
                    skipped.append(rel)
                    continue
                path = rel if os.path.isabs(rel) else os.path.join(base_dir, rel)
                if not os.path.exists(path):
                    missing.append(track_id)  # still a track: extraction records it as a failure
                try:
                    split = normalise_split(row[split_col]) if split_col is not None else None
                except ParameterError as exc:
                    raise ParameterError(f"manifest {manifest} line {line}: {exc}") from None
                tracks.append(
                    Track(
                        id=track_id,
                        path=path,
                        label=_blank_to_none(row[label_col]) if label_col is not None else None,
                        group=_blank_to_none(row[group_col]) if group_col is not None else None,
                        split=split,
                        meta={names[i]: row[i].strip() for i in meta_cols},
                    )
                )
        except csv.Error as exc:
            raise ParameterError(
                f"manifest {manifest} is not valid CSV (line {reader.line_num}): {exc}; "
                "fix the quoting on that line"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ParameterError(
                f"manifest {manifest} is not UTF-8 text ({exc.reason}); save it as UTF-8"
            ) from exc

    tracks.sort(key=lambda t: t.id)
    return SourceScan(tracks=tracks, skipped=sorted(skipped), missing=sorted(missing))


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


def _fma_cell(row: list[str], columns: dict[str, int], column: str) -> str | None:
    """The stripped cell of ``row`` under FMA column ``group.sub``; None when absent or blank."""
    index = columns.get(column)
    if index is None or index >= len(row):
        return None
    return _blank_to_none(row[index])


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
        with :func:`normalise_split`); ``meta`` holds ``subset`` and, when not blank,
        ``title`` (``track.title``) and ``artist`` (``artist.name``). Only tracks whose MP3
        exists are in ``tracks``; the ids of the others are in ``missing``. ``skipped`` is
        empty.

    Raises
    ------
    ParameterError
        If ``subset`` is unknown, ``tracks.csv`` is missing or not in FMA's format, a track id
        is not an integer, or an id repeats.
    """
    wanted: int | None = None
    if subset is not None:
        key = subset.strip().lower()
        if key not in FMA_SUBSETS:
            raise ParameterError(
                f"unknown FMA subset {subset!r}; use one of {', '.join(FMA_SUBSETS)}"
            )
        wanted = FMA_SUBSETS.index(key)

    csv_file = os.path.join(os.fspath(metadata_dir), "tracks.csv")
    if not os.path.isfile(csv_file):
        raise ParameterError(
            f"expected {csv_file}; pass FMA's metadata folder (fma_metadata) that holds tracks.csv"
        )
    audio_root = os.fspath(audio_dir)

    tracks: list[Track] = []
    missing: list[str] = []
    seen: set[str] = set()
    with open(csv_file, encoding="utf-8-sig", newline="") as handle, _large_csv_fields():
        reader = csv.reader(handle)
        try:
            top = next(reader, None)
            sub = next(reader, None)
            third = next(reader, None)
            if top is None or sub is None or third is None or third[0].strip() != "track_id":
                raise ParameterError(
                    f"{csv_file} is not FMA's tracks.csv (expected three header rows, the "
                    "third starting with 'track_id'); pass the fma_metadata folder"
                )
            columns: dict[str, int] = {}
            group = ""
            for i in range(1, len(top)):
                group = top[i].strip() or group
                name = sub[i].strip() if i < len(sub) else ""
                columns.setdefault(f"{group}.{name}", i)

            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                line = reader.line_num
                try:
                    number = int(row[0])
                except ValueError:
                    raise ParameterError(
                        f"{csv_file} line {line}: track id {row[0]!r} is not an integer; "
                        "pass an unmodified FMA tracks.csv"
                    ) from None
                track_id = str(number)
                if track_id in seen:
                    raise ParameterError(
                        f"{csv_file} lists track {track_id} twice (line {line}); "
                        "pass an unmodified FMA tracks.csv"
                    )
                seen.add(track_id)

                row_subset = (_fma_cell(row, columns, "set.subset") or "").lower()
                if wanted is not None and (
                    row_subset not in FMA_SUBSETS or FMA_SUBSETS.index(row_subset) > wanted
                ):
                    continue

                path = fma_audio_path(audio_root, number)
                if not os.path.isfile(path):
                    missing.append(track_id)
                    continue
                try:
                    split = normalise_split(_fma_cell(row, columns, "set.split"))
                except ParameterError as exc:
                    raise ParameterError(f"{csv_file} line {line}: {exc}") from None
                meta: dict[str, str] = {"subset": row_subset}
                title = _fma_cell(row, columns, "track.title")
                if title is not None:
                    meta["title"] = title
                artist_name = _fma_cell(row, columns, "artist.name")
                if artist_name is not None:
                    meta["artist"] = artist_name
                tracks.append(
                    Track(
                        id=track_id,
                        path=path,
                        label=_fma_cell(row, columns, "track.genre_top"),
                        group=_fma_cell(row, columns, "artist.id"),
                        split=split,
                        meta=meta,
                    )
                )
        except csv.Error as exc:
            raise ParameterError(
                f"{csv_file} is not valid CSV (line {reader.line_num}): {exc}; "
                "pass an unmodified FMA tracks.csv"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ParameterError(
                f"{csv_file} is not UTF-8 text ({exc.reason}); pass an unmodified FMA tracks.csv"
            ) from exc

    tracks.sort(key=lambda t: t.id)
    missing.sort()
    return SourceScan(tracks=tracks, missing=missing)


def load_source(
    audio_dir: str | os.PathLike[str] | None,
    manifest: str | os.PathLike[str] | None = None,
    fma_metadata: str | os.PathLike[str] | None = None,
    subset: str | None = None,
) -> SourceScan:
    """Read a collection the way the command line describes it.

    * neither ``manifest`` nor ``fma_metadata``: :func:`scan_folder` with label auto-detection;
    * ``manifest``: :func:`read_manifest`, relative paths resolved against the manifest's folder;
    * ``fma_metadata``: :func:`read_fma` with ``subset``.

    Parameters
    ----------
    audio_dir : str or os.PathLike or None
        Folder holding the audio (None with a manifest: its paths are relative to the CSV).
    manifest : str or os.PathLike or None, optional
        A CSV manifest (see :func:`read_manifest`).
    fma_metadata : str or os.PathLike or None, optional
        FMA's metadata folder, holding ``tracks.csv``.
    subset : str or None, optional
        FMA subset to keep; only with ``fma_metadata``.

    Returns
    -------
    SourceScan
        At least one track.

    Raises
    ------
    ParameterError
        If ``audio_dir`` is not a folder, both ``manifest`` and ``fma_metadata`` are given,
        ``subset`` is given without ``fma_metadata``, the manifest or ``tracks.csv`` is
        missing (or the manifest is a folder), or no audio file is found (with a manifest:
        none of the files it lists exists); plus the errors of the reader used.
    """
    if audio_dir is None and manifest is None:
        raise ParameterError("no audio folder given; pass the folder that holds the audio files")
    root = None if audio_dir is None else os.fspath(audio_dir)
    if root is not None and not os.path.isdir(root):
        raise ParameterError(
            f"no such folder: {root}; pass the folder that holds the audio files"
        )
    if manifest is not None and fma_metadata is not None:
        raise ParameterError(
            f"both a manifest ({os.fspath(manifest)}) and FMA metadata "
            f"({os.fspath(fma_metadata)}) were given; pass only one"
        )
    if subset is not None and fma_metadata is None:
        raise ParameterError(
            f"subset {subset!r} applies only to FMA; pass the FMA metadata folder or drop it"
        )

    if manifest is not None:
        manifest_path = os.fspath(manifest)
        if os.path.isdir(manifest_path):
            raise ParameterError(_manifest_is_a_folder(manifest_path))
        if not os.path.isfile(manifest_path):
            raise ParameterError(
                f"no such manifest: {manifest_path}; pass an existing CSV file"
            )
        scan = read_manifest(manifest_path)
        if len(scan.missing) == len(scan.tracks):  # none exists: the paths are wrong, not the files
            raise ParameterError(
                f"no audio files under {root or os.path.dirname(os.path.abspath(manifest_path))} for manifest {manifest_path} "
                f"({len(scan.missing)} listed audio files not found, looked for "
                f"{_extensions_text()}); check that paths are relative to the manifest's folder "
                f"{os.path.dirname(os.path.abspath(manifest_path))}"
            )
        return scan

    if root is None:
        raise ParameterError("no audio folder given; pass the folder that holds the audio files")
    if fma_metadata is not None:
        scan = read_fma(fma_metadata, root, subset=subset)
        if not scan.tracks:
            example = fma_audio_path(root, 2)
            raise ParameterError(
                f"no audio files under {root} ({len(scan.missing)} FMA tracks listed, none "
                f"found; expected files like {example}); pass the fma_* audio folder"
            )
        return scan

    scan = scan_folder(root)
    if not scan.tracks:
        raise ParameterError(
            f"no audio files under {root} (looked for {_extensions_text()}); "
            "pass the folder that holds the audio files"
        )
    return scan
