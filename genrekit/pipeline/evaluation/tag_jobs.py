"""One unit of tagging work: fit one multi-label model on a training fold, choose its per-tag
thresholds on that fold, score the test fold (``kind="fold"``) or keep it for saving (``"refit"``).

Like :func:`~genrekit.pipeline.evaluation.jobs.run_job` it never raises for a model's own failure.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from genrekit.errors import GenrekitError
from genrekit.pipeline.evaluation.inputs import take
from genrekit.pipeline.evaluation.jobs import _apply_runtime, _fit_takes_groups, jsonable, model_warnings
from genrekit.pipeline.evaluation.tag_models import (THRESHOLD_FOLDS, choose_thresholds, enable_oob, multilabel_model,
                                                     oob_thresholds, tag_scores)
from genrekit.pipeline.evaluation.tagging_metrics import tag_metrics


def _maker(job):
    from genrekit.classifiers import make_model

    def make():
        base = make_model(job["model"], job["params"], random_state=job["seed"])
        return multilabel_model(job["model"], _apply_runtime(base, job.get("runtime"), job["params"]))
    return make


def _fit(est, X, Y, groups):
    if groups is not None and _fit_takes_groups(est):
        est.fit(X, Y, groups=groups)
    else:
        est.fit(X, Y)
    return est


def run_tag_job(job: dict) -> dict:
    """Fit, choose thresholds, score. Never raises for the model's own failure (error as text)."""
    from threadpoolctl import threadpool_limits

    res = {"kind": job["kind"], "model": job["model"], "fold": job.get("fold"), "error": None, "warnings": []}
    X, Y, tr = job["X"], job["y"], job["train"]
    groups = job.get("fit_groups")
    gtr = groups[tr] if groups is not None else None
    n_tags = Y.shape[1]
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
        warnings.simplefilter("always")
        try:
            make = _maker(job)
            Xtr, Ytr = take(X, tr), Y[tr]
            res["n_train"] = len(tr)
            t0, c0 = time.perf_counter(), time.process_time()
            est = make()
            oob = enable_oob(job["model"], est, Ytr)  # rf: out-of-bag scores choose the thresholds
            est = _fit(est, Xtr, Ytr, gtr)
            res["fit_seconds"] = time.perf_counter() - t0
            res["fit_cpu_seconds"] = time.process_time() - c0
            t0 = time.perf_counter()
            if oob:
                thresholds, note = oob_thresholds(est, Ytr), None
            else:
                thresholds, note = choose_thresholds(make, Xtr, Ytr, gtr, job["seed"], take)
            res["threshold_seconds"] = time.perf_counter() - t0
            res["thresholds_from"] = "out-of-bag" if oob else f"{THRESHOLD_FOLDS} inner folds"
            if note:
                res["warnings"].append(note)
            res["thresholds"] = thresholds.round(6).tolist()
            if job["kind"] == "fold":
                te = job["test"]
                t0 = time.perf_counter()
                scores = tag_scores(est, take(X, te), n_tags)
                res["predict_seconds"] = time.perf_counter() - t0
                res["test"] = np.asarray(te).tolist()
                res["scores"] = scores.round(6).tolist()
                res.update(tag_metrics(Y[te], scores, thresholds))
            else:
                res["estimator"] = est
        except GenrekitError:
            raise
        except Exception as e:  # one model failing must not sink the others
            res["error"] = f"{type(e).__name__}: {e}"
    res["warnings"].extend(model_warnings(caught, ignore=("not present in all training examples",)))
    res["warnings"] = [jsonable(w) for w in res["warnings"]]
    return res
