"""`make_dataset`: write a labelled collection of clips with its manifest, resumably."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from genrekit.errors import ParameterError
from genrekit.pipeline.datasets.synth.clip import (
    SYNTH_VERSION,
    check_duration_sr,
    check_index,
    synth_clip,
)
from genrekit.pipeline.datasets.synth.genres import GENRES, check_genre
from genrekit.pipeline.datasets.synth.tags import clip_tags

FORMATS: dict[str, tuple[str, str]] = {
    "flac": ("FLAC", "PCM_16"),
    "wav": ("WAV", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
"""File formats :func:`make_dataset` can write: extension -> (soundfile format, subtype)."""

MANIFEST_NAME = "manifest.csv"
PARAMS_NAME = ".synth.json"


def _clip_name(genre: str, artist: int, take: int, fmt: str) -> str:
    return f"{genre}/{genre}_a{artist}_{take}.{fmt}"


_CLIP_NAME = re.compile(r"([a-z]+)/\1_a[0-9]+_[0-9]+\.(?:flac|wav|ogg|mp3)")


def _read_manifest_paths(manifest: Path) -> list[tuple[str, str, str]] | None:
    """The ``path,label,artist`` of a manifest's rows (one written before tags existed included)."""
    try:
        with open(manifest, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows or rows[0][:3] != ["path", "label", "artist"]:
        return None
    return [tuple(row[:3]) for row in rows[1:]]  # type: ignore[misc]


def _has_tags(manifest: Path) -> bool:
    with open(manifest, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])[3:4] == ["tags"]


def make_dataset(
    out_dir: str | os.PathLike[str],
    *,
    genres: Sequence[str] = GENRES,
    artists_per_genre: int = 5,
    clips_per_artist: int = 8,
    duration: float = 10.0,
    sr: int = 22050,
    fmt: str = "flac",
) -> Path:
    """Write a labelled synthetic collection and its manifest.

    Files go to ``out_dir/<genre>/<genre>_a<artist>_<take>.<fmt>`` (artists and takes count
    from 0) and the manifest to ``out_dir/manifest.csv`` with the columns ``path`` (relative to
    ``out_dir``, POSIX separators), ``label`` (the genre) and ``artist`` (``<genre>-artist-<n>``).
    The parameters are recorded in ``out_dir/.synth.json``. If that record matches, the
    manifest lists exactly the expected files and they all exist, nothing is written: the call
    is cheap (a missing clip is rendered again, alone). Otherwise every clip is rewritten, and
    clips that an earlier run listed but the new parameters do not are removed. Files are
    written under temporary hidden names and renamed, so readers never see partial files.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write to; created if needed.
    genres : sequence of str, optional
        Genres to include, a subset of :data:`GENRES` (default: all).
    artists_per_genre : int, optional
        Artists per genre (default 5).
    clips_per_artist : int, optional
        Takes per artist (default 8).
    duration : float, optional
        Seconds per clip (default 10).
    sr : int, optional
        Sample rate in Hz (default 22050).
    fmt : {"flac", "wav", "ogg", "mp3"}, optional
        File format (default ``"flac"``; 16-bit PCM for FLAC and WAV, Vorbis for OGG, MPEG
        layer III for MP3).

    Returns
    -------
    pathlib.Path
        The manifest's path.

    Raises
    ------
    ParameterError
        For an unknown or repeated genre, an empty genre list, non-positive counts, a bad
        duration or sample rate, or an unsupported format.
    """
    genres, duration, sr = _check_request(
        genres, artists_per_genre, clips_per_artist, duration, sr, fmt
    )
    root = Path(out_dir)
    manifest = root / MANIFEST_NAME
    record = root / PARAMS_NAME
    params = _params(genres, artists_per_genre, clips_per_artist, duration, sr, fmt)
    clips = [(g, a, t) for g in genres for a in range(artists_per_genre)
             for t in range(clips_per_artist)]
    rows = [(_clip_name(g, a, t, fmt), g, f"{g}-artist-{a}") for g, a, t in clips]

    todo, complete = _pending(root, params, clips, rows)
    if complete and not todo:
        if not _has_tags(manifest):  # written before tags existed: the clips stand, the manifest gains tags
            _write_manifest(manifest, rows)
        return manifest
    for genre in genres:
        (root / genre).mkdir(parents=True, exist_ok=True)
    for genre, artist, take in todo:
        _write_clip(root / _clip_name(genre, artist, take, fmt), genre, artist, take,
                    duration=duration, sr=sr, fmt=fmt)
    if not complete:
        _write_manifest(manifest, rows)
        record.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    return manifest


def _pending(
    root: Path, params: dict, clips: list[tuple[str, int, int]], rows: list[tuple[str, str, str]]
) -> tuple[list[tuple[str, int, int]], bool]:
    """The clips to render, and whether the record and manifest on disk already match.

    If they match, only missing clips are pending. Otherwise the record is removed first (so an
    interrupted run is never mistaken for a finished one), clips an earlier run listed that
    ``rows`` does not are deleted, and every clip is pending.
    """
    record, manifest = root / PARAMS_NAME, root / MANIFEST_NAME
    previous = _read_record(record)
    listed = _read_manifest_paths(manifest) if manifest.is_file() else None
    if previous == params and listed == rows:
        return [clip for clip, row in zip(clips, rows) if not (root / row[0]).is_file()], True
    if record.exists():
        record.unlink()
    if listed and previous is not None:
        _remove_stale(root, listed, rows)
    return clips, False


def _check_request(
    genres: Sequence[str] | str,
    artists_per_genre: object,
    clips_per_artist: object,
    duration: object,
    sr: object,
    fmt: object,
) -> tuple[tuple[str, ...], float, int]:
    """Validate :func:`make_dataset`'s arguments; the genres as a tuple, duration and sr."""
    if isinstance(genres, str):
        genres = (genres,)
    genres = tuple(genres)
    if not genres:
        raise ParameterError(f"genres is empty; pick some of: {', '.join(GENRES)}")
    for genre in genres:
        check_genre(genre)
    if len(set(genres)) != len(genres):
        raise ParameterError(f"genres has repeats: {', '.join(genres)}")
    for name, value in (("artists_per_genre", artists_per_genre),
                        ("clips_per_artist", clips_per_artist)):
        if check_index(name, value) < 1:
            raise ParameterError(f"{name} must be at least 1, got {value!r}")
    duration, sr = check_duration_sr(duration, sr)
    if fmt not in FORMATS:
        raise ParameterError(f"unsupported format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return genres, duration, sr


def _params(
    genres: tuple[str, ...],
    artists_per_genre: int,
    clips_per_artist: int,
    duration: float,
    sr: int,
    fmt: str,
) -> dict:
    """The record of a collection's parameters, as written to ``.synth.json`` (keys in order)."""
    return {
        "version": SYNTH_VERSION,
        "genres": list(genres),
        "artists_per_genre": int(artists_per_genre),
        "clips_per_artist": int(clips_per_artist),
        "duration": duration,
        "sr": sr,
        "fmt": fmt,
    }


def _read_record(record: Path) -> dict | None:
    """The parameters an earlier run recorded, or None if there is no readable record."""
    try:
        return json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove_stale(
    root: Path, listed: list[tuple[str, str, str]], rows: list[tuple[str, str, str]]
) -> None:
    """Delete the clips an earlier manifest listed that the new one does not.

    Only files named like a generated clip are touched.
    """
    wanted = {path for path, _, _ in rows}
    for path, _, _ in listed:
        stale = root / path
        if path not in wanted and _CLIP_NAME.fullmatch(path) and stale.is_file():
            stale.unlink()


def _write_clip(
    target: Path, genre: str, artist: int, take: int, *, duration: float, sr: int, fmt: str
) -> None:
    """Render one clip and write it to ``target`` under a temporary hidden name, then rename."""
    major, subtype = FORMATS[fmt]
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    audio = synth_clip(genre, artist, take, duration=duration, sr=sr)
    sf.write(partial, audio, sr, format=major, subtype=subtype)
    os.replace(partial, target)


def _write_manifest(manifest: Path, rows: list[tuple[str, str, str]]) -> None:
    """Write the ``path,label,artist,tags`` manifest under a temporary hidden name, then rename
    (``tags``: :func:`~genrekit.pipeline.datasets.synth.tags.clip_tags` joined by ``;``)."""
    partial = manifest.with_name(f".{manifest.name}.{os.getpid()}.part")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "label", "artist", "tags"])
        writer.writerows((*row, ";".join(clip_tags(row[1], int(row[2].rsplit("-", 1)[1])))) for row in rows)
    os.replace(partial, manifest)
