"""Tagging metrics against scikit-learn computed by hand, and tags a fold cannot score."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, label_ranking_average_precision_score, roc_auc_score

from genrekit.pipeline.evaluation.tag_models import best_threshold
from genrekit.pipeline.evaluation.tagging_metrics import tag_metrics


def test_metrics_match_sklearn_and_leave_out_unscorable_tags():
    rng = np.random.default_rng(0)
    Y = (rng.random((40, 4)) < 0.4).astype(np.uint8)
    Y[:, 3] = 0                                   # no positive in this fold: left out, never NaN
    Y[0, 0] = 1
    S = np.clip(Y * 0.5 + rng.random((40, 4)) * 0.7, 0, 1)
    m = tag_metrics(Y, S, np.full(4, 0.5))
    ok = [0, 1, 2]
    assert m["n_tags_left_out"] == 1
    assert m["per_tag"]["roc_auc"][3] is None and m["per_tag"]["pr_auc"][3] is None
    assert np.isclose(m["roc_auc_macro"], np.mean([roc_auc_score(Y[:, j], S[:, j]) for j in ok]))
    assert np.isclose(m["pr_auc_macro"], np.mean([average_precision_score(Y[:, j], S[:, j]) for j in ok]))
    assert np.isclose(m["roc_auc_micro"], roc_auc_score(Y.ravel(), S.ravel()))
    rows = (Y.sum(1) > 0) & (Y.sum(1) < 4)
    assert np.isclose(m["lrap"], label_ranking_average_precision_score(Y[rows], S[rows]))
    assert all(v is None or np.isfinite(v) for v in m.values() if not isinstance(v, dict))


def test_perfect_scores_and_no_scorable_tag():
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.uint8)
    m = tag_metrics(Y, Y.astype(float), np.full(2, 0.5))
    assert m["roc_auc_macro"] == 1.0 and m["pr_auc_macro"] == 1.0 and m["f1_macro"] == 1.0 and m["lrap"] == 1.0
    none = tag_metrics(np.ones((3, 2), np.uint8), np.full((3, 2), 0.7), np.full(2, 0.5))
    assert none["roc_auc_macro"] is None and none["n_tags_left_out"] == 2 and none["roc_auc_micro"] is None


def test_best_threshold_separates_and_defaults():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.6, 0.8, 0.3, 0.7])
    t = best_threshold(y, s)
    assert 0.3 < t <= 0.6 and ((s >= t) == y.astype(bool)).all()
    assert best_threshold(np.zeros(4, int), np.linspace(0, 1, 4)) == 0.5


def test_rf_thresholds_come_out_of_bag_without_changing_the_forest():
    from genrekit.classifiers import make_model
    from genrekit.pipeline.evaluation.tag_models import enable_oob, multilabel_model, oob_thresholds, tag_scores

    rng = np.random.default_rng(1)
    Y = (rng.random((150, 3)) < 0.4).astype(np.uint8)
    X = rng.normal(0, 1, (150, 6))
    X[:, :3] += 2 * Y
    params = {"n_estimators": 40}
    plain = multilabel_model("rf", make_model("rf", params, random_state=0)).fit(X[:100], Y[:100])
    est = multilabel_model("rf", make_model("rf", params, random_state=0))
    assert enable_oob("rf", est, Y[:100])
    est.fit(X[:100], Y[:100])
    assert np.array_equal(tag_scores(est, X[100:], 3), tag_scores(plain, X[100:], 3))   # same trees
    t = oob_thresholds(est, Y[:100])
    assert t.shape == (3,) and np.isfinite(t).all() and ((0 < t) & (t < 1)).all()
    Y[:100, 2] = 0      # a tag without a training positive: out-of-bag cannot score it, inner folds are used
    assert not enable_oob("rf", multilabel_model("rf", make_model("rf", params, random_state=0)), Y[:100])
    assert not enable_oob("logreg", make_model("logreg", None, random_state=0), Y[:100])
