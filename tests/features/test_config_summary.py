import json

import numpy as np
import pytest
import scipy.stats

from genrekit.errors import AudioError, ParameterError
from genrekit.features import (
    ALL_FEATURES,
    STATISTICS,
    FeatureConfig,
    compute_features,
    parse_feature_list,
    summarize,
    summary_names,
    summary_vector,
)


def test_config_round_trips_through_json():
    c = FeatureConfig(sr=16000, n_mels=64, features=("mfcc", "chroma"), duration=12.5)
    c2 = FeatureConfig.from_json(c.to_json())
    assert c2 == c
    assert c2.hash() == c.hash()
    assert json.loads(c.to_json())["features"] == ["mfcc", "chroma"]


def test_config_hash_changes_with_any_field_and_is_stable():
    base = FeatureConfig()
    assert base.hash() == FeatureConfig().hash()
    assert len({base.hash(), base.replace(sr=16000).hash(), base.replace(n_mfcc=13).hash(),
                base.replace(features=("mfcc",)).hash()}) == 4


def test_config_is_frozen():
    with pytest.raises(Exception):
        FeatureConfig().sr = 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(features=("mfcc", "nope")), "unknown feature 'nope'"),
    (dict(sr=0), "sr must be positive"),
    (dict(n_mfcc=200), "n_mfcc=200 exceeds n_mels=128"),
    (dict(duration=-1.0), "duration must be > 0"),
    (dict(delta_width=4), "delta_width must be odd"),
    (dict(sr=8000, n_contrast_bands=6), "do not fit below Nyquist"),
])
def test_bad_config_values_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        FeatureConfig(**kwargs)


def test_parse_feature_list():
    assert parse_feature_list("all") == ALL_FEATURES
    assert parse_feature_list("mfcc, chroma") == ("mfcc", "chroma")
    with pytest.raises(ParameterError, match="valid features: logmel"):
        parse_feature_list("mfcc,mffc")


def test_summary_statistics_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(3, 500)).astype(np.float32)
    s = summarize(x)
    assert s.shape == (3, 7)
    np.testing.assert_allclose(s[:, 0], x.mean(1), rtol=1e-5)
    np.testing.assert_allclose(s[:, 1], x.std(1), rtol=1e-5)
    np.testing.assert_allclose(s[:, 2], scipy.stats.skew(x, axis=1), rtol=1e-4)
    np.testing.assert_allclose(s[:, 3], scipy.stats.kurtosis(x, axis=1), rtol=1e-4)
    np.testing.assert_allclose(s[:, 4], np.median(x, 1), rtol=1e-6)
    np.testing.assert_allclose(s[:, 5], x.min(1))
    np.testing.assert_allclose(s[:, 6], x.max(1))


def test_summary_of_constant_row_is_finite():
    s = summarize(np.full((2, 50), 3.0))
    assert np.isfinite(s).all()
    assert s[0, 2] == 0 and s[0, 3] == 0


def test_summary_names_are_named_and_aligned():
    c = FeatureConfig(features=("mfcc", "chroma", "centroid", "tempo"))
    names = summary_names(c)
    assert names[:7] == [f"mfcc_00_{s}" for s in STATISTICS]
    assert "mfcc_03_mean" in names and "chroma_07_std" in names and "centroid_kurtosis" in names
    assert names[-1] == "tempo"
    assert len(names) == len(set(names)) == (20 + 12 + 1) * 7 + 1
    t = np.arange(22050 * 3) / 22050
    y = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    f = compute_features(y, c)
    v = summary_vector(f, c)
    assert v.shape == (len(names),)
    i = names.index("mfcc_03_mean")
    assert v[i] == pytest.approx(f["mfcc"][3].mean(), rel=1e-5)
    j = names.index("chroma_07_std")
    assert v[j] == pytest.approx(f["chroma"][7].std(), rel=1e-4, abs=1e-6)


def test_silence_is_extracted_with_finite_features():
    f = compute_features(np.zeros(22050 * 2, np.float32), FeatureConfig())
    for k, v in f.items():
        assert np.isfinite(v).all(), k


@pytest.mark.parametrize("y, match", [
    (np.zeros(100, np.float32), "too short"),
    (np.array([0.0] * 3000 + [np.nan] + [0.0] * 3000, np.float32), "non-finite"),
])
def test_unusable_signals_raise_audio_error(y, match):
    with pytest.raises(AudioError, match=match):
        compute_features(y, FeatureConfig())
