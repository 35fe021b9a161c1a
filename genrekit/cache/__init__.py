"""WHERE features live: HDF5 shards plus an index, keyed by content hash × config hash.

Knows no librosa and no models: it stores the named arrays it is handed and reads them back.

    layout   the format: file names, schema version, shard fields, TrackRow / FailureRow
    shards   ShardWriter: one shard written as NAME.h5.tmp, renamed to NAME.h5 when complete
    index    index.json: load_index reconciles it with the shards on disk, write_index replaces it
    lock     StoreLock: the one writer of a store
    store    FeatureStore: the reader
    verify   `genrekit verify [--repair]`;  describe: `genrekit info`
"""

from genrekit.cache.index import load_index, write_index
from genrekit.cache.layout import SCHEMA_VERSION, FailureRow, TrackRow
from genrekit.cache.lock import StoreLock
from genrekit.cache.shards import ShardWriter
from genrekit.cache.store import FeatureStore

__all__ = ["SCHEMA_VERSION", "FailureRow", "FeatureStore", "ShardWriter", "StoreLock", "TrackRow",
           "load_index", "write_index"]
