"""Scores: per fold, summarised over folds, ranked into the leaderboard."""

from __future__ import annotations

import warnings

import numpy as np

#: Fold metrics, in leaderboard order, with their display names.
METRICS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced acc.",
    "f1_macro": "macro-F1",
    "precision_macro": "macro precision",
    "recall_macro": "macro recall",
}
#: The metric the leaderboard is ranked by, pooled over every out-of-fold prediction (robust to label
#: imbalance; pooled, it is not skewed by folds that miss labels, as its mean over folds is).
RANK_METRIC = "balanced_accuracy"
#: How the leaderboard says what it is ranked by.
RANK_TEXT = "pooled balanced accuracy (every tested track once)"


def fold_metrics(y_true, y_pred, n_classes) -> dict:
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                                 precision_recall_fscore_support)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels absent from a fold's test set are expected
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
        pc, rc, fc, sc = precision_recall_fscore_support(y_true, y_pred, labels=np.arange(n_classes),
                                                         average=None, zero_division=0)
        m = {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "f1_macro": float(f), "precision_macro": float(p), "recall_macro": float(r),
        }
    m["per_class"] = {"precision": pc.round(6).tolist(), "recall": rc.round(6).tolist(),
                      "f1": fc.round(6).tolist(), "support": sc.astype(int).tolist()}
    m["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes)).tolist()
    return m


def summarise_model(spec, fold_results, user_params) -> dict:
    """Mean ± std over folds, pooled confusion matrix and per-class scores."""
    folds = sorted(fold_results, key=lambda r: r["fold"])
    errors = [r["error"] for r in folds if r["error"]]
    warns = sorted({w for r in folds for w in r["warnings"]})
    entry = {"description": spec.description, "input": spec.input, "params": user_params,
             "warnings": warns, "error": None}
    if errors:
        entry["error"] = errors[0]
        return entry
    keep = ("fold", "fit_seconds", "fit_cpu_seconds", "predict_seconds", *METRICS, "per_class", "confusion_matrix", "best_params",
            "history")
    entry["folds"] = [{k: r[k] for k in keep if k in r} for r in folds]
    for k in (*METRICS, "fit_seconds", "predict_seconds"):
        vals = np.array([r[k] for r in folds], dtype=float)
        entry[k] = {"mean": float(vals.mean()), "std": float(vals.std()), "folds": vals.round(6).tolist()}
    cm = np.sum([np.array(r["confusion_matrix"]) for r in folds], axis=0)
    entry["confusion_matrix"] = cm.tolist()
    from sklearn.metrics import precision_recall_fscore_support

    true, pred = np.divmod(np.arange(cm.size), len(cm))  # each cell of the pooled matrix, weighted by its count
    prec, rec, f1, _ = precision_recall_fscore_support(true, pred, labels=np.arange(len(cm)),
                                                       sample_weight=cm.ravel(), zero_division=0)
    entry["per_class_pooled"] = {"precision": prec.round(6).tolist(), "recall": rec.round(6).tolist(),
                                 "f1": f1.round(6).tolist(), "support": cm.sum(1).astype(int).tolist()}
    if any(r.get("history") for r in folds):
        entry["learning_curve"] = learning_curve([r.get("history") or [] for r in folds])
    return entry


#: Per-epoch values of a neural head's ``history_`` that learning curves show.
CURVE_KEYS = ("train_loss", "valid_loss", "train_accuracy", "valid_accuracy")


def learning_curve(histories: list[list[dict]]) -> dict:
    """Mean per-epoch curves over folds (``history_`` of each fold's fitted model).

    Folds may stop early at different epochs: epoch ``e`` averages the folds that reached it
    (``n_folds`` says how many). Returns ``{"epoch": [...], "n_folds": [...], key: [...]}`` for
    every key of :data:`CURVE_KEYS` (None where no fold has a value).
    """
    n = max((len(h) for h in histories), default=0)
    out = {"epoch": list(range(1, n + 1)), "n_folds": [sum(len(h) > e for h in histories) for e in range(n)]}
    for k in CURVE_KEYS:
        vals = []
        for e in range(n):
            v = [h[e][k] for h in histories if len(h) > e and h[e].get(k) is not None]
            vals.append(round(float(np.mean(v)), 6) if v else None)
        out[k] = vals
    return out


def _pooled(entry: dict, metric: str) -> float:
    """A model's pooled score (see :mod:`~genrekit.pipeline.evaluation.uncertainty`); its fold mean without one."""
    pooled = entry.get("pooled")
    return pooled[metric]["value"] if pooled else entry[metric]["mean"]


def rank(per_model: dict, names, inputs: dict, n_folds: int) -> list[dict]:
    """Leaderboard rows of the models that ran, best first (by pooled :data:`RANK_METRIC`, then
    pooled accuracy, then name); each row has the pooled score and 95 % interval and the fold mean ± std."""
    ok = [n for n in names if not per_model[n]["error"]]
    ranked = sorted(ok, key=lambda n: (-_pooled(per_model[n], RANK_METRIC), -_pooled(per_model[n], "accuracy"), n))
    rows = []
    for i, n in enumerate(ranked, 1):
        pooled = per_model[n].get("pooled")
        row = {"rank": i, "model": n, "input": inputs[n], "n_folds": n_folds,
               "ranked_by": f"pooled {RANK_METRIC}" if pooled else f"mean {RANK_METRIC}"}
        for k in METRICS:
            if pooled:
                row[f"{k}_pooled"] = pooled[k]["value"]
                row[f"{k}_ci_low"] = pooled[k]["ci_low"]
                row[f"{k}_ci_high"] = pooled[k]["ci_high"]
        for k in (*METRICS, "fit_seconds", "predict_seconds"):
            row[f"{k}_mean"] = per_model[n][k]["mean"]
            row[f"{k}_std"] = per_model[n][k]["std"]
        rows.append(row)
    return rows


def leaderboard_table(rows: list[dict]) -> str:
    """Fixed-width text table of leaderboard rows (as in :attr:`BenchmarkResult.leaderboard`): pooled
    scores with their 95 % interval, then the fold mean ± std; a last line says what ranks them."""
    shown = ("accuracy", "balanced_accuracy", "f1_macro")
    pooled = bool(rows) and f"{RANK_METRIC}_pooled" in rows[0]
    head = (["rank", "model"] + ([f"{METRICS[RANK_METRIC]} pooled [95% CI]", "accuracy pooled", "macro-F1 pooled"]
                                  if pooled else [])
            + [f"{METRICS[m]} fold mean" for m in shown] + ["fit s", "predict s"])
    body = []
    for r in rows:
        b = [str(r["rank"]), r["model"]]
        if pooled:
            b += [f"{r[RANK_METRIC + '_pooled']:.3f} [{r[RANK_METRIC + '_ci_low']:.3f}, "
                  f"{r[RANK_METRIC + '_ci_high']:.3f}]", f"{r['accuracy_pooled']:.3f}", f"{r['f1_macro_pooled']:.3f}"]
        body.append(b + [f"{r[m + '_mean']:.3f} ± {r[m + '_std']:.3f}" for m in shown]
                    + [f"{r['fit_seconds_mean']:.2f}", f"{r['predict_seconds_mean']:.3f}"])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 1 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    for b in body:
        lines.append("  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths))))
    lines.append(f"ranked by {RANK_TEXT if pooled else 'mean ' + METRICS[RANK_METRIC] + ' over folds'}"
                 + ("; [95% CI]: bootstrap over tracks (by artist when artists are known)" if pooled else ""))
    return "\n".join(lines)
