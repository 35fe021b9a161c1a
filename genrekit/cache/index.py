"""The store's index: ``index.json``, a cache of what the shards hold (format:
:mod:`genrekit.cache.layout`).

:func:`load_index` reconciles it with the shard files on disk (a run killed between a shard's
rename and an index write leaves it stale); :func:`write_index` replaces it atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from genrekit.cache.layout import INDEX_NAME, SCHEMA_VERSION, SHARD_PREFIX, SHARD_SUFFIX
from genrekit.errors import StoreError
from genrekit.files import atomic_write_text


def _read_shard_entry(path: Path) -> tuple[dict, str]:
    """Index entry and config JSON of a finished shard, read from the shard itself."""
    import h5py

    with h5py.File(path, "r") as f:
        sv = int(f.attrs["schema_version"])
        if sv != SCHEMA_VERSION:
            raise StoreError(
                f"{path.name} has store schema version {sv}; this genrekit reads version "
                f"{SCHEMA_VERSION}. Extract into a new store (--store NEW_PATH)."
            )
        ids = [s.decode() if isinstance(s, bytes) else s for s in f["tracks/id"][:]]
        hashes = [s.decode() if isinstance(s, bytes) else s for s in f["tracks/content_hash"][:]]
        fids = [s.decode() if isinstance(s, bytes) else s for s in f["failures/id"][:]]
        entry = {
            "config_hash": str(f.attrs["config_hash"]),
            "ids": ids,
            "content_hashes": hashes,
            "failure_ids": fids,
        }
        config_json = str(f.attrs["config_json"])
    entry["size"] = path.stat().st_size
    entry["sha256"] = None  # unknown: the shard was indexed after the fact
    return entry, config_json


def load_index(store_dir: Path, *, repair_missing: bool = True) -> tuple[dict, bool]:
    """The store's index, reconciled with the shard files on disk.

    Returns ``(index, changed)``; ``changed`` is True when shards on disk were added to or
    removed from what ``index.json`` said (a run killed between a rename and an index write).
    """
    store_dir = Path(store_dir)
    p = store_dir / INDEX_NAME
    index = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": {}, "current_config": None}
    if p.exists():
        try:
            loaded = json.loads(p.read_text())
            if not isinstance(loaded, dict) or not isinstance(loaded.get("shards"), dict):
                raise ValueError("no 'shards' table")  # as verify sees it: index_corrupt
            index = {**index, **loaded}
        except (OSError, ValueError) as e:
            index["_corrupt"] = str(e)
    sv = index.get("schema_version", SCHEMA_VERSION)
    if sv != SCHEMA_VERSION:
        raise StoreError(
            f"store {store_dir} has schema version {sv}; this genrekit reads version "
            f"{SCHEMA_VERSION}. Extract into a new store with --store NEW_PATH."
        )
    changed = "_corrupt" in index
    index.pop("_corrupt", None)
    on_disk = sorted(p.name for p in store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))
    known = index["shards"]
    for name in list(known):
        if name not in on_disk:
            del known[name]
            changed = True
    for name in on_disk:
        if name not in known:
            try:
                entry, cfg = _read_shard_entry(store_dir / name)
            except StoreError:
                raise
            except Exception as e:  # an unreadable shard is reported by verify, skipped here
                index.setdefault("unreadable", {})[name] = f"{type(e).__name__}: {e}"
                continue
            known[name] = entry
            index["configs"].setdefault(entry["config_hash"], cfg)
            if index.get("current_config") is None:
                index["current_config"] = entry["config_hash"]
            changed = True
    index["shards"] = {k: known[k] for k in sorted(known)}
    return index, changed


def write_index(store_dir: Path, index: dict):
    """Atomically replace ``index.json`` (written as ``index.json.<pid>.tmp``, then renamed; on any
    error, a full disk included, the old index stays and the temporary file is removed)."""
    data = {k: v for k, v in index.items() if k != "unreadable"}
    atomic_write_text(Path(store_dir) / INDEX_NAME, json.dumps(data, indent=None, separators=(",", ":")),
                      fsync=False)
