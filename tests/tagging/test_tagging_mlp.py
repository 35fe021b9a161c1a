"""The mlp as a tagger: one network, a sigmoid per tag, BCE loss, the registry mlp's parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from genrekit.classifiers import make_model
from genrekit.pipeline.evaluation.tag_models import multilabel_model, tag_scores


@pytest.mark.slow
def test_sigmoid_mlp_learns_tags_and_is_seeded():
    rng = np.random.default_rng(0)
    Y = (rng.random((120, 4)) < 0.4).astype(np.uint8)
    X = rng.normal(0, 1, (120, 10)).astype(np.float32)
    X[:, :4] += 2.5 * Y                                    # tag j shows in column j
    groups = np.array([f"a{i % 12}" for i in range(120)])
    est = multilabel_model("mlp", make_model("mlp", {"max_epochs": 25, "lr": 3e-3, "device": "cpu"}, random_state=3))
    assert est.multilabel_native
    est.fit(X[:90], Y[:90], groups=groups[:90])
    S = tag_scores(est, X[90:], 4)
    assert S.shape == (30, 4) and ((0 <= S) & (S <= 1)).all()
    assert np.mean([roc_auc_score(Y[90:, j], S[:, j]) for j in range(4)]) > 0.85
    assert len(est.history_) <= 25 and "valid_loss" in est.history_[0]
    again = multilabel_model("mlp", make_model("mlp", {"max_epochs": 25, "lr": 3e-3, "device": "cpu"}, random_state=3))
    assert np.allclose(tag_scores(again.fit(X[:90], Y[:90], groups=groups[:90]), X[90:], 4), S)
