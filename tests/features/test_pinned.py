"""The cache key and the column names, pinned to literal values.

A feature config's hash is part of every track's cache key, and the summary column names are what
exported tables and saved models refer to. A change here silently invalidates every user's store
(or misaligns their tables), so these values may only change on purpose, with a migration note.
The literals were recorded from genrekit before the feature registry existed.
"""

import hashlib

import pytest

from genrekit.features import (
    ALL_FEATURES,
    FRAME_FEATURES,
    STATISTICS,
    TRACK_FEATURES,
    FeatureConfig,
    parse_feature_list,
    summary_names,
)

DEFAULT_JSON = (
    '{"contrast_fmin":200.0,"delta_width":9,"duration":null,"features":["logmel","mfcc","mfcc_delta",'
    '"mfcc_delta2","chroma","contrast","centroid","bandwidth","rolloff","flatness","zcr","rms","onset",'
    '"tempogram_ratio","tempo"],"fmax":null,"fmin":0.0,"hop_length":512,"n_chroma":12,"n_contrast_bands":6,'
    '"n_fft":2048,"n_mels":128,"n_mfcc":20,"offset":0.0,"rolloff_percent":0.85,"sr":22050,'
    '"tempo_ac_seconds":8.0,"top_db":80.0,"tuning":0.0}'
)
DEFAULT_DIMS = (
    ("logmel", 128), ("mfcc", 20), ("mfcc_delta", 20), ("mfcc_delta2", 20), ("chroma", 12),
    ("contrast", 7), ("centroid", 1), ("bandwidth", 1), ("rolloff", 1), ("flatness", 1), ("zcr", 1),
    ("rms", 1), ("onset", 1), ("tempogram_ratio", 13), ("tempo", 1),
)


def _digest(names):
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def test_feature_names_and_their_order_are_pinned():
    assert ALL_FEATURES == tuple(n for n, _ in DEFAULT_DIMS)
    assert FRAME_FEATURES == ALL_FEATURES[:-1]
    assert TRACK_FEATURES == ("tempo",)
    assert STATISTICS == ("mean", "std", "skew", "kurtosis", "median", "min", "max")
    assert parse_feature_list("all") == ALL_FEATURES
    assert FeatureConfig().features == ALL_FEATURES


def test_default_config_json_and_hash_are_pinned():
    c = FeatureConfig()
    assert c.to_json() == DEFAULT_JSON
    assert c.hash() == "b0f8e50e1dca8f25"
    assert FeatureConfig.from_json(DEFAULT_JSON).hash() == "b0f8e50e1dca8f25"


@pytest.mark.parametrize("kwargs, expected", [
    (dict(features=("mfcc", "chroma")), "11d8c617fd0b0dbb"),
    (dict(features=("tempo", "logmel")), "af7a239640d0e376"),
    (dict(sr=16000, n_mels=64, n_mfcc=13, duration=30.0), "95f122b545908e46"),
])
def test_other_config_hashes_are_pinned(kwargs, expected):
    assert FeatureConfig(**kwargs).hash() == expected


def test_default_dims_are_pinned():
    assert tuple(FeatureConfig().feature_dims().items()) == DEFAULT_DIMS


def test_default_summary_column_names_are_pinned():
    names = summary_names(FeatureConfig())
    expected = []
    for name, dim in DEFAULT_DIMS[:-1]:
        for i in range(dim):
            prefix = name if dim == 1 else f"{name}_{i:02d}"
            expected.extend(f"{prefix}_{s}" for s in ("mean", "std", "skew", "kurtosis", "median", "min", "max"))
    expected.append("tempo")
    assert names == expected
    assert len(names) == 1590
    assert names[:3] == ["logmel_00_mean", "logmel_00_std", "logmel_00_skew"]
    assert names[1445:1447] == ["contrast_06_kurtosis", "contrast_06_median"]
    assert names[-3:] == ["tempogram_ratio_12_min", "tempogram_ratio_12_max", "tempo"]
    assert _digest(names) == "5e9ad48684d232c74e66959d76136ab72751b86a2535c04b478d4568899990ec"


@pytest.mark.parametrize("kwargs, n, digest", [
    (dict(features=("mfcc", "chroma")), 224, "2b746af14dbfb5dd5a416c39bb76ecfe5412cee080c365fa7502ad0ec70c2428"),
    (dict(features=("tempo", "logmel")), 897, "0824e53be9b6142792795dc6880ff1c4dd1833af64b33113a7bac0fd0b77bddd"),
    (dict(sr=16000, n_mels=64, n_mfcc=13, duration=30.0), 995,
     "6ca316d54a211af25359f2f642d24b3636d72123585a5ec796b56a112aeb1c02"),
])
def test_other_summary_column_names_are_pinned(kwargs, n, digest):
    names = summary_names(FeatureConfig(**kwargs))
    assert len(names) == n and _digest(names) == digest
