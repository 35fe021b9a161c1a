"""The store's writer lock: one process writes a store at a time (``STORE/.lock``, ``flock``)."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from genrekit.cache.layout import LOCK_NAME
from genrekit.errors import StoreError
from genrekit.files import read_lock_note, tmp_name, write_lock_note

#: errno values that mean "this store cannot be written here".
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class StoreLock:
    """Exclusive writer lock on a store (``STORE/.lock``, fcntl). Refuses with the holder's pid.

    Only writers take it (extract, verify --repair); readers never open the lock file for
    writing, so a read-only store (file modes, a read-only mount) reads as usual. A writer on a
    read-only store is refused with one line that says so. Who holds it, without taking it:
    :func:`genrekit.files.lock_holder`.
    """

    def __init__(self, store_dir: Path):
        self.path = Path(store_dir) / LOCK_NAME
        self._fd = None

    def acquire(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in _READ_ONLY:
                raise StoreError(self._read_only(e.errno)) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = read_lock_note(fd)
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(
                    f"store {self.path.parent} is being written by {holder}; wait for it to "
                    f"finish or use another --store"
                ) from None
            raise
        try:  # the lock file may be writable where the folder is not: the writer creates shards there
            probe = tmp_name(self.path)
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(probe)
        except OSError as e:
            if e.errno in _READ_ONLY:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise StoreError(self._read_only(e.errno)) from None
        write_lock_note(fd)
        self._fd = fd
        return self

    def _read_only(self, code: int) -> str:
        why = "on a read-only file system" if code == errno.EROFS else "read-only for this user (permission denied)"
        return (f"store {self.path.parent} is {why}: extract and verify --repair write to it (info, export, "
                f"benchmark and verify only read it); use a --store you can write")

    def release(self):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
