"""The classic baselines on summary vectors: svm, linsvm, knn, rf, extratrees, logreg, hgb.

Each factory returns an unfitted :class:`~sklearn.pipeline.Pipeline` that holds its own scaling,
so the scaler is fitted on the training fold only. Tree ensembles are scale-invariant and get no
scaler. The ``gmm`` and ``gmm-frames`` models live in :mod:`genrekit.classifiers.gmm`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from genrekit.classifiers.params import at_least
from genrekit.classifiers.registry import register


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class CVCalibratedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A margin classifier (SVC, LinearSVC) with calibrated ``predict_proba``.

    The estimator is fitted on all the data; a sigmoid (Platt) or isotonic calibrator per class
    is fitted on its cross-validated decision values — scikit-learn's
    ``CalibratedClassifierCV(estimator, ensemble=False)``, the recommended replacement of
    ``SVC(probability=True)``. Unlike a bare ``CalibratedClassifierCV(cv=3)`` it does not refuse
    a training fold where a class has fewer than ``cv`` members: the number of calibration folds
    shrinks to what the smallest class allows (at least 2), and when even that is impossible
    (e.g. two classes, one of them a single track) ``predict_proba`` falls back to a softmax of
    the decision values (``calibrated_ = False``).

    Parameters
    ----------
    estimator : classifier with ``decision_function``
    cv : int, default=3
        Most calibration folds (stratified, shuffled with ``random_state``).
    method : {"sigmoid", "isotonic"}, default="sigmoid"
    random_state : int, optional
        Seeds the calibration folds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    estimator_ : the fitted calibrated (or, in the fallback, plain) classifier
    calibrated_ : bool
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "decision_function"])],
        "cv": [at_least(2)],
        "method": [StrOptions({"sigmoid", "isotonic"})],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, cv=3, method="sigmoid", random_state=None):
        self.estimator = estimator
        self.cv = cv
        self.method = method
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)  # the inner estimator checks its own
    def fit(self, X, y):
        """Fit the estimator and its calibrators.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least 2 classes to fit, got 1 class ({self.classes_[0]!r})")
        k = int(min(self.cv, max(2, counts.min())))
        self.calibrated_ = False
        with warnings.catch_warnings():
            # a class smaller than the folds is expected here: that is what the fallback is for
            warnings.filterwarnings("ignore", message=".*least populated class.*")
            warnings.filterwarnings("ignore", message=".*classes in training fold.*")
            warnings.filterwarnings("ignore", message=".*classes? (are|is) not present.*")
            splits = list(StratifiedKFold(k, shuffle=True, random_state=self.random_state).split(X, y))
            try:
                self.estimator_ = CalibratedClassifierCV(
                    clone(self.estimator), method=self.method, cv=splits, ensemble=False).fit(X, y)
                self.calibrated_ = True
            except ValueError:
                pass  # too few members to cross-validate: fall back below
        if not self.calibrated_:
            self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``; rows sum to 1."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        if self.calibrated_:
            return self.estimator_.predict_proba(X)
        d = self.estimator_.decision_function(X)
        if d.ndim == 1:
            d = np.column_stack([-d, d])
        return _softmax(d)

    def predict(self, X):
        """The class with the highest probability."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


# ====================================================================================== models
@register("svm", "RBF SVM on standardised summary vectors (Platt-calibrated probabilities)",
          grid={"svc__estimator__C": [1, 10, 100], "svc__estimator__gamma": ["scale", 0.0005]},
          default=True, cost=3)
def svm(random_state=None):
    """``StandardScaler`` → RBF ``SVC(C=10)``, calibrated by 3-fold cross-validation."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("svc", CVCalibratedClassifier(SVC(C=10.0, kernel="rbf", gamma="scale"), cv=3,
                                       random_state=random_state)),
    ])


@register("linsvm", "linear SVM on standardised summary vectors (Platt-calibrated probabilities)",
          grid={"linsvm__estimator__C": [0.001, 0.01, 0.1]}, default=True, cost=2)
def linsvm(random_state=None):
    """``StandardScaler`` → ``LinearSVC(C=0.01)``, calibrated by 3-fold cross-validation."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("linsvm", CVCalibratedClassifier(LinearSVC(C=0.01, max_iter=20000, random_state=random_state),
                                          cv=3, random_state=random_state)),
    ])


@register("knn", "k-nearest neighbours (k=7, distance-weighted) on standardised summary vectors",
          grid={"knn__n_neighbors": [3, 7, 15], "knn__weights": ["uniform", "distance"]}, default=True)
def knn(random_state=None):
    """``StandardScaler`` → ``KNeighborsClassifier(n_neighbors=7, weights="distance")``."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("knn", KNeighborsClassifier(n_neighbors=7, weights="distance")),
    ])


@register("rf", "random forest (200 trees) on summary vectors",
          grid={"rf__max_features": ["sqrt", 0.1], "rf__min_samples_leaf": [1, 3]}, default=True, cost=20)
def rf(random_state=None):
    """``RandomForestClassifier(n_estimators=200)``; trees need no scaling."""
    return Pipeline([
        ("rf", RandomForestClassifier(n_estimators=200, random_state=random_state, n_jobs=1)),
    ])


@register("extratrees", "extremely randomised trees (200 trees) on summary vectors",
          grid={"extratrees__max_features": ["sqrt", 0.1], "extratrees__min_samples_leaf": [1, 3]}, cost=10)
def extratrees(random_state=None):
    """``ExtraTreesClassifier(n_estimators=200)``; trees need no scaling."""
    return Pipeline([
        ("extratrees", ExtraTreesClassifier(n_estimators=200, random_state=random_state, n_jobs=1)),
    ])


@register("logreg", "L2 logistic regression on standardised summary vectors",
          grid={"logreg__C": [0.001, 0.01, 0.1, 1.0]}, default=True)
def logreg(random_state=None):
    """``StandardScaler`` → multinomial ``LogisticRegression(C=0.01)``."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("logreg", LogisticRegression(C=0.01, max_iter=5000, random_state=random_state)),
    ])


@register("hgb", "histogram gradient boosting (100 rounds) on summary vectors",
          grid={"hgb__learning_rate": [0.05, 0.1], "hgb__max_leaf_nodes": [15, 31]}, cost=20)
def hgb(random_state=None):
    """``HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=5)`` without early stopping
    (small leaves so small collections can split at all); no scaling."""
    return Pipeline([
        ("hgb", HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=5, early_stopping=False,
                                               random_state=random_state)),
    ])
