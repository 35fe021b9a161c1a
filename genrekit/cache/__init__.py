"""WHERE features live: HDF5 shards plus an index, keyed by content hash × config hash.

Knows no librosa and no models: it stores the named arrays it is handed and reads them back.

    layout   the format: file names, schema version, shard fields, TrackRow / FailureRow
    shards   ShardWriter: one shard written as NAME.h5.tmp, renamed to NAME.h5 when complete
    index    the index: load_index reconciles it with the shards on disk, write_index / append_index
    lock     StoreLock: the one writer of a store
    store    FeatureStore: the reader
    verify   `genrekit verify [--repair]`;  describe: `genrekit info`

The names below are imported on first use (PEP 562), so ``import genrekit.cache.layout`` costs
no numpy or h5py: the command line reads the defaults it shows in ``--help`` from here.
"""

import importlib

_WHERE = {
    "load_index": "index", "write_index": "index",
    "SCHEMA_VERSION": "layout", "FailureRow": "layout", "TrackRow": "layout",
    "StoreLock": "lock", "ShardWriter": "shards", "FeatureStore": "store",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
