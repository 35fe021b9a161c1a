"""Tagging splits keep tracks that hold the same recording on one side, as genre splits do."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.pipeline.evaluation.tag_splits import make_tag_split


def _targets(n=40, n_tags=4, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_tags)) < 0.4).astype(np.uint8)
    Y[np.arange(n), np.arange(n) % n_tags] = 1  # every tag well represented
    return Y, [f"t{i}" for i in range(n_tags)]


def _side(split, i):
    return [int(np.isin(i, f.test)) for f in split.folds]


@pytest.mark.parametrize("spec", ["kfold:5", "holdout:0.25"])
def test_duplicates_share_every_fold_without_artists(spec):
    Y, tags = _targets()
    pairs = [(0, 1), (2, 3), (3, 17), (10, 30)]
    split = make_tag_split(Y, tags, spec=spec, seed=0, duplicates=pairs)
    for a, b in pairs:
        assert _side(split, a) == _side(split, b), (a, b)
    assert any("duplicates: 3 groups of the same recording (7 tracks)" in n for n in split.notes)
    everyone = np.sort(np.concatenate([f.test for f in split.folds])) if spec.startswith("kfold") else None
    if everyone is not None:
        np.testing.assert_array_equal(everyone, np.arange(len(Y)))  # still every track tested once


def test_artists_joined_through_a_duplicate_share_every_fold():
    Y, tags = _targets()
    groups = np.array([f"artist{i // 4}" for i in range(len(Y))], dtype=object)  # 10 artists
    split = make_tag_split(Y, tags, groups=groups, spec="group-kfold:5", seed=0, duplicates=[(0, 39)])
    first, last = np.flatnonzero(groups == "artist0"), np.flatnonzero(groups == "artist9")
    sides = {tuple(_side(split, i)) for i in (*first, *last)}
    assert len(sides) == 1  # artist0 and artist9 were merged through tracks 0 and 39
    assert any("1 group merged" in n for n in split.notes)


def test_without_duplicates_the_split_is_unchanged():
    Y, tags = _targets()
    a = make_tag_split(Y, tags, spec="kfold:5", seed=3)
    b = make_tag_split(Y, tags, spec="kfold:5", seed=3, duplicates=[])
    for fa, fb in zip(a.folds, b.folds):
        np.testing.assert_array_equal(fa.test, fb.test)
