"""Start-up of the command line: declare in full only the sub-command being run.

``genrekit --version`` or ``--help`` needs each command's name and one-line help, not its
arguments, whose defaults and choices come from modules that import numpy, joblib or the
feature code. :func:`declare_commands` runs each ``add_<name>(subparsers)`` of the command line
against a stand-in that, for any other command than the one named on the command line, declares
the name and its help and stops the function there (before its arguments and their imports).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


class _Declared(Exception):
    """Raised by the stand-in once a command that is not being run has its name and help."""


class _NamesOnly:
    """The sub-parsers action as an ``add_<name>`` function sees it, for every command but ``wanted``."""

    def __init__(self, sub, wanted: str | None):
        self._sub, self._wanted = sub, wanted

    def add_parser(self, name, **kwargs):
        if name == self._wanted:
            return self._sub.add_parser(name, **kwargs)
        self._sub.add_parser(name, help=kwargs.get("help"))
        raise _Declared


def command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: the first word not an option (the top-level options take
    no values), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def declare_commands(sub, adds: Sequence[Callable], wanted: str | None = None, *, every: bool = False):
    """Call each ``add(sub)``; unless ``every``, only the command ``wanted`` declares its arguments."""
    for add in adds:
        if every:
            add(sub)
            continue
        try:
            add(_NamesOnly(sub, wanted))
        except _Declared:
            pass
