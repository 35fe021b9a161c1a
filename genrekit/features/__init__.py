"""WHAT is computed from one signal: pure functions, no files.

Every feature is registered once in :data:`FEATURES` (:mod:`genrekit.features.catalog`, which
says how to add one); the config, the compute order and the summary columns follow from it.
The names below are imported on first use (PEP 562): the config alone costs numpy, not the
numeric libraries the features are computed with.
"""

import importlib

_WHERE = {
    "FEATURES": "catalog",
    "ALL_FEATURES": "config", "FRAME_FEATURES": "config", "STATISTICS": "config", "TRACK_FEATURES": "config",
    "FeatureConfig": "config", "parse_feature_list": "config",
    "compute_features": "extract", "filterbanks": "extract", "summarize": "extract", "summary_names": "extract",
    "summary_vector": "extract",
}

__all__ = list(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
