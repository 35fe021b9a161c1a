"""One unit of benchmark work: fit one model on one training set, score it on its test set.

A job is a plain dict (picklable: it travels to joblib workers). :func:`run_job` never raises
for a model's own failure: the error comes back as text, so one model cannot sink the others.
Each model is built fresh from the registry, so its scaler and every other fitted transform
sees the training fold only; ``tune`` wraps it in a ``GridSearchCV`` whose inner folds come
from the training fold (grouped by artist when the outer split is).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from genrekit.classifiers.naming import public_params
from genrekit.errors import GenrekitError
from genrekit.pipeline.evaluation.inputs import take
from genrekit.pipeline.evaluation.metrics import fold_metrics

TUNE_SCORING = "balanced_accuracy"
INNER_FOLDS = 3
#: Warnings scikit-learn's scorers give when a (tuning) fold lacks a label: expected, not a model's.
EXPECTED_WARNINGS = ("y_pred contains classes not in y_true", ".*least populated class.*")


def _probabilities(est, X, n_classes: int) -> list | None:
    """``(n, n_classes)`` class probabilities (0 for a class the fold did not train on), rounded;
    None when the model gives none."""
    if not hasattr(est, "predict_proba"):
        return None
    try:
        proba = np.asarray(est.predict_proba(X), dtype=float)
    except Exception:  # a hard-voting ensemble, a model whose probabilities fail: scored all the same
        return None
    return _all_classes(est, proba, n_classes)


def _all_classes(est, proba: np.ndarray, n_classes: int) -> list:
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(est.classes_, dtype=np.int64)] = proba
    return full.round(6).tolist()


def _predict(est, X, n_classes: int) -> tuple[np.ndarray, list | None]:
    """Predicted labels and class probabilities of a test fold: one pass through a model whose
    prediction is the most probable class by definition (the torch heads), two otherwise."""
    if getattr(est, "predicts_most_probable", False):
        proba = np.asarray(est.predict_proba(X), dtype=float)
        pred = np.asarray(est.classes_, dtype=np.int64)[np.argmax(proba, axis=1)]
        return pred, _all_classes(est, proba, n_classes)
    return np.asarray(est.predict(X), dtype=np.int64), _probabilities(est, X, n_classes)


def _inner_cv(y, groups, seed):
    """Inner folds for --tune, drawn from the training fold only (grouped when ``groups``)."""
    from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

    zeros = np.zeros(len(y))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        if groups is not None:
            k = min(INNER_FOLDS, len(set(groups)))
            if k >= 2:
                return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(zeros, y, groups))
            return None
        _, counts = np.unique(y, return_counts=True)
        k = min(INNER_FOLDS, len(y))
        if k < 2:
            return None
        if counts.max() >= k:
            return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(zeros, y))
        return list(KFold(k, shuffle=True, random_state=seed).split(zeros))


def frame_rate_of(config):
    """``rate(frame_features)``: frames per second of the frames a head reads under ``config`` — the
    STFT's, or the grid of its first feature when that has one of its own (musicnn: one per 3 s)."""
    from genrekit.features.catalog import FEATURES

    def rate(features=None):
        names = [n.strip() for n in features.split(",")] if isinstance(features, str) else list(features or ())
        if names and names[0] in FEATURES and FEATURES[names[0]].level == "frame":
            return FEATURES[names[0]].frames_per_second(config)
        return config.sr / config.hop_length

    return rate


def _apply_runtime(est, runtime, user_params):
    """Set what the run knows (``frame_rate`` of the store's frames, ``device`` of ``--device``) on an
    estimator that has such a parameter, unless the user set it with ``--param``."""
    if not runtime:
        return est
    own = est.get_params()
    given = set(user_params or {})
    todo = {k: v(own.get("frame_features")) if callable(v) else v for k, v in runtime.items()
            if v is not None and k in own and k not in given}
    return est.set_params(**todo) if todo else est


def _fit_takes_groups(est) -> bool:
    """Whether ``est.fit`` accepts ``groups=`` (neural heads: validation tracks carved by artist)."""
    import inspect

    try:
        return "groups" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


def _build(name, params, seed, tune, y_train, groups_train, runtime=None, variant=None):
    """The estimator to fit on one training set: the registry model, or its nested grid search.

    ``variant`` (a :class:`~genrekit.classifiers.fusion.ModelVariant`, for table inputs) wraps the
    model: one feature block alone, early or late fusion, imputation of missing values."""
    from sklearn.model_selection import GridSearchCV

    from genrekit.classifiers import make_model, tuning_grid

    base = _apply_runtime(make_model(name, params, random_state=seed), runtime, params)
    est = variant.wrap(base) if variant is not None else base
    if not tune:
        return est, None
    grid = tuning_grid(name, params, base)
    if variant is not None:
        grid = variant.wrap_grid(grid)
    if not grid:
        return est, "no tuning grid for this model: defaults used"
    cv = _inner_cv(y_train, groups_train, seed)
    if cv is None:
        return est, "training set too small for inner folds: defaults used"
    return GridSearchCV(est, grid, cv=cv, scoring=TUNE_SCORING, n_jobs=1, refit=True, error_score=np.nan), None


def run_job(job: dict) -> dict:
    """Fit one model on one training set; evaluate it on the test set (``kind="fold"``) or keep
    it for saving (``kind="refit"``). Never raises: an error is returned as text."""
    from threadpoolctl import threadpool_limits

    if job.get("task") == "tagging":  # multi-hot targets: their own fit, thresholds and scores
        from genrekit.pipeline.evaluation.tag_jobs import run_tag_job
        return run_tag_job(job)

    res = {"kind": job["kind"], "model": job["model"], "fold": job.get("fold"), "error": None,
           "warnings": []}
    X, y, groups = job["X"], job["y"], job.get("groups")
    tr = job["train"]
    Xtr, ytr = take(X, tr), y[tr]
    gtr = groups[tr] if groups is not None else None
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
        warnings.simplefilter("always")
        for expected in EXPECTED_WARNINGS:  # scikit-learn scoring folds that miss a label: not the model's
            warnings.filterwarnings("ignore", message=expected)
        try:
            est, note = _build(job.get("base", job["model"]), job["params"], job["seed"], job["tune"], ytr, gtr,
                               job.get("runtime"), job.get("variant"))
            if note:
                res["warnings"].append(note)
            fit_groups = job.get("fit_groups")
            t0, c0 = time.perf_counter(), time.process_time()
            if fit_groups is not None and _fit_takes_groups(est):
                est.fit(Xtr, ytr, groups=fit_groups[tr])
            else:
                est.fit(Xtr, ytr)
            res["fit_seconds"] = time.perf_counter() - t0
            res["fit_cpu_seconds"] = time.process_time() - c0
            if hasattr(est, "best_params_"):
                best = public_params(est.estimator, est.best_params_)  # as --param names them
                res["best_params"] = {k: jsonable(v) for k, v in best.items()}
                est = est.best_estimator_
            if getattr(est, "history_", None):  # per-epoch learning curve of a neural head
                kept = getattr(est, "best_epoch_", None)  # the epoch whose weights the model kept
                res["history"] = [{**{k: jsonable(v) for k, v in h.items()},
                                   **({"kept": True} if h.get("epoch") == kept else {})} for h in est.history_]
            if job["kind"] == "fold":
                te = job["test"]
                Xte = take(X, te)
                t0 = time.perf_counter()
                pred, res["probabilities"] = _predict(est, Xte, job["n_classes"])
                res["predict_seconds"] = time.perf_counter() - t0
                res["predictions"] = pred.tolist()
                res.update(fold_metrics(y[te], pred, job["n_classes"]))
            else:
                res["estimator"] = est
        except GenrekitError:
            raise
        except Exception as e:  # one model failing must not sink the others
            res["error"] = f"{type(e).__name__}: {e}"
    res["warnings"].extend(model_warnings(caught))
    return res


def model_warnings(caught, ignore: tuple[str, ...] = ()) -> list[str]:
    """The warnings a job caught, each once, as ``Category: first line`` (those containing any of
    ``ignore`` left out)."""
    out: list[str] = []
    for w in caught:
        msg = f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"
        if msg not in out and not any(part in msg for part in ignore):
            out.append(msg)
    return out


def jsonable(v):
    """``v`` as a JSON value (numpy scalars unwrapped; anything else as its repr)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)
