"""Every genrekit estimator checks its parameters through scikit-learn's ``_parameter_constraints``."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from genrekit.classifiers import make_model
from genrekit.classifiers.classic import CVCalibratedClassifier
from genrekit.classifiers.fusion import BlockScaler, LateFusionClassifier, SelectColumns
from genrekit.classifiers.gmm import BagOfFramesGMM, GMMClassifier
from genrekit.classifiers.neural import (
    AttentionClassifier,
    CNN1DClassifier,
    CNN2DClassifier,
    CRNNClassifier,
    TorchMLPClassifier,
)
from genrekit.classifiers.params import int_list
from genrekit.errors import ParameterError

FRAME_HEADS = [CNN1DClassifier, CNN2DClassifier, CRNNClassifier, AttentionClassifier]

#: (estimator, parameter, values it must refuse, values it must accept)
CASES = [
    (GMMClassifier(), "n_components", [0, -1, 1.5, "2"], [1, np.int64(4)]),
    (GMMClassifier(), "covariance_type", ["diagonal", None], ["full", "tied", "diag", "spherical"]),
    (GMMClassifier(), "reg_covar", [-1e-3, float("nan"), "0.1"], [0, 1e-6]),
    (GMMClassifier(), "max_iter", [0], [1]),
    (GMMClassifier(), "n_init", [0], [3]),
    (GMMClassifier(), "tol", [-1.0], [0.0]),
    (GMMClassifier(), "priors", ["flat"], ["empirical", "uniform"]),
    (BagOfFramesGMM(), "frames_per_track", [0, 2.5], [None, 1, 500]),
    (BagOfFramesGMM(), "standardize", ["yes", 1], [True, False, np.bool_(True)]),
    (CVCalibratedClassifier(SVC()), "cv", [1, 2.0], [2, 5]),
    (CVCalibratedClassifier(SVC()), "method", ["platt"], ["sigmoid", "isotonic"]),
    (CVCalibratedClassifier(SVC()), "estimator", [None, "svc"], [SVC(), LogisticRegression()]),
    (LateFusionClassifier(LogisticRegression()), "estimator", [None, SVC()], [LogisticRegression()]),
    (LateFusionClassifier(LogisticRegression()), "blocks", ["audio", 3], [None, [("a", 2)], (("a", 2),)]),
    (SelectColumns(), "start", [-1, 0.5], [0, 3]),
    (BlockScaler(), "balance", ["no"], [True, False]),
    (TorchMLPClassifier(), "hidden", [0, "0,5", "a,b", 2.5, None], [1, "256,128", "256, 128", [64, 32]]),
    (TorchMLPClassifier(), "noise", [-0.1], [0, 0.5]),
    (TorchMLPClassifier(), "lr", [0, -1e-3, float("inf")], [1e-3]),
    (TorchMLPClassifier(), "validation_fraction", [0.6, -0.1], [0, 0.5]),
    (TorchMLPClassifier(), "dropout", [0.96], [0, 0.95]),
    (TorchMLPClassifier(), "patience", [0], [None, 1]),
    (TorchMLPClassifier(), "n_threads", [0], [None, 2]),
    (TorchMLPClassifier(), "num_workers", [-1], [0, 2]),
    (TorchMLPClassifier(), "augment", ["true"], [True, False]),
    (TorchMLPClassifier(), "device", ["tpu", "cuda:", "gpu", 0], ["auto", "cpu", "cuda", "cuda:1", " CUDA:0 ", "mps"]),
    (CNN1DClassifier(), "channels", ["a,b", 0, "8,0"], [8, "8,16", (8, 16)]),
    (CNN1DClassifier(), "segment_seconds", [0, -1.0], [0.5]),
    (CNN1DClassifier(), "frame_rate", [0], [None, 43.07]),
    (CNN1DClassifier(), "time_mask", [0.95], [0, 0.9]),
    (CNN1DClassifier(), "frame_features", [3, ["mfcc", 2]], [None, "mfcc", "mfcc,chroma", ["mfcc", "chroma"]]),
    (CNN1DClassifier(), "preload", ["yes", 1], ["auto", True, False]),
    (CNN2DClassifier(), "n_blocks", [0], [1]),
    (CRNNClassifier(), "hidden", [0, "64"], [1, 64]),
    (AttentionClassifier(), "heads", [0], [1, 8]),
]


@pytest.mark.parametrize("est, param, bad, good", CASES,
                         ids=[f"{type(c[0]).__name__}.{c[1]}" for c in CASES])
def test_parameters_are_checked_by_scikit_learn(est, param, bad, good):
    for value in bad:
        with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {type(est).__name__} must be"):
            est.set_params(**{param: value})._validate_params()
    for value in good:
        est.set_params(**{param: value})._validate_params()


@pytest.mark.parametrize("est", [GMMClassifier(n_components=0), BagOfFramesGMM(covariance_type="x"),
                                 CVCalibratedClassifier(SVC(), cv=1), LateFusionClassifier(None),
                                 SelectColumns(start=-1), BlockScaler(balance="x"),
                                 TorchMLPClassifier(max_epochs=0), CNN1DClassifier(device="tpu"),
                                 CRNNClassifier(hidden=0), AttentionClassifier(heads=0)],
                         ids=lambda e: type(e).__name__)
def test_fit_validates_and_a_global_switch_turns_it_off(est):
    """``fit`` runs the checks (``__init__`` only stores); scikit-learn's ``skip_parameter_validation``
    switches them off, which shows they are scikit-learn's and not a copy of them."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = np.arange(12) % 2
    if isinstance(est, (BagOfFramesGMM, CNN1DClassifier, CRNNClassifier, AttentionClassifier)):
        X = [rng.normal(size=(20, 3)) for _ in range(12)]
    with pytest.raises(InvalidParameterError):
        est.fit(X, y)
    with sklearn.config_context(skip_parameter_validation=True):
        try:
            est.fit(X, y)
        except InvalidParameterError:
            pytest.fail("the check ran although scikit-learn's validation was switched off")
        except Exception:  # the bad value fails later, wherever it is used
            pass


def test_make_model_refuses_a_bad_param_up_front_in_one_line():
    with pytest.raises(ParameterError) as e:
        make_model("cnn1d", {"device": "tpu"})
    msg = str(e.value)
    assert "\n" not in msg and "cnn1d.device='tpu'" in msg and "'cuda:N'" in msg
    with pytest.raises(ParameterError, match="gmm-frames.frames_per_track=0"):
        make_model("gmm-frames", {"frames_per_track": 0})
    with pytest.raises(ParameterError, match=r"The 'C' parameter of SVC must be"):
        make_model("svm", {"C": 0})
    est = make_model("mlp", {"hidden": "64,32", "device": "cpu"})  # valid values are kept as given
    assert est.hidden == "64,32" and est.device == "cpu"


def test_int_list():
    assert int_list("256, 128", "hidden") == [256, 128]
    assert int_list(np.int64(8), "channels") == [8]
    assert int_list((16, 32), "channels") == [16, 32]
    with pytest.raises(ValueError, match="hidden must hold ints >= 1"):
        int_list("64,0", "hidden")
    with pytest.raises(ValueError, match="comma-separated ints"):
        int_list(True, "hidden")
