"""Evaluation splits: grouped by artist, stratified, seeded; problems reported, never raised."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.splits import SplitSpec, make_split, parse_split, split_for_store


def _collection(n_labels=4, artists_per_label=5, tracks_per_artist=3):
    labels, groups = [], []
    for lab in range(n_labels):
        for a in range(artists_per_label):
            for _ in range(tracks_per_artist):
                labels.append(f"g{lab}")
                groups.append(f"g{lab}-a{a}")
    return np.array(labels, dtype=object), np.array(groups, dtype=object)


def _assert_partition(split, n):
    tests = np.concatenate([f.test for f in split.folds])
    assert sorted(tests) == list(range(n)), "every track is tested exactly once"
    for f in split.folds:
        assert not set(f.train) & set(f.test)
        assert len(f.train) + len(f.test) == n


# ----------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text, spec", [
    ("kfold:10", SplitSpec("kfold", k=10)),
    ("KFold", SplitSpec("kfold", k=5)),
    ("group-kfold:3", SplitSpec("group-kfold", k=3)),
    ("predefined", SplitSpec("predefined")),
    ("holdout:0.25", SplitSpec("holdout", fraction=0.25)),
    ("holdout", SplitSpec("holdout", fraction=0.2)),
])
def test_parse_split(text, spec):
    assert parse_split(text) == spec
    assert parse_split(str(spec)) == spec


@pytest.mark.parametrize("text, match", [
    ("kfold:1", "at least 2 folds"),
    ("kfold:x", "whole number"),
    ("holdout:1.5", "between 0 and 1"),
    ("leave-one-out", "kfold:K, group-kfold:K, predefined or holdout"),
    ("predefined:3", "no argument"),
])
def test_parse_split_errors_echo_the_value(text, match):
    with pytest.raises(ParameterError, match=match):
        parse_split(text)


def test_no_spec_means_default():
    assert parse_split(None) is None and parse_split("  ") is None


# ----------------------------------------------------------------------------- protocols
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_group_kfold_never_puts_one_artist_in_train_and_test(seed):
    labels, groups = _collection()
    split = make_split(labels, groups, spec="group-kfold:5", seed=seed)
    assert split.grouped and split.kind == "group-kfold" and split.n_folds == 5
    _assert_partition(split, len(labels))
    for f in split.folds:
        assert not set(groups[f.train]) & set(groups[f.test])
        assert set(labels[f.test]) == set(labels), "stratified: every label in every test fold"
    assert split.warnings == []


def test_default_is_grouped_when_artists_are_known_and_stratified_otherwise():
    labels, groups = _collection()
    assert make_split(labels, groups).spec == "group-kfold:5"
    plain = make_split(labels, None)
    assert plain.spec == "kfold:5" and not plain.grouped
    assert make_split(labels, [None] * len(labels)).spec == "kfold:5"


def test_kfold_is_stratified_and_warns_when_artists_are_known():
    labels, groups = _collection()
    split = make_split(labels, groups, spec="kfold:5", seed=0)
    _assert_partition(split, len(labels))
    for f in split.folds:
        counts = {lab: int((labels[f.test] == lab).sum()) for lab in set(labels)}
        assert set(counts.values()) == {3}
    assert not split.grouped
    assert "likely inflated" in split.warnings[0] and "group-kfold:5" in split.warnings[0]
    # without artists there is nothing to warn about
    assert make_split(labels, None, spec="kfold:5").warnings == []


def test_same_seed_same_folds_other_seed_other_folds():
    labels, groups = _collection()
    a = make_split(labels, groups, spec="group-kfold:5", seed=7)
    b = make_split(labels, groups, spec="group-kfold:5", seed=7)
    c = make_split(labels, groups, spec="group-kfold:5", seed=8)
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a.folds, b.folds))
    assert not all(np.array_equal(x.test, y.test) for x, y in zip(a.folds, c.folds))


def test_a_label_with_one_artist_is_reported_not_fatal():
    labels, groups = _collection()
    groups = groups.copy()
    groups[labels == "g0"] = "Only Artist"  # like blues in gtzan-mini: one artist
    split = make_split(labels, groups, spec="group-kfold:5", seed=0)
    _assert_partition(split, len(labels))
    for f in split.folds:
        assert not set(groups[f.train]) & set(groups[f.test])
    msg = [w for w in split.warnings if "'g0'" in w]
    assert len(msg) == 1
    assert "1 artist (Only Artist)" in msg[0] and "cannot be stratified" in msg[0]
    assert "no training track in fold" in msg[0]


def test_a_label_with_fewer_tracks_than_folds_is_reported():
    labels = np.array(["a"] * 10 + ["b"] * 10 + ["c"] * 2, dtype=object)
    split = make_split(labels, None, spec="kfold:5", seed=0)
    _assert_partition(split, len(labels))
    msg = [w for w in split.warnings if "'c'" in w]
    assert msg and "2 tracks, fewer than 5 folds" in msg[0]


def test_tracks_without_an_artist_are_their_own_group():
    labels, groups = _collection()
    groups = groups.copy()
    groups[:4] = None
    split = make_split(labels, groups, spec="group-kfold:5", seed=0)
    assert any("4 tracks without an artist" in n for n in split.notes)
    for f in split.folds:
        real = {g for g in groups[f.train] if g}
        assert not real & {g for g in groups[f.test] if g}


def test_too_many_folds_names_the_fix_and_the_default_adapts():
    labels, groups = _collection(n_labels=2, artists_per_label=2)
    with pytest.raises(ParameterError, match="group-kfold:4"):
        make_split(labels, groups, spec="group-kfold:6")
    split = make_split(labels, groups)  # default group-kfold:5, only 4 artists
    assert split.spec == "group-kfold:4" and any("only 4 artists" in n for n in split.notes)
    with pytest.raises(ParameterError, match="group columns?|artists"):
        make_split(labels, None, spec="group-kfold:3")
    with pytest.raises(ParameterError, match="kfold:12"):
        make_split(labels, None, spec="kfold:20")
    with pytest.raises(ParameterError, match="2 labels"):
        make_split(["x"] * 5, None)


def test_holdout_grouped_and_plain():
    labels, groups = _collection()
    g = make_split(labels, groups, spec="holdout:0.2", seed=0)
    assert g.n_folds == 1 and g.grouped
    f = g.folds[0]
    assert not set(groups[f.train]) & set(groups[f.test])
    assert 0.1 < len(f.test) / len(labels) < 0.35
    p = make_split(labels, None, spec="holdout:0.2", seed=0)
    f = p.folds[0]
    assert len(f.test) == 12 and {int((labels[f.test] == lab).sum()) for lab in set(labels)} == {3}
    lone = make_split(np.array(["a"] * 5 + ["b"] * 5 + ["c"], dtype=object), None, spec="holdout:0.4")
    assert any("'c'" in w and "never tested" in w for w in lone.warnings)


def test_predefined_uses_the_split_column():
    labels, groups = _collection()
    col = np.array(["train", "training", "val", "test", None] * (len(labels) // 5), dtype=object)
    split = make_split(labels, None, split_column=col, spec="predefined")
    f = split.folds[0]
    assert list(f.train) == [i for i, v in enumerate(col) if v in ("train", "training")]
    assert list(f.test) == [i for i, v in enumerate(col) if v == "test"]
    assert list(f.validation) == [i for i, v in enumerate(col) if v == "val"]
    assert any("validation" in n for n in split.notes) and any("no train/validation/test" in n for n in split.notes)
    with pytest.raises(ParameterError, match="no predefined split"):
        make_split(labels, None, split_column=None, spec="predefined")
    with pytest.raises(ParameterError, match="'train' and 'test'"):
        make_split(labels, None, split_column=["train"] * len(labels), spec="predefined")


def test_split_for_store(tmp_path):
    from tests.conftest import make_synthetic_store

    path = make_synthetic_store(tmp_path / "s", n_per_class=10, n_classes=3, n_artists_per_class=5,
                                splits=True, n_unlabelled=2)
    fs = FeatureStore(path)
    mask = np.array([v is not None for v in fs.labels])
    split = split_for_store(fs, None, seed=0, mask=mask)
    assert split.spec == "group-kfold:5" and split.grouped
    groups = fs.groups[mask]
    for f in split.folds:
        assert not set(groups[f.train]) & set(groups[f.test])
    pre = split_for_store(fs, "predefined", mask=mask)
    assert len(pre.folds[0].test) == 6 and len(pre.folds[0].validation) == 6
    d = split.to_dict(fs.ids[mask])
    assert d["n_folds"] == 5 and sum(len(f["test_ids"]) for f in d["folds"]) == 30


def test_group_kfold_when_no_label_has_enough_tracks_for_the_folds():
    labels = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    groups = np.array([f"artist{i}" for i in range(8)], dtype=object)
    split = make_split(labels, groups, spec="group-kfold:5", seed=0)
    _assert_partition(split, 8)
    assert any("grouped by artist but not stratified" in w for w in split.warnings)
