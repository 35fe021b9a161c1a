"""The Gaussian-mixture classifiers: answers known in advance (scikit-learn's checks: test_sklearn_checks.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.base import clone

from genrekit.classifiers.gmm import BagOfFramesGMM, GMMClassifier


def _two_gaussians(n0, n1, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(-2, 1, n0), rng.normal(2, 1, n1)][:, None]
    y = np.r_[np.zeros(n0, int), np.ones(n1, int)]
    return X, y


def test_gmm_posterior_matches_bayes_rule_on_known_gaussians():
    # classes N(-2, 1) and N(2, 1), priors 3:1; the Bayes posterior is known in closed form
    X, y = _two_gaussians(6000, 2000)
    clf = GMMClassifier(n_components=1, covariance_type="full", reg_covar=1e-6, random_state=0).fit(X, y)
    np.testing.assert_allclose(np.exp(clf.class_log_prior_), [0.75, 0.25])
    grid = np.linspace(-3, 3, 13)[:, None]
    like0, like1 = norm.pdf(grid[:, 0], -2, 1), norm.pdf(grid[:, 0], 2, 1)
    bayes = 0.25 * like1 / (0.75 * like0 + 0.25 * like1)
    np.testing.assert_allclose(clf.predict_proba(grid)[:, 1], bayes, atol=0.03)
    # the decision boundary moves towards the rarer class: x* = ln(3) / 4 ≈ 0.27
    assert clf.predict([[0.15]])[0] == 0 and clf.predict([[0.4]])[0] == 1
    # with uniform priors it sits at 0
    uni = GMMClassifier(n_components=1, priors="uniform", random_state=0).fit(X, y)
    assert uni.predict([[-0.15]])[0] == 0 and uni.predict([[0.15]])[0] == 1


def test_gmm_models_a_multimodal_class_that_one_gaussian_cannot():
    # class 1 sits on both sides of class 0: only a 2-component mixture separates them
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0, 0.5, 300), rng.normal(-4, 0.5, 150), rng.normal(4, 0.5, 150)][:, None]
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    one = GMMClassifier(n_components=1, random_state=0).fit(X, y)
    two = GMMClassifier(n_components=2, random_state=0).fit(X, y)
    assert (two.predict(X) == y).mean() > 0.99
    assert (two.predict(X) == y).mean() > (one.predict(X) == y).mean()
    assert list(two.n_components_) == [2, 2]


def test_gmm_small_classes_use_fewer_components_and_labels_can_be_strings():
    X, y = _two_gaussians(10, 1)
    labels = np.where(y == 1, "rock", "jazz")
    clf = GMMClassifier(n_components=4, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["jazz", "rock"]
    assert list(clf.n_components_) == [4, 1]
    # the lone rock sample gets the typical within-class spread, not a spike
    assert clf.predict(X[y == 1])[0] == "rock"
    assert np.sqrt(clf.gmms_[1].covariances_[0, 0]) == pytest.approx(X[y == 0].std(ddof=1), rel=0.01)


def test_gmm_is_seeded_and_validates_in_fit():
    X, y = _two_gaussians(50, 50, seed=3)
    a = GMMClassifier(n_components=3, random_state=7).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    bad = GMMClassifier(covariance_type="diagonal")  # __init__ stores, fit validates
    with pytest.raises(ValueError, match="covariance_type"):
        bad.fit(X, y)


# ------------------------------------------------------------------------------- bag of frames
def _frame_tracks(n_per_class=6, seed=0, dim=4):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0] * dim, [1.5] * dim])
    X, y = [], []
    for c in (0, 1):
        for _ in range(n_per_class):
            X.append(means[c] + rng.normal(0, 1, (int(rng.integers(150, 300)), dim)))
            y.append(c)
    return X, np.array(y)


def test_bag_of_frames_scores_a_track_by_its_frames_summed_log_likelihood():
    X, y = _frame_tracks()
    clf = BagOfFramesGMM(n_components=2, frames_per_track=50, random_state=0).fit(X, y)
    assert (clf.predict(X) == y).all()
    # decision_function is the documented sum, computed by hand
    x = X[0]
    z = (x - clf.mean_) / clf.scale_
    by_hand = np.array([g.score_samples(z).sum() for g in clf.gmms_]) + clf.class_log_prior_
    np.testing.assert_allclose(clf.decision_function([x])[0], by_hand, rtol=1e-10)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.argmax(proba, axis=1), np.argmax(clf.decision_function(X), axis=1))
    assert 0.01 < proba.max() and proba.min() < 0.99  # per-frame normalisation keeps them graded


def test_bag_of_frames_subsamples_frames_with_its_seed():
    X, y = _frame_tracks()
    a = BagOfFramesGMM(n_components=2, frames_per_track=20, random_state=3).fit(X, y)
    b = BagOfFramesGMM(n_components=2, frames_per_track=20, random_state=3).fit(X, y)
    c = BagOfFramesGMM(n_components=2, frames_per_track=20, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.gmms_[0].means_, b.gmms_[0].means_)
    assert not np.array_equal(a.gmms_[0].means_, c.gmms_[0].means_)
    # only 20 frames per track were used: the standardisation was fitted on 12 × 20 frames
    allf = np.concatenate(X)
    assert not np.allclose(a.mean_, allf.mean(axis=0))
    full = BagOfFramesGMM(n_components=2, frames_per_track=None, random_state=3).fit(X, y)
    np.testing.assert_allclose(full.mean_, allf.mean(axis=0))


def test_bag_of_frames_rejects_what_is_not_a_sequence_of_frame_matrices():
    X, y = _frame_tracks(n_per_class=2)
    with pytest.raises(ValueError, match="sequence of per-track frame matrices"):
        BagOfFramesGMM().fit(np.zeros((4, 3)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="tracks but y has"):
        BagOfFramesGMM().fit(X, y[:-1])
    clf = BagOfFramesGMM(n_components=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="frame features, expected 4"):
        clf.predict([np.zeros((10, 3))])
    with pytest.raises(ValueError, match="frames_per_track"):
        BagOfFramesGMM(frames_per_track=0).fit(X, y)
