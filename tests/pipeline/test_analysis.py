"""One file → features or a captured failure: the code extract's workers and predict share."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from genrekit.errors import AudioError
from genrekit.features import FeatureConfig, summary_vector
from genrekit.pipeline.extraction.analysis import FileAnalysis, FileFailure, analyse_file
from genrekit.pipeline.extraction.plan import plan
from genrekit.pipeline.extraction.sources import scan_folder
from genrekit.pipeline.extraction.worker import extract_one
from genrekit.pipeline.prediction.predict import featurise_file
from tests.audio_helpers import tone

CONFIG = FeatureConfig(features=("mfcc", "rms", "chroma"))
SR = 22050


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(220.0, 1.5), SR)
    return path


def test_a_good_file(wav):
    got = analyse_file(wav, CONFIG, summary=True, then=lambda y, f: (len(y), sorted(f)))
    assert isinstance(got, FileAnalysis) and got.native_sr == SR and got.signal.dtype == np.float32
    assert got.derived == (len(got.signal), sorted(got.features))
    np.testing.assert_array_equal(got.summary, summary_vector(got.features, CONFIG))
    assert got.n_samples == len(got.signal) == round(1.5 * SR)
    assert analyse_file(wav, CONFIG).summary is None


def test_before_sees_the_signal_which_the_features_then_free(wav):
    seen = {}

    def before(y):
        seen["signal"] = y.copy()
        return y.size

    kept = analyse_file(wav, CONFIG, summary=True)
    got = analyse_file(wav, CONFIG, summary=True, before=before)
    assert got.signal is None and got.derived == got.n_samples == kept.n_samples == round(1.5 * SR)
    np.testing.assert_array_equal(seen["signal"], kept.signal)
    for name in CONFIG.features:
        np.testing.assert_array_equal(got.features[name], kept.features[name])
    np.testing.assert_array_equal(got.summary, kept.summary)
    with pytest.raises(ValueError, match="then or before, not both"):
        analyse_file(wav, CONFIG, before=before, then=lambda y, f: None)


def test_failures_are_captured_never_raised(tmp_path, wav):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    got = analyse_file(bad, CONFIG)
    assert isinstance(got, FileFailure) and got.error_type == "AudioError" and got.line().startswith("AudioError: ")
    assert analyse_file(wav, CONFIG, max_seconds=0.5).error_type == "AudioError"  # too long, not decoded

    def boom(y, f):
        raise ValueError("the model reads another layout")

    assert analyse_file(wav, CONFIG, then=boom) == FileFailure("ValueError", "the model reads another layout")
    assert analyse_file(wav, CONFIG, then=lambda y, f: [][0]).line() == "IndexError: list index out of range"
    assert analyse_file(wav, CONFIG, then=lambda y, f: (_ for _ in ()).throw(KeyError())).message == "KeyError()"

    def no_memory(y, f):
        raise MemoryError

    assert analyse_file(wav, CONFIG, then=no_memory, out_of_memory="use --duration") == FileFailure(
        "MemoryError", "use --duration")

    def audio_error(y, f):
        raise AudioError("silence")

    assert analyse_file(wav, CONFIG, then=audio_error) == FileFailure("AudioError", "silence")


def test_extract_and_predict_compute_the_same_features(wav):
    """Both go through analyse_file: the summary model input equals the summary a worker stores."""
    (task,), *_ = plan(scan_folder(wav.parent).tracks, {}, {}, False)
    res = extract_one(task, CONFIG)
    assert res["status"] == "ok"
    layout = {"input": "summary", "columns": None, "frame_features": None}
    pred = featurise_file(str(wav), CONFIG.to_json(), layout, None)
    np.testing.assert_allclose(pred["X"][0], res["summary"], rtol=1e-6, atol=1e-6)
    assert pred["duration"] == pytest.approx(res["duration"])


def test_predict_and_extract_keep_their_messages(tmp_path):
    layout = {"input": "summary", "columns": None, "frame_features": None}
    missing = featurise_file(str(tmp_path / "nope.wav"), CONFIG.to_json(), layout, None)
    assert missing == {"path": str(tmp_path / "nope.wav"), "error": "AudioError: no such file"}
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF")
    assert featurise_file(str(bad), CONFIG.to_json(), layout, None)["error"].startswith("AudioError: ")
    (task,), *_ = plan(scan_folder(tmp_path).tracks, {}, {}, False)
    res = extract_one(task, CONFIG)
    assert res["status"] == "fail" and res["error_type"] == "AudioError" and res["content_hash"]
