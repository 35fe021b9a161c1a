"""The store's index: ``index.json`` (plus, on large stores, its journal ``index.journal``), a
cache of what the shards hold (format: :mod:`genrekit.cache.layout`).

:func:`load_index` reconciles it with the shard files on disk (a run killed between a shard's
rename and an index write leaves it stale); :func:`write_index` brings it up to date.

A small index (under :data:`JOURNAL_FROM_BYTES`) is replaced whole and atomically, as always.
A large one is not rewritten on every merge — at 1M tracks index.json is ~100 MB, and a run
rewrote it every few seconds, a cost that grew with the store on every batch (quadratic over a
run). Instead the shards added or dropped since it was written are appended to
``index.journal``, one JSON line each (``{"add": NAME, "entry": {...}}`` / ``{"drop": NAME}``),
and index.json is rewritten (and the journal removed) only when the journal has grown to the
size of index.json, or the configs changed: every byte is written a bounded number of times.
Readers replay the journal over index.json; a torn last line (a kill mid-append) is ignored,
and the shards on disk settle the rest. A genrekit that knows no journal reads index.json and
indexes the shards it does not list from the shards themselves: slower, same result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from genrekit.cache.layout import INDEX_NAME, JOURNAL_NAME, SCHEMA_VERSION, SHARD_PREFIX, SHARD_SUFFIX
from genrekit.errors import StoreError
from genrekit.files import atomic_write_text

#: index.json at least this large is kept up to date by appending to its journal.
JOURNAL_FROM_BYTES = 1 << 20
#: What this process last read or wrote per store: (index.json's identity, journal size),
#: shard names, header. A write appends only when the files are still exactly those.
_ON_DISK: dict[str, tuple[tuple, set, str]] = {}


def _identity(store_dir: Path) -> tuple | None:
    try:
        st = (store_dir / INDEX_NAME).stat()
    except OSError:
        return None
    try:
        journal = (store_dir / JOURNAL_NAME).stat().st_size
    except OSError:
        journal = 0
    return st.st_ino, st.st_size, st.st_mtime_ns, journal


def _remember(store_dir: Path, shards, index: dict):
    ident = _identity(store_dir)
    if ident is not None:
        _ON_DISK[str(store_dir.resolve())] = (ident, set(shards), _header(index))


def read_index_files(store_dir: Path) -> tuple[dict | None, str | None]:
    """``index.json`` with its journal replayed, as written (no reconciling with the shards):
    ``(index, None)``, ``(None, None)`` when there is none, or ``(None, why)`` when it is corrupt."""
    p = Path(store_dir) / INDEX_NAME
    if not p.exists():
        return None, None
    try:
        index = json.loads(p.read_text())
        if not isinstance(index, dict) or not isinstance(index.get("shards"), dict):
            raise ValueError("no 'shards' table")  # as verify sees it: index_corrupt
    except (OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {e}"
    _replay(Path(store_dir) / JOURNAL_NAME, index["shards"])
    return index, None


def _replay(journal: Path, shards: dict):
    try:
        lines = journal.read_bytes().split(b"\n")
    except FileNotFoundError:
        return
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:  # an empty or torn line (killed mid-append): the shards settle it
            continue
        if isinstance(rec, dict) and isinstance(rec.get("entry"), dict) and "add" in rec:
            shards[rec["add"]] = rec["entry"]
        elif isinstance(rec, dict) and "drop" in rec:
            shards.pop(rec["drop"], None)


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
    index = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": {}, "current_config": None}
    loaded, error = read_index_files(store_dir)
    if loaded is not None:
        index = {**index, **loaded}
    if error:
        index["_corrupt"] = error
    sv = index.get("schema_version", SCHEMA_VERSION)
    if sv != SCHEMA_VERSION:
        raise StoreError(
            f"store {store_dir} has schema version {sv}; this genrekit reads version "
            f"{SCHEMA_VERSION}. Extract into a new store with --store NEW_PATH."
        )
    changed = "_corrupt" in index
    index.pop("_corrupt", None)
    on_disk = sorted(p.name for p in store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))
    present = set(on_disk)  # (a list here made this quadratic in the shards: 1.4 s at 15,600)
    known = index["shards"]
    for name in list(known):
        if name not in present:
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
    if loaded is not None and "_corrupt" not in index:
        _remember(store_dir, loaded["shards"], loaded)
    return index, changed


def _header(index: dict) -> str:
    return json.dumps({k: v for k, v in index.items() if k not in ("shards", "unreadable")}, sort_keys=True)


def write_index(store_dir: Path, index: dict):
    """Bring the index on disk up to ``index``: append what changed to the journal when index.json
    is large (see the module's docstring), else replace index.json atomically (written as
    ``index.json.<pid>.tmp``, then renamed; on any error, a full disk included, the old index
    stays and the temporary file is removed)."""
    store_dir = Path(store_dir)
    if not _append(store_dir, index):
        data = {k: v for k, v in index.items() if k != "unreadable"}
        atomic_write_text(store_dir / INDEX_NAME, json.dumps(data, indent=None, separators=(",", ":")),
                          fsync=False)
        (store_dir / JOURNAL_NAME).unlink(missing_ok=True)
    _remember(store_dir, index["shards"], index)


def _append(store_dir: Path, index: dict) -> bool:
    """Append the shards added and dropped since ``index`` was loaded or written; False when
    index.json must be rewritten instead (small, configs changed, journal as large as it)."""
    known = _ON_DISK.get(str(store_dir.resolve()))
    ident = _identity(store_dir)
    if known is None or ident is None or known[0] != ident:
        return False  # never read here, or changed by someone else since: rewrite it whole
    (_, base, _, journal), names, header = known
    if base < JOURNAL_FROM_BYTES or journal >= base or header != _header(index):
        return False
    shards = index["shards"]
    lines = [json.dumps({"drop": n}) for n in sorted(names - set(shards))]
    lines += [json.dumps({"add": n, "entry": shards[n]}, separators=(",", ":")) for n in shards if n not in names]
    if lines:
        with open(store_dir / JOURNAL_NAME, "ab") as f:
            if journal and not _ends_with_newline(store_dir / JOURNAL_NAME):
                f.write(b"\n")  # after a torn line
            f.write(("\n".join(lines) + "\n").encode())
    return True


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
