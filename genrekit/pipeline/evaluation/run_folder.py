"""The run folder (``--out``) of one benchmark: claimed for it alone, cleaned up when writing fails.

A run writes only into a folder that is new or empty, and only one run at a time (see
:class:`RunFolder`). When writing the results fails — a full disk — everything the run wrote is
removed again, so no partial files stay.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from genrekit.errors import GenrekitError, ParameterError
from genrekit.files import lock_holder, no_space, read_lock_note, write_lock_note

DEFAULT_RUNS = "runs"

#: Claim file of a run folder: held (flock) by the one benchmark writing there, removed at its end.
CLAIM_NAME = ".genrekit-benchmark.lock"
#: What a run writes into its folder: removed again when writing fails (disk full), so no partial files stay.
RUN_OUTPUTS = ("predictions.csv", "leaderboard.csv", "results.json", "report.md", "figures", "models")


def _out_error(out: Path, e: OSError) -> GenrekitError:
    """The one-line error for an ``--out`` folder that cannot be created or written."""
    import errno

    if no_space(e):
        return GenrekitError(f"disk full while creating --out {out}; free space and run again")
    if e.errno == errno.EROFS:
        return ParameterError(f"--out {out} is on a read-only file system; give a folder you can write")
    if e.errno in (errno.EACCES, errno.EPERM):
        return ParameterError(f"--out {out}: permission denied; give a folder you can write")
    if e.errno in (errno.ENOTDIR, errno.EEXIST):
        file = next((p for p in (*reversed(out.parents), out) if p.exists() and not p.is_dir()), out)
        return ParameterError(f"--out {out}: {file} is a file, not a folder; give a new or empty folder "
                              f"for the run's results")
    return ParameterError(f"--out {out} cannot be used: {e.strerror or e}")


class RunFolder:
    """The ``--out`` folder of one benchmark, claimed for it alone before anything is fitted.

    A run writes only into a folder that is new or empty, and only one run at a time: the claim
    is a lock file, ``OUT/.genrekit-benchmark.lock``, created and locked (``flock``, so a killed
    run never leaves it held) before the folder is checked for emptiness. A second run on the
    same folder finds the lock held and is refused with the holder's pid; a folder with files
    in it (results of an earlier run) is refused as it is, so no run mixes its files with
    another's or leaves stale figures. Without ``out``, a fresh ``runs/<timestamp>[-N]`` is
    created with ``os.mkdir``, which fails if it exists, so two runs never share one.

    :meth:`discard` removes what the run wrote (after a full disk), :meth:`release` the claim
    (and the folder, when the run created it and left it empty).
    """

    def __init__(self, out=None):
        self.default = out is None
        self.path = Path(out) if out is not None else None
        self.created = False
        self._fd = None

    # ------------------------------------------------------------------ check, claim
    def check(self) -> "RunFolder":
        """Refuse at once what :meth:`claim` would refuse, creating nothing (:meth:`claim` decides)."""
        if self.default:
            return self
        out = self.path
        if out.exists() and not out.is_dir():
            raise ParameterError(f"--out {out} is a file; give a new or empty folder for the run's results")
        file = next((p for p in reversed(out.parents) if p.exists() and not p.is_dir()), None)
        if file is not None:
            raise ParameterError(f"--out {out}: {file} is a file, not a folder; give a new or empty folder "
                                 f"for the run's results")
        if out.is_dir():
            holder = lock_holder(out / CLAIM_NAME)
            if holder:
                raise ParameterError(f"--out {out} is in use by another benchmark ({holder}); give another --out")
            others = sorted(n for n in os.listdir(out) if n != CLAIM_NAME)
            if others:
                shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
                raise ParameterError(f"--out {out} is not empty (it holds {shown}); give a new or empty "
                                     f"folder, or remove that one")
        target = next(p for p in (out, *out.parents) if p.exists())
        eff = os.access in os.supports_effective_ids
        if not os.access(target, os.W_OK | os.X_OK, effective_ids=eff):
            import errno

            ro = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
            raise _out_error(out, OSError(errno.EROFS if ro else errno.EACCES, "cannot write", str(target)))
        return self

    def claim(self) -> "RunFolder":
        import fcntl

        if self.default:
            self.path = self._new_default()
            self.created = True
        elif self.path.exists() and not self.path.is_dir():
            raise ParameterError(f"--out {self.path} is a file; give a new or empty folder for the run's results")
        for _ in range(10):  # the claim file can vanish between open and lock (a run releasing it): again
            try:
                if not self.path.is_dir():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.mkdir(self.path)
                        self.created = True
                    except FileExistsError:
                        pass
                fd = os.open(self.path / CLAIM_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise _out_error(self.path, e) from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = read_lock_note(fd)
                os.close(fd)
                raise ParameterError(f"--out {self.path} is in use by another benchmark ({holder}); "
                                     f"give another --out") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path / CLAIM_NAME))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                break
            os.close(fd)
        else:  # pragma: no cover - ten releases in a row
            raise ParameterError(f"--out {self.path} is in use by other benchmarks; give another --out")
        others = sorted(n for n in os.listdir(self.path) if n != CLAIM_NAME)
        if others:
            self.release()
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            raise ParameterError(f"--out {self.path} is not empty (it holds {shown}); give a new or empty "
                                 f"folder, or remove that one")
        try:
            write_lock_note(self._fd)
        except OSError:  # a full disk: the lock holds without the note; writing the results will tell
            pass
        return self

    @staticmethod
    def _new_default() -> Path:
        base = Path(DEFAULT_RUNS) / time.strftime("%Y%m%d-%H%M%S")
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _out_error(base, e) from e
        n = 1
        while True:
            out = base if n == 1 else base.with_name(f"{base.name}-{n}")
            try:
                os.mkdir(out)
                return out
            except FileExistsError:
                n += 1
            except OSError as e:
                raise _out_error(out, e) from e

    # ------------------------------------------------------------------ end
    def discard(self):
        """Remove everything this run wrote (:data:`RUN_OUTPUTS` and their temporary files)."""
        import shutil

        if self.path is None or not self.path.is_dir():
            return
        for p in self.path.iterdir():
            if p.name == CLAIM_NAME:
                continue
            if p.name in RUN_OUTPUTS or any(p.name.startswith(n + ".") and p.name.endswith(".tmp")
                                            for n in RUN_OUTPUTS):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)

    def release(self):
        """Drop the claim; remove the folder when this run created it and it is empty."""
        if self._fd is None:
            return
        try:
            (self.path / CLAIM_NAME).unlink(missing_ok=True)  # while still locked: a waiter sees it is gone
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        if self.created:
            try:
                self.path.rmdir()  # only if empty
            except OSError:
                pass
