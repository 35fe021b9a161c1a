"""What a command writes on stderr besides its results: warnings as one line each, once.

This module imports nothing of genrekit (any room may use it); progress bars and lines are in
:mod:`genrekit.progress`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings


@contextlib.contextmanager
def one_line_warnings(file=None):
    """While a command runs, print each warning as ``warning: MESSAGE`` on stderr, each message once
    (a warning repeated per file, fold or epoch would otherwise fill a log)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file_=None, line=None):
        text = str(message).strip()
        if _library_notice(category, filename):
            return
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


#: Warnings about a library's own API, not about the user's data or run.
_API_NOTICES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _library_notice(category, filename) -> bool:
    """A deprecation notice raised inside another library (e.g. dask's joblib backend on an older
    joblib): nothing a user of genrekit can act on, so it is not printed."""
    own = f"{__name__.split('.')[0]}{os.sep}"
    return issubclass(category, _API_NOTICES) and own not in str(filename)
