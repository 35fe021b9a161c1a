"""When every model of a run fails, the run ends with one line naming the first failure."""

from __future__ import annotations

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from genrekit.classifiers import registry
from genrekit.errors import GenrekitError
from genrekit.pipeline.evaluation.runner import run_benchmark
from tests.conftest import make_synthetic_store


class _Broken(ClassifierMixin, BaseEstimator):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        raise RuntimeError("this model cannot learn")


@pytest.fixture
def broken_model():
    registry.register("broken-test", "fails every fit")(lambda random_state=None: _Broken(random_state))
    yield "broken-test"
    registry._REGISTRY.pop("broken-test", None)


def test_every_model_failed_is_one_line_pointing_at_results(tmp_path, broken_model):
    store = make_synthetic_store(tmp_path / "store", n_per_class=6)
    with pytest.raises(GenrekitError, match=r"every model failed \(first: broken-test: RuntimeError: this model "
                                            r"cannot learn\); details in .*results\.json"):
        run_benchmark(store, [broken_model], split="kfold:3", out=tmp_path / "run", workers=1, progress=False)
    assert (tmp_path / "run" / "results.json").exists()
