"""A grouped benchmark on the real GTZAN excerpts in ../shared/data/gtzan-mini (skips when absent).

Several genres there have a single artist, so an artist-grouped split cannot stratify them: the
benchmark must say so and carry on.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.cli import main

GTZAN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gtzan-mini"

pytestmark = [
    pytest.mark.skipif(not (GTZAN / "tracks.csv").exists(),
                       reason="real audio not available: ../shared/data/gtzan-mini is absent"),
    pytest.mark.slow,
]


def test_grouped_benchmark_end_to_end_on_gtzan_mini(tmp_path, capsys):
    store, out = tmp_path / "store", tmp_path / "run"
    assert main(["extract", str(GTZAN), "--manifest", str(GTZAN / "tracks.csv"), "--store", str(store),
                 "--workers", "2", "--no-progress", "--features", "mfcc,mfcc_delta,chroma,contrast,rms,zcr,tempo"]) == 0
    capsys.readouterr()
    rc = main(["benchmark", "--store", str(store), "--models", "svm,knn,gmm,logreg,gmm-frames",
               "--split", "group-kfold:5", "--seed", "0", "--out", str(out), "--save-models",
               "--workers", "2", "--no-progress"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    # the single-artist genres are reported plainly, not a crash
    for genre in ("blues", "classical", "reggae", "rock"):
        line = next(s for s in cap.err.splitlines() if f"label '{genre}'" in s)
        assert "1 artist" in line and "cannot be stratified by artist" in line
    assert "report:" in cap.out and "svm" in cap.out

    doc = json.loads((out / "results.json").read_text())
    assert doc["split"]["grouped"] and doc["split"]["n_folds"] == 5
    assert len(doc["classes"]) == 10 and doc["store"]["n_labelled"] == 50
    # no artist straddles train and test in any fold
    fs = FeatureStore(store)
    group = {r.id: r.group for r in fs.tracks}
    all_ids = set(group)
    for fold in doc["split"]["folds"]:
        test = set(fold["test_ids"])
        train_groups = {group[i] for i in all_ids - test if group[i]}
        assert not train_groups & {group[i] for i in test if group[i]}
    for name in ("svm", "knn", "gmm", "logreg", "gmm-frames"):
        m = doc["models"][name]
        assert m["error"] is None
        assert np.array(m["confusion_matrix"]).sum() == 50
        assert 0.0 <= m["accuracy"]["mean"] <= 1.0
    best = doc["leaderboard"][0]
    assert best["accuracy_mean"] > 0.15, "the best model should beat chance (0.1) on real genres"
    report = (out / "report.md").read_text()
    assert "cannot be stratified by artist" in report and "figures/leaderboard.png" in report
    assert (out / "figures" / "confusion_svm.png").stat().st_size > 1000

    # the saved model predicts a real file with the store's own feature config
    metal = sorted((GTZAN / "metal").iterdir())[0]
    assert main(["predict", "--model", str(out / "models" / "logreg.joblib"), str(metal), "--json",
                 "--workers", "1"]) == 0
    pred = json.loads(capsys.readouterr().out)["predictions"][0]
    assert pred["ok"] and len(pred["top"]) == 3 and pred["top"][0]["label"] in doc["classes"]
