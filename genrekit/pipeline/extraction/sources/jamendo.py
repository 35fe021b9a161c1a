"""MTG-Jamendo: its split files (``autotagging*-{train,validation,test}.tsv``) with the audio → tracks.

A split file is tab-separated text; its first line is the header
``TRACK_ID  ARTIST_ID  ALBUM_ID  PATH  DURATION  TAGS`` and every other line one track, its tags
in the sixth column and every column after it (``track_0000214  artist_000014  album_000031
14/214.mp3  124.6  genre---punkrock  instrument---guitar``). The audio of a track is
``AUDIO_DIR/<PATH>``.
"""

from __future__ import annotations

import glob
import os

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import SourceScan
from genrekit.pipeline.extraction.tracks import Track
from genrekit.tags import normalise_tags

#: The header of a split file, as MTG-Jamendo writes it.
JAMENDO_HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS")
#: A split file's part (its name's ending) → genrekit's split name.
JAMENDO_PARTS = {"train": "train", "validation": "validation", "test": "test"}
#: Between a tag's category and its name (``genre---rock``).
CATEGORY_SEPARATOR = "---"


def jamendo_split_files(split: str | os.PathLike[str]) -> list[tuple[str, str | None]]:
    """The split files ``split`` names, each with its part (``train``/``validation``/``test``).

    ``split`` is one ``.tsv`` file (its part read from a name ending in ``-train``,
    ``-validation`` or ``-test``, else None); or a prefix such as
    ``data/splits/split-0/autotagging_genre`` whose ``PREFIX-{train,validation,test}.tsv`` exist;
    or a folder holding the three files of exactly one task.

    Raises
    ------
    ParameterError
        When nothing matches, or a folder holds the files of several tasks (the message lists them).
    """
    text = os.fspath(split)
    if os.path.isfile(text):
        stem = os.path.splitext(os.path.basename(text))[0]
        part = next((p for p in JAMENDO_PARTS if stem.endswith("-" + p)), None)
        return [(text, JAMENDO_PARTS.get(part) if part else None)]
    if os.path.isdir(text):
        prefixes = sorted({f[: -len(f"-{p}.tsv")] for p in JAMENDO_PARTS
                           for f in glob.glob(os.path.join(glob.escape(text), f"*-{p}.tsv"))})
        if len(prefixes) != 1:
            names = ", ".join(os.path.basename(p) for p in prefixes) or "none"
            raise ParameterError(
                f"{text} holds the split files of {len(prefixes)} Jamendo tasks ({names}); pass one "
                f"prefix, e.g. {os.path.join(text, 'autotagging_genre')}")
        text = prefixes[0]
    found = [(f"{text}-{p}.tsv", name) for p, name in JAMENDO_PARTS.items() if os.path.isfile(f"{text}-{p}.tsv")]
    if not found:
        raise ParameterError(
            f"no Jamendo split file {text} nor {text}-{{train,validation,test}}.tsv; pass a split file, "
            "its prefix (e.g. data/splits/split-0/autotagging_genre) or its folder")
    return found


def read_jamendo(
    split: str | os.PathLike[str],
    audio_dir: str | os.PathLike[str],
    categories: tuple[str, ...] | None = None,
) -> SourceScan:
    """Read MTG-Jamendo split files and pair them with the audio that exists.

    Parameters
    ----------
    split : str or os.PathLike
        A split file, the prefix of a task's three files, or their folder
        (:func:`jamendo_split_files`).
    audio_dir : str or os.PathLike
        The folder the ``PATH`` column is relative to.
    categories : tuple of str, optional
        Keep only tags of these categories (``genre``, ``instrument``, ``mood/theme``); None keeps
        every tag. Tags keep their ``category---`` prefix either way.

    Returns
    -------
    SourceScan
        ``Track.id`` is ``TRACK_ID``, ``group`` is ``ARTIST_ID``, ``split`` the file's part,
        ``tags`` the normalised tags (:func:`genrekit.tags.normalise_tags`), ``label`` None,
        ``meta`` holds ``album`` (``ALBUM_ID``) and ``duration`` (as written). Ids whose audio
        does not exist are in ``missing``; lines that are malformed (fewer than five columns, a
        blank id or path) or repeat an id are in ``skipped`` as ``FILE line N: why``.

    Raises
    ------
    ParameterError
        When no split file is found, one cannot be read, is not UTF-8 text or does not start
        with Jamendo's header.
    """
    wanted = None if categories is None else {c.strip().lower() for c in categories}
    scan = SourceScan(tracks=[])
    seen: set[str] = set()
    for path, part in jamendo_split_files(split):
        for line_no, cells in _lines(path):
            why = _malformed(cells, seen)
            if why:
                scan.skipped.append(f"{os.path.basename(path)} line {line_no}: {why}")
                continue
            track_id, artist, album, rel, duration = (c.strip() for c in cells[:5])
            seen.add(track_id)
            audio = os.path.join(os.fspath(audio_dir), rel)
            if not os.path.isfile(audio):
                scan.missing.append(track_id)
                continue
            tags = [t for t in cells[5:] if wanted is None or t.strip().lower().split(CATEGORY_SEPARATOR)[0] in wanted]
            meta = {k: v for k, v in (("album", album), ("duration", duration)) if v}
            scan.tracks.append(Track(id=track_id, path=audio, group=artist or None, split=part, meta=meta,
                                     tags=normalise_tags(tags)))
    scan.tracks.sort(key=lambda t: t.id)
    scan.missing.sort()
    return scan


def _lines(path: str):
    """``(line number, cells)`` of a split file's data lines, its header checked first."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ParameterError(f"cannot read Jamendo split file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ParameterError(f"Jamendo split file {path} is not UTF-8 text ({exc.reason}); "
                             "pass an unmodified split file") from exc
    lines = text.splitlines()
    header = tuple(c.strip().upper() for c in lines[0].split("\t")) if lines else ()
    if header[:5] != JAMENDO_HEADER[:5]:
        raise ParameterError(f"{path} does not start with Jamendo's header ({' '.join(JAMENDO_HEADER)}, "
                             "tab-separated); pass an unmodified split file")
    for i, line in enumerate(lines[1:], start=2):
        if line.strip():
            yield i, line.split("\t")


def _malformed(cells: list[str], seen: set[str]) -> str | None:
    """Why a data line cannot be a track (None when it can)."""
    if len(cells) < 5:
        return f"{len(cells)} tab-separated columns, expected at least 5"
    if not cells[0].strip() or not cells[3].strip():
        return "blank TRACK_ID or PATH"
    if cells[0].strip() in seen:
        return f"track {cells[0].strip()} listed again"
    return None
