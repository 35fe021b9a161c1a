"""A folder of audio files (optionally GTZAN's ``root/<label>/<file>``) → tracks."""

from __future__ import annotations

import os
from pathlib import PurePath

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import SourceScan, is_audio
from genrekit.pipeline.extraction.tracks import Track


def _text_name(name: str) -> str:
    """``name`` as valid Unicode text: undecodable bytes of a file name become ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


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
        rel_dir = os.path.relpath(dirpath, root_text)  # once per folder, not per file (1M files: minutes)
        prefix, posix_prefix = ("", "") if rel_dir == os.curdir else (
            rel_dir + os.sep, _text_name(PurePath(rel_dir).as_posix()) + "/")
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            rel = prefix + name
            rel_posix = posix_prefix + _text_name(name)
            if is_audio(name):
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
