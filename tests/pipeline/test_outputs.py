"""What a run's files tell a reader (issue 17.4): probabilities in predictions.csv, honest figures,
labels without training tracks, no scikit-learn scoring noise as model warnings, "tuned"."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from genrekit.classifiers import register, registry
from genrekit.pipeline.evaluation.jobs import run_job
from genrekit.pipeline.evaluation.report import figures
from genrekit.pipeline.evaluation.report.tables import untrained_labels
from genrekit.pipeline.evaluation.runner import run_benchmark


@pytest.fixture(scope="module")
def run(synthetic_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs") / "run"
    return run_benchmark(synthetic_store, "logreg,knn", split="kfold:3", out=out, workers=1, progress=False)


def test_predictions_csv_has_one_probability_column_per_class(run):
    path = run.report_path.parent / "predictions.csv"
    rows = list(csv.DictReader(open(path, newline="")))
    classes = run.results["classes"]
    assert list(rows[0])[:5] == ["model", "fold", "id", "label", "predicted"]
    assert list(rows[0])[5:] == [f"proba_{c}" for c in classes]
    assert len(rows) == 2 * 30
    for r in rows:
        p = np.array([float(r[f"proba_{c}"]) for c in classes])
        assert p.sum() == pytest.approx(1.0, abs=1e-5) and (p >= 0).all()
        if r["model"] == "logreg":  # logreg predicts its most probable class
            assert classes[int(p.argmax())] == r["predicted"]


def test_split_records_labels_without_training_tracks(run):
    assert run.results["split"]["untrained"] == [[], [], []]
    split = SimpleNamespace(folds=[SimpleNamespace(train=np.array([0, 1, 2])), SimpleNamespace(train=np.array([2, 3]))])
    assert untrained_labels(split, np.array([0, 0, 1, 2]), ["a", "b", "c"]) == [["c"], ["a"]]


@pytest.fixture
def drawn(monkeypatch):
    """Figures drawn but kept open for inspection instead of saved."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs = []
    monkeypatch.setattr(figures, "_save_png", lambda plt_, fig, path: figs.append(fig))
    yield figs
    for f in figs:
        plt.close(f)


def _doc(tune=False):
    m = {"balanced_accuracy": {"mean": 0.95, "std": 0.1}, "confusion_matrix": [[3, 0], [1, 2]]}
    return {"leaderboard": [{"model": "a", **{f"{k}_mean": 0.95 for k in ("accuracy", "balanced_accuracy", "f1_macro")},
                             **{f"{k}_std": 0.2 for k in ("accuracy", "balanced_accuracy", "f1_macro")}},
                            {"model": "b", **{f"{k}_mean": 0.1 for k in ("accuracy", "balanced_accuracy", "f1_macro")},
                             **{f"{k}_std": 0.3 for k in ("accuracy", "balanced_accuracy", "f1_macro")}}],
            "models": {"a": m}, "classes": ["x", "y"], "config": {"tune": tune},
            "split": {"spec": "kfold:2", "seed": 0, "n_folds": 2, "untrained": [["y"], []]},
            "store": {"n_labelled": 6}}


def test_leaderboard_error_bars_stay_in_range_and_the_legend_covers_no_bar(drawn, tmp_path):
    figures.write_figures(tmp_path, _doc(tune=True))
    board = drawn[0]
    ax = board.axes[0]
    assert ax.get_legend() is None and board.legends  # the legend is the figure's, under the axes
    ends = [seg[:, 0] for c in ax.collections for seg in c.get_segments()]
    assert ends and max(e.max() for e in ends) <= 1.0 + 1e-9 and min(e.min() for e in ends) >= -1e-9
    assert "tuned" in ax.get_title()
    lower, upper = figures._bounded_errors([0.95, 0.1], [0.2, 0.3])
    assert lower == pytest.approx([0.2, 0.1]) and upper == pytest.approx([0.05, 0.3])


def test_confusion_matrix_marks_labels_without_training_tracks(drawn, tmp_path):
    figures.write_figures(tmp_path, _doc(tune=True))
    conf = drawn[1]
    ticks = [t.get_text() for t in conf.axes[0].get_yticklabels()]
    assert ticks == ["x", "y *"]
    assert any("no training track in y: fold 1" in t.get_text() for t in conf.texts)
    assert "tuned" in conf.axes[0].get_title()
    figures.write_figures(tmp_path, _doc(tune=False))
    assert "tuned" not in drawn[3].axes[0].get_title()


def test_learning_curve_says_how_many_folds_and_marks_kept_epochs(drawn, tmp_path):
    hist = [[{"epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.0, "kept": e == 2} for e in (1, 2, 3)],
            [{"epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.0, "kept": e == 5} for e in range(1, 7)]]
    curve = {"epoch": [1, 2, 3, 4, 5, 6], "n_folds": [2, 2, 2, 1, 1, 1],
             **{k: [0.5] * 6 for k in ("train_loss", "valid_loss", "train_accuracy", "valid_accuracy")}}
    doc = _doc()
    doc["leaderboard"] = []
    doc["models"]["a"].update(learning_curve=curve, folds=[{"history": h} for h in hist])
    figures.write_figures(tmp_path, doc)
    lc = drawn[-1]
    title = lc._suptitle.get_text()
    assert "2 to epoch 3, then fewer (1 at epoch 6)" in title and "mean over 2 folds" not in title
    kept = sorted({line.get_xdata()[0] for line in lc.axes[0].lines if line.get_linestyle() == ":"})
    assert kept == [2, 5]
    assert figures.curve_averaging({"epoch": [1, 2], "n_folds": [3, 3]}) == "mean over 3 folds"


def test_scoring_noise_is_not_a_model_warning(monkeypatch):
    """scikit-learn's "y_pred contains classes not in y_true" (an inner tuning fold without a label)."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    class Cycle(ClassifierMixin, BaseEstimator):
        def __init__(self, alpha=1.0):
            self.alpha = alpha

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return self.classes_[np.arange(len(X)) % len(self.classes_)]

    register("cycle", "predicts every class in turn", grid={"alpha": [1.0, 2.0]})(lambda random_state=None: Cycle())
    y = np.array([0] * 6 + [1] * 6 + [2] * 2 + [0, 1, 2])
    X = np.arange(len(y), dtype=float)[:, None]
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):  # sklearn says so itself
        from sklearn.metrics import balanced_accuracy_score
        balanced_accuracy_score([0, 0], [0, 1])
    res = run_job({"kind": "fold", "model": "cycle", "fold": 0, "X": X, "y": y, "train": np.arange(14),
                   "test": np.arange(14, 17), "params": {}, "seed": 0, "tune": True, "n_classes": 3})
    assert res["error"] is None
    assert not any("not in y_true" in w for w in res["warnings"]), res["warnings"]
    assert res["probabilities"] is None  # no predict_proba: empty columns in predictions.csv
