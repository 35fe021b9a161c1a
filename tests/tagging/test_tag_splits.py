"""Multi-label splits: artist-grouped, every tag spread over the folds, seeded, predefined."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.tag_splits import make_tag_split


def _data(n=120, n_tags=6, n_artists=30, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_tags)) < np.linspace(0.1, 0.5, n_tags)).astype(np.uint8)
    groups = np.array([f"a{i % n_artists}" for i in range(n)], dtype=object)
    return Y, groups


def test_grouped_folds_keep_artists_apart_and_spread_tags():
    Y, g = _data()
    sp = make_tag_split(Y, list("abcdef"), groups=g, seed=3)
    assert sp.spec == "group-kfold:5" and sp.grouped and sp.n_folds == 5
    assert sorted(np.concatenate([f.test for f in sp.folds]).tolist()) == list(range(len(Y)))
    for f in sp.folds:
        assert not set(g[f.train]) & set(g[f.test])
        assert Y[f.train].sum(axis=0).min() > 0           # every tag has training positives
    common = Y.sum(0) >= 40                                 # whole artists (4 tracks) limit rarer tags
    share = np.array([Y[f.test][:, common].sum(0) / Y[:, common].sum(0) for f in sp.folds])
    assert np.abs(share - 0.2).max() < 0.08                # close to 1/5 of each common tag per fold
    again = make_tag_split(Y, list("abcdef"), groups=g, seed=3)
    assert all((a.test == b.test).all() for a, b in zip(sp.folds, again.folds))
    other = make_tag_split(Y, list("abcdef"), groups=g, seed=4)
    assert any((a.test != b.test).any() if len(a.test) == len(b.test) else True for a, b in zip(sp.folds, other.folds))


def test_ungrouped_kfold_and_predefined_and_refusals():
    Y, g = _data()
    sp = make_tag_split(Y, list("abcdef"), groups=None, spec="kfold:4", seed=0)
    assert sp.spec == "kfold:4" and not sp.grouped
    col = np.array(["train", "train", "test", "validation"] * 30, dtype=object)
    pre = make_tag_split(Y, list("abcdef"), groups=None, split_column=col, spec="predefined")
    assert len(pre.folds) == 1 and len(pre.folds[0].test) == 30 and len(pre.folds[0].validation) == 30
    with pytest.raises(ParameterError, match="needs artists"):
        make_tag_split(Y, list("abcdef"), spec="group-kfold:5")
    with pytest.raises(ParameterError, match="no predefined split"):
        make_tag_split(Y, list("abcdef"), spec="predefined")


def test_a_tag_in_one_fold_only_is_a_warning_not_an_error():
    Y, g = _data()
    Y[:, 0] = 0
    Y[:3, 0] = 1          # three tracks of artists a0, a1, a2
    sp = make_tag_split(Y, list("abcdef"), groups=g, seed=0)
    text = " ".join(sp.warnings)
    assert "tag 'a'" in text and "left out of that fold's macro averages" in text
