"""WHERE features live: HDF5 shards plus an index, keyed by content hash × config hash.

Knows no librosa and no models: it stores the named arrays it is handed and reads them back.
"""

from genrekit.cache.store import (
    SCHEMA_VERSION,
    FailureRow,
    FeatureStore,
    ShardWriter,
    StoreLock,
    TrackRow,
    load_index,
    write_index,
)

__all__ = ["SCHEMA_VERSION", "FailureRow", "FeatureStore", "ShardWriter", "StoreLock", "TrackRow",
           "load_index", "write_index"]
