"""WHAT is computed from one signal: pure functions, no files, no globals."""

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
