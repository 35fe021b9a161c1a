"""Saved models applied to new audio: real extraction, top-k, timelines, bad files, versions."""

from __future__ import annotations

import json
import warnings

import joblib
import pytest
import soundfile as sf

from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.features import FeatureConfig
from genrekit.pipeline.prediction.artifacts import ArtifactVersionWarning, load_artifact, save_artifact
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.prediction.predict import _segment_bounds, format_prediction, predict
from genrekit.pipeline.extraction.sources import read_manifest
from tests.audio_helpers import tone, write_collection

SR = 22050


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two tone 'genres' (low and high), extracted for real, benchmarked, models saved."""
    base = tmp_path_factory.mktemp("predict")
    root = write_collection(base / "audio", n_per_label=4, seconds=2.0)
    config = FeatureConfig(features=("mfcc", "chroma", "rms", "tempo"))
    report = extract(read_manifest(root / "manifest.csv").tracks, base / "store", config, workers=1,
                     progress=False)
    assert report.n_extracted == 8
    result = run_benchmark(base / "store", "logreg,gmm-frames", split="kfold:2", out=base / "run",
                           save_models=True, workers=1, progress=False)
    new = base / "new"
    new.mkdir()
    sf.write(new / "low.wav", tone(113, 4.0, SR, beat_hz=2, seed=7), SR)
    sf.write(new / "high.flac", tone(450, 4.0, SR, beat_hz=3, seed=8), SR)
    (new / "broken.wav").write_bytes(b"RIFF....this is not audio")
    return {"artifacts": result.artifacts, "new": new, "config": config}


@pytest.mark.parametrize("model", ["logreg", "gmm-frames"])
def test_predict_new_audio_with_the_artifacts_own_features(trained, model):
    art = load_artifact(trained["artifacts"][model])
    assert art.config == trained["config"]
    new = trained["new"]
    preds = list(predict(art, [new / "low.wav", new / "high.flac"], top_k=2))
    assert [p.top[0][0] for p in preds] == ["low", "high"]
    for p in preds:
        assert p.ok and len(p.top) == 2 and p.duration == pytest.approx(4.0, abs=0.01)
        probs = [q for _, q in p.top]
        assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0, abs=1e-6)


def test_segments_give_a_timeline_that_covers_the_file(trained):
    new = trained["new"]
    with pytest.warns(UserWarning, match="never saw"):  # a summary model's timeline (issue 17.2)
        (p,) = predict(trained["artifacts"]["logreg"], [new / "high.flac"], segments=1.0)
    assert [(s.start, s.end) for s in p.segments] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]
    assert all(s.top[0][0] == "high" for s in p.segments)
    text = format_prediction(p)
    assert text.splitlines()[0].startswith(str(new / "high.flac")) and "0:03-0:04" in text.replace(" ", "")
    # a short tail joins the segment before it
    assert _segment_bounds(int(3.4 * SR), SR, 1.0, 2048)[-1] == (2 * SR, int(3.4 * SR))
    assert _segment_bounds(int(3.6 * SR), SR, 1.0, 2048)[-1] == (3 * SR, int(3.6 * SR))


def test_a_bad_file_is_reported_and_the_rest_predicted(trained):
    new = trained["new"]
    preds = list(predict(trained["artifacts"]["logreg"], [new / "broken.wav", new / "missing.wav", new / "low.wav"]))
    assert [p.ok for p in preds] == [False, False, True]
    assert "AudioError" in preds[0].error and "no such file" in preds[1].error
    assert preds[2].top[0][0] == "low"
    assert "error" in format_prediction(preds[0])


@pytest.mark.slow
def test_cli_predict_json_and_text(trained, capsys):
    new = trained["new"]
    model = str(trained["artifacts"]["gmm-frames"])
    rc = main(["predict", "--model", model, str(new / "low.wav"), str(new / "broken.wav"), "--json",
               "--segments", "2", "--top-k", "1", "--workers", "1"])
    assert rc == 1  # one file failed
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == "gmm-frames" and doc["classes"] == ["high", "low"]
    ok, bad = doc["predictions"]
    assert ok["ok"] and ok["top"][0]["label"] == "low" and len(ok["top"]) == 1
    assert [s["start"] for s in ok["segments"]] == [0.0, 2.0]
    assert not bad["ok"] and "AudioError" in bad["error"]
    rc = main(["predict", "--model", model, str(new), "--workers", "2", "--no-progress"])  # a folder
    cap = capsys.readouterr()
    assert rc == 1 and "broken.wav: error" in cap.err
    assert "high.flac  high" in cap.out and "low.wav  low" in cap.out


def test_loading_under_another_version_warns_and_non_artifacts_are_refused(trained, tmp_path):
    art = load_artifact(trained["artifacts"]["logreg"])
    art.genrekit_version = "0.0.1"
    old = save_artifact(art, tmp_path / "old")
    assert old.suffix == ".joblib"
    with pytest.warns(ArtifactVersionWarning, match="saved by genrekit 0.0.1"):
        again = load_artifact(old)
    assert again.classes == art.classes
    joblib.dump({"not": "a model"}, tmp_path / "other.joblib")
    with pytest.raises(ParameterError, match="not a genrekit model artifact"):
        load_artifact(tmp_path / "other.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"junk")
    with pytest.raises(ParameterError, match="not a readable genrekit model artifact"):
        load_artifact(tmp_path / "junk.joblib")
    with pytest.raises(ParameterError, match="--save-models"):
        load_artifact(tmp_path / "absent.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current version loads silently
        load_artifact(trained["artifacts"]["logreg"])
    with pytest.raises(ParameterError, match="top-k"):
        list(predict(art, [trained["new"]], top_k=0))
