"""What a command writes on stderr besides its results: warnings as one line each, once.

This module imports nothing of genrekit (any room may use it); progress bars and lines are in
:mod:`genrekit.progress`.
"""

from __future__ import annotations

import contextlib
import sys
import warnings


@contextlib.contextmanager
def one_line_warnings(file=None):
    """While a command runs, print each warning as ``warning: MESSAGE`` on stderr, each message once
    (a warning repeated per file, fold or epoch would otherwise fill a log)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file_=None, line=None):
        text = str(message).strip()
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
