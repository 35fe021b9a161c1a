"""Readers that turn a collection on disk into a sorted list of :class:`Track` records.

Three layouts are understood:

* a plain folder of audio files, optionally in GTZAN layout (``root/<label>/<file>``):
  :func:`scan_folder` (``folder.py``);
* a CSV manifest with a ``path`` column and optional ``label``, ``group``/``artist``/``album``,
  ``split`` and ``id`` columns: :func:`read_manifest` (``manifest.py``);
* the Free Music Archive (FMA) metadata file ``tracks.csv`` next to an ``fma_*`` audio folder:
  :func:`read_fma` (``fma.py``);
* MTG-Jamendo's split files (``autotagging*-{train,validation,test}.tsv``) with its audio folder:
  :func:`read_jamendo` (``jamendo.py``; tags, artists, the file's part as split).

:func:`load_source` (``load.py``) picks one of them from the command-line arguments; what they
share (:class:`SourceScan`, the audio extensions, :func:`normalise_split`) is in ``common.py``.
No reader decodes audio: they only look at names and metadata, so they are fast on large
collections.
"""

from genrekit.pipeline.extraction.sources.common import (
    AUDIO_EXTENSIONS,
    SourceScan,
    is_audio,
    normalise_split,
)
from genrekit.pipeline.extraction.sources.fma import FMA_SUBSETS, fma_audio_path, read_fma
from genrekit.pipeline.extraction.sources.folder import scan_folder
from genrekit.pipeline.extraction.sources.jamendo import read_jamendo
from genrekit.pipeline.extraction.sources.load import load_source
from genrekit.pipeline.extraction.sources.manifest import read_manifest
from genrekit.roles import SPLITS

__all__ = [
    "AUDIO_EXTENSIONS",
    "FMA_SUBSETS",
    "SPLITS",
    "SourceScan",
    "fma_audio_path",
    "is_audio",
    "load_source",
    "normalise_split",
    "read_fma",
    "read_jamendo",
    "read_manifest",
    "scan_folder",
]
