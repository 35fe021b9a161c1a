"""The store's format: file names, schema version, the fields of a shard, and the rows they make.

Layout (schema version 1) — readable with plain h5py, see README "Store format"::

    STORE/
      index.json            shard name -> config hash, ids, content hashes, checksum (a cache of
                            what the shards say; rebuilt from the shards whenever it is stale)
      index.journal         (large stores) shards added / dropped since index.json was written,
                            one JSON line each, replayed over it (genrekit.cache.index)
      shard-<ns>-<rand>.h5  one writer each; written as .h5.tmp and renamed when complete
      metadata.json         newer metadata of stored tracks (label, group, split, meta, …) read
                            from a later manifest; applied over the shards' (cache.metadata)
      .lock                 held by the one process that writes (extract)

Each shard::

    attrs: schema_version, genrekit_version, config_json, config_hash, created_unix
    tracks/<field>          (n,) one dataset per field: id, path, label, group, split,
                            content_hash, meta_json (UTF-8 strings; "" = none), duration (f8, s),
                            sample_rate (i8, the file's own), file_size (i8), file_mtime_ns (i8),
                            n_frames (i8); tags (str: the track's tag set joined by ";",
                            "" = none; shards written before tags existed lack it: no tags)
    frames/offsets          (n+1,) int64: track i's frames are rows offsets[i]:offsets[i+1]
    frames_<clock>/...      the same (offsets and features) for frame features on a grid of their
                            own (frames_patches/: musicnn, musicnn_tags, one row per 3-s patch)
    frames/<feature>        (total_frames, dim) float32, chunked, LZF+shuffle (h5py built-in)
    track_features/<feat>   (n, dim) float32 (e.g. tempo)
    summary/matrix          (n, n_columns) float32;  summary/names (n_columns,) str
    failures/<field>        (m,) id, path, content_hash, error_type, message (str);
                            file_size, file_mtime_ns (i8)

Every temporary file in a store ends in :data:`TMP_SUFFIX` (a shard in progress
``NAME.h5.tmp``, an index being written ``index.json.<pid>.tmp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from genrekit.files import TMP_SUFFIX

#: Where a store lives when no --store is given (relative to the working folder).
DEFAULT_STORE = "genrekit_store"
SCHEMA_VERSION = 1
INDEX_NAME = "index.json"
#: Shards added or dropped since index.json was written, one JSON line each (large stores only).
JOURNAL_NAME = "index.journal"
METADATA_NAME = "metadata.json"
LOCK_NAME = ".lock"
SHARD_PREFIX = "shard-"
SHARD_SUFFIX = ".h5"

TRACK_STR_FIELDS = ("id", "path", "label", "group", "split", "content_hash", "meta_json")
TRACK_INT_FIELDS = ("sample_rate", "file_size", "file_mtime_ns", "n_frames")
#: Track fields a shard may lack (written before the field existed): read as "" when absent.
TRACK_OPTIONAL_STR_FIELDS = ("tags",)
FAILURE_STR_FIELDS = ("id", "path", "content_hash", "error_type", "message")
FAILURE_INT_FIELDS = ("file_size", "file_mtime_ns")

__all__ = ["SCHEMA_VERSION", "INDEX_NAME", "JOURNAL_NAME", "METADATA_NAME", "LOCK_NAME", "SHARD_PREFIX",
           "SHARD_SUFFIX", "TMP_SUFFIX", "TRACK_STR_FIELDS", "TRACK_OPTIONAL_STR_FIELDS", "TRACK_INT_FIELDS",
           "FAILURE_STR_FIELDS", "FAILURE_INT_FIELDS",
           "TrackRow", "FailureRow"]


@dataclass(frozen=True)
class TrackRow:
    """One extracted track as the store holds it."""

    id: str
    path: str
    label: str | None
    group: str | None
    split: str | None
    content_hash: str
    duration: float
    sample_rate: int
    file_size: int
    file_mtime_ns: int
    n_frames: int
    meta: dict = field(default_factory=dict, compare=False, hash=False)
    shard: str = ""
    row: int = -1
    tags: tuple[str, ...] = ()  # normalised tag set (genrekit.tags); () = none


@dataclass(frozen=True)
class FailureRow:
    """A file that could not be extracted, and why."""

    id: str
    path: str
    content_hash: str
    error_type: str
    message: str
    file_size: int = -1
    file_mtime_ns: int = -1
    shard: str = ""
