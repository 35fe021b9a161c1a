"""The frame heads as taggers: one network, a sigmoid per tag, BCE loss, segments as for genres."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from genrekit.classifiers import make_model
from genrekit.classifiers.tagging_frames import FrameHeadTagger, carve_tracks
from genrekit.pipeline.evaluation.tag_models import multilabel_model, tag_scores

FAST = {"channels": 8, "n_blocks": 2, "max_epochs": 3, "segment_seconds": 1.6, "device": "cpu", "frame_rate": 10.0}


def _frames(n, n_tags=3, seed=0, strength=2.0):
    """Tracks of 20–40 frames × 6 dims; tag j lifts dimension j in every frame."""
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_tags)) < 0.4).astype(np.uint8)
    X = []
    for i in range(n):
        x = rng.normal(0, 1, (int(rng.integers(20, 41)), 6)).astype(np.float32)
        x[:, :n_tags] += strength * Y[i]
        X.append(x)
    return X, Y


def _tagger(model="cnn1d", seed=1, **params):
    return multilabel_model(model, make_model(model, {**FAST, **params}, random_state=seed))


def test_frame_heads_are_one_native_tagger():
    X, Y = _frames(6)
    for name in ("cnn1d", "cnn2d", "crnn", "attention"):
        est = multilabel_model(name, make_model(name, {}, random_state=0))
        assert isinstance(est, FrameHeadTagger) and est.multilabel_native and est.base.random_state == 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = _tagger(name, max_epochs=1).fit(X, Y)
        assert type(est.module_).__name__.lower().startswith(name[:3]) and tag_scores(est, X, 3).shape == (6, 3)


def test_shape_range_determinism_and_tiny_folds():
    X, Y = _frames(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = _tagger().fit(X, Y)
        b = _tagger().fit(X, Y)
        S = tag_scores(a, X[:5], 3)
        assert S.shape == (5, 3) and ((0 <= S) & (S <= 1)).all()
        assert np.array_equal(S, tag_scores(b, X[:5], 3))             # seeded: identical on the CPU
        assert np.array_equal(S, tag_scores(pickle.loads(pickle.dumps(a)), X[:5], 3))   # weights pickle
        assert tag_scores(a, X[:1], 3).shape == (1, 3)                 # a batch of one track
        one = _tagger(batch_size=1).fit(X[:2], Y[:2])                  # a tiny fold, batches of one
        assert one.n_valid_tracks_ == 0 and one.module_kwargs_["n_classes"] == 3
        assert np.isfinite(tag_scores(one, X[:3], 3)).all()


def test_small_data_trains_on_every_track_with_the_fixed_epochs_warning():
    X, Y = _frames(20)
    with pytest.warns(UserWarning, match="too few training tracks"):
        est = _tagger(max_epochs=2).fit(X, Y, groups=np.arange(20) % 5)
    assert est.n_train_tracks_ == 20 and est.n_epochs_ == 2 and est.best_epoch_ == 2


def test_validation_carve_keeps_artists_apart():
    groups = np.array([f"a{i % 10}" for i in range(100)])
    tr, va = carve_tracks(100, groups, 0.2, 0)
    assert len(tr) + len(va) == 100 and not set(groups[tr]) & set(groups[va])
    tr, va = carve_tracks(100, None, 0.2, 0)
    assert len(va) == 20
    assert len(carve_tracks(5, None, 0.2, 0)[1]) == 0


@pytest.mark.parametrize("model", ["cnn1d", "attention"])
def test_frame_head_learns_tags_with_early_stopping(model):
    X, Y = _frames(240, n_tags=3, seed=2)
    est = _tagger(model, max_epochs=15, patience=4, validation_fraction=0.25, lr=3e-3)
    est.fit(X[:200], Y[:200], groups=np.arange(200) % 40)
    assert est.n_valid_tracks_ >= 40 and est.history_[0]["valid_loss"] is not None
    assert 1 <= est.best_epoch_ <= est.n_epochs_ <= 15
    S = tag_scores(est, X[200:], 3)
    assert np.mean([roc_auc_score(Y[200:, j], S[:, j]) for j in range(3)]) > 0.8


@pytest.mark.slow
def test_benchmark_tagging_cnn1d_fits_one_network(tmp_path, monkeypatch):
    from genrekit.classifiers import tagging_frames
    from genrekit.pipeline.evaluation.runner import run_benchmark
    from tests.tagging.tagged_store import TAGS, make_tagged_store

    store = make_tagged_store(tmp_path / "s", strength=1.0)
    fits = []
    real_fit = tagging_frames.FrameHeadTagger.fit

    def counting_fit(self, X, Y, groups=None):
        fits.append(Y.shape)
        return real_fit(self, X, Y, groups=groups)

    monkeypatch.setattr(tagging_frames.FrameHeadTagger, "fit", counting_fit)
    res = run_benchmark(store, "cnn1d", out=tmp_path / "r", workers=1, progress=False, log=lambda *_: None,
                        save_models=True,
                        params={"cnn1d": {"max_epochs": 3, "channels": 8, "segment_seconds": 0.4, "device": "cpu",
                                                  "frame_features": "mfcc"}})
    m = res.results["models"]["cnn1d"]
    assert not any(f.get("error") for f in m["folds"]), m["folds"][0].get("error")
    # (5 folds + the saved refit) × (its network + 2 inner threshold folds), each ONE network over every tag
    assert len(fits) == 18 and all(s[1] == len(TAGS) for s in fits)
    assert 0 <= res.leaderboard[0]["roc_auc_macro_mean"] <= 1
    import soundfile as sf

    from genrekit.pipeline.prediction.predict import predict
    from tests.audio_helpers import tone

    sf.write(tmp_path / "song.wav", tone(220, 2.0), 22050)   # the saved tagger predicts, on the asked device
    pred = list(predict(res.artifacts["cnn1d"], [tmp_path / "song.wav"], segments=1, device="cpu"))[0]
    assert pred.error is None and all(t in TAGS and 0 <= p <= 1 for t, p in pred.top) and len(pred.segments) == 2
