"""Every registry model as a multi-label tagger, and per-tag decision thresholds.

* Native multi-output where scikit-learn has it (:data:`NATIVE_MULTILABEL`: k-NN, random forest,
  extra trees fit one model on the multi-hot matrix: one forest, one neighbour search, not 50);
  an estimator with a true ``multilabel_native`` attribute (sigmoid outputs) is used as it is too.
* ``mlp``: one network with a sigmoid output per tag and a BCE loss
  (:class:`~genrekit.classifiers.tagging_mlp.SigmoidMLPTagger`, the registry mlp's hyper-parameters).
* The frame heads (cnn1d, cnn2d, crnn, attention): one network with a sigmoid output per tag and a
  BCE loss on the same segments (:class:`~genrekit.classifiers.tagging_frames.FrameHeadTagger`,
  the registry head's network and parameters).
* One-vs-rest (:class:`~sklearn.multiclass.OneVsRestClassifier`) for every other one (logreg,
  linsvm, svm, hgb, gmm per tag): one binary copy of the registry model per tag, each with its own
  scaler fitted on the training fold.

:func:`tag_scores` gives an ``(n_tracks, n_tags)`` matrix of probabilities whatever the model
(decision values through a logistic where a model has no ``predict_proba``).
:func:`choose_thresholds` picks each tag's threshold on out-of-fold scores of the TRAINING set
only (:data:`THRESHOLD_FOLDS` inner folds, grouped by artist when known; for the random forest its
out-of-bag scores, which cost no extra fit: :func:`enable_oob`).
"""

from __future__ import annotations

import warnings

import numpy as np

#: Registry models fitted once on the multi-hot matrix (scikit-learn's native multi-output).
NATIVE_MULTILABEL = frozenset({"knn", "rf", "extratrees"})
#: Inner folds of the training set whose out-of-fold scores choose the per-tag thresholds.
THRESHOLD_FOLDS = 2
#: The threshold of a tag whose training set gives no basis for another (no positive, too few tracks).
DEFAULT_THRESHOLD = 0.5
#: Bagged models whose out-of-bag scores on the training fold choose the thresholds (no extra fits).
OOB_MODELS = frozenset({"rf"})


def _native(name: str, est) -> bool:
    return name in NATIVE_MULTILABEL or bool(getattr(est, "multilabel_native", False))


def multilabel_model(name: str, est):
    """The registry estimator ``est`` (model ``name``) made to fit multi-hot targets."""
    if name == "mlp":  # one network, a sigmoid per tag, BCE loss (not one network per tag)
        from genrekit.classifiers.tagging_mlp import SigmoidMLPTagger

        return SigmoidMLPTagger(est)
    from genrekit.classifiers.neural import _FrameHead

    if isinstance(est, _FrameHead):  # one frame network, a sigmoid per tag (not one network per tag)
        from genrekit.classifiers.tagging_frames import FrameHeadTagger

        return FrameHeadTagger(est)
    if _native(name, est):
        return est
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(est, n_jobs=1)


def tag_scores(est, X, n_tags: int) -> np.ndarray:
    """``(n_tracks, n_tags)`` scores in [0, 1] of a fitted multi-label estimator."""
    if hasattr(est, "predict_proba"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = est.predict_proba(X)
        if isinstance(p, list):  # native multi-output: one (n, n_classes_j) array per tag
            classes = getattr(est, "classes_", None)
            cols = []
            for j, pj in enumerate(p):
                cj = list(classes[j]) if classes is not None else [0, 1]
                cols.append(pj[:, cj.index(1)] if 1 in cj else np.zeros(len(pj)))
            p = np.stack(cols, axis=1)
    else:
        p = 1.0 / (1.0 + np.exp(-np.asarray(est.decision_function(X), dtype=float)))
    p = np.asarray(p, dtype=float).reshape(-1, n_tags)
    return np.nan_to_num(p, nan=0.0, posinf=1.0, neginf=0.0)


def best_threshold(y: np.ndarray, s: np.ndarray) -> float:
    """The threshold that maximises F1 of one tag on scores ``s`` (midway between neighbouring
    scores); :data:`DEFAULT_THRESHOLD` when ``y`` has no positive."""
    if not y.any():
        return DEFAULT_THRESHOLD
    from sklearn.metrics import precision_recall_curve

    prec, rec, thr = precision_recall_curve(y, s)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)[:-1]
    i = int(np.argmax(f1))
    lower = s[s < thr[i]]
    return float((thr[i] + lower.max()) / 2) if lower.size else float(thr[i])


def _forest(est):
    return est.steps[-1][1] if hasattr(est, "steps") else est


def enable_oob(name: str, est, Y: np.ndarray) -> bool:
    """Ask a bagged model of :data:`OOB_MODELS` to keep its out-of-bag scores (same trees, same
    predictions); only when every tag has positives and negatives in ``Y`` (scikit-learn cannot
    score out-of-bag otherwise). Returns whether it did."""
    forest = _forest(est)
    if name not in OOB_MODELS or not getattr(forest, "bootstrap", False):
        return False
    if not all(0 < Y[:, j].sum() < len(Y) for j in range(Y.shape[1])):
        return False
    forest.set_params(oob_score=True)
    return True


def oob_thresholds(est, Y: np.ndarray) -> np.ndarray:
    """Per-tag thresholds from the out-of-bag scores of a model fitted after :func:`enable_oob`."""
    d = np.asarray(_forest(est).oob_decision_function_, dtype=float)
    S = d[:, 1, :] if d.ndim == 3 else d[:, 1:2]   # classes are [0, 1] for every tag (checked before)
    ok = np.isfinite(S).all(axis=1)                 # a track never out of bag gives no score
    return np.array([best_threshold(Y[ok, j], S[ok, j]) for j in range(Y.shape[1])])


def choose_thresholds(make, X, Y, groups, seed, take) -> tuple[np.ndarray, str | None]:
    """Per-tag thresholds from out-of-fold scores of :data:`THRESHOLD_FOLDS` inner folds of the
    training set (``make()`` builds a fresh unfitted estimator; ``take(X, idx)`` selects rows).

    Returns ``(thresholds, note)``; the note says when the training set was too small for inner
    folds (every threshold is then :data:`DEFAULT_THRESHOLD`)."""
    from sklearn.model_selection import GroupKFold, KFold

    n, n_tags = Y.shape
    units = len(set(groups)) if groups is not None else n
    if units < THRESHOLD_FOLDS:
        return np.full(n_tags, DEFAULT_THRESHOLD), "training set too small for threshold folds: 0.5 used"
    if groups is not None:
        splitter = GroupKFold(THRESHOLD_FOLDS, shuffle=True, random_state=seed).split(np.zeros(n), groups=groups)
    else:
        splitter = KFold(THRESHOLD_FOLDS, shuffle=True, random_state=seed).split(np.zeros(n))
    oof = np.zeros((n, n_tags))
    for tr, te in splitter:
        est = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a tag absent from an inner fold: a constant predictor
            est.fit(take(X, tr), Y[tr])
        oof[te] = tag_scores(est, take(X, te), n_tags)
    return np.array([best_threshold(Y[:, j], oof[:, j]) for j in range(n_tags)]), None
