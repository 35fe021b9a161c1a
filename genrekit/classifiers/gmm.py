"""Gaussian-mixture classifiers: ``gmm`` on summary vectors and ``gmm-frames`` on frame MFCCs.

Both are generative: one :class:`~sklearn.mixture.GaussianMixture` per class models
``p(x | class)``; a sample goes to the class with the highest ``log p(x | class) + log p(class)``.

* :class:`GMMClassifier` scores one vector per track (the summary vector).
* :class:`BagOfFramesGMM` is the classic "bag of frames" model (Aucouturier & Pachet; Tzanetakis
  & Cook): the mixtures model single frames (MFCCs), and a track is scored by the sum of its
  frames' log-likelihoods, as if frames were independent draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from genrekit.classifiers.params import at_least
from genrekit.classifiers.registry import register

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIORS = ("empirical", "uniform")


#: The parameters both GMM classifiers share, checked by scikit-learn's ``_validate_params``.
_COMMON_CONSTRAINTS = {
    "n_components": [at_least(1)],
    "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
    "reg_covar": [Interval(Real, 0, None, closed="left")],
    "max_iter": [at_least(1)],
    "n_init": [at_least(1)],
    "tol": [Interval(Real, 0, None, closed="left")],
    "priors": [StrOptions(set(PRIORS))],
    "random_state": ["random_state"],
}


def _pooled_std(blocks: list[np.ndarray]) -> np.ndarray:
    """Within-class standard deviation per feature, pooled over blocks of 2+ rows (else overall)."""
    big = [b for b in blocks if len(b) >= 2]
    if big:
        ss = sum(((b - b.mean(axis=0)) ** 2).sum(axis=0) for b in big)
        return np.sqrt(ss / max(1, sum(len(b) - 1 for b in big)))
    allx = np.concatenate(blocks)
    return allx.std(axis=0) if len(allx) > 1 else np.ones(allx.shape[1])


def _fit_mixtures(est, blocks: list[np.ndarray], rng) -> list[GaussianMixture]:
    """One GaussianMixture per block of rows; never more components than rows.

    A block of one row (a class with a single training sample) gets one component centred on it
    whose spread is the pooled within-class spread of the other classes: it is fitted on the two
    points ``x ± s``, whose mean is ``x`` and whose per-feature variance is ``s**2``.
    """
    gmms = []
    pooled = None
    for Xk in blocks:
        n_components = int(min(est.n_components, len(Xk)))
        if len(Xk) == 1:
            if pooled is None:
                pooled = np.maximum(_pooled_std(blocks), np.sqrt(max(float(est.reg_covar), 1e-12)))
            Xk = np.vstack([Xk[0] - pooled, Xk[0] + pooled])
        g = GaussianMixture(
            n_components=n_components, covariance_type=est.covariance_type,
            reg_covar=float(est.reg_covar), max_iter=int(est.max_iter), tol=est.tol,
            n_init=int(est.n_init), random_state=int(rng.randint(np.iinfo(np.int32).max)))
        gmms.append(g.fit(Xk))
    return gmms


def _log_prior(priors: str, counts: np.ndarray) -> np.ndarray:
    if priors == "uniform":
        return np.full(len(counts), -np.log(len(counts)))
    return np.log(counts / counts.sum())


class GMMClassifier(ClassifierMixin, BaseEstimator):
    """Class-conditional Gaussian-mixture classifier.

    One :class:`~sklearn.mixture.GaussianMixture` per class is fitted on that class's samples;
    prediction takes the class with the highest log-likelihood plus log prior, and
    ``predict_proba`` normalises the likelihoods times priors (Bayes' rule).

    Parameters
    ----------
    n_components : int, default=2
        Mixture components per class (fewer when a class has fewer samples; a class with one
        sample gets one component centred on it, as spread as the other classes on average).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
    reg_covar : float, default=1e-3
        Added to the covariance diagonals; keeps small classes from degenerate fits.
    max_iter : int, default=200
        EM iterations.
    n_init : int, default=1
        EM restarts per class (the best is kept).
    tol : float, default=1e-3
        EM convergence threshold.
    priors : {"empirical", "uniform"}, default="empirical"
        Class priors from the training class frequencies, or equal.
    random_state : int, RandomState or None
        Seeds the initialisation of every mixture.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    gmms_ : list of GaussianMixture
        One per class, in the order of ``classes_``.
    n_components_ : ndarray of shape (n_classes,)
        Components actually used per class.
    n_iter_ : int
        Most EM iterations any class's mixture needed.
    class_log_prior_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from genrekit.classifiers.gmm import GMMClassifier
    >>> X = np.r_[np.random.default_rng(0).normal(-3, 1, (50, 2)),
    ...           np.random.default_rng(1).normal(3, 1, (50, 2))]
    >>> y = np.r_[np.zeros(50), np.ones(50)]
    >>> GMMClassifier(random_state=0).fit(X, y).predict([[-3, -3], [3, 3]])
    array([0., 1.])
    """

    def __init__(self, n_components=2, covariance_type="diag", reg_covar=1e-3, max_iter=200,
                 n_init=1, tol=1e-3, priors="empirical", random_state=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.tol = tol
        self.priors = priors
        self.random_state = random_state

    _parameter_constraints: dict = dict(_COMMON_CONSTRAINTS)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit one mixture per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
        rng = check_random_state(self.random_state)
        self.gmms_ = _fit_mixtures(self, [X[y_idx == k] for k in range(len(self.classes_))], rng)
        self.n_components_ = np.array([g.n_components for g in self.gmms_])
        self.n_iter_ = int(max(g.n_iter_ for g in self.gmms_))
        self.class_log_prior_ = _log_prior(self.priors, counts)
        return self

    def _joint_log_likelihood(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.column_stack([g.score_samples(X) for g in self.gmms_]) + self.class_log_prior_

    def predict_log_proba(self, X):
        """Log posterior of each class, columns in the order of ``classes_``."""
        jll = self._joint_log_likelihood(X)
        return jll - logsumexp(jll, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Posterior of each class (rows sum to 1), columns in the order of ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The class with the highest log-likelihood plus log prior."""
        jll = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(jll, axis=1)]


def _check_sequence(X):
    """``X`` must be a sequence of per-track matrices, not one table."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise ValueError("expected a sequence of per-track frame matrices (n_frames, n_dims), "
                         f"got one array of shape {X.shape}; pass a list with one matrix per track")
    if not (isinstance(X, Sequence) or isinstance(X, np.ndarray) or hasattr(X, "__getitem__")) or isinstance(X, str):
        raise ValueError(f"expected a sequence of per-track frame matrices, got {type(X).__name__}")


def _check_frames(X, n_features: int | None = None) -> list[np.ndarray]:
    """A sequence of 2-D finite frame matrices with one column count; returned as float64 list."""
    out = []
    for i in range(len(X)):
        x = np.asarray(X[i], dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"track {i}: expected a frame matrix (n_frames >= 1, n_dims >= 1), got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"track {i}: frame matrix holds NaN or infinity")
        if n_features is None:
            n_features = x.shape[1]
        elif x.shape[1] != n_features:
            raise ValueError(f"track {i} has {x.shape[1]} frame features, expected {n_features}")
        out.append(x)
    if not out:
        raise ValueError("no tracks: X is empty")
    return out


class BagOfFramesGMM(ClassifierMixin, BaseEstimator):
    """Bag-of-frames classifier: per-class GMMs over single frames, tracks scored by summed log-likelihood.

    Parameters
    ----------
    n_components : int, default=8
        Mixture components per class.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
    frames_per_track : int or None, default=200
        Frames drawn at random (without replacement, seeded) from each training track to fit the
        mixtures; keeps fitting affordable on long tracks. None uses every frame. Scoring always
        uses every frame.
    reg_covar : float, default=1e-3
    max_iter : int, default=100
    n_init : int, default=1
    tol : float, default=1e-3
    priors : {"empirical", "uniform"}, default="empirical"
    standardize : bool, default=True
        Standardise frame features with the training frames' mean and standard deviation.
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    gmms_ : list of GaussianMixture
    class_log_prior_ : ndarray of shape (n_classes,)
    n_iter_ : int
        Most EM iterations any class's mixture needed.
    mean_, scale_ : ndarray of shape (n_features,)
        The frame standardisation (zeros and ones when ``standardize=False``).
    n_features_in_ : int
        Frame feature dimension.

    Notes
    -----
    ``X`` is a sequence of ``(n_frames_i, n_features)`` arrays, one per track.
    :meth:`decision_function` is the sum of frame log-likelihoods plus log prior;
    :meth:`predict_proba` normalises that score divided by the track's frame count (a per-frame
    average, so probabilities are not all 0 or 1 for frames that are far from independent);
    the argmax, and so :meth:`predict`, is the same.
    """

    def __init__(self, n_components=8, covariance_type="diag", frames_per_track=200, reg_covar=1e-3,
                 max_iter=100, n_init=1, tol=1e-3, priors="empirical", standardize=True,
                 random_state=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.frames_per_track = frames_per_track
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.tol = tol
        self.priors = priors
        self.standardize = standardize
        self.random_state = random_state

    _parameter_constraints: dict = {
        **_COMMON_CONSTRAINTS,
        "frames_per_track": [at_least(1), None],
        "standardize": ["boolean"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit one frame mixture per class.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_frames_i, n_features)
        y : array-like of shape (n_tracks,)

        Returns
        -------
        self
        """
        _check_sequence(X)
        y = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} tracks but y has {len(y)} labels")
        rng = check_random_state(self.random_state)
        frames = []
        n_features = None
        for i in range(len(X)):
            x = _check_frames([X[i]], n_features)[0]
            n_features = x.shape[1]
            if self.frames_per_track is not None and len(x) > self.frames_per_track:
                x = x[np.sort(rng.choice(len(x), self.frames_per_track, replace=False))]
            frames.append(x)
        if not frames:
            raise ValueError("no tracks: X is empty")
        self.n_features_in_ = n_features
        self.classes_, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
        allf = np.concatenate(frames)
        if self.standardize:
            self.mean_ = allf.mean(axis=0)
            sd = allf.std(axis=0)
            self.scale_ = np.where(sd > 1e-12, sd, 1.0)
        else:
            self.mean_ = np.zeros(n_features)
            self.scale_ = np.ones(n_features)
        blocks = [(np.concatenate([frames[i] for i in np.flatnonzero(y_idx == k)]) - self.mean_) / self.scale_
                  for k in range(len(self.classes_))]
        self.gmms_ = _fit_mixtures(self, blocks, rng)
        self.n_iter_ = int(max(g.n_iter_ for g in self.gmms_))
        self.class_log_prior_ = _log_prior(self.priors, counts)
        return self

    def _scores(self, X):
        check_is_fitted(self)
        _check_sequence(X)
        sums, lengths = [], []
        for i in range(len(X)):
            x = _check_frames([X[i]], self.n_features_in_)[0]
            z = (x - self.mean_) / self.scale_
            sums.append([g.score_samples(z).sum() for g in self.gmms_])
            lengths.append(len(x))
        if not sums:
            raise ValueError("no tracks: X is empty")
        return np.asarray(sums), np.asarray(lengths, dtype=np.float64)

    def decision_function(self, X):
        """Sum of each track's frame log-likelihoods under each class, plus log prior."""
        s, _ = self._scores(X)
        return s + self.class_log_prior_

    def predict_proba(self, X):
        """Class posteriors from the per-frame average score (rows sum to 1)."""
        s, n = self._scores(X)
        z = (s + self.class_log_prior_) / n[:, None]
        return np.exp(z - logsumexp(z, axis=1, keepdims=True))

    def predict(self, X):
        """The class whose mixture gives the track's frames the highest total log-likelihood."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]


# ====================================================================================== registry
@register("gmm", "class-conditional Gaussian mixtures (2 diagonal components per class) on standardised "
                 "summary vectors",
          grid={"gmm__n_components": [1, 2, 4]}, default=True)
def gmm(random_state=None):
    """``StandardScaler`` → :class:`GMMClassifier` (2 diagonal components per class)."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("gmm", GMMClassifier(n_components=2, covariance_type="diag", random_state=random_state)),
    ])


@register("gmm-frames", "bag-of-frames GMMs on frame MFCCs, a track scored by its frames' summed log-likelihood",
          input="frames", frame_features=("mfcc",),
          grid={"n_components": [4, 8, 16]}, cost=5)
def gmm_frames(random_state=None):
    """:class:`BagOfFramesGMM` (8 diagonal components per class, 200 frames per track to fit)."""
    return BagOfFramesGMM(n_components=8, covariance_type="diag", frames_per_track=200,
                          random_state=random_state)
