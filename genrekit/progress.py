"""Progress on stderr: a tqdm bar on a terminal, a plain line every few seconds anywhere else.

A bar redraws itself with carriage returns; written to a file or a pipe (a log, CI, ``nohup``)
that is hundreds of ``\\r`` frames. :func:`progress_bar` gives a tqdm bar only when stderr is a
terminal; otherwise a :class:`LineProgress` with the part of tqdm's interface genrekit uses
(``update``, ``close``, ``set_postfix``, iteration, context manager) that prints one line every
:data:`LINE_SECONDS` and one at the end. ``GENREKIT_PROGRESS=bar|lines|none`` overrides the
choice. This module imports nothing of genrekit (any room may use it) and tqdm only for a bar.
"""

from __future__ import annotations

import os
import sys
import time

#: Seconds between two progress lines when stderr is not a terminal.
LINE_SECONDS = 5.0


def progress_mode() -> str:
    """``bar`` (stderr is a terminal), ``lines`` (it is not) or ``none``; ``GENREKIT_PROGRESS`` wins."""
    forced = os.environ.get("GENREKIT_PROGRESS", "").strip().lower()
    if forced in ("bar", "lines", "none"):
        return forced
    try:
        return "bar" if sys.stderr.isatty() else "lines"
    except (AttributeError, ValueError):  # closed or replaced stderr
        return "lines"


def progress_bar(iterable=None, *, total=None, desc: str = "", unit: str = "it", disable: bool = False,
                 lines: bool = True, **tqdm_kw):
    """A tqdm bar on a terminal, else a :class:`LineProgress` (``lines=False``: silent instead).

    Parameters
    ----------
    iterable : iterable, optional
    total : int, optional
    desc, unit : str
    disable : bool
        No progress at all.
    lines : bool
        Whether to print lines when stderr is not a terminal (False for inner bars, such as a
        neural head's per-batch bar, whose caller prints a line per epoch anyway).
    """
    mode = "none" if disable else progress_mode()
    if mode == "bar":
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True, **tqdm_kw)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, silent=mode == "none" or not lines)


class LineProgress:
    """tqdm's interface, printing ``desc: n/total unit (p %), r unit/s`` every :data:`LINE_SECONDS`."""

    def __init__(self, iterable=None, *, total=None, desc: str = "", unit: str = "it", silent: bool = False,
                 file=None, every: float | None = None):
        self.iterable, self.desc, self.unit, self.silent = iterable, desc, unit, silent
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n = total, 0
        self.every = LINE_SECONDS if every is None else every
        self.file = file
        self.start = self.last = time.monotonic()
        self.closed = False
        self.postfix = ""

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_postfix(self, **kw):
        self.postfix = ", ".join(f"{k}={v}" for k, v in kw.items())

    def set_postfix_str(self, text: str = ""):
        self.postfix = text

    def set_description(self, desc: str):
        self.desc = desc

    def update(self, n: int = 1):
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._say()

    def refresh(self):
        pass

    def line(self, final: bool = False) -> str:
        """The progress line (``final``: the run's totals)."""
        secs = max(time.monotonic() - self.start, 1e-9)
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        pct = f" ({100 * self.n / self.total:.0f} %)" if self.total else ""
        text = f"{self.desc}: {done} {self.unit}{pct}, {self.n / secs:.1f} {self.unit}/s"
        if final:
            text += f", {secs:.1f} s"
        elif self.total and self.n:
            text += f", ~{(self.total - self.n) * secs / self.n:.0f} s left"
        return text + (f" [{self.postfix}]" if self.postfix else "")

    def _say(self, final: bool = False):
        if not self.silent:
            print(self.line(final), file=self.file or sys.stderr, flush=True)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.n and time.monotonic() - self.start >= self.every:  # short runs: no line at all
            self._say(final=True)
