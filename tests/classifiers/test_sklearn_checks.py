"""scikit-learn's estimator checks over every registered model (torch heads included, at tiny
sizes) and over genrekit's own estimator classes.

A check that does not apply is listed with the reason in ``expected_failed_checks``; scikit-learn
then runs it as an expected failure (``xfail``). ``xfail_strict`` (setup.cfg) makes a listed check
that passes a failure, so the lists cannot go stale.
"""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from genrekit.classifiers import available_models, get_spec, make_model
from genrekit.classifiers.classic import CVCalibratedClassifier
from genrekit.classifiers.fusion import BlockScaler, LateFusionClassifier, SelectColumns
from genrekit.classifiers.gmm import BagOfFramesGMM, GMMClassifier
from genrekit.classifiers.neural import _FrameHead

pytestmark = pytest.mark.filterwarnings("ignore")  # the checks provoke warnings on purpose

#: Tiny settings so each model fits the checks' small data sets in well under a second.
TINY = {
    "rf": {"n_estimators": 5},
    "extratrees": {"n_estimators": 5},
    "hgb": {"max_iter": 5},
    "mlp": {"hidden": "16", "max_epochs": 40, "lr": 1e-2, "patience": None, "validation_fraction": 0.0,
            "device": "cpu"},
    "gmm-frames": {"n_components": 1},
    **{name: {"channels": 4, "n_blocks": 1, "max_epochs": 1, "device": "cpu"}
       for name in ("cnn1d", "cnn2d", "crnn", "attention")},
}

FRAMES = ("a frame model: X is a sequence of per-track frame matrices (n_frames, n_dims), "
          "and this check fits or scores one 2-D table")
#: Checks that fit, score or otherwise pass a 2-D table to a frame model (scikit-learn 1.8 and 1.9).
FRAME_CHECKS = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data", "check_dtype_object",
    "check_estimators_empty_data_messages", "check_pipeline_consistency", "check_estimators_nan_inf",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_classifier_data_not_an_array", "check_classifiers_one_label",
    "check_classifiers_classes", "check_classifiers_train", "check_classifiers_regression_target",
    "check_supervised_y_2d", "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_fit2d_1sample",
    "check_fit2d_1feature", "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d", "check_requires_y_none",
]
#: ... and two more for the frame model that has ``decision_function`` and ``n_iter_`` (the heads have neither).
BAG_OF_FRAMES_CHECKS = ["check_non_transformer_estimators_n_iter", "check_decision_proba_consistency"]
PIPELINE = ("a scikit-learn Pipeline fits its steps in place, so after fit its `steps` parameter holds "
            "fitted estimators (scikit-learn's own design)")
NAN_TAG = ("the tree step accepts NaN as missing values, but scikit-learn's Pipeline does not pass that "
           "allow_nan tag on, so the check expects an error that never comes")


def _registered():
    return [make_model(name, TINY.get(name), random_state=0) for name in available_models()]


def _own_classes():
    return [CVCalibratedClassifier(SVC(), random_state=0), GMMClassifier(random_state=0),
            LateFusionClassifier(LogisticRegression()), BlockScaler(), SelectColumns()]


def _expected_failed_checks(estimator) -> dict:
    if isinstance(estimator, BagOfFramesGMM):
        return dict.fromkeys(FRAME_CHECKS + BAG_OF_FRAMES_CHECKS, FRAMES)
    if isinstance(estimator, _FrameHead):
        return dict.fromkeys(FRAME_CHECKS, FRAMES)
    if isinstance(estimator, Pipeline):
        out = {"check_estimators_overwrite_params": PIPELINE, "check_dont_overwrite_parameters": PIPELINE}
        if estimator.steps[-1][0] in ("rf", "extratrees", "hgb"):
            out["check_estimators_nan_inf"] = NAN_TAG
        return out
    return {}


def test_every_registered_model_is_checked():
    names = {type(e[-1] if isinstance(e, Pipeline) else e).__name__ for e in _registered()}
    assert len(_registered()) == len(available_models()) >= 14
    assert {"TorchMLPClassifier", "CNN1DClassifier", "CNN2DClassifier", "CRNNClassifier", "AttentionClassifier",
            "BagOfFramesGMM", "GMMClassifier", "CVCalibratedClassifier"} <= names
    frames = [n for n in available_models() if get_spec(n).input == "frames"]
    assert all(_expected_failed_checks(make_model(n)) for n in frames)


@pytest.mark.slow  # ~850 checks: about 2 minutes on 2 cores
@parametrize_with_checks(_registered() + _own_classes(), expected_failed_checks=_expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
