"""Check a feature store against itself, and optionally repair it (``genrekit verify``).

:func:`verify_store` opens every shard, checks its structure and its values, recomputes its
SHA-256 against the checksum the index recorded when the shard was written, and compares the
index with the shard files on disk. It returns a :class:`VerifyReport`: a list of
:class:`Problem` records instead of an exception (mirdata's ``validate`` pattern), so a caller
sees everything that is wrong at once.

With ``repair=True`` it takes the store's writer lock, removes what cannot be trusted (corrupt
shards, orphan temporary files, stale index entries) and rewrites ``index.json`` from the shards
that remain, so the next ``extract`` recomputes exactly the tracks that were lost. Nothing that
passed the checks is ever removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit.cache.index import read_index_files, write_index
from genrekit.cache.layout import (
    FAILURE_INT_FIELDS,
    FAILURE_STR_FIELDS,
    INDEX_NAME,
    LOCK_NAME,
    SCHEMA_VERSION,
    SHARD_PREFIX,
    SHARD_SUFFIX,
    TMP_SUFFIX,
    TRACK_INT_FIELDS,
    TRACK_STR_FIELDS,
)
from genrekit.cache.lock import StoreLock
from genrekit.errors import StoreError
from genrekit.files import file_sha256, lock_holder

#: Kinds of problem, and whether ``repair`` deletes the shard they are found in.
PROBLEM_KINDS = {
    "unreadable": "the shard cannot be opened or read (truncated or overwritten)",
    "structure": "a required dataset is missing or lengths/offsets disagree",
    "checksum": "the shard's bytes differ from the SHA-256 recorded when it was written",
    "nonfinite": "the shard holds NaN or Inf values",
    "schema": "the shard has another store schema version",
    "orphan_tmp": "a temporary file left by a run that died",
    "missing_shard": "the index lists a shard whose file is gone",
    "unindexed_shard": "a finished shard the index does not list",
    "index_mismatch": "the index entry disagrees with what the shard holds",
    "index_corrupt": "index.json cannot be parsed",
    "access": "the shard cannot be opened for lack of permission (it may be intact: never deleted)",
}
_UNTRUSTED = {"unreadable", "structure", "checksum", "nonfinite"}

_BLOCK_BYTES = 1 << 25  # read datasets in blocks of about 32 MiB


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a store.

    Attributes
    ----------
    kind : str
        One of :data:`PROBLEM_KINDS`.
    path : Path
        The file concerned (a shard, a temporary file, or ``index.json``).
    detail : str
        What exactly is wrong, in words.
    """

    kind: str
    path: Path
    detail: str

    def line(self) -> str:
        return f"{self.kind:<16} {self.path.name}: {self.detail}"


@dataclass
class VerifyReport:
    """What :func:`verify_store` found (and, with ``repair``, did).

    Attributes
    ----------
    store : Path
    problems : list of Problem
        Empty when the store is sound. After a repair: what is still wrong (normally nothing).
    repaired : list of Problem
        The problems found before the repair, each of which it resolved.
    removed : list of Path
        Files the repair deleted.
    lost_ids : list of str
        Track ids whose only stored copy was in a removed shard: the next ``extract`` recomputes them.
    in_progress : list of Path
        Temporary files and not yet indexed shards of the ``extract`` that holds the lock now.
    n_shards, n_rows, n_failure_rows : int
        Shards checked, track rows and failure rows in them.
    """

    store: Path
    problems: list[Problem] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    lost_ids: list[str] = field(default_factory=list)
    in_progress: list[Path] = field(default_factory=list)
    n_shards: int = 0
    n_rows: int = 0
    n_failure_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = []
        if self.repaired:
            out.append(f"repaired {len(self.repaired)} problem(s):")
            out.extend("  " + p.line() for p in self.repaired)
            if self.lost_ids:
                out.append(f"  {len(self.lost_ids)} track(s) will be recomputed by the next extract")
        if self.problems:
            out.append(f"{len(self.problems)} problem(s):")
            out.extend("  " + p.line() for p in self.problems)
        for p in self.in_progress:
            out.append(f"in progress      {p.name} (an extract holds the lock)")
        if self.ok:
            state = "ok"
        elif all(p.kind == "access" for p in self.problems):
            state = "NOT ok (a permission problem: --repair deletes nothing it cannot read; fix the file modes)"
        else:
            state = "NOT ok (repair with: genrekit verify --repair " + str(self.store) + ")"
        out.append(f"{self.store}: {self.n_shards} shards, {self.n_rows} track rows, "
                   f"{self.n_failure_rows} failure rows: {state}")
        return out


# ------------------------------------------------------------------------------------ helpers
def _writer_holder(store: Path) -> str | None:
    """Who holds the store's writer lock now (None: nobody). Probes without taking it."""
    return lock_holder(store / LOCK_NAME)


def _blocks(ds):
    n = ds.shape[0] if ds.shape else 0
    width = int(np.prod(ds.shape[1:], dtype=np.int64)) if len(ds.shape) > 1 else 1
    step = max(1, _BLOCK_BYTES // max(1, width * ds.dtype.itemsize))
    for a in range(0, n, step):
        yield ds[a:a + step]


def _strs(ds) -> list[str]:
    return [s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s) for s in ds[:]]


class _Bad(Exception):
    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind


def _check_shard(path: Path) -> dict:
    """Read a whole shard; return what it holds. Raises :class:`_Bad` for what is wrong with it.

    Three steps, in this order: open it and read its attributes, check its structure (datasets,
    lengths, offsets, shapes), then read every value.
    """
    f = _open_shard(path)
    try:
        with f:
            config_hash, config_json = _check_attrs(f)
            datasets = _check_structure(f)
            ids, hashes, fids = _check_values(f, *datasets)
    except _Bad:
        raise
    except Exception as e:  # anything else h5py trips on in a damaged file
        raise _Bad("unreadable", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    return {"config_hash": config_hash, "config_json": config_json, "ids": ids,
            "content_hashes": hashes, "failure_ids": fids}


def _open_shard(path: Path):
    """The shard as an open ``h5py.File``; a file this user may not read is ``access``, never damaged."""
    import h5py

    try:  # an access error says nothing about the shard's bytes: report it, never call it damaged
        with open(path, "rb") as probe:
            probe.read(8)
    except PermissionError as e:
        raise _Bad("access", f"permission denied ({e.strerror}); the file is left alone: give this "
                             f"user read access (e.g. chmod u+r, or run as its owner)") from None
    try:
        return h5py.File(path, "r")
    except Exception as e:
        raise _Bad("unreadable", f"cannot open as HDF5: {str(e).splitlines()[0]}") from None


def _check_attrs(f) -> tuple[str, str]:
    """The shard's ``config_hash`` and ``config_json``, after its schema version is checked."""
    try:
        sv = int(f.attrs["schema_version"])
        config_hash = str(f.attrs["config_hash"])
        config_json = str(f.attrs["config_json"])
    except KeyError as e:
        raise _Bad("structure", f"attribute {e.args[0]!r} is missing") from None
    if sv != SCHEMA_VERSION:
        raise _Bad("schema", f"schema version {sv}; this genrekit reads {SCHEMA_VERSION}; "
                             f"extract into a new store (--store NEW_PATH)")
    return config_hash, config_json


#: The datasets every shard holds, whatever its features.
_REQUIRED = ([f"tracks/{k}" for k in (*TRACK_STR_FIELDS, "duration", *TRACK_INT_FIELDS)]
             + ["frames/offsets", "summary/matrix", "summary/names"]
             + [f"failures/{k}" for k in (*FAILURE_STR_FIELDS, *FAILURE_INT_FIELDS)])


def _check_structure(f) -> tuple:
    """Required datasets, their lengths, the frame offsets and every shape. Returns the datasets
    whose values :func:`_check_values` reads: summary matrix and names, frame and track-level
    features by name."""
    import h5py

    missing = [k for k in _REQUIRED if not isinstance(f.get(k), h5py.Dataset)]
    if missing:
        raise _Bad("structure", f"missing dataset(s): {', '.join(missing)}")
    n = f["tracks/id"].shape[0]
    wrong = [k for k in _REQUIRED if k.startswith("tracks/") and f[k].shape != (n,)]
    m = f["failures/id"].shape[0]
    wrong += [k for k in _REQUIRED if k.startswith("failures/") and f[k].shape != (m,)]
    if wrong:
        raise _Bad("structure", f"{', '.join(wrong)}: length differs from tracks/id ({n}) or failures/id ({m})")
    frames = {}
    for g in [k for k in f.keys() if k == "frames" or k.startswith("frames_")]:
        frames.update(_check_frame_group(f, g, n))
    if not frames:
        raise _Bad("structure", "no frame feature datasets under frames/")
    names = f["summary/names"]
    sm = f["summary/matrix"]
    if sm.shape != (n, names.shape[0]):
        raise _Bad("structure", f"summary/matrix has shape {sm.shape}; expected ({n}, {names.shape[0]})")
    tf = dict(f["track_features"].items()) if "track_features" in f else {}
    for k, ds in tf.items():
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[0] != n:
            raise _Bad("structure", f"track_features/{k} has shape {getattr(ds, 'shape', None)}; expected ({n}, dim)")
    _check_fingerprints(f, n)
    return sm, names, frames, tf


def _check_frame_group(f, g: str, n: int) -> dict:
    """One group of frame features (``frames``, or ``frames_<clock>`` on a grid of its own): its
    offsets (``frames``: equal to ``tracks/n_frames``) and shapes; ``{"g/feature": dataset}``."""
    import h5py

    if not isinstance(f[g].get("offsets"), h5py.Dataset):
        raise _Bad("structure", f"missing dataset(s): {g}/offsets")
    off = f[g]["offsets"][:]
    if off.shape != (n + 1,) or off[0] != 0:
        raise _Bad("structure", f"{g}/offsets has shape {off.shape} starting at "
                                f"{off[0] if off.size else None}; expected ({n + 1},) starting at 0")
    if np.any(np.diff(off) < 0):
        raise _Bad("structure", f"{g}/offsets is not monotone")
    if g == "frames" and not np.array_equal(np.diff(off), f["tracks/n_frames"][:]):
        raise _Bad("structure", "frames/offsets disagree with tracks/n_frames")
    out = {}
    for k, ds in f[g].items():
        if k == "offsets":
            continue
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[0] != off[-1]:
            raise _Bad("structure", f"{g}/{k} has shape {getattr(ds, 'shape', None)}; "
                                    f"expected ({int(off[-1])}, dim)")
        out[f"{g}/{k}"] = ds
    return out


def _check_fingerprints(f, n: int) -> None:
    """The optional ``fingerprints/`` group (near-duplicates): offsets over hashes and times."""
    if "fingerprints" not in f:
        return
    g = f["fingerprints"]
    try:
        off, n_hashes, n_times = g["offsets"][:], g["hashes"].shape, g["times"].shape
    except (KeyError, TypeError):
        raise _Bad("structure", "fingerprints/ lacks offsets, hashes or times") from None
    if (off.shape != (n + 1,) or off[0] != 0 or np.any(np.diff(off) < 0)
            or n_hashes != (int(off[-1]),) or n_times != n_hashes):
        raise _Bad("structure", f"fingerprints/offsets (shape {off.shape}) do not match its {n} tracks and "
                                f"{n_hashes[0] if n_hashes else 0} hashes")


def _check_values(f, sm, names, frames: dict, tf: dict) -> tuple[list[str], list[str], list[str]]:
    """Read every value of every chunk: decompression errors and non-finite numbers surface here.
    Returns the track ids, their content hashes and the failure ids."""
    floats = {"tracks/duration": f["tracks/duration"], "summary/matrix": sm,
              **frames,
              **{f"track_features/{k}": v for k, v in tf.items()}}
    try:
        for name, ds in floats.items():
            for block in _blocks(ds):
                if not np.isfinite(block).all():
                    raise _Bad("nonfinite", f"{name} holds NaN or Inf")
        ids = _strs(f["tracks/id"])
        hashes = _strs(f["tracks/content_hash"])
        fids = _strs(f["failures/id"])
        for k in (*TRACK_STR_FIELDS, *TRACK_INT_FIELDS):
            f["tracks"][k][:]
        for k in (*FAILURE_STR_FIELDS, *FAILURE_INT_FIELDS):
            f["failures"][k][:]
        names[:]
    except _Bad:
        raise
    except Exception as e:
        raise _Bad("unreadable", f"cannot read its data: {str(e).splitlines()[0]}") from None
    return ids, hashes, fids


def _read_raw_index(store: Path) -> tuple[dict | None, str | None]:
    return read_index_files(store)


# ------------------------------------------------------------------------------------ verify
def _scan(store: Path, *, we_hold_lock: bool = False) -> tuple[VerifyReport, dict, dict, dict | None]:
    """Check everything; return the report, per-shard contents, bad shards, and the raw index."""
    rep = VerifyReport(store=store)
    writer = None if we_hold_lock else _writer_holder(store)
    index, index_error = _read_raw_index(store)
    if index_error:
        rep.problems.append(Problem("index_corrupt", store / INDEX_NAME, index_error))
    elif index is not None and index.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise StoreError(f"store {store} has schema version {index.get('schema_version')}; this genrekit "
                         f"reads version {SCHEMA_VERSION}. Extract into a new store with --store NEW_PATH.")
    entries = (index or {}).get("shards", {})
    configs = (index or {}).get("configs", {})

    for tmp in sorted(store.glob("*" + TMP_SUFFIX)):
        if writer:
            rep.in_progress.append(tmp)
        else:
            rep.problems.append(Problem("orphan_tmp", tmp, f"{tmp.stat().st_size} bytes left by a run that died"))

    on_disk = sorted(p for p in store.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}") if p.is_file())
    good: dict[str, dict] = {}
    bad: dict[str, Problem] = {}
    for path in on_disk:
        rep.n_shards += 1
        entry = entries.get(path.name)
        try:
            content = _check_shard(path)
        except _Bad as b:
            bad[path.name] = Problem(b.kind, path, str(b))
            rep.problems.append(bad[path.name])
            continue
        sha = file_sha256(path)
        content["sha256"] = sha
        content["size"] = path.stat().st_size
        rep.n_rows += len(content["ids"])
        rep.n_failure_rows += len(content["failure_ids"])
        if entry is not None and entry.get("sha256") and entry["sha256"] != sha:
            bad[path.name] = Problem("checksum", path, f"SHA-256 is {sha[:12]}…, the index recorded "
                                                      f"{entry['sha256'][:12]}… when it was written")
            rep.problems.append(bad[path.name])
            continue
        good[path.name] = content
        if entry is None:
            if writer:
                rep.in_progress.append(path)
            else:
                rep.problems.append(Problem("unindexed_shard", path,
                                            f"holds {len(content['ids'])} tracks; the index does not list it"))
            continue
        diffs = ["config_hash"] if entry.get("config_hash") != content["config_hash"] else []
        diffs += [k for k in ("ids", "content_hashes", "failure_ids") if list(entry.get(k) or []) != content[k]]
        if content["config_hash"] not in configs:
            diffs.append("configs")
        if diffs:
            rep.problems.append(Problem("index_mismatch", path, f"index differs from the shard in: {', '.join(diffs)}"))
    names_on_disk = {p.name for p in on_disk}
    for name in sorted(entries):
        if name not in names_on_disk:
            n_ids = len(entries[name].get("ids") or [])
            rep.problems.append(Problem("missing_shard", store / name,
                                        f"listed in the index with {n_ids} tracks, but the file is gone"))
    return rep, good, bad, index


def verify_store(store: str | os.PathLike, *, repair: bool = False) -> VerifyReport:
    """Verify a feature store; with ``repair``, remove what cannot be trusted and re-index.

    Parameters
    ----------
    store : path-like
        The store directory.
    repair : bool
        Take the writer lock, delete corrupt shards and orphan temporary files, and rewrite
        ``index.json`` from the shards that remain (stale entries dropped, unlisted shards
        added, each with its SHA-256). The tracks of deleted shards are recomputed by the next
        ``extract``. A shard of another schema version is reported, never deleted.

    Returns
    -------
    VerifyReport
        ``report.ok`` is True when nothing is wrong (after a repair: nothing is left wrong).

    Raises
    ------
    StoreError
        If ``store`` is not a store directory, its index has another schema version, or (with
        ``repair``) another process is writing it.
    """
    store = Path(store)
    if not store.exists():
        raise StoreError(f"no feature store at {store}")
    if not store.is_dir():
        raise StoreError(f"{store} is a file, not a feature store directory")
    if not (store / INDEX_NAME).exists() and not any(store.glob(f"{SHARD_PREFIX}*")):
        raise StoreError(f"{store} holds no feature store (no {INDEX_NAME}, no shards)")
    if not repair:
        return _scan(store)[0]

    with StoreLock(store):
        before, good, bad, index = _scan(store, we_hold_lock=True)
        if before.ok:
            return before
        removed, lost = [], set()
        old_entries = (index or {}).get("shards", {})
        for p in before.problems:
            if p.kind == "orphan_tmp" or (p.path.name in bad and p.kind in _UNTRUSTED):
                p.path.unlink(missing_ok=True)
                removed.append(p.path)
                lost.update(old_entries.get(p.path.name, {}).get("ids") or [])
            if p.kind == "missing_shard":
                lost.update(old_entries.get(p.path.name, {}).get("ids") or [])
        # rebuild the index from the shards that passed: their own contents, their own checksums
        new = {"schema_version": SCHEMA_VERSION, "shards": {}, "configs": dict((index or {}).get("configs", {})),
               "current_config": (index or {}).get("current_config")}
        for name in sorted(good):
            c = good[name]
            new["shards"][name] = {"config_hash": c["config_hash"], "ids": c["ids"],
                                   "content_hashes": c["content_hashes"], "failure_ids": c["failure_ids"],
                                   "size": c["size"], "sha256": c["sha256"]}
            new["configs"].setdefault(c["config_hash"], c["config_json"])
        for name, p in bad.items():  # unreadable for lack of permission: keep what the index said
            if p.kind == "access" and name in old_entries:
                new["shards"][name] = old_entries[name]
        new["shards"] = {k: new["shards"][k] for k in sorted(new["shards"])}
        if new["current_config"] not in new["configs"]:
            new["current_config"] = good[max(good)]["config_hash"] if good else None
        write_index(store, new)
        still = {i for c in good.values() for i in (*c["ids"], *c["failure_ids"])}
        after = _scan(store, we_hold_lock=True)[0]
        after.repaired = [p for p in before.problems if p not in after.problems]
        after.removed = removed
        after.lost_ids = sorted(lost - still)
        return after
