"""Late fusion and one-block models give exactly the numbers of the plain computation they stand for.

The references below are what genrekit computed by hand before late fusion and block selection
went through scikit-learn's ``VotingClassifier`` and ``ColumnTransformer``: one clone of the model
per block fitted on that block's columns, the blocks' class probabilities averaged with weights
normalised to sum 1, each row divided by its sum; a block model fitted on its columns alone. The
comparisons are exact (``assert_array_equal``), so a change of the averaging order would show.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from genrekit.classifiers import make_model
from genrekit.classifiers.fusion import LateFusionClassifier, ModelVariant, block_slices


def _task(n=150, d=9, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X[:, 0] + X[:, 4] + X[:, -1] > 0).astype(int) + (X[:, 1] > 1)
    return X, y


def _late_reference(estimator, blocks, weights, Xtr, ytr, Xte):
    sl = block_slices(blocks, Xtr.shape[1])
    w = np.full(len(sl), 1.0 / len(sl)) if weights is None else np.asarray(weights, float) / np.sum(weights)
    classes = np.unique(ytr)
    out = np.zeros((len(Xte), len(classes)))
    for (_, idx), wi in zip(sl, w):
        est = clone(estimator).fit(Xtr[:, idx], ytr)
        out[:, np.searchsorted(classes, est.classes_)] += wi * est.predict_proba(Xte[:, idx])
    return out / out.sum(axis=1, keepdims=True)


CASES = [([("a", 4), ("b", 5)], None), ([("a", 2), ("b", 3), ("c", 4)], None), ([("a", 4), ("b", 5)], [1, 0])]
#: every model on three blocks of uneven widths and weights; logistic regression on the other cases
LATE = ([(name, [("a", 2), ("b", 3), ("c", 4)], [1, 2, 3.5]) for name in ("logreg", "svm", "knn", "gmm", "rf")]
        + [("logreg", blocks, weights) for blocks, weights in CASES])


@pytest.mark.parametrize("name, blocks, weights", LATE)
def test_late_fusion_probabilities_equal_the_weighted_block_average(name, blocks, weights):
    X, y = _task()
    est = make_model(name, {"n_estimators": 10} if name == "rf" else None, random_state=0)
    clf = LateFusionClassifier(est, blocks=blocks, weights=weights).fit(X[:100], y[:100])
    proba = clf.predict_proba(X[100:])
    ref = _late_reference(est, blocks, weights, X[:100], y[:100], X[100:])
    assert proba.dtype == np.float64
    np.testing.assert_array_equal(proba, ref)
    np.testing.assert_array_equal(clf.predict(X[100:]), clf.classes_[np.argmax(ref, axis=1)])
    assert list(clf.named_estimators_) == [b for b, _ in blocks]
    # every block model saw its own columns only
    for (_, idx), member in zip(block_slices(blocks, X.shape[1]), clf.estimators_):
        assert member.n_features_in_ == len(idx)


def test_late_fusion_on_a_fold_without_some_classes():
    """Labels are class indices of the whole data set; a training fold may lack one (here 1)."""
    X, y = _task(seed=3)
    keep = y != 1
    est = make_model("logreg", random_state=0)
    clf = LateFusionClassifier(est, blocks=[("a", 4), ("b", 5)]).fit(X[keep], y[keep])
    assert list(clf.classes_) == [0, 2]
    ref = _late_reference(est, [("a", 4), ("b", 5)], None, X[keep], y[keep], X)
    np.testing.assert_array_equal(clf.predict_proba(X), ref)
    assert set(clf.predict(X)) <= {0, 2}


@pytest.mark.parametrize("impute", [False, True])
def test_a_block_model_equals_the_model_fitted_on_that_block_alone(impute):
    X, y = _task(n=120, d=7, dtype=np.float64)
    if impute:
        X[::5, 5] = np.nan
    blocks = (("audio", 4), ("lyrics", 3))
    for block, cols in (("audio", slice(0, 4)), ("lyrics", slice(4, 7))):
        v = ModelVariant("svm", "block", blocks, block=block, impute=impute)
        est = v.wrap(make_model("svm", random_state=0)).fit(X[:80], y[:80])
        steps = [make_model("svm", random_state=0)]
        if impute:
            from sklearn.impute import SimpleImputer
            from sklearn.pipeline import make_pipeline

            steps = [make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), steps[0])]
        ref = steps[0].fit(X[:80, cols], y[:80])
        np.testing.assert_array_equal(est.predict_proba(X[80:]), ref.predict_proba(X[80:, cols]))
        np.testing.assert_array_equal(est.predict(X[80:]), ref.predict(X[80:, cols]))
