"""Finished batches → ``index.json`` and the run's counts, in the process that holds the store's lock.

:class:`IndexMerger` adds each :class:`~genrekit.pipeline.extraction.worker.BatchResult`'s shard
entries to the index and its counts to the :class:`ExtractReport`; it rewrites ``index.json`` at
most every :data:`INDEX_WRITE_SECONDS`. The index is a cache of the shards: shards on disk that
it lacks (finished after the run stopped listening, or computed twice on a cluster) are adopted
or dropped here too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from genrekit.cache import FailureRow, TrackRow, load_index, write_index
from genrekit.cache.layout import SHARD_PREFIX, SHARD_SUFFIX
from genrekit.errors import GenrekitError

#: Least seconds between two rewrites of index.json during a run (it grows with the store).
INDEX_WRITE_SECONDS = 2.0


@dataclass
class ExtractReport:
    """What one ``extract`` run did."""

    store: Path
    n_tracks: int = 0
    n_extracted: int = 0
    n_cached: int = 0
    n_failed: int = 0
    n_failed_cached: int = 0
    shards_written: int = 0
    seconds: float = 0.0
    failures: list[FailureRow] = field(default_factory=list)
    interrupted: bool = False
    n_metadata_changed: int = 0  # stored tracks whose label, group, split, … the source changed

    def count(self, row: "TrackRow | FailureRow | None"):
        """Account for one file's outcome as :func:`~genrekit.pipeline.extraction.worker.write_result`
        returns it."""
        if row is None:
            self.n_cached += 1
        elif isinstance(row, FailureRow):
            self.failures.append(row)
            self.n_failed += 1
        else:
            self.n_extracted += 1

    def line(self) -> str:
        parts = [f"{self.n_extracted} extracted", f"{self.n_cached} skipped as cached",
                 f"{self.n_failed + self.n_failed_cached} failed"]
        if self.n_metadata_changed:
            parts.append(f"metadata of {self.n_metadata_changed} cached tracks updated from the source")
        s = ", ".join(parts) + f" in {self.seconds:.1f} s -> {self.store}"
        if self.n_failed + self.n_failed_cached:
            s += f" (see why: genrekit info {self.store} --failures)"
        if self.interrupted:
            s = "interrupted: " + s + " (finished shards kept; run again to resume)"
        return s


class IndexMerger:
    """Merges finished batches into the index and the report; rewrites index.json at most every
    :data:`INDEX_WRITE_SECONDS` (a shard finished in between is found on disk after a crash)."""

    def __init__(self, store_dir: Path, index: dict, report: ExtractReport, bar=None):
        self.store_dir, self.index, self.report, self.bar = store_dir, index, report, bar
        self.dirty, self.written = False, time.monotonic()

    def add(self, res, *, advance: bool = True):
        """Merge one :class:`~genrekit.pipeline.extraction.worker.BatchResult` (``advance``: move
        the progress bar by its files)."""
        for name, entry in res.shards.items():
            self.index["shards"][name] = entry
            self.report.shards_written += 1
            self.dirty = True
        self.report.n_extracted += res.n_extracted
        self.report.n_cached += res.n_cached
        self.report.n_failed_cached += res.n_failed_cached
        for fail in res.failures:
            self.report.count(fail)
        if advance and self.bar is not None:
            self.bar.update(res.n_files)
        self.flush()

    def flush(self, force: bool = False):
        if self.dirty and (force or time.monotonic() - self.written >= INDEX_WRITE_SECONDS):
            write_index(self.store_dir, self.index)
            self.dirty, self.written = False, time.monotonic()

    def adopt_unreceived(self):
        """Index and count the shards on disk the index lacks: batches that finished (or closed
        on an interrupt) after this process stopped listening."""
        on_disk = {p.name for p in self.store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}")}
        if not on_disk - set(self.index["shards"]):
            return
        write_index(self.store_dir, self.index)
        full, _ = load_index(self.store_dir)
        for name in sorted(on_disk - set(self.index["shards"])):
            if name in full["shards"]:
                self.index["shards"][name] = entry = full["shards"][name]
                self.report.n_extracted += len(entry["ids"])
                self.report.n_failed += len(entry["failure_ids"])
                self.report.shards_written += 1
        self.dirty = True

    def drop_redundant(self, config_hash: str, run_ids: set[str]):
        """Drop the shards of batches computed twice (see :func:`drop_redundant_shards`)."""
        drop_redundant_shards(self.store_dir, self.index, config_hash, run_ids)
        self.dirty = True


def drop_redundant_shards(store_dir: Path, index: dict, config_hash: str, run_ids: set[str]):
    """Shards on disk the client never received are from batches computed twice (their first
    result was lost with its worker): delete those whose files this run's merged shards hold
    already; index any other (nothing is lost)."""
    on_disk = {p.name for p in store_dir.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}")}
    orphans = on_disk - set(index["shards"])
    if not orphans:
        return
    write_index(store_dir, index)
    full, _ = load_index(store_dir)
    for name in sorted(orphans):
        entry = full["shards"].get(name)
        if entry is None:
            continue  # unreadable: left for `genrekit info` / verify to report
        held = set(entry["ids"]) | set(entry["failure_ids"])
        if entry["config_hash"] == config_hash and held <= run_ids:
            (store_dir / name).unlink(missing_ok=True)
        else:
            index["shards"][name] = entry


def index_finished_shards(store_dir: Path, index: dict | None):
    """After a full disk, list every finished shard in ``index.json``, so the store verifies clean.

    Those are the shards merged into ``index`` but not written yet (the index is rewritten at
    most every :data:`INDEX_WRITE_SECONDS`) and those a worker finished after the run stopped
    listening. The temporary files are gone by now, which usually frees the few kB this needs;
    if the disk is still full the old index stays (readers reconcile it with the shards).
    """
    try:
        if index is not None:
            write_index(store_dir, index)
        full, changed = load_index(store_dir)
        if changed:
            write_index(store_dir, full)
    except (OSError, RuntimeError, GenrekitError):
        pass
