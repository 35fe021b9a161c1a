"""Small file mechanisms every room uses: replace a file atomically, checksum a file.

A reader never sees a half-written file: :func:`atomic_write` writes to a temporary sibling
(``NAME.<pid>.tmp``), flushes and fsyncs it, then renames it over ``NAME``; on any error —
a full disk included — the temporary file is removed and the old file, if any, is left as it was.
A file written by a library under a temporary name of its own (an HDF5 shard) is made durable
with :func:`fsync_file` before its rename and :func:`fsync_dir` after it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path

TMP_SUFFIX = ".tmp"


def tmp_name(path: Path) -> Path:
    """The temporary sibling ``path`` is written as before the rename."""
    return path.with_name(f"{path.name}.{os.getpid()}{TMP_SUFFIX}")


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", *, fsync: bool = True, **open_kw):
    """``with atomic_write(path) as f: f.write(...)`` — ``path`` appears complete or not at all.

    Parameters
    ----------
    path : path-like
    mode : ``"w"`` or ``"wb"``
    fsync : bool
        Flush the data to disk before the rename (a crash then leaves the old or the new file).
    **open_kw
        Passed to :func:`open` (``encoding``, ``newline``); text defaults to UTF-8.
    """
    path = Path(path)
    tmp = tmp_name(path)
    if "b" not in mode:
        open_kw.setdefault("encoding", "utf-8")
    try:
        with open(tmp, mode, **open_kw) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str, **kw) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", **kw) as f:
        f.write(text)
    return Path(path)


def fsync_file(path) -> None:
    """Flush a file's data to disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path) -> None:
    """Flush a directory's entries (a rename into it) to disk; quietly nothing where a directory
    cannot be opened or synced."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def no_space(e: BaseException | None) -> bool:
    """Whether ``e``, or an exception it was raised from or while handling, says the disk (or the
    quota) is full. h5py and joblib bury the errno in a message or a chained exception."""
    codes = (errno.ENOSPC, errno.EDQUOT)
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = str(e)
        if (getattr(e, "errno", None) in codes or "No space left on device" in text
                or any(f"errno = {c}," in text for c in codes)):
            return True
        e = e.__cause__ or e.__context__
    return False


def lock_holder(path) -> str | None:
    """Who holds the ``flock`` on the lock file ``path`` now (None: nobody, or no such file).

    Probes with a shared, non-blocking lock, never taking the lock; the holder's note is the
    file's first line ("pid N on HOST").
    """
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return read_lock_note(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def process_note() -> str:
    """This process as a lock's holder note says it: ``pid N on HOST``."""
    return f"pid {os.getpid()} on {os.uname().nodename}"


def write_lock_note(fd: int) -> None:
    """Replace the note at the start of the open lock file ``fd`` with :func:`process_note`."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, process_note().encode(), 0)


def read_lock_note(fd: int) -> str:
    """The note a lock's holder wrote at the start of the open lock file ``fd`` ("pid N on
    HOST"), or "another process" when there is none."""
    return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
