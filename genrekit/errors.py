"""One small exception hierarchy.

Every error a user can cause derives from :class:`GenrekitError`; the CLI turns those into a
one-line message and exit code 2. Messages echo the offending value and, where there is one,
name the fix.
"""


class GenrekitError(Exception):
    """Base class of every error genrekit raises on purpose."""


class ParameterError(GenrekitError, ValueError):
    """A bad argument or configuration value."""


class AudioError(GenrekitError):
    """A file that cannot be decoded or is unusable as audio (empty, too short, non-finite)."""


class StoreError(GenrekitError):
    """A feature store that is missing, malformed, locked or incompatible."""
