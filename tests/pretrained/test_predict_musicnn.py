"""A model trained on musicnn features predicts new audio; without the weights predict refuses first."""

from __future__ import annotations

import pytest
import soundfile as sf

from genrekit.features import FeatureConfig
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import read_manifest
from genrekit.pipeline.prediction.artifacts import load_artifact
from genrekit.pipeline.prediction.predict import predict
from genrekit.pretrained import weights
from genrekit.pretrained.weights import WeightsError
from tests.audio_helpers import tone, write_collection
from tests.pretrained.conftest import real_prefix


@pytest.mark.slow
def test_a_musicnn_model_predicts_and_refuses_without_weights(tmp_path, monkeypatch):
    real_prefix("MTT_musicnn")
    root = write_collection(tmp_path / "audio", n_per_label=3, seconds=2.0)
    config = FeatureConfig(features=("rms", "musicnn_tags"))
    report = extract(read_manifest(root / "manifest.csv").tracks, tmp_path / "store", config, workers=1,
                     progress=False)
    assert report.n_extracted == 6
    result = run_benchmark(tmp_path / "store", "logreg", split="kfold:2", out=tmp_path / "run", save_models=True,
                           workers=1, progress=False, features=["musicnn_tags"])
    art = load_artifact(result.artifacts["logreg"])
    assert art.config.musicnn_model == "MTT_musicnn"
    sf.write(tmp_path / "new.wav", tone(113, 4.0, 22050, beat_hz=2, seed=7), 22050)
    (pred,) = predict(art, [tmp_path / "new.wav"], top_k=2)
    assert pred.ok and len(pred.top) == 2
    monkeypatch.setenv("GENREKIT_WEIGHTS_DIR", str(tmp_path / "none"))
    weights.verified_prefix.cache_clear()
    try:
        with pytest.raises(WeightsError, match="genrekit weights fetch"):
            list(predict(art, [tmp_path / "new.wav"]))
    finally:
        weights.verified_prefix.cache_clear()
