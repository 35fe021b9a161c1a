"""The command line's choice of reader: a folder, a manifest or FMA, and "no audio found" refused."""

from __future__ import annotations

import os

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import SourceScan, extensions_text, manifest_is_a_folder
from genrekit.pipeline.extraction.sources.fma import fma_audio_path, read_fma
from genrekit.pipeline.extraction.sources.folder import scan_folder
from genrekit.pipeline.extraction.sources.found import use_found_manifest
from genrekit.pipeline.extraction.sources.jamendo import read_jamendo
from genrekit.pipeline.extraction.sources.manifest import read_manifest

_NO_FOLDER = "no audio folder given; pass the folder that holds the audio files"


def load_source(
    audio_dir: str | os.PathLike[str] | None,
    manifest: str | os.PathLike[str] | None = None,
    fma_metadata: str | os.PathLike[str] | None = None,
    subset: str | None = None,
    find_manifest: bool = True,
    jamendo: str | os.PathLike[str] | None = None,
    jamendo_categories: tuple[str, ...] | None = None,
) -> SourceScan:
    """Read a collection the way the command line describes it.

    * neither ``manifest`` nor ``fma_metadata``: :func:`scan_folder` with label auto-detection;
    * ``manifest``: :func:`read_manifest`, relative paths resolved against the manifest's folder;
    * ``fma_metadata``: :func:`read_fma` with ``subset``;
    * ``jamendo``: :func:`read_jamendo` (MTG-Jamendo split files, audio under ``audio_dir``),
      keeping the tags of ``jamendo_categories`` (None: every tag).

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
    find_manifest : bool, optional
        With a folder alone: use a CSV manifest lying in it that lists every audio file found,
        or name one in ``notes`` (:func:`~genrekit.pipeline.extraction.sources.found.use_found_manifest`).
    jamendo : str or os.PathLike or None, optional
        MTG-Jamendo split file, prefix or folder (see :func:`jamendo_split_files`).
    jamendo_categories : tuple of str or None, optional
        Tag categories to keep from Jamendo (``genre``, ``instrument``, ``mood/theme``).

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
        raise ParameterError(_NO_FOLDER)
    root = None if audio_dir is None else os.fspath(audio_dir)
    if root is not None and not os.path.isdir(root):
        raise ParameterError(
            f"no such folder: {root}; pass the folder that holds the audio files"
        )
    given = [name for name, v in (("a manifest", manifest), ("FMA metadata", fma_metadata),
                                  ("Jamendo split files", jamendo)) if v is not None]
    if len(given) > 1:
        raise ParameterError(f"both {given[0]} and {given[1]} were given; pass only one")
    if subset is not None and fma_metadata is None:
        raise ParameterError(
            f"subset {subset!r} applies only to FMA; pass the FMA metadata folder or drop it"
        )

    if manifest is not None:
        return _load_manifest(os.fspath(manifest), root)
    if root is None:
        raise ParameterError(_NO_FOLDER)
    if jamendo is not None:
        scan = read_jamendo(jamendo, root, jamendo_categories)
        if not scan.tracks:
            raise ParameterError(
                f"no audio files under {root} for Jamendo split files {os.fspath(jamendo)} ({len(scan.missing)} "
                f"listed, none found; {len(scan.skipped)} lines skipped); pass the folder the PATH column is "
                "relative to")
        return scan
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
            f"no audio files under {root} (looked for {extensions_text()}); "
            "pass the folder that holds the audio files"
        )
    return use_found_manifest(root, scan) if find_manifest else scan


def _load_manifest(manifest_path: str, root: str | None) -> SourceScan:
    """:func:`read_manifest`, refusing a manifest none of whose files exists."""
    if os.path.isdir(manifest_path):
        raise ParameterError(manifest_is_a_folder(manifest_path))
    if not os.path.isfile(manifest_path):
        raise ParameterError(
            f"no such manifest: {manifest_path}; pass an existing CSV file"
        )
    scan = read_manifest(manifest_path)
    if len(scan.missing) == len(scan.tracks):  # none exists: the paths are wrong, not the files
        folder = os.path.dirname(os.path.abspath(manifest_path))
        raise ParameterError(
            f"no audio files under {root or folder} for manifest {manifest_path} "
            f"({len(scan.missing)} listed audio files not found, looked for "
            f"{extensions_text()}); check that paths are relative to the manifest's folder "
            f"{folder}"
        )
    return scan
