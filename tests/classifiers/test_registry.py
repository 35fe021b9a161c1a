"""The model registry contract: every registered model fits, predicts, gives probabilities, clones."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from genrekit.classifiers import (
    available_models,
    default_models,
    get_spec,
    make_model,
    model_specs,
    parse_model_list,
    register,
    resolve_params,
    tuning_grid,
)
from genrekit.classifiers import registry
from genrekit.errors import ParameterError

CLASSIC = ["svm", "linsvm", "knn", "gmm", "rf", "extratrees", "logreg", "hgb", "gmm-frames"]


def _data(input_kind, n_per_class=12, n_classes=3, dim=8, seed=0):
    """Separable data in the layout a model of ``input_kind`` reads; ``y`` are class indices."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 3, (n_classes, dim))
    y = np.repeat(np.arange(n_classes), n_per_class)
    if input_kind == "summary":
        X = (means[y] + rng.normal(0, 1, (len(y), dim))).astype(np.float32)
        return X, y
    X = [(means[c] + rng.normal(0, 1, (int(rng.integers(20, 40)), dim))).astype(np.float32) for c in y]
    return X, y


def test_every_issue_model_is_registered_with_a_description():
    names = available_models()
    for n in CLASSIC:
        assert n in names
        spec = get_spec(n)
        assert spec.description and "\n" not in spec.description
        assert spec.input in ("summary", "frames")
    assert get_spec("gmm-frames").input == "frames"
    assert get_spec("gmm-frames").frame_features == ("mfcc",)
    assert set(default_models()) <= set(names) and "svm" in default_models()
    assert [s.name for s in model_specs()] == names


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "hgb" else n for n in CLASSIC])
def test_model_contract(name):
    spec = get_spec(name)
    X, y = _data(spec.input)
    est = make_model(name, random_state=0)
    # unfitted and clone-able: clone gives equal parameters
    c = clone(est)
    assert set(c.get_params()) == set(est.get_params())
    est.fit(X, y)
    assert list(est.classes_) == [0, 1, 2]
    pred = est.predict(X)
    assert pred.shape == (len(y),)
    assert (pred == y).mean() > 0.8, f"{name} cannot separate well-separated classes"
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (proba >= 0).all()
    # the clone is unfitted and fits to the same predictions (seeded)
    again = clone(est).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), pred)


@pytest.mark.parametrize("name", ["svm", "linsvm", "logreg", "gmm"])
def test_model_copes_with_a_missing_and_a_tiny_class(name):
    """A training fold may lack a label, or hold a single track of one."""
    X, y = _data("summary", n_per_class=8, n_classes=4)
    keep = (y != 3) & ~((y == 2) & (np.arange(len(y)) % 8 != 0))  # no class 3, one track of class 2
    est = make_model(name, random_state=0).fit(X[keep], y[keep])
    assert list(est.classes_) == [0, 1, 2]
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0, atol=1e-6)


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ParameterError) as e:
        make_model("svmm")
    msg = str(e.value)
    assert "svmm" in msg and "svm" in msg and "knn" in msg and "genrekit models" in msg
    with pytest.raises(ParameterError, match="available models"):
        parse_model_list("svm,nope")


def test_parse_model_list():
    assert parse_model_list(None) == default_models()
    assert parse_model_list(" svm , knn ") == ["svm", "knn"]
    assert parse_model_list("all") == available_models()
    with pytest.raises(ParameterError, match="twice"):
        parse_model_list("svm,svm")


def test_params_by_short_and_full_name():
    est = make_model("svm", {"C": 3.0, "gamma": 0.01}, random_state=1)
    p = est.get_params()
    assert p["svc__estimator__C"] == 3.0 and p["svc__estimator__gamma"] == 0.01
    assert p["svc__random_state"] == 1
    est = make_model("rf", {"rf__n_estimators": 7})
    assert est.get_params()["rf__n_estimators"] == 7


def test_bad_params_are_one_line_errors_that_name_the_fix():
    with pytest.raises(ParameterError, match=r"no parameter 'Cx'; valid: .*\bC\b"):
        make_model("svm", {"Cx": 1})
    with pytest.raises(ParameterError, match="svm.C=-1"):
        make_model("svm", {"C": -1})
    with pytest.raises(ParameterError, match="n_components"):
        make_model("gmm", {"n_components": 0})
    # 'random_state' is both the calibrator's and the SVC's: ambiguous unless given in full
    with pytest.raises(ParameterError, match="ambiguous"):
        resolve_params(make_model("linsvm"), {"random_state": 3}, "linsvm")


def test_tuning_grid_drops_what_the_user_fixed():
    full = tuning_grid("svm")
    assert "svc__estimator__C" in full and "svc__estimator__gamma" in full
    assert "svc__estimator__C" not in tuning_grid("svm", {"C": 5})
    # every grid key is a real parameter of its model
    for spec in model_specs():
        params = make_model(spec.name).get_params()
        for key in spec.grid:
            assert key in params, f"{spec.name}: grid key {key} is not a parameter"


def test_register_a_frame_model_through_the_same_seam(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register("frame-mean", "logistic regression on each track's mean frame", input="frames")
    def factory(random_state=None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer

        return make_pipeline(FunctionTransformer(lambda X: np.stack([np.mean(x, axis=0) for x in X])),
                             LogisticRegression(random_state=random_state))

    assert "frame-mean" in available_models()
    assert get_spec("frame-mean").input == "frames"
    X, y = _data("frames")
    assert (make_model("frame-mean").fit(X, y).predict(X) == y).mean() > 0.9
    with pytest.raises(ParameterError, match="already registered"):
        register("frame-mean", "again")(lambda random_state=None: None)
    with pytest.raises(ParameterError, match="input must be one of"):
        register("bad-input", "x", input="audio")
