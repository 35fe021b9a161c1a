"""Duplicate-aware splits: every split keeps a group of duplicates on one side, artist groups are
merged through duplicates, a predefined split that separates duplicates warns naming them."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
import soundfile as sf

from genrekit.cache.store import FeatureStore
from genrekit.cli import main
from genrekit.features.config import FeatureConfig
from genrekit.pipeline.datasets.synth import synth_clip
from genrekit.pipeline.evaluation.splits import make_split, split_for_store
from genrekit.pipeline.extraction import worker
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import read_manifest

SR = 22050


def _labels(n_labels=3, artists=4, per_artist=3):
    labels = [f"g{i}" for i in range(n_labels) for _ in range(artists * per_artist)]
    groups = [f"g{i}-a{a}" for i in range(n_labels) for a in range(artists) for _ in range(per_artist)]
    return np.array(labels, dtype=object), np.array(groups, dtype=object)


def _together(split, members):
    for f in split.folds:
        sides = {("test" if i in set(f.test) else "train") for i in members}
        assert len(sides) == 1, f"fold {f.index}: {members} straddle train and test"


@pytest.mark.parametrize("spec", ["group-kfold:4", "kfold:4", "holdout:0.25"])
def test_every_split_keeps_duplicates_together(spec):
    labels, groups = _labels()
    pairs = [(0, 13), (13, 30), (5, 6)]  # 0 (g0-a0) = 13 (g1-a0) = 30 (g2-a2); 5 (g0-a1) = 6 (g0-a2)
    for seed in range(5):
        split = make_split(labels, groups=groups, spec=spec, seed=seed, duplicates=pairs)
        _together(split, [0, 13, 30])
        _together(split, [5, 6])
        if spec != "kfold:4":  # grouped: the artists of 0, 13 and 30 are one group now
            members = [i for i, g in enumerate(groups) if g in {"g0-a0", "g1-a0", "g2-a2"}]
            _together(split, members)
    note = [n for n in split.notes if n.startswith("duplicates:")]
    if spec == "kfold:4":  # tracks, not artists, are joined: 5 tracks in 2 groups is 3 merges
        assert note == ["duplicates: 2 groups of the same recording (5 tracks) kept on one side of every fold; "
                        "3 groups merged"]
        assert not split.grouped  # by artist: kfold still warns that artists straddle folds
        assert any("not grouped" in w for w in split.warnings)
    else:
        assert note == ["duplicates: 2 groups of the same recording (5 tracks) kept on one side of every fold; "
                        "3 groups merged (artists joined through a shared recording)"]


def test_kfold_without_artists_keeps_duplicates_together_and_without_duplicates_is_unchanged():
    labels, _ = _labels()
    plain = make_split(labels, spec="kfold:3", seed=1)
    assert make_split(labels, spec="kfold:3", seed=1, duplicates=[]).folds[0].test.tolist() == plain.folds[0].test.tolist()
    split = make_split(labels, spec="kfold:3", seed=1, duplicates=[(0, 1), (1, 2), (20, 35)])
    _together(split, [0, 1, 2])
    _together(split, [20, 35])
    assert any("0 groups merged" not in n and "2 groups of the same recording (5 tracks)" in n for n in split.notes)


# ----------------------------------------------------------------------------- on a store
@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """Four songs of three artists per label; song 0 of label rock also as a copy by another
    artist (a compilation) and in the predefined test part while the original is in train."""
    root = tmp_path_factory.mktemp("dsplit")
    rows = [["path", "label", "artist", "split"]]
    for label in ("rock", "jazz"):
        for k in range(4):
            name = f"{label}{k}.wav"
            sf.write(root / name, synth_clip(label, k % 3, k, duration=12, sr=SR), SR)
            rows.append([name, label, f"{label}-artist{k % 3}", "train" if k < 2 else "test"])
    shutil.copyfile(root / "rock0.wav", root / "rock0-compilation.wav")
    rows.append(["rock0-compilation.wav", "rock", "various", "test"])
    with open(root / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root


def _store(audio, path, **kw):
    extract(read_manifest(audio / "manifest.csv").tracks, path, FeatureConfig(features=("rms", "zcr")),
            workers=1, progress=False, **kw)
    return path


@pytest.fixture(scope="module")
def store(audio, tmp_path_factory):
    return _store(audio, tmp_path_factory.mktemp("dsplit-store") / "store")


def test_store_split_merges_artists_through_duplicates(store):
    with FeatureStore(store) as fs:
        ids = list(fs.ids)
        split = split_for_store(fs, "group-kfold:2", seed=0)
        off = split_for_store(fs, "group-kfold:2", seed=0, duplicates=False)
    a, b = ids.index("rock0.wav"), ids.index("rock0-compilation.wav")
    same_artist = [ids.index(n) for n in ("rock0.wav", "rock3.wav")]  # rock-artist0
    _together(split, [a, b] + same_artist + [ids.index("rock0-compilation.wav")])
    assert "duplicates: 1 group of the same recording (2 tracks) kept on one side of every fold; 1 group merged " \
           "(artists joined through a shared recording)" in split.notes
    assert not any(n.startswith("duplicates") for n in off.notes)


def test_predefined_split_warns_naming_separated_duplicates(store):
    with FeatureStore(store) as fs:
        split = split_for_store(fs, "predefined")
    assert [w for w in split.warnings if "duplicates" in w] == [
        "the predefined split puts 1 pair of duplicates on both sides: rock0-compilation.wav (test) = "
        "rock0.wav (train); results are likely inflated (see `genrekit duplicates`)"]


def test_store_without_fingerprints_notes_how_to_add_them(audio, tmp_path, monkeypatch):
    args = worker.shard_writer_args
    monkeypatch.setattr(worker, "shard_writer_args", lambda c: {**args(c), "fingerprint_version": None})
    path = _store(audio, tmp_path / "old")
    with FeatureStore(path) as fs:
        split = split_for_store(fs, "group-kfold:2")
    assert [n for n in split.notes if n.startswith("duplicates")] == [
        f"duplicates not checked: the store's tracks have no fingerprint; add them with genrekit extract AUDIO_DIR "
        f"--store {path} --add-fingerprints, or check with `genrekit duplicates`"]


@pytest.mark.slow
def test_benchmark_prints_the_merge_and_ignore_duplicates_turns_it_off(store, tmp_path, capsys):
    argv = ["benchmark", "--store", str(store), "--models", "knn", "--param", "knn.n_neighbors=1", "--split", "group-kfold:2", "--no-progress"]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert "note: duplicates: 1 group of the same recording (2 tracks)" in capsys.readouterr().err
    assert main(argv + ["--out", str(tmp_path / "b"), "--ignore-duplicates"]) == 0
    assert "duplicates" not in capsys.readouterr().err
