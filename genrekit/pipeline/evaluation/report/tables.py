"""The run's tables: ``predictions.csv`` (out-of-fold, per track) and ``leaderboard.csv``."""

from __future__ import annotations

import csv

import numpy as np

from genrekit.files import atomic_write
from genrekit.pipeline.evaluation.metrics import METRICS


def write_predictions(path, results, ids, labels, classes, the_split):
    """One row per model, fold and test track: ``model,fold,id,label,predicted``, then one
    ``proba_<class>`` column per class (the model's out-of-fold probability; empty for a model
    without ``predict_proba``); sorted."""
    rows = []
    for r in results:
        if r["kind"] != "fold" or r["error"]:
            continue
        test = the_split.folds[r["fold"]].test
        proba = r.get("probabilities") or [None] * len(test)
        for i, p, q in zip(test, r["predictions"], proba):
            rows.append((r["model"], r["fold"] + 1, ids[i], labels[i], classes[p],
                         *([f"{v:.6f}" for v in q] if q is not None else [""] * len(classes))))
    rows.sort(key=lambda row: row[:5])
    with atomic_write(path, newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "fold", "id", "label", "predicted", *(f"proba_{c}" for c in classes)])
        w.writerows(rows)


def untrained_labels(the_split, y, classes) -> list[list[str]]:
    """Per fold, the labels with no training track there (the model could never predict them)."""
    out = []
    for f in the_split.folds:
        present = set(np.asarray(y)[f.train].tolist())
        out.append([c for i, c in enumerate(classes) if i not in present])
    return out


def write_leaderboard_csv(path, leaderboard, per_model, names):
    """The leaderboard's rows (pooled score and 95 % interval, fold mean and std of every metric), then one
    ``failed: …`` row per failed model."""
    cols = ["rank", "model", "input", "n_folds", "ranked_by"]
    for k in METRICS:
        cols += [f"{k}_pooled", f"{k}_ci_low", f"{k}_ci_high"]
    for k in (*METRICS, "fit_seconds", "predict_seconds"):
        cols += [f"{k}_mean", f"{k}_std"]
    cols.append("status")
    with atomic_write(path, newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for row in leaderboard:
            w.writerow({**{k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items() if k in cols},
                        "status": "ok"})
        for n in names:
            if per_model[n]["error"]:
                w.writerow({"model": n, "input": per_model[n]["input"], "status": f"failed: {per_model[n]['error']}"})
