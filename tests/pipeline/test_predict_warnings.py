"""predict warns about a summary model's timeline and about near-constant outputs (issue 17.2)."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from genrekit.cli import main
from genrekit.features import FeatureConfig, summary_names
from genrekit.pipeline.prediction.artifacts import ModelArtifact, save_artifact
from genrekit.pipeline.prediction.checks import PredictionWarning, SpreadCheck, segment_mismatch
from genrekit.pipeline.prediction.predict import predict
from tests.audio_helpers import tone

SR = 22050
CONFIG = FeatureConfig(features=("rms", "mfcc"))


def _artifact(estimator, config=CONFIG):
    n = len(summary_names(config))
    rng = np.random.default_rng(0)
    estimator.fit(rng.standard_normal((20, n)), np.arange(20) % 2)
    return ModelArtifact(model="m", estimator=estimator, config_json=config.to_json(), classes=["a", "b"],
                         input="summary", columns=None)


@pytest.fixture
def songs(tmp_path):
    paths = []
    for i, f in enumerate((110, 440, 1760)):
        paths.append(tmp_path / f"s{i}.wav")
        sf.write(paths[-1], tone(f, 3.0, SR, beat_hz=2 + i, seed=i), SR)
    return paths


def test_segment_mismatch_only_for_summary_models_trained_on_longer_windows():
    whole = SimpleNamespace(model="svm", input="summary", config=FeatureConfig())
    assert "trained on summaries of whole tracks" in segment_mismatch(whole, 3.0)
    assert segment_mismatch(whole, None) is None
    frames = SimpleNamespace(model="cnn1d", input="frames", config=FeatureConfig())
    assert segment_mismatch(frames, 3.0) is None
    windows = SimpleNamespace(model="svm", input="summary", config=FeatureConfig(duration=3.0))
    assert segment_mismatch(windows, 3.0) is None
    assert "first 30 s" in segment_mismatch(
        SimpleNamespace(model="svm", input="summary", config=FeatureConfig(duration=30.0)), 3.0)


def test_spread_check_says_when_probabilities_do_not_move():
    c = SpreadCheck()
    c.add(np.array([0.33, 0.32, 0.35]))
    c.add(np.array([[0.34, 0.31, 0.35], [0.33, 0.33, 0.34]]))
    assert "nearly the same for all 3 inputs" in c.message()
    c.add(np.array([0.9, 0.05, 0.05]))
    assert c.message() is None
    few = SpreadCheck()
    few.add(np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert few.message() is None  # two inputs say nothing


def test_predict_warns_for_a_constant_model_and_a_summary_timeline(songs):
    art = _artifact(DummyClassifier(strategy="prior"))
    with pytest.warns(PredictionWarning) as caught:
        preds = list(predict(art, songs, segments=1.0))
    assert all(p.ok and len(p.segments) == 3 for p in preds)
    texts = [str(w.message) for w in caught]
    assert any("never saw" in t for t in texts) and any("nearly the same for all 12 inputs" in t for t in texts)


def test_a_model_that_separates_its_inputs_gives_no_warning(songs):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from genrekit.features import compute_features, summary_vector
    from genrekit.pipeline.extraction.decode import decode

    X = np.vstack([summary_vector(compute_features(decode(p, SR)[0], CONFIG), CONFIG) for p in songs])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=100.0)).fit(X, [0, 1, 1])
    art = ModelArtifact(model="m", estimator=model, config_json=CONFIG.to_json(), classes=["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", PredictionWarning)
        preds = list(predict(art, songs))
    assert [p.top[0][0] for p in preds] == ["a", "b", "b"]


def test_cli_prints_each_warning_once_in_one_line(songs, tmp_path, capsys):
    path = save_artifact(_artifact(DummyClassifier(strategy="prior")), tmp_path / "m.joblib")
    assert main(["predict", "--model", str(path), *map(str, songs), "--segments", "1", "--workers", "1",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    warns = [line for line in err if line.startswith("warning: ")]
    assert len(warns) == 2 and len(set(warns)) == 2
    assert all("Warning:" not in line for line in err)
