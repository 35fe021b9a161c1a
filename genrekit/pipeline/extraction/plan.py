"""What to compute: tracks and what the store holds → tasks; tasks → batches for the executors.

A task is a plain dict (it travels to worker processes and Dask workers): the track's fields,
its absolute path, the file's size and mtime, the content hash stored for its id (``known_hash``)
and the longest audio to analyse (``max_seconds``). The defaults of how work is cut are here,
said once for the library and the command line.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from genrekit.cache import FailureRow, TrackRow
from genrekit.pipeline.extraction.decode import not_regular, not_regular_message
from genrekit.pipeline.extraction.tracks import Track

#: Files per shard (``--shard-size``): a crash loses at most one unfinished shard per worker.
DEFAULT_SHARD_SIZE = 64
#: Seconds after which a shard is closed even when not full (``--shard-seconds``).
DEFAULT_SHARD_SECONDS = 60.0
#: Files per Dask task, and so per shard (``--batch-size``).
DEFAULT_BATCH_SIZE = 32
#: Longest audio analysed per file by default (s): memory grows ~0.12 MB per second of audio.
DEFAULT_MAX_SECONDS = 30 * 60.0


def _task(track: Track, known: TrackRow | FailureRow | None, st: os.stat_result | None = None,
          path: str | None = None) -> dict:
    path = path or track.path
    st = st or os.stat(path)
    return {
        "id": track.id, "path": path, "label": track.label, "group": track.group,
        "split": track.split, "meta": dict(track.meta), "tags": tuple(track.tags), "file_size": st.st_size,
        "file_mtime_ns": st.st_mtime_ns,
        "known_hash": known.content_hash if isinstance(known, TrackRow) else None,
    }


def plan(tracks: list[Track], done: dict[str, TrackRow], failed: dict[str, FailureRow],
         retry_failed: bool, rehash: bool = False, *, max_seconds: float | None = None,
         ) -> tuple[list[dict], int, int, list[FailureRow]]:
    """Split tracks into tasks to run, and those the store already holds.

    A track is cached when its id is stored with the same file size and mtime (no need to read
    it), or — decided in the worker — with the same content hash. A track that failed before
    with an unchanged file is not retried unless ``retry_failed``. With ``rehash`` the size and
    mtime are not trusted: every file is hashed, and only an unchanged content hash is cached
    (or, for a file that failed before, not retried).

    Paths are made absolute (:func:`os.path.abspath`: against the working directory, with no
    symbolic link resolved), so the store says where each file is whatever the working
    directory of a later reader. A file that cannot be read is a failure; one that failed the
    same way before is counted as failed again without a new record (unless ``retry_failed``).

    Returns ``(tasks, n_cached, n_failed_cached, failures)``: every task carries ``max_seconds``;
    ``failures`` are the files found unusable here (gone, or not regular files).
    """
    tasks, n_cached, n_failed_cached, vanished = [], 0, 0, []
    for t in tracks:
        prev = done.get(t.id)
        fail = failed.get(t.id)
        path = os.path.abspath(t.path)
        try:
            st = os.stat(path)
        except OSError as e:
            if (fail is not None and not retry_failed and fail.path == path and fail.file_size == -1
                    and fail.error_type == type(e).__name__):
                n_failed_cached += 1  # still missing (a manifest row, a dangling link): recorded once
                continue
            vanished.append(FailureRow(id=t.id, path=path, content_hash="", error_type=type(e).__name__,
                                       message=f"cannot read file: {e.strerror or e}"))
            continue
        stat_key = (st.st_size, st.st_mtime_ns)
        what = not_regular(st)  # a FIFO or device could block the worker that opens it forever
        if prev is not None and not rehash and stat_key == (prev.file_size, prev.file_mtime_ns):
            n_cached += 1
        elif (fail is not None and not retry_failed and (not rehash or what)  # (nothing to hash)
              and stat_key == (fail.file_size, fail.file_mtime_ns)):
            n_failed_cached += 1
        elif what:
            vanished.append(FailureRow(id=t.id, path=path, content_hash="", error_type="AudioError",
                                       message=not_regular_message(what), file_size=st.st_size,
                                       file_mtime_ns=st.st_mtime_ns))
        else:
            task = _task(t, prev, st, path)  # one stat: the file may vanish any time
            if rehash and fail is not None and not retry_failed and fail.content_hash:
                task["failed_hash"] = fail.content_hash
            task["max_seconds"] = max_seconds
            tasks.append(task)
    return tasks, n_cached, n_failed_cached, vanished


def existing_rows(store_dir: Path, index: dict, config_hash: str, *, fingerprint_version: int | None = None
                  ) -> tuple[dict[str, TrackRow], dict[str, FailureRow]]:
    """Latest TrackRow / FailureRow per id for this config (empty store: nothing).

    With ``fingerprint_version`` (``extract --add-fingerprints``), a track whose shard holds no
    fingerprint of that version is left out, so that it is extracted again (with one)."""
    from genrekit.cache.store import FeatureStore

    if not any(e["config_hash"] == config_hash for e in index["shards"].values()):
        return {}, {}
    fs = FeatureStore(store_dir, config_hash=config_hash)
    try:
        done = {r.id: r for r in fs.tracks}
        if fingerprint_version is not None:
            old = {s for s in {r.shard for r in fs.tracks} if fs.fingerprint_version(s) != fingerprint_version}
            done = {k: r for k, r in done.items() if r.shard not in old}
        return done, {f.id: f for f in fs.failures}
    finally:
        fs.close()


def batches_of(tasks: list[dict], size: int, *, workers: int = 1) -> list[list[dict]]:
    """Consecutive batches of at most ``size`` tasks (the local executor's).

    With several ``workers``, sizes are guided: each batch takes about a quarter of a worker's
    share of what remains (never more than ``size``), so batches shrink towards the end and the
    workers finish together instead of one idling while another works through a full batch.
    """
    out, i, n = [], 0, len(tasks)
    while i < n:
        k = size if workers <= 1 else max(1, min(size, math.ceil((n - i) / (4 * workers))))
        out.append(tasks[i:i + k])
        i += k
    return out


def even_batches(tasks: list[dict], batch_size: int, n_workers: int) -> list[list[dict]]:
    """Consecutive batches of at most ``batch_size`` files, smaller when needed to use every
    worker (the Dask executor's: each batch is one task and one shard)."""
    size = max(1, min(batch_size, math.ceil(len(tasks) / max(1, n_workers))))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]
