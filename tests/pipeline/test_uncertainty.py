"""Pooled scores, bootstrap intervals and paired tests: against hand-computed cases and scikit-learn."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score, precision_score,
                             recall_score)

from genrekit.pipeline.evaluation.metrics import leaderboard_table
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.evaluation.splits import Fold
from genrekit.pipeline.evaluation.uncertainty import (RESAMPLES, bootstrap_intervals, bootstrap_weights,
                                                      mcnemar_exact, paired_bootstrap, pooled_predictions,
                                                      pooled_scores)
from tests.conftest import make_synthetic_store


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(6))
def test_pooled_scores_are_scikit_learns_also_with_labels_never_predicted_or_never_true(seed):
    rng = np.random.default_rng(seed)
    k = 5
    y = rng.integers(0, 4, 40)          # label 4 never true
    pred = rng.integers(1, 5, 40)       # label 0 never predicted
    got = pooled_scores(y, pred, k)
    want = {"accuracy": accuracy_score(y, pred), "balanced_accuracy": balanced_accuracy_score(y, pred),
            "f1_macro": f1_score(y, pred, average="macro", zero_division=0),
            "precision_macro": precision_score(y, pred, average="macro", zero_division=0),
            "recall_macro": recall_score(y, pred, average="macro", zero_division=0)}
    for m, v in want.items():
        assert got[m] == pytest.approx(v, abs=1e-12), m


def test_mcnemar_exact_against_the_binomial_by_hand():
    # 1 track only A gets right, 5 only B: p = 2 · P(X ≤ 1 | n = 6, 1/2) = 2 · (1 + 6) / 64
    a = np.array([1, 0, 0, 0, 0, 0, 1, 1, 0], bool)
    b = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0], bool)
    r = mcnemar_exact(a, b)
    assert (r["only_first_right"], r["only_second_right"]) == (1, 5)
    assert r["p_value"] == pytest.approx(14 / 64)
    assert mcnemar_exact([1, 1, 1, 1, 1, 1], [0] * 6)["p_value"] == pytest.approx(2 / 64)
    assert mcnemar_exact([1, 0, 1], [1, 0, 1])["p_value"] == 1.0  # no discordant track


def test_cluster_bootstrap_draws_whole_artists():
    # artist A: 3 tracks all right; artist B: 1 track wrong. Drawing 2 artists gives AA (accuracy 1),
    # AB or BA (3/4) or BB (0) — never a value a track bootstrap would also give (1/4, 1/2, 2/3 …)
    units = np.array(["A", "A", "A", "B"], dtype=object)
    y, pred = np.array([0, 1, 0, 1]), np.array([0, 1, 0, 0])
    w = bootstrap_weights(units, seed=3)
    assert w.shape == (RESAMPLES, 4)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 1] == w[:, 2]).all()  # an artist's tracks move together
    assert (w[:, 0] + w[:, 3] == 2).all()  # two artists drawn each time
    acc = (w * (y == pred)).sum(1) / w.sum(1)
    assert set(np.round(acc, 6)) == {0.0, 0.75, 1.0}
    # P(AA) = P(BB) = 1/4: the 2.5 % and 97.5 % percentiles are 0 and 1
    assert bootstrap_intervals(y, pred, 2, w)["accuracy"] == (0.0, 1.0)
    np.testing.assert_array_equal(w, bootstrap_weights(units, seed=3))  # seeded
    assert not np.array_equal(w, bootstrap_weights(units, seed=4))


def test_track_bootstrap_of_a_perfect_model_has_a_point_interval():
    y = np.repeat(np.arange(3), 4)
    w = bootstrap_weights(np.arange(12).astype(str), seed=0)
    assert (w.sum(1) == 12).all()
    assert bootstrap_intervals(y, y, 3, w)["balanced_accuracy"] == (1.0, 1.0)


def test_paired_bootstrap_p_values_by_hand():
    y = np.repeat(np.arange(2), 10)
    w = bootstrap_weights(np.arange(20).astype(str), seed=1)
    # A right everywhere, B wrong everywhere: no resample has A ≤ B, so p = 2 · (0 + 1) / (1000 + 1)
    r = paired_bootstrap(y, y, 1 - y, 2, w)
    assert r["difference"] == 1.0 and r["p_value"] == pytest.approx(2 / (RESAMPLES + 1))
    assert (r["ci_low"], r["ci_high"]) == (1.0, 1.0)
    # the same predictions: every difference is 0, p = 1 (capped)
    assert paired_bootstrap(y, y, y, 2, w)["p_value"] == 1.0


def test_pooled_predictions_take_each_track_once():
    folds = [Fold(0, np.array([2, 3]), np.array([0, 1])), Fold(1, np.array([0, 1]), np.array([2, 3]))]
    res = [{"fold": 1, "predictions": [5, 6]}, {"fold": 0, "predictions": [7, 8]}]
    np.testing.assert_array_equal(pooled_predictions(res, folds, 5), [7, 8, 5, 6, -1])
    with pytest.raises(ValueError, match="already tested"):
        pooled_predictions(res + [{"fold": 1, "predictions": [1, 1]}], folds, 5)


def test_a_run_ranks_by_pooled_balanced_accuracy_and_compares_the_best(tmp_path):
    # group-kfold:5 on 3 artists per label: folds miss labels, the case that skews fold means
    store = make_synthetic_store(tmp_path / "store", n_per_class=9, n_classes=4, separation=0.08, seed=5)
    res = run_benchmark(store, "logreg,knn,gmm", split="group-kfold:5", out=tmp_path / "run", workers=1,
                        progress=False, seed=7)
    doc = json.loads((res.out_dir / "results.json").read_text())
    with open(res.out_dir / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for model, m in doc["models"].items():
        mine = [r for r in rows if r["model"] == model]
        assert len(mine) == 36 and len({r["id"] for r in mine}) == 36  # every track predicted once
        ba = balanced_accuracy_score([r["label"] for r in mine], [r["predicted"] for r in mine])
        assert m["pooled"]["balanced_accuracy"]["value"] == pytest.approx(ba)
        assert m["pooled"]["balanced_accuracy"]["ci_low"] <= ba <= m["pooled"]["balanced_accuracy"]["ci_high"]
    board = doc["leaderboard"]
    assert [r["balanced_accuracy_pooled"] for r in board] == sorted((r["balanced_accuracy_pooled"] for r in board),
                                                                    reverse=True)
    unc = doc["uncertainty"]
    assert unc["rank_by"] == "pooled balanced_accuracy" and unc["bootstrap"]["unit"] == "artist"
    comps = unc["comparisons"]
    assert [c["other"] for c in comps] == [r["model"] for r in board[1:]]
    for c in comps:
        assert c["best"] == board[0]["model"] and 0 < c["paired_bootstrap"]["p_value"] <= 1
        assert c["verdict"].startswith("not distinguishable" if c["paired_bootstrap"]["p_value"] >= 0.05 else c["best"])
        assert "McNemar" in c["mcnemar"]["test"]
    with open(res.out_dir / "leaderboard.csv", newline="") as f:
        lb = list(csv.DictReader(f))
    assert float(lb[0]["balanced_accuracy_pooled"]) == pytest.approx(board[0]["balanced_accuracy_pooled"], abs=1e-6)
    assert float(lb[0]["balanced_accuracy_ci_low"]) <= float(lb[0]["balanced_accuracy_pooled"])
    assert {r["ranked_by"] for r in lb} == {"pooled balanced_accuracy"}
    report = (res.out_dir / "report.md").read_text()
    assert "ranked by pooled balanced accuracy" in report and "paired bootstrap" in report
    assert "McNemar exact p" in report and comps[0]["verdict"] in report
    table = leaderboard_table(res.leaderboard)
    assert "pooled [95% CI]" in table and table.splitlines()[-1].startswith("ranked by pooled balanced accuracy")
    # the same seed gives the same intervals
    again = run_benchmark(store, "logreg,knn,gmm", split="group-kfold:5", out=tmp_path / "run2", workers=1,
                          progress=False, seed=7)
    assert again.results["uncertainty"] == doc["uncertainty"]


def test_resampling_in_chunks_gives_the_confusions_of_its_per_track_weights():
    from genrekit.pipeline.evaluation.uncertainty import Resampling, _confusions

    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    units = np.array([f"artist{i % 7}" for i in range(50)], dtype=object)
    r = Resampling(units, seed=5, resamples=150)  # 150: more than one chunk, the last one partial
    w = r.weights()
    assert w.shape == (150, 50) and (w.sum(1) > 0).all()
    np.testing.assert_array_equal(r.confusions(y, pred, 3), _confusions(y, pred, 3, w))
    np.testing.assert_array_equal(w, r.weights())  # replayed identically: every model sees the same draws
    assert bootstrap_intervals(y, pred, 3, r) == bootstrap_intervals(y, pred, 3, w)


def test_compare_from_one_pass_of_draws_equals_the_paired_bootstrap():
    from genrekit.pipeline.evaluation.uncertainty import Resampling, compare, scores_from_confusion

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 60)
    preds = {"a": np.where(rng.random(60) < 0.8, y, (y + 1) % 3), "b": np.where(rng.random(60) < 0.6, y, (y + 2) % 3)}
    r = Resampling([f"u{i % 15}" for i in range(60)], seed=9)
    scores = {n: scores_from_confusion(c) for n, c in r.confusions_of(y, preds, 3).items()}
    board = [{"model": "a"}, {"model": "b"}]
    (c,) = compare(board, {"y": y, "k": 3, "predictions": preds, "scores": scores})
    want = paired_bootstrap(y, preds["a"], preds["b"], 3, r)
    assert c["paired_bootstrap"] == want and c["mcnemar"] == mcnemar_exact(preds["a"] == y, preds["b"] == y)
