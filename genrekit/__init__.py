"""genrekit: parallel feature extraction and fair benchmarking for music genre classification."""

__version__ = "0.1.0"

from genrekit.errors import GenrekitError, ParameterError, AudioError, StoreError  # noqa: E402

__all__ = ["__version__", "GenrekitError", "ParameterError", "AudioError", "StoreError"]
