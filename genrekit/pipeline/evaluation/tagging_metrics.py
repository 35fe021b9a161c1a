"""Tagging scores: per fold, pooled over folds, summarised per model, ranked into the leaderboard.

Per fold and pooled (every track scored once, by the fold that tested it):

* ROC-AUC and PR-AUC (average precision), macro (the mean over tags) and micro (every
  track × tag decision pooled), and per tag;
* label-ranking average precision (LRAP) over the tracks with at least one positive and one
  negative kept tag;
* macro-F1 at each tag's threshold (chosen on the training fold only).

A tag without a positive or without a negative among the scored tracks has no ROC-AUC, PR-AUC or
F1 there: it is left out of that macro average and counted (``n_tags_left_out``); its per-tag
value is None. No NaN reaches a table.
"""

from __future__ import annotations

import warnings

import numpy as np

#: Fold metrics, in leaderboard order, with their display names.
TAG_METRICS = {
    "pr_auc_macro": "macro PR-AUC",
    "roc_auc_macro": "macro ROC-AUC",
    "pr_auc_micro": "micro PR-AUC",
    "roc_auc_micro": "micro ROC-AUC",
    "lrap": "LRAP",
    "f1_macro": "macro-F1",
}
#: The metric the tagging leaderboard is ranked by.
TAG_RANK_METRIC = "pr_auc_macro"


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def tag_metrics(Y: np.ndarray, S: np.ndarray, thresholds: np.ndarray) -> dict:
    """Scores of true multi-hot ``Y`` against scores ``S`` (both ``(n, n_tags)``) at ``thresholds``.

    Returns the :data:`TAG_METRICS` (None where no tag or track can be scored), ``per_tag``
    (``roc_auc``, ``pr_auc``, ``f1``, ``support``: lists over tags, None where undefined) and
    ``n_tags_left_out``."""
    from sklearn.metrics import (average_precision_score, f1_score, label_ranking_average_precision_score,
                                 roc_auc_score)

    Y = np.asarray(Y, dtype=np.uint8)
    S = np.asarray(S, dtype=float)
    pred = (S >= np.asarray(thresholds)[None, :]).astype(np.uint8)
    roc, ap, f1 = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if 0 < y.sum() < len(y):
                roc.append(float(roc_auc_score(y, S[:, j])))
                ap.append(float(average_precision_score(y, S[:, j])))
                f1.append(float(f1_score(y, pred[:, j], zero_division=0)))
            else:
                roc.append(None), ap.append(None), f1.append(None)
        flat_y, flat_s = Y.ravel(), S.ravel()
        micro_ok = 0 < flat_y.sum() < len(flat_y)
        rows = (Y.sum(axis=1) > 0) & (Y.sum(axis=1) < Y.shape[1])
        m = {
            "pr_auc_macro": _mean(ap), "roc_auc_macro": _mean(roc),
            "pr_auc_micro": float(average_precision_score(flat_y, flat_s)) if micro_ok else None,
            "roc_auc_micro": float(roc_auc_score(flat_y, flat_s)) if micro_ok else None,
            "lrap": float(label_ranking_average_precision_score(Y[rows], S[rows])) if rows.any() else None,
            "f1_macro": _mean(f1),
        }
    m["n_tags_left_out"] = int(sum(v is None for v in roc))
    m["per_tag"] = {"roc_auc": _round(roc), "pr_auc": _round(ap), "f1": _round(f1),
                    "support": Y.sum(axis=0).astype(int).tolist()}
    return m


def _round(values) -> list:
    return [None if v is None else round(v, 6) for v in values]


def summarise_tagger(spec, fold_results, user_params, Y, tags) -> dict:
    """Mean ± std over folds (of the folds where a metric is defined), pooled out-of-fold metrics
    and the per-tag table of one model."""
    folds = sorted(fold_results, key=lambda r: r["fold"])
    errors = [r["error"] for r in folds if r["error"]]
    entry = {"description": spec.description, "input": spec.input, "params": user_params,
             "warnings": sorted({w for r in folds for w in r["warnings"]}), "error": errors[0] if errors else None}
    if errors:
        return entry
    keep = ("fold", "fit_seconds", "fit_cpu_seconds", "threshold_seconds", "thresholds_from", "predict_seconds", *TAG_METRICS, "n_tags_left_out", "per_tag",
            "thresholds")
    entry["folds"] = [{k: r[k] for k in keep if k in r} for r in folds]
    for k in (*TAG_METRICS, "fit_seconds", "threshold_seconds", "predict_seconds"):
        vals = np.array([r[k] for r in folds if r.get(k) is not None], dtype=float)
        entry[k] = {"mean": float(vals.mean()) if vals.size else None, "std": float(vals.std()) if vals.size else None,
                    "folds": [None if r.get(k) is None else round(float(r[k]), 6) for r in folds]}
    entry["n_tags_left_out"] = [r["n_tags_left_out"] for r in folds]
    test = np.concatenate([np.asarray(r["test"]) for r in folds])
    S = np.concatenate([np.asarray(r["scores"]) for r in folds])
    thr = np.concatenate([np.tile(np.asarray(r["thresholds"]), (len(r["test"]), 1)) for r in folds])
    pred_ok = (S >= thr).astype(np.uint8)
    pooled = tag_metrics(Y[test], S, np.full(len(tags), 0.5))  # thresholds per fold: F1 below
    from sklearn.metrics import f1_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f1 = [float(f1_score(Y[test, j], pred_ok[:, j], zero_division=0)) if 0 < Y[test, j].sum() < len(test)
              else None for j in range(len(tags))]
    pooled["per_tag"]["f1"] = _round(f1)
    pooled["f1_macro"] = _mean(f1)
    entry["pooled"] = {k: v for k, v in pooled.items() if k != "per_tag"}
    entry["per_tag"] = {"tag": list(tags), **pooled["per_tag"]}
    return entry


def rank_taggers(per_model: dict, names, inputs: dict, n_folds: int) -> list[dict]:
    """Leaderboard rows of the models that ran, best first by mean macro PR-AUC (then macro ROC-AUC)."""
    ok = [n for n in names if not per_model[n]["error"]]

    def key(n):
        e = per_model[n]
        return (-(e[TAG_RANK_METRIC]["mean"] or 0.0), -(e["roc_auc_macro"]["mean"] or 0.0), n)

    rows = []
    for i, n in enumerate(sorted(ok, key=key), 1):
        row = {"rank": i, "model": n, "input": inputs[n], "n_folds": n_folds}
        for k in (*TAG_METRICS, "fit_seconds", "predict_seconds"):
            row[f"{k}_mean"] = per_model[n][k]["mean"]
            row[f"{k}_std"] = per_model[n][k]["std"]
        row["pooled_pr_auc_macro"] = per_model[n]["pooled"]["pr_auc_macro"]
        rows.append(row)
    return rows


def _cell(mean, std) -> str:
    return "n/a" if mean is None else f"{mean:.3f} ± {std:.3f}"


def tag_leaderboard_table(rows: list[dict]) -> str:
    """Fixed-width text table of tagging leaderboard rows."""
    shown = ("pr_auc_macro", "roc_auc_macro", "pr_auc_micro", "lrap", "f1_macro")
    head = ["rank", "model"] + [TAG_METRICS[m] for m in shown] + ["fit s"]
    body = [[str(r["rank"]), r["model"]] + [_cell(r[m + "_mean"], r[m + "_std"]) for m in shown]
            + [f"{r['fit_seconds_mean']:.2f}"] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 1 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    for b in body:
        lines.append("  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths))))
    return "\n".join(lines)


def any_leaderboard_table(rows: list[dict]) -> str:
    """The text table of genre or tagging leaderboard rows, whichever ``rows`` are."""
    if rows and "pr_auc_macro_mean" in rows[0]:
        return tag_leaderboard_table(rows)
    from genrekit.pipeline.evaluation.metrics import leaderboard_table

    return leaderboard_table(rows)
