"""Per-class scores pooled over folds are scikit-learn's on every test prediction of every fold."""

from __future__ import annotations

import csv
import json

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from genrekit.pipeline.evaluation.runner import run_benchmark
from tests.conftest import make_synthetic_store


def test_pooled_per_class_scores_are_scikit_learns_over_all_folds(tmp_path):
    store = make_synthetic_store(tmp_path / "store", n_per_class=12, n_classes=3, separation=0.05, seed=2)
    res = run_benchmark(store, "knn,gmm", split="group-kfold:3", out=tmp_path / "run", workers=1,
                        progress=False)
    doc = json.loads((res.out_dir / "results.json").read_text())
    classes = doc["classes"]
    with open(res.out_dir / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for model in ("knn", "gmm"):
        mine = [r for r in rows if r["model"] == model]
        p, r, f1, support = precision_recall_fscore_support(
            [x["label"] for x in mine], [x["predicted"] for x in mine], labels=classes, zero_division=0)
        pooled = doc["models"][model]["per_class_pooled"]
        np.testing.assert_array_equal(pooled["precision"], p.round(6))
        np.testing.assert_array_equal(pooled["recall"], r.round(6))
        np.testing.assert_array_equal(pooled["f1"], f1.round(6))
        assert pooled["support"] == support.tolist()
        assert any(0 < v < 1 for v in f1)  # the models err: not every score is trivially 0 or 1
