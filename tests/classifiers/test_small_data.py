"""Neural heads on small data: any batch or fold size trains, the validation carve keeps every label,
too small a validation part falls back to fixed epochs, a head no better than chance says so, and a
frame model given --features reads them (or says why not)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from genrekit.classifiers import get_spec
from genrekit.classifiers.torch_base import FIXED_EPOCHS_NOTE, MIN_VALID_TRACKS, carve_validation
from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.frame_choice import choose_frame_features
from genrekit.pipeline.evaluation.runner import run_benchmark
from tests.classifiers.test_neural import FRAME_HEADS, HEADS, frames_task, small, summary_task

pytest.importorskip("torch")


def task(name, n_per_class=4, n_classes=3, seed=0):
    if get_spec(name).input == "frames":
        return frames_task(n_per_class=n_per_class, n_classes=n_classes, seed=seed)
    return summary_task(n_per_class=n_per_class, n_classes=n_classes, seed=seed)


def fit_recording(est, X, y, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y, **kw)
    return est, [str(w.message) for w in caught]


# ====================================================================================== sizes
@pytest.mark.parametrize("name", HEADS)
@pytest.mark.parametrize("n_tracks,batch_size", [(1, 32), (2, 1), (5, 4), (9, 8)])
def test_every_head_trains_on_any_fold_and_batch_size(name, n_tracks, batch_size):
    """One track, batches of one, a last batch of one row: nothing fails, every track is predicted."""
    X, y = task(name)
    X, y = X[:n_tracks], y[:n_tracks]
    est = small(name, batch_size=batch_size, max_epochs=2).fit(X, y)
    pred = est.predict(X)
    assert pred.shape == (n_tracks,) and set(pred) <= set(y)
    assert est.predict_proba(X).shape == (n_tracks, len(set(y)))
    assert est.n_train_tracks_ == n_tracks and est.n_valid_tracks_ == 0


def test_a_fold_without_some_labels_predicts_only_the_labels_it_saw():
    X, y = frames_task(n_per_class=6, n_classes=4)
    keep = y != 2
    est = small("cnn1d", max_epochs=2).fit([x for x, k in zip(X, keep) if k], y[keep])
    assert list(est.classes_) == [0, 1, 3]
    assert set(est.predict(X)) <= {0, 1, 3} and est.predict_proba(X).shape == (len(X), 3)


# ====================================================================================== the carve
def test_the_carve_keeps_every_label_and_holds_out_whole_artists_where_it_can():
    # labels 0 and 1: three artists each; label 2: one artist; label 3: a single track
    y = np.array([0] * 12 + [1] * 12 + [2] * 12 + [3])
    groups = np.array([f"a{i % 3}" for i in range(12)] + [f"b{i % 3}" for i in range(12)] + ["solo"] * 12 + ["x"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr, va = carve_validation(y, groups, 0.2, seed=0)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(len(y)))
    assert set(y[tr]) == {0, 1, 2, 3}  # every label keeps fit tracks
    assert set(y[va]) == {0, 1, 2}  # every label of two or more tracks is validated
    for lab in (0, 1):  # grouped where the label has artists to spare
        idx_tr, idx_va = tr[y[tr] == lab], va[y[va] == lab]
        assert not set(groups[idx_tr]) & set(groups[idx_va])
    assert 1 <= (y[va] == 2).sum() <= 3  # the one-artist label: by track
    msgs = [str(w.message) for w in caught]
    assert any("1 of 4 labels have too few artists" in m and "by track" in m for m in msgs)


def test_the_carve_without_artists_is_stratified_and_silent():
    y = np.repeat([0, 1, 2], 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr, va = carve_validation(y, None, 0.2, seed=0)
    assert len(va) == round(0.2 * len(y)) and sorted(np.bincount(y[va]).tolist()) == [2, 2, 3]
    assert len(carve_validation(y[:6], None, 0.2, 0)[1]) == 0  # too few tracks: none


def test_a_label_with_one_artist_is_trained_and_validated(tmp_path):
    """The issue's case: with one artist for a label, the old carve put that whole label into
    validation and the head never saw it in training."""
    X, y = frames_task(n_per_class=100, n_classes=3, lo=20, hi=30)
    groups = np.array([f"g{c}-{i % 4}" if c else "the-only-one" for i, c in enumerate(y)])
    est, msgs = fit_recording(small("cnn1d", max_epochs=3), X, y, groups=groups)
    assert est.n_valid_tracks_ >= MIN_VALID_TRACKS and est.history_[0]["valid_loss"] is not None
    assert any("1 of 3 labels have too few artists" in m for m in msgs)
    assert est.history_[est.best_epoch_ - 1]["valid_accuracy"] > 0.5


# ====================================================================================== fallback
def test_too_small_a_validation_part_trains_fixed_epochs_on_every_track():
    X, y = frames_task(n_per_class=10, n_classes=3)  # 30 tracks: 15 % is 4–5 tracks < MIN_VALID_TRACKS
    est, msgs = fit_recording(small("cnn1d", max_epochs=4), X, y)
    assert FIXED_EPOCHS_NOTE in msgs
    assert est.n_valid_tracks_ == 0 and est.n_train_tracks_ == len(y)
    assert est.n_epochs_ == 4 and est.best_epoch_ == 4  # every epoch ran, the last weights are kept
    assert all(h["valid_loss"] is None for h in est.history_)
    assert est.check_accuracy_["tracks"] == "training" and est.check_accuracy_["accuracy"] > 0.5
    est, msgs = fit_recording(small("cnn1d", max_epochs=2, validation_fraction=0.0), X, y)
    assert FIXED_EPOCHS_NOTE not in msgs and est.n_epochs_ == 2  # asked for no validation: nothing to say


def test_enough_validation_tracks_steer_early_stopping():
    X, y = summary_task(n_per_class=100)  # 300 tracks: 15 % is 45
    est, msgs = fit_recording(small("mlp", max_epochs=30, patience=2), X, y)
    assert FIXED_EPOCHS_NOTE not in msgs and est.n_valid_tracks_ >= MIN_VALID_TRACKS
    assert est.check_accuracy_["tracks"] == "validation"
    assert est.check_accuracy_["accuracy"] == est.history_[est.best_epoch_ - 1]["valid_accuracy"] > 0.8


# ====================================================================================== chance
@pytest.mark.parametrize("name", ["mlp", "cnn1d"])
def test_a_head_no_better_than_chance_says_so(name):
    """Inputs that are all alike: the head answers one label for every track, i.e. chance."""
    X, y = task(name, n_per_class=8)
    X = np.zeros_like(X) if isinstance(X, np.ndarray) else [np.zeros_like(x) for x in X]
    est, msgs = fit_recording(small(name, max_epochs=2), X, y)
    hit = [m for m in msgs if "no better than chance" in m]
    assert hit and "training tracks" in hit[0] and "0.33" in hit[0]
    assert est.check_accuracy_["accuracy"] <= est.check_accuracy_["chance"] + 1e-9
    Xs, ys = task(name, n_per_class=8)
    _, msgs = fit_recording(small(name, max_epochs=10), Xs, ys)
    assert not [m for m in msgs if "no better than chance" in m]


@pytest.mark.slow
def test_the_warnings_of_a_head_reach_results_and_report(tmp_path):
    from tests.conftest import make_synthetic_store

    store = make_synthetic_store(tmp_path / "store", n_per_class=6, n_frames=20)
    res = run_benchmark(store, "cnn1d", split="kfold:2", out=tmp_path / "run", workers=1, progress=False,
                        params={"cnn1d": {"frame_features": "mfcc", "max_epochs": 1, "channels": 4}})
    warns = res.results["models"]["cnn1d"]["warnings"]
    assert any(FIXED_EPOCHS_NOTE[:80] in w for w in warns)
    assert FIXED_EPOCHS_NOTE[:80] in (tmp_path / "run" / "report.md").read_text()
    assert all(len(f["history"]) == 1 and f["history"][0]["valid_loss"] is None
               for f in res.results["models"]["cnn1d"]["folds"])


# ====================================================================================== --features
def fake_source(frame=("logmel", "mfcc", "chroma"), track=("tempo",)):
    return SimpleNamespace(frame_features=frame, config=SimpleNamespace(track_features=track), path="STORE")


def test_frame_models_read_the_frame_features_of_features():
    spec = get_spec("cnn1d")
    src = fake_source()
    assert choose_frame_features("cnn1d", spec, None, None, src) == (("logmel",), [])
    assert choose_frame_features("cnn1d", spec, None, ["mfcc", "chroma"], src) == (("mfcc", "chroma"), [])
    feats, notes = choose_frame_features("cnn1d", spec, None, ["tempo", "mfcc"], src)
    assert feats == ("mfcc",) and "tempo is track-level only" in notes[0]
    with pytest.raises(ParameterError, match=r"--features tempo names no frame-level feature.*logmel, mfcc, chroma"):
        choose_frame_features("cnn1d", spec, None, ["tempo"], src)
    feats, notes = choose_frame_features("cnn1d", spec, "chroma", ["mfcc"], src)  # --param wins, and says so
    assert feats == ("chroma",) and "--param cnn1d.frame_features" in notes[0]
    with pytest.raises(ParameterError, match="re-extract"):
        choose_frame_features("cnn1d", spec, None, None, fake_source(frame=("mfcc",)))


def test_benchmark_frame_model_uses_features(synthetic_store, tmp_path):
    res = run_benchmark(synthetic_store, "cnn1d,logreg", split="kfold:2", features=["chroma"], out=tmp_path / "a",
                        workers=1, progress=False, params={"cnn1d": {"max_epochs": 1, "channels": 4}})
    assert res.results["models"]["cnn1d"]["frame_features"] == ["chroma"]
    assert not res.failed
