"""The benchmark runner: same folds for every model, nested tuning, reproducible, files written."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.classifiers import register, registry
from genrekit.cli import main
from genrekit.errors import ParameterError, StoreError
from genrekit.pipeline.prediction.artifacts import load_artifact
from genrekit.pipeline.evaluation.inputs import FrameSequence
from genrekit.pipeline.evaluation.jobs import run_job as _run_job
from genrekit.pipeline.evaluation.params import parse_params, parse_value
from genrekit.pipeline.evaluation.runner import run_benchmark
from tests.conftest import make_synthetic_store

PNG = b"\x89PNG\r\n\x1a\n"


def _metrics(result):
    """Every fold metric of every model (timings excluded)."""
    keys = ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro",
            "confusion_matrix", "per_class")
    return {n: [{k: f[k] for k in keys} for f in m["folds"]] for n, m in result.results["models"].items()}


@pytest.fixture(scope="module")
def run(synthetic_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "first"
    return run_benchmark(synthetic_store, "svm,knn,gmm,gmm-frames", out=out, workers=1, progress=False,
                         save_models=True)


def test_results_files_are_written_and_readable(run, synthetic_store):
    out = run.out_dir
    doc = json.loads((out / "results.json").read_text())
    assert doc["split"]["spec"] == "group-kfold:5" and doc["split"]["grouped"]
    assert doc["classes"] == ["genre0", "genre1", "genre2"]
    assert doc["store"]["config_hash"] == FeatureStore(synthetic_store).config_hash
    assert doc["store"]["tracks_hash"] and doc["versions"]["scikit-learn"]
    assert doc["command"].startswith("genrekit benchmark --store ")
    assert "--split group-kfold:5 --seed 0" in doc["command"]
    for name in ("svm", "knn", "gmm", "gmm-frames"):
        m = doc["models"][name]
        assert len(m["folds"]) == 5
        for k in ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro",
                  "fit_seconds", "predict_seconds"):
            assert set(m[k]) == {"mean", "std", "folds"}
        assert m["accuracy"]["mean"] > 0.6, f"{name} learned nothing"
        cm = np.array(m["confusion_matrix"])
        assert cm.shape == (3, 3) and cm.sum() == 30
        assert len(m["folds"][0]["per_class"]["f1"]) == 3
    assert doc["models"]["gmm-frames"]["frame_features"] == ["mfcc"]
    # leaderboard: ranked by pooled balanced accuracy, same numbers in JSON and CSV
    ranks = [r["balanced_accuracy_pooled"] for r in doc["leaderboard"]]
    assert ranks == sorted(ranks, reverse=True)
    with open(out / "leaderboard.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == [r["model"] for r in doc["leaderboard"]]
    assert float(rows[0]["accuracy_mean"]) == pytest.approx(doc["leaderboard"][0]["accuracy_mean"], abs=1e-6)
    with open(out / "predictions.csv") as f:
        preds = list(csv.DictReader(f))
    assert len(preds) == 4 * 30 and {p["model"] for p in preds} == {"svm", "knn", "gmm", "gmm-frames"}
    # figures and the report that links them
    for fig in ["leaderboard.png"] + [f"confusion_{n}.png" for n in ("svm", "knn", "gmm", "gmm-frames")]:
        assert (out / "figures" / fig).read_bytes()[:8] == PNG
    report = (out / "report.md").read_text()
    assert "## Leaderboard" in report and "figures/leaderboard.png" in report
    assert "figures/confusion_gmm-frames.png" in report and "## Per-class F1" in report


def test_every_model_gets_the_same_folds(run):
    tested = {}
    for p in csv.DictReader(open(run.out_dir / "predictions.csv")):
        tested.setdefault(p["model"], set()).add((p["fold"], p["id"]))
    assert len({frozenset(v) for v in tested.values()}) == 1


@pytest.mark.slow
def test_same_command_twice_gives_identical_metrics_whatever_the_workers(run, synthetic_store, tmp_path):
    again = run_benchmark(synthetic_store, "svm,knn,gmm,gmm-frames", out=tmp_path / "again", workers=2,
                          progress=False)
    assert _metrics(again) == _metrics(run)
    assert again.results["split"]["folds"] == run.results["split"]["folds"]
    other_seed = run_benchmark(synthetic_store, "knn", seed=1, out=tmp_path / "seed1", workers=1, progress=False)
    assert other_seed.results["split"]["folds"] != run.results["split"]["folds"]


def test_saved_artifacts_reproduce_the_refit_model(run, synthetic_store):
    fs = FeatureStore(synthetic_store)
    X, cols = fs.summary()
    for name in ("svm", "gmm-frames"):
        art = load_artifact(run.artifacts[name])
        assert art.model == name and art.classes == ["genre0", "genre1", "genre2"]
        assert art.config.hash() == fs.config_hash
        assert art.trained_on["n_tracks"] == 30
        if art.input == "summary":
            assert art.columns == cols
            pred = art.estimator.predict(X)
        else:
            assert art.frame_features == ["mfcc"]
            pred = art.estimator.predict([fs.frame_matrix(i, ["mfcc"]) for i in fs.ids])
        labels = np.array(art.classes)[pred]
        assert (labels == fs.labels).mean() > 0.8


def test_tune_is_nested_inside_the_training_fold(synthetic_store, tmp_path, monkeypatch):
    """A spy model records the rows every fit sees: tuning never fits on the outer test fold."""
    seen = []
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    from sklearn.base import BaseEstimator, ClassifierMixin

    class Spy(ClassifierMixin, BaseEstimator):
        def __init__(self, alpha=1.0):
            self.alpha = alpha

        def fit(self, X, y):
            seen.append(set(X[:, 0].astype(int)))
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.full(len(X), self.classes_[0])

        def predict_proba(self, X):
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    register("spy", "records its training rows", grid={"alpha": [1.0, 2.0]})(lambda random_state=None: Spy())
    n = 30
    X = np.arange(n, dtype=float)[:, None]
    y = np.repeat([0, 1, 2], 10)
    groups = np.array([f"a{i // 2}" for i in range(n)], dtype=object)
    train, test = np.arange(0, 24), np.arange(24, 30)
    res = _run_job({"kind": "fold", "model": "spy", "fold": 0, "X": X, "y": y, "groups": groups,
                    "train": train, "test": test, "params": {}, "seed": 0, "tune": True, "n_classes": 3})
    assert res["error"] is None and "alpha" in res["best_params"]
    assert len(seen) == 2 * 3 + 1  # 2 candidates × 3 inner folds + the refit
    for rows in seen:
        assert rows <= set(train), "a fit saw a test-fold track"
    inner = seen[:-1]
    for rows in inner:  # inner folds are grouped too: no artist on both sides
        held = set(train) - rows
        assert not {groups[i] for i in rows} & {groups[i] for i in held}


def test_tune_end_to_end_records_best_params(synthetic_store, tmp_path):
    r = run_benchmark(synthetic_store, "knn", tune=True, params={"knn": {"weights": "uniform"}},
                      out=tmp_path / "t", workers=1, progress=False)
    folds = r.results["models"]["knn"]["folds"]
    assert all(set(f["best_params"]) == {"n_neighbors"} for f in folds)  # weights was fixed; --param names
    assert r.results["config"]["tune"] and "nested grid search" in r.report_path.read_text()


def test_frame_models_get_a_lazy_sequence_of_frame_matrices(synthetic_store, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    calls = []

    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.linear_model import LogisticRegression

    class MeanFrame(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            calls.append((type(X).__name__, len(X), X[0].shape, X[0].dtype))
            self.lr_ = LogisticRegression().fit(np.stack([x.mean(0) for x in X]), y)
            self.classes_ = self.lr_.classes_
            return self

        def predict(self, X):
            return self.lr_.predict(np.stack([x.mean(0) for x in X]))

    register("mean-frame", "mean frame → logistic regression", input="frames",
             frame_features=("chroma", "mfcc"))(lambda random_state=None: MeanFrame())
    r = run_benchmark(synthetic_store, "mean-frame", split="kfold:3", out=tmp_path / "f", workers=1, progress=False)
    assert len(calls) == 3
    kind, n, shape, dtype = calls[0]
    assert kind == "FrameSequence" and n == 20 and shape[1] == 12 + 20 and dtype == np.float32
    assert r.results["models"]["mean-frame"]["accuracy"]["mean"] > 0.6
    fs = FeatureStore(synthetic_store)
    seq = FrameSequence(fs, fs.ids, ["mfcc"])
    assert len(seq) == 30 and seq[3].shape == (fs.tracks[3].n_frames, 20)
    assert len(seq.take([0, 5])) == 2 and len(seq[::2]) == 15
    import pickle

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(seq))[3], seq[3])


def test_a_failing_model_is_reported_and_the_others_still_rank(synthetic_store, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    from sklearn.base import BaseEstimator, ClassifierMixin

    class Broken(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            raise np.linalg.LinAlgError("singular matrix")

    register("broken", "always fails")(lambda random_state=None: Broken())
    r = run_benchmark(synthetic_store, "knn,broken", split="kfold:3", out=tmp_path / "b", workers=1, progress=False)
    assert [row["model"] for row in r.leaderboard] == ["knn"]
    assert "LinAlgError: singular matrix" in r.failed["broken"]
    rows = list(csv.DictReader(open(r.out_dir / "leaderboard.csv")))
    assert rows[-1]["model"] == "broken" and rows[-1]["status"].startswith("failed")
    assert "failed" in r.report_path.read_text()


def test_errors_are_parameter_or_store_errors_that_name_the_fix(synthetic_store, tmp_path):
    with pytest.raises(StoreError, match="genrekit extract"):
        run_benchmark(tmp_path / "nothing", "knn", out=tmp_path / "x")
    with pytest.raises(ParameterError, match="available models"):
        run_benchmark(synthetic_store, "knn,nope", out=tmp_path / "x")
    with pytest.raises(ParameterError, match="not in --models"):
        run_benchmark(synthetic_store, "knn", params={"svm": {"C": 1}}, out=tmp_path / "x")
    with pytest.raises(ParameterError, match="n_neighbors"):
        run_benchmark(synthetic_store, "knn", params={"knn": {"n_neighbours": 3}}, out=tmp_path / "x")
    store = make_synthetic_store(tmp_path / "chroma_only", n_per_class=4, n_classes=2, features=("chroma",))
    with pytest.raises(ParameterError, match="needs frame feature mfcc"):
        run_benchmark(store, "gmm-frames", out=tmp_path / "x")


def test_parse_params():
    assert parse_params(["svm.C=10", "rf.n_estimators=500", "svm.gamma=scale", "knn.p=1.5",
                         "logreg.fit_intercept=false", "rf.max_depth=none"]) == {
        "svm": {"C": 10, "gamma": "scale"}, "rf": {"n_estimators": 500, "max_depth": None},
        "knn": {"p": 1.5}, "logreg": {"fit_intercept": False}}
    assert parse_value("1e-3") == 0.001 and parse_value("True") is True
    for bad in ("C=10", "svm.C", "svm.=3"):
        with pytest.raises(ParameterError, match="MODEL.KEY=VALUE"):
            parse_params([bad])
    with pytest.raises(ParameterError, match="twice"):
        parse_params(["svm.C=1", "svm.C=2"])


def test_unlabelled_tracks_are_left_out_and_kfold_on_artists_warns(tmp_path):
    store = make_synthetic_store(tmp_path / "s", n_per_class=6, n_classes=2, n_artists_per_class=3,
                                 n_unlabelled=3)
    lines = []
    r = run_benchmark(store, "logreg", split="kfold:3", out=tmp_path / "o", workers=1, progress=False,
                      log=lines.append)
    assert r.results["store"]["n_labelled"] == 12 and r.results["store"]["n_tracks"] == 15
    assert any("3 unlabelled tracks left out" in s for s in lines)
    assert any(s.startswith("warning:") and "likely inflated" in s for s in lines)
    assert "likely inflated" in r.report_path.read_text()


def test_cli_benchmark_and_models(synthetic_store, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["benchmark", "--store", str(synthetic_store), "--models", "knn,logreg", "--param", "knn.n_neighbors=3",
               "--out", str(out), "--workers", "1", "--no-progress"])
    cap = capsys.readouterr()
    assert rc == 0
    assert "rank" in cap.out and "knn" in cap.out and f"report: {out / 'report.md'}" in cap.out
    assert "split: group-kfold:5" in cap.err
    doc = json.loads((out / "results.json").read_text())
    assert doc["models"]["knn"]["params"] == {"n_neighbors": 3}
    assert main(["benchmark", "--store", str(synthetic_store), "--models", "nope", "--out", str(out)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    for name in ("svm", "linsvm", "knn", "gmm", "gmm-frames", "rf", "extratrees", "logreg", "hgb"):
        assert f" {name} " in listing
