"""Neural heads: they learn, take any length, standardise on the training fold only, vote per track,
clone, repeat on CPU, pickle, run in the benchmark runner and through `genrekit predict`."""

from __future__ import annotations

import json
import pickle

import joblib
import numpy as np
import pytest
import soundfile as sf
from scipy.special import softmax
from sklearn.base import clone

from genrekit.classifiers import get_spec, make_model
from genrekit.classifiers.neural import (
    AttentionClassifier,
    CNN1DClassifier,
    TorchMLPClassifier,
    carve_validation,
)
from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.features import FeatureConfig
from genrekit.pipeline.prediction.artifacts import load_artifact
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import read_manifest
from tests.audio_helpers import tone, write_collection
from tests.conftest import make_synthetic_store

torch = pytest.importorskip("torch")

HEADS = ["mlp", "cnn1d", "cnn2d", "crnn", "attention"]
FRAME_HEADS = HEADS[1:]
#: CPU-sized settings: 10 frames per second, 2-second segments, narrow, few epochs.
SMALL = {"frame_rate": 10, "segment_seconds": 2.0, "channels": 8, "max_epochs": 10, "batch_size": 16}
SMALL_MLP = {"hidden": "32", "max_epochs": 30, "batch_size": 16}
PNG = b"\x89PNG\r\n\x1a\n"


def frames_task(n_per_class=16, n_classes=3, dims=12, seed=0, lo=5, hi=70):
    """Per-track frame matrices of varied length whose class shifts a few dimensions' means."""
    rng = np.random.default_rng(seed)
    means = np.zeros((n_classes, dims))
    for c in range(n_classes):
        means[c, 3 * c:3 * c + 3] = 1.5
    y = np.tile(np.arange(n_classes), n_per_class)
    X = [(means[c] + rng.normal(0, 1, (int(rng.integers(lo, hi)), dims))).astype(np.float32) for c in y]
    return X, y


def summary_task(n_per_class=30, n_classes=3, dims=10, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 2, (n_classes, dims))
    y = np.tile(np.arange(n_classes), n_per_class)
    return (means[y] + rng.normal(0, 1, (len(y), dims))).astype(np.float32), y


def small(name, **extra):
    return make_model(name, {**(SMALL_MLP if name == "mlp" else SMALL), **extra}, random_state=0)


def split_half(X, y):
    tr = np.arange(len(y)) % 2 == 0
    if isinstance(X, list):
        return [x for x, k in zip(X, tr) if k], y[tr], [x for x, k in zip(X, tr) if not k], y[~tr]
    return X[tr], y[tr], X[~tr], y[~tr]


# ====================================================================================== learning
@pytest.mark.parametrize("name", HEADS)
def test_each_head_learns_a_separable_task(name):
    spec = get_spec(name)
    X, y = frames_task() if spec.input == "frames" else summary_task()
    Xtr, ytr, Xte, yte = split_half(X, y)
    est = small(name).fit(Xtr, ytr)
    acc = (est.predict(Xte) == yte).mean()
    assert acc >= 0.8, f"{name}: held-out accuracy {acc:.2f} (chance 0.33)"
    assert list(est.classes_) == [0, 1, 2]
    proba = est.predict_proba(Xte)
    assert proba.shape == (len(yte), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    # a learning curve per epoch, with the validation carve's loss and accuracy
    h = est.history_
    assert 1 <= len(h) <= est.max_epochs and est.n_epochs_ == len(h) and 1 <= est.best_epoch_ <= len(h)
    assert {"epoch", "train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "lr", "seconds"} <= set(h[0])
    assert est.n_train_tracks_ + est.n_valid_tracks_ == len(ytr)  # few tracks: no validation (test_small_data)
    assert h[-1]["train_loss"] < h[0]["train_loss"]


def test_missing_classes_and_string_labels():
    X, y = frames_task(n_per_class=8)
    labels = np.array(["blues", "jazz", "rock"])[y]
    keep = labels != "rock"
    est = small("cnn1d", max_epochs=2).fit([x for x, k in zip(X, keep) if k], labels[keep])
    assert list(est.classes_) == ["blues", "jazz"]
    assert set(est.predict(X)) <= {"blues", "jazz"} and est.predict_proba(X).shape == (len(X), 2)


# ====================================================================================== data
def test_variable_length_input_gives_padded_and_multiple_segments():
    from genrekit.classifiers.torch_heads import window_offsets

    X, y = frames_task(n_per_class=6)
    est = small("cnn1d", max_epochs=1, max_segments=4).fit(X, y)
    assert est.segment_frames_ == 20  # 2 s at 10 frames per second
    tracks = [np.ones((1, 12), np.float32), np.ones((7, 12), np.float32), np.ones((20, 12), np.float32),
              np.zeros((45, 12), np.float32), np.zeros((500, 12), np.float32)]
    seg = est.segment_log_proba(tracks)
    assert [s.shape for s in seg] == [(1, 3), (1, 3), (1, 3), (3, 3), (4, 3)]
    assert est.predict_proba(tracks).shape == (5, 3)
    assert window_offsets(45, 20, 16) == [0, 12, 25]  # evenly spaced, first and last frames covered
    assert window_offsets(500, 20, 4) == [0, 160, 320, 480]
    assert window_offsets(7, 20, 4) == [0]
    # padding is masked out: a short track scores the same whatever the padding holds
    for name in ("cnn1d", "cnn2d", "crnn"):
        net = small(name, max_epochs=1).fit(X, y).module_.eval()
        x = torch.randn(1, 7, 12)
        padded = torch.cat([x, torch.full((1, 13, 12), 50.0)], dim=1)
        with torch.no_grad():
            a = net(torch.nn.functional.pad(x, (0, 0, 0, 13)), torch.tensor([7]))
            b = net(padded, torch.tensor([7]))
        torch.testing.assert_close(a, b, msg=f"{name}: padding leaks into the output")


def test_attention_takes_whole_tracks_of_any_length_with_masks():
    X, y = frames_task(n_per_class=6)
    est = small("attention", max_epochs=1, segment_seconds=30.0).fit(X, y)
    tracks = [np.ones((3, 12), np.float32), np.ones((250, 12), np.float32), np.ones((700, 12), np.float32)]
    assert [s.shape for s in est.segment_log_proba(tracks)] == [(1, 3), (1, 3), (3, 3)]  # whole ≤ 300 frames
    net = est.module_.eval()
    x = torch.randn(1, 40, 12)
    with torch.no_grad():  # one track alone, or padded inside a batch with a longer one: the same scores
        alone = net(x, torch.tensor([40]))
        batch = net(torch.cat([torch.nn.functional.pad(x, (0, 0, 0, 60)), torch.randn(1, 100, 12)]),
                    torch.tensor([40, 100]))
    torch.testing.assert_close(alone[0], batch[0])


def test_standardisation_uses_the_training_fold_only():
    X, y = frames_task(n_per_class=8)
    Xtr, ytr, Xte, _ = split_half(X, y)
    Xte = [x * 10 + 100 for x in Xte]  # a test fold nothing like the training fold
    est = small("cnn1d", max_epochs=1).fit(Xtr, ytr)
    frames = np.concatenate(Xtr).astype(np.float64)
    np.testing.assert_allclose(est.mean_, frames.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(est.scale_, frames.std(axis=0), rtol=1e-4)
    est.predict(Xte)
    np.testing.assert_allclose(est.mean_, frames.mean(axis=0), rtol=1e-5, atol=1e-5)  # predicting changes nothing
    S, ys = summary_task()
    mlp = small("mlp", max_epochs=1).fit(S[:45], ys[:45])
    np.testing.assert_allclose(mlp.mean_, S[:45].mean(axis=0), rtol=1e-5, atol=1e-5)
    assert not np.allclose(mlp.mean_, S.mean(axis=0), atol=1e-3)


def test_track_prediction_is_the_mean_of_its_segments_log_probabilities():
    X, y = frames_task(n_per_class=6, lo=30, hi=90)
    est = small("cnn1d", max_epochs=2).fit(X, y)
    seg = est.segment_log_proba(X)
    assert any(len(s) > 1 for s in seg)
    mean = np.stack([s.mean(axis=0) for s in seg])
    np.testing.assert_allclose(est.predict_proba(X), softmax(mean, axis=1), atol=1e-9)
    np.testing.assert_array_equal(est.predict(X), est.classes_[mean.argmax(axis=1)])
    for s in seg:  # each segment's own log-probabilities are normalised
        np.testing.assert_allclose(np.exp(s).sum(axis=1), 1.0, atol=1e-6)


def test_validation_tracks_are_carved_by_track_and_artist():
    y = np.repeat([0, 1, 2], 12)
    groups = np.array([f"artist{i // 3}" for i in range(len(y))])
    tr, va = carve_validation(y, groups, 0.2, seed=0)
    assert len(va) and len(tr) + len(va) == len(y) and not set(tr) & set(va)
    assert not set(groups[tr]) & set(groups[va])
    tr2, va2 = carve_validation(y, None, 0.2, seed=0)
    assert len(va2) == round(0.2 * len(y)) and sorted(np.bincount(y[va2])) == [2, 2, 3]
    assert len(carve_validation(y[:6], None, 0.2, 0)[1]) == 0  # too few tracks: no validation
    X, yy = frames_task(n_per_class=8)
    g = np.array([f"a{i % 6}" for i in range(len(yy))])
    est = small("cnn1d", max_epochs=1).fit(X, yy, groups=g)
    assert est.n_train_tracks_ + est.n_valid_tracks_ == len(yy)


# ====================================================================================== estimator contract
@pytest.mark.parametrize("name", HEADS)
def test_clone_and_params(name):
    est = make_model(name, random_state=3)
    params = est.get_params()
    assert params["random_state"] == 3 and params["device"] == "auto"
    c = clone(est)
    assert c.get_params() == params and not hasattr(c, "module_")
    c.set_params(max_epochs=2, lr=0.01)
    assert c.max_epochs == 2 and est.max_epochs != 2
    if name != "mlp":
        assert params["segment_seconds"] > 0 and "frame_rate" in params and params["augment"] is True
        assert get_spec(name).input == "frames" and get_spec(name).frame_features == ("logmel",)
    else:
        assert get_spec(name).input == "summary"


def test_mlp_trains_when_the_last_batch_would_hold_one_row():
    """A last batch of one row is dropped (33 rows, batches of 32: a step on one row is noise); a
    single training row trains too (batch normalisation uses its running statistics)."""
    X, y = summary_task(n_per_class=11)
    assert len(y) == 33
    est = small("mlp", batch_size=32, validation_fraction=0.0, max_epochs=2).fit(X, y)
    assert est.n_train_tracks_ == 33 and len(est.history_) == 2
    assert est.predict_proba(X).shape == (33, 3)
    one = small("mlp").fit(X[:1], y[:1])
    assert one.n_train_tracks_ == 1 and list(one.predict(X[:3])) == [y[0]] * 3


@pytest.mark.parametrize("name", HEADS)
def test_an_unfitted_head_raises_not_fitted(name):
    from sklearn.exceptions import NotFittedError

    X, _ = frames_task(n_per_class=1) if get_spec(name).input == "frames" else summary_task(n_per_class=1)
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError):
            getattr(make_model(name), method)(X)


def test_bad_parameters_are_refused_up_front():
    with pytest.raises(ParameterError, match="max_epochs"):
        make_model("cnn1d", {"max_epochs": 0})
    with pytest.raises(ParameterError, match="device"):
        make_model("crnn", {"device": "tpu"})
    with pytest.raises(ParameterError, match="channels"):
        make_model("cnn2d", {"channels": "a,b"})
    with pytest.raises(ParameterError, match="hidden"):
        make_model("mlp", {"hidden": 0})
    with pytest.raises(ValueError, match="sequence of per-track"):
        CNN1DClassifier().fit(np.zeros((4, 5)), [0, 1, 0, 1])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            small("cnn1d", device="cuda").fit(*frames_task(n_per_class=4))


@pytest.mark.parametrize("name", ["mlp", "cnn1d", "attention"])
def test_same_seed_same_predictions_on_cpu(name):
    X, y = frames_task(n_per_class=8) if name != "mlp" else summary_task()
    a = small(name, max_epochs=3).fit(X, y).predict_proba(X)
    b = small(name, max_epochs=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    other = make_model(name, {**(SMALL_MLP if name == "mlp" else SMALL), "max_epochs": 3}, random_state=1)
    assert not np.array_equal(other.fit(X, y).predict_proba(X), a)


def test_pickles_with_cpu_weights_and_predicts_the_same(tmp_path):
    X, y = frames_task(n_per_class=6)
    est = small("crnn", max_epochs=2).fit(X, y)
    joblib.dump(est, tmp_path / "m.joblib")
    again = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert all(p.device.type == "cpu" for p in again.module_.parameters())
    state = est.__getstate__()
    assert "module_" not in state and all(v.device.type == "cpu" for v in state["module_state_"].values())
    assert pickle.loads(pickle.dumps(clone(est))).get_params() == est.get_params()


# ====================================================================================== runner and predict
@pytest.fixture(scope="module")
def logmel_store(tmp_path_factory):
    return make_synthetic_store(tmp_path_factory.mktemp("neural") / "store", n_per_class=8, n_classes=3,
                                n_artists_per_class=4, features=("logmel", "mfcc"), n_frames=40, seed=1,
                                separation=0.6)


def test_dataloader_workers_read_the_store_themselves_with_identical_results(logmel_store):
    from genrekit.cache.store import FeatureStore
    from genrekit.pipeline.evaluation.inputs import FrameSequence

    fs = FeatureStore(logmel_store)
    X = FrameSequence(fs, fs.ids, ("logmel",))
    y = np.searchsorted(sorted(set(fs.labels)), fs.labels)
    base = {"max_epochs": 1, "channels": 8, "segment_seconds": 0.5, "preload": False}
    a = make_model("cnn1d", base, random_state=0).fit(X, y).predict_proba(X)
    b = make_model("cnn1d", {**base, "num_workers": 1}, random_state=0).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, atol=1e-6)  # random crops and masks do not depend on the workers


@pytest.mark.slow
def test_benchmark_puts_neural_heads_on_the_leaderboard_with_learning_curves(logmel_store, tmp_path):
    out = tmp_path / "run"
    res = run_benchmark(logmel_store, "mlp,cnn1d,logreg", split="group-kfold:2", out=out, workers=1,
                        progress=False, save_models=True, device="cpu",
                        params={"cnn1d": {"max_epochs": 4, "channels": 8}, "mlp": {"max_epochs": 8}})
    assert {r["model"] for r in res.leaderboard} == {"mlp", "cnn1d", "logreg"} and not res.failed
    doc = json.loads((out / "results.json").read_text())
    assert doc["config"]["device"] == "cpu" and "--device cpu" in doc["command"]
    for name in ("mlp", "cnn1d"):
        m = doc["models"][name]
        assert all(len(f["history"]) >= 1 and "valid_loss" in f["history"][0] for f in m["folds"])
        curve = m["learning_curve"]
        assert curve["epoch"][0] == 1 and len(curve["train_loss"]) == len(curve["epoch"])
        assert curve["n_folds"][0] == 2
        png = out / doc["figures"][f"learning_curve:{name}"]
        assert png.read_bytes()[:8] == PNG
        assert f"learning_curve_{name}.png" in (out / "report.md").read_text()
    assert "learning_curve" not in doc["models"]["logreg"] and doc["models"]["cnn1d"]["frame_features"] == ["logmel"]
    # the runner filled the frame rate from the store's config and the device from --device
    art = load_artifact(res.artifacts["cnn1d"])
    cfg = FeatureConfig.from_json(art.config_json)
    assert art.estimator.frame_rate == pytest.approx(cfg.sr / cfg.hop_length)
    assert art.estimator.segment_frames_ == round(3.0 * cfg.sr / cfg.hop_length)
    assert art.estimator.device == "cpu" and art.frame_features == ["logmel"]


def test_benchmark_reads_other_frame_features_when_asked(synthetic_store, tmp_path):
    with pytest.raises(ParameterError, match="logmel"):
        run_benchmark(synthetic_store, "cnn1d", out=tmp_path / "a", workers=1, progress=False)
    res = run_benchmark(synthetic_store, "cnn1d", split="kfold:2", out=tmp_path / "b", workers=1, progress=False,
                        params={"cnn1d": {"frame_features": "mfcc,chroma", "max_epochs": 2, "channels": 8}})
    assert res.results["models"]["cnn1d"]["frame_features"] == ["mfcc", "chroma"]
    with pytest.raises(ParameterError, match="--device"):
        run_benchmark(synthetic_store, "mlp", out=tmp_path / "c", workers=1, progress=False, device="tpu")


@pytest.mark.slow
def test_saved_heads_predict_new_audio_with_a_timeline(tmp_path, capsys):
    root = write_collection(tmp_path / "audio", n_per_label=4, seconds=2.0)
    config = FeatureConfig(n_mels=32, features=("logmel", "mfcc", "rms"))
    extract(read_manifest(root / "manifest.csv").tracks, tmp_path / "store", config, workers=1, progress=False)
    res = run_benchmark(tmp_path / "store", "cnn1d,mlp", split="kfold:2", out=tmp_path / "run", workers=1,
                        progress=False, save_models=True,
                        params={"cnn1d": {"max_epochs": 12, "channels": 8, "segment_seconds": 1.0},
                                "mlp": {"max_epochs": 30}})
    new = tmp_path / "new"
    new.mkdir()
    sf.write(new / "low.wav", tone(113, 4.0, 22050, beat_hz=2, seed=7), 22050)
    sf.write(new / "high.wav", tone(450, 4.0, 22050, beat_hz=3, seed=8), 22050)
    for name in ("cnn1d", "mlp"):
        rc = main(["predict", "--model", str(res.artifacts[name]), str(new / "low.wav"), str(new / "high.wav"),
                   "--json", "--segments", "1", "--workers", "1", "--device", "cpu"])
        assert rc == 0
        doc = json.loads(capsys.readouterr().out)
        low, high = doc["predictions"]
        assert doc["model"] == name and low["top"][0]["label"] == "low" and high["top"][0]["label"] == "high"
        assert [s["start"] for s in low["segments"]] == [0.0, 1.0, 2.0, 3.0]
        assert sum(s["top"][0]["label"] == "high" for s in high["segments"]) >= 3
    rc = main(["predict", "--model", str(res.artifacts["cnn1d"]), str(new / "low.wav"), "--device", "tpu"])
    assert rc == 2 and "--device" in capsys.readouterr().err


# ====================================================================================== GPU
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@pytest.mark.parametrize("name", HEADS)
def test_cuda_path(name, tmp_path):
    X, y = frames_task() if name != "mlp" else summary_task()
    Xtr, ytr, Xte, yte = split_half(X, y)
    est = small(name, device="cuda").fit(Xtr, ytr)
    assert est.device_.startswith("cuda") and next(est.module_.parameters()).device.type == "cuda"
    assert (est.predict(Xte) == yte).mean() >= 0.8
    joblib.dump(est, tmp_path / "m.joblib")
    cpu = joblib.load(tmp_path / "m.joblib").set_params(device="cpu")
    np.testing.assert_allclose(cpu.predict_proba(Xte), est.predict_proba(Xte), atol=0.05)  # autocast vs float32


def test_device_auto_prefers_cuda_then_mps_then_cpu():
    from genrekit.classifiers.torch_heads import resolve_device

    dev = resolve_device("auto")
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        assert dev.type == "mps"
    else:
        assert dev.type == "cpu"
    assert resolve_device("cpu").type == "cpu"
    est = small("mlp", max_epochs=1, device="cpu").fit(*summary_task())
    assert est.device_ == "cpu"
    assert isinstance(TorchMLPClassifier().get_params()["hidden"], str)
    assert AttentionClassifier().segment_seconds == 30.0
