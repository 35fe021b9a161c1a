"""One naming of hyper-parameters: report, results.json, `genrekit models MODEL` and --param (issue 17.3)."""

import json

import pytest

from genrekit.classifiers import make_model
from genrekit.classifiers.naming import describe_model, model_grid, public_name
from genrekit.cli import main
from genrekit.pipeline.evaluation.params import parse_params
from genrekit.pipeline.evaluation.runner import run_benchmark


def test_public_names_are_what_param_accepts():
    est = make_model("svm")
    assert public_name(est, "svc__estimator__C") == "C"
    assert model_grid("svm") == {"C": [1, 10, 100], "gamma": ["scale", 0.0005]}
    assert model_grid("svm", {"C": 10}) == {"gamma": ["scale", 0.0005]}
    for k, values in model_grid("svm").items():
        make_model("svm", parse_params([f"svm.{k}={values[0]}"])["svm"])  # accepted, no error
    # a leaf that two parameters share keeps its full name
    shared = [k for k in est.get_params(deep=True) if k.endswith("random_state")]
    assert len(shared) > 1 and all(public_name(est, k) == k for k in shared)


def test_models_command_lists_grid_and_parameters(capsys):
    assert main(["models", "svm"]) == 0
    out = capsys.readouterr().out
    assert "--tune grid: svm.C ∈ {1, 10, 100}; svm.gamma ∈ {scale, 0.0005}" in out
    assert "  C = 10.0" in out and "kernel = 'rbf'" in out
    assert "svm.C" in describe_model("svm")
    assert main(["models", "nosuch"]) == 2


def test_tuned_run_names_best_grid_and_saved_parameters_as_param_does(synthetic_store, tmp_path):
    r = run_benchmark(synthetic_store, "svm,knn", split="kfold:2", tune=True, save_models=True,
                      params={"knn": {"weights": "uniform"}}, out=tmp_path / "run", workers=1, progress=False)
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["config"]["grids"] == {"svm": {"C": [1, 10, 100], "gamma": ["scale", 0.0005]},
                                      "knn": {"n_neighbors": [3, 7, 15]}}
    for fold in doc["models"]["svm"]["folds"]:
        assert set(fold["best_params"]) == {"C", "gamma"}
    saved = doc["models"]["svm"]["saved_params"]
    assert set(saved) == {"C", "gamma"} and saved["C"] in (1, 10, 100)
    assert doc["models"]["knn"]["saved_params"]["weights"] == "uniform"
    report = r.report_path.read_text()
    assert "svm.C ∈ {1, 10, 100}; svm.gamma ∈ {scale, 0.0005}" in report
    assert f"svm.C={doc['models']['svm']['folds'][0]['best_params']['C']}" in report
    assert "svc__estimator__" not in report
    assert f"`svm.C={saved['C']}`" in report and "`knn.weights=uniform`" in report
    # the report's names go straight back into --param
    items = [f"svm.{k}={v}" for k, v in saved.items()]
    est = make_model("svm", parse_params(items)["svm"])
    assert est.get_params()["svc__estimator__C"] == pytest.approx(float(saved["C"]))
