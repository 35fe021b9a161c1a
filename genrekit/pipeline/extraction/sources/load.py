"""The command line's choice of reader: a folder, a manifest or FMA, and "no audio found" refused."""

from __future__ import annotations

import os

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import SourceScan, extensions_text, manifest_is_a_folder
from genrekit.pipeline.extraction.sources.fma import fma_audio_path, read_fma
from genrekit.pipeline.extraction.sources.folder import scan_folder
from genrekit.pipeline.extraction.sources.found import use_found_manifest
from genrekit.pipeline.extraction.sources.manifest import read_manifest

_NO_FOLDER = "no audio folder given; pass the folder that holds the audio files"


def load_source(
    audio_dir: str | os.PathLike[str] | None,
    manifest: str | os.PathLike[str] | None = None,
    fma_metadata: str | os.PathLike[str] | None = None,
    subset: str | None = None,
    find_manifest: bool = True,
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
    find_manifest : bool, optional
        With a folder alone: use a CSV manifest lying in it that lists every audio file found,
        or name one in ``notes`` (:func:`~genrekit.pipeline.extraction.sources.found.use_found_manifest`).

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
        return _load_manifest(os.fspath(manifest), root)
    if root is None:
        raise ParameterError(_NO_FOLDER)
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
