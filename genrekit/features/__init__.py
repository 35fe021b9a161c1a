"""WHAT is computed from one signal: pure functions, no files.

Every feature is registered once in :data:`FEATURES` (:mod:`genrekit.features.catalog`, which
says how to add one); the config, the compute order and the summary columns follow from it.
"""

from genrekit.features.catalog import FEATURES
from genrekit.features.config import (
    ALL_FEATURES,
    FRAME_FEATURES,
    STATISTICS,
    TRACK_FEATURES,
    FeatureConfig,
    parse_feature_list,
)
from genrekit.features.extract import compute_features, filterbanks, summarize, summary_names, summary_vector

__all__ = [
    "FEATURES",
    "ALL_FEATURES",
    "FRAME_FEATURES",
    "TRACK_FEATURES",
    "STATISTICS",
    "FeatureConfig",
    "parse_feature_list",
    "compute_features",
    "filterbanks",
    "summarize",
    "summary_names",
    "summary_vector",
]
