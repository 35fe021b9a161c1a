"""The one rule for groups and split names every room uses (:mod:`genrekit.roles`)."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import ParameterError
from genrekit.roles import (
    ALBUM_COLUMN,
    GROUP_COLUMNS,
    SPLIT_ALIASES,
    SPLITS,
    any_group_known,
    fill_groups,
    fill_in_group,
    is_fill_in,
    split_name,
    unknown_group,
)


@pytest.mark.parametrize("value, unknown", [
    (None, True), ("", True), ("   ", True), ("\t\n", True),
    ("a", False), (" a ", False), ("0", False), (0, False), (float("nan"), False),
])
def test_a_group_is_unknown_when_none_or_only_whitespace(value, unknown):
    assert unknown_group(value) is unknown


def test_fill_groups_keeps_known_values_as_strings_and_gives_each_unknown_its_own_group():
    g = fill_groups(["x", None, " ", "y", 7, "x", ""])
    assert g.dtype == object
    assert list(g) == ["x", "\x00track-1", "\x00track-2", "y", "7", "x", "\x00track-6"]
    assert [is_fill_in(v) for v in g] == [False, True, True, False, False, False, True]
    assert fill_in_group(3) == "\x00track-3" and len(set(g[[1, 2, 6]])) == 3


def test_fill_groups_is_idempotent_and_takes_arrays():
    once = fill_groups(np.array(["a", None, "b"], dtype=object))
    assert list(fill_groups(once)) == list(once)
    assert fill_groups([]).shape == (0,)


def test_any_group_known():
    assert not any_group_known([None, "", "  "]) and not any_group_known([])
    assert any_group_known([None, "a"])


def test_the_group_rule_is_the_one_of_splits_runner_and_neural_heads():
    """The three places that used to write their own rule now give the same groups."""
    from genrekit.classifiers.neural import carve_validation
    from genrekit.pipeline.evaluation.splits import make_split

    groups = ["a", "a", None, "b", "b", " ", "c", "c", "d", "d", None, "e"]
    labels = ["x", "y"] * 6
    split = make_split(labels, groups, spec="group-kfold:3", seed=0)
    for f in split.folds:  # unknown groups are single tracks: never a shared group across folds
        known = {groups[i] for i in f.train if not unknown_group(groups[i])}
        assert not known & {groups[i] for i in f.test if not unknown_group(groups[i])}
    assert any("3 tracks without an artist" in n for n in split.notes)
    tr, va = carve_validation(np.array([0, 1] * 6), groups, 0.25, seed=0)
    filled = fill_groups(groups)
    assert not set(filled[tr]) & set(filled[va])


def test_column_names():
    assert GROUP_COLUMNS == ("group", "artist") and ALBUM_COLUMN == "album"


@pytest.mark.parametrize("value, name", [
    (None, None), ("", ""), ("  ", ""), ("train", "train"), (" Training ", "train"), ("VAL", "validation"),
    ("valid", "validation"), ("validation", "validation"), ("test", "test"), ("dev", "dev"),
])
def test_split_name(value, name):
    assert split_name(value) == name


def test_the_manifest_and_the_predefined_split_use_the_same_aliases():
    from genrekit.pipeline.evaluation.splits import make_split
    from genrekit.pipeline.extraction.sources import normalise_split

    for alias, split in SPLIT_ALIASES.items():
        assert normalise_split(alias.upper()) == split in SPLITS
    with pytest.raises(ParameterError, match="use train, validation, test \\(or val, valid, training\\)"):
        normalise_split("dev")
    cols = ["Training", "train", "VAL", "test", "Test", "valid"] * 2
    split = make_split(["x", "y"] * 6, split_column=cols, spec="predefined")
    (fold,) = split.folds
    assert (len(fold.train), len(fold.test), len(fold.validation)) == (4, 4, 4)


def test_readers_take_the_group_from_the_same_columns(tmp_path):
    from genrekit.pipeline.extraction.sources import read_manifest
    from genrekit.pipeline.tables.readers import read_table

    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "m.csv").write_text("path,label,artist,album\na.wav,x,Ann,First\n")
    assert read_manifest(tmp_path / "m.csv").tracks[0].group == "Ann"
    (tmp_path / "n.csv").write_text("path,label,album\na.wav,x,First\n")
    assert read_manifest(tmp_path / "n.csv").tracks[0].group == "First"
    (tmp_path / "t.csv").write_text("id,label,artist,f1\na,x,Ann,0.5\nb,y,Bob,0.25\n")
    t = read_table(tmp_path / "t.csv")
    assert list(t.groups) == ["Ann", "Bob"] and t.columns["group"] == "artist"
