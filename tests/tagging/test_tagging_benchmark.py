"""`genrekit benchmark --task tagging` end to end on a tagged store: leaderboard, files, bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from genrekit.cli import main
from genrekit.errors import ParameterError, StoreError
from genrekit.pipeline.evaluation.runner import run_benchmark
from tests.conftest import make_synthetic_store
from tests.reliability import cli_fails
from tests.tagging.tagged_store import TAGS, make_tagged_store


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    return make_tagged_store(tmp_path_factory.mktemp("tagged") / "s", rare=3, strength=0.25)


@pytest.fixture(scope="module")
def run(tagged, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    lines = []
    res = run_benchmark(tagged, "logreg,knn", out=out, workers=1, progress=False, log=lines.append,
                        min_tag_count=5, save_models=True)
    return res, lines


def test_tagging_is_chosen_for_a_store_without_labels_and_ranked_by_pr_auc(run):
    res, lines = run
    doc = res.results
    assert doc["task"] == "tagging" and doc["config"]["rank_metric"] == "pr_auc_macro"
    assert doc["tags"] == list(TAGS) and doc["dropped_tags"] == {"rare-tag": 3}
    assert any("rare-tag (3)" in line for line in lines)
    assert doc["split"]["grouped"] and doc["split"]["spec"] == "group-kfold:5"
    board = res.leaderboard
    assert [r["rank"] for r in board] == [1, 2]
    assert board[0]["pr_auc_macro_mean"] >= board[1]["pr_auc_macro_mean"]
    for row in board:   # the tags are learnable: well above chance (PR-AUC chance = tag frequency)
        assert row["roc_auc_macro_mean"] > 0.8 and 0 <= row["f1_macro_mean"] <= 1
    m = doc["models"]["logreg"]
    assert len(m["folds"]) == 5 and all(len(f["thresholds"]) == len(TAGS) for f in m["folds"])
    assert set(m["pooled"]) >= {"roc_auc_macro", "pr_auc_macro", "roc_auc_micro", "pr_auc_micro", "lrap", "f1_macro"}
    assert m["per_tag"]["tag"] == list(TAGS) and all(v is not None for v in m["per_tag"]["roc_auc"])


def test_tagging_run_writes_its_files(run):
    res, _ = run
    out = res.out_dir
    for name in ("results.json", "leaderboard.csv", "per_tag.csv", "scores.csv", "report.md",
                 "figures/per_tag_auc.png", "models/logreg.joblib", "models/knn.joblib"):
        assert (out / name).is_file(), name
    assert json.loads((out / "results.json").read_text())["leaderboard"][0]["model"] == res.leaderboard[0]["model"]
    with open(out / "per_tag.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * len(TAGS) and {r["tag"] for r in rows} == set(TAGS)
    with open(out / "scores.csv") as f:
        scores = list(csv.DictReader(f))
    assert len(scores) == 2 * 60 * len(TAGS)   # models × tagged tracks × tags, every track tested once
    assert "macro PR-AUC" in (out / "report.md").read_text()
    assert res.table().splitlines()[0].split()[2:4] == ["macro", "PR-AUC"]


def test_predict_prints_tags_above_thresholds(run, tagged):
    from genrekit.cache import FeatureStore
    from genrekit.pipeline.prediction.artifacts import load_artifact
    from genrekit.pipeline.prediction.predict import _pick, _scores, format_prediction, Prediction

    art = load_artifact(run[0].artifacts["logreg"])
    assert art.task == "tagging" and art.classes == list(TAGS) and len(art.thresholds) == len(TAGS)
    with FeatureStore(tagged) as fs:
        X, _ = fs.summary()
        P = _scores(art, X)
        assert P.shape == (len(fs), len(TAGS)) and ((0 <= P) & (P <= 1)).all()
        picked = [_pick(art, p, 3) for p in P]
        truth = fs.tags
    got = np.array([[t in {x for x, _ in p} for t in TAGS] for p in picked])
    want = np.array([[t in tr for t in TAGS] for tr in truth])
    assert (got == want).mean() > 0.85   # the refit model gets most track × tag decisions right
    assert all(prob >= art.thresholds[art.classes.index(t)] for p in picked for t, prob in p)
    assert "(no tag above its threshold)" in format_prediction(Prediction(path="x.wav", top=[], duration=1.0))


def test_cli_task_options_and_bad_input(tagged, tmp_path, capsys):
    rc = main(["benchmark", "--store", str(tagged), "--task", "tagging", "--models", "logreg", "--min-tag-count", "5",
               "--split", "kfold:3", "--out", str(tmp_path / "r"), "--workers", "1", "--no-progress"])
    assert rc == 0 and "macro PR-AUC" in capsys.readouterr().out
    assert "unknown --task 'tagz'" in cli_fails(["benchmark", "--store", str(tagged), "--task", "tagz"], capsys)
    assert "lower --min-tag-count" in cli_fails(["benchmark", "--store", str(tagged), "--task", "tagging",
                                                 "--min-tag-count", "1000", "--out", str(tmp_path / "r2")], capsys)
    plain = make_synthetic_store(tmp_path / "plain", n_per_class=4, n_classes=2, n_artists_per_class=2)
    assert "has no tagged tracks" in cli_fails(["benchmark", "--store", str(plain), "--task", "tagging",
                                                "--out", str(tmp_path / "r3")], capsys)
    with pytest.raises(ParameterError, match="--tune"):
        run_benchmark(tagged, "logreg", task="tagging", tune=True, out=tmp_path / "r4", progress=False)


def test_labels_win_the_default_and_task_genre_still_runs(tmp_path):
    both = make_tagged_store(tmp_path / "both", n_tracks=40, labels=True)
    res = run_benchmark(both, "logreg", out=tmp_path / "g", workers=1, progress=False)
    assert "task" not in res.results and "balanced_accuracy_mean" in res.leaderboard[0]
    res = run_benchmark(both, "logreg", task="tagging", min_tag_count=3, out=tmp_path / "t", workers=1,
                        progress=False)
    assert res.results["task"] == "tagging"
    with pytest.raises(StoreError):
        run_benchmark(make_synthetic_store(tmp_path / "p", n_per_class=4, n_classes=2), "logreg", task="tagging",
                      out=tmp_path / "x", progress=False)


def test_cli_predict_with_a_tagging_artifact(run, tmp_path, capsys):
    import soundfile as sf

    from tests.audio_helpers import tone

    sf.write(tmp_path / "song.wav", tone(220, 2.0), 22050)
    model = str(run[0].artifacts["logreg"])
    assert main(["predict", "--model", model, str(tmp_path / "song.wav"), "--segments", "1", "--no-progress",
                 "--workers", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(str(tmp_path / "song.wav")) and len(lines) == 3   # the file, then 2 segments
    for line in lines:
        shown = line.split("  ")[1:] if not line.startswith(" ") else line.split("  ")[-1:]
        assert all(s == "(no tag above its threshold)" or s.split()[0] in TAGS for s in shown if s.strip())
    assert main(["predict", "--model", model, str(tmp_path / "song.wav"), "--json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["classes"] == list(TAGS)
