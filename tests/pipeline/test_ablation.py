"""--ablation: each feature alone and all together on the same folds; fewer-folds advice (issue 17.7)."""

import json

import numpy as np
import pytest

from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.ablation import feature_blocks
from genrekit.pipeline.evaluation.inputs import open_source
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.evaluation.splits import make_split
from tests.conftest import make_synthetic_store


def test_ablation_runs_each_feature_alone_and_all_on_the_same_folds(synthetic_store, tmp_path):
    r = run_benchmark(synthetic_store, "logreg", split="kfold:3", out=tmp_path / "abl", workers=1,
                      progress=False, ablation=True)
    models = r.results["models"]
    assert set(models) == {"logreg", "logreg[block=mfcc]", "logreg[block=chroma]"}
    assert "on block mfcc alone" in models["logreg[block=mfcc]"]["description"]
    assert "--ablation" in r.results["command"]
    assert r.results["dataset"]["ablation"] == [{"feature": "mfcc", "columns": 140}, {"feature": "chroma", "columns": 84}]
    # each entry equals a separate run restricted to that feature, on the same folds
    alone = run_benchmark(synthetic_store, "logreg", split="kfold:3", out=tmp_path / "mfcc", workers=1,
                          progress=False, features=["mfcc"])
    assert models["logreg[block=mfcc]"]["balanced_accuracy"]["folds"] == alone.results["models"]["logreg"]["balanced_accuracy"]["folds"]
    full = run_benchmark(synthetic_store, "logreg", split="kfold:3", out=tmp_path / "all", workers=1, progress=False)
    assert models["logreg"]["balanced_accuracy"]["folds"] == full.results["models"]["logreg"]["balanced_accuracy"]["folds"]


def test_feature_blocks_follow_the_column_order(synthetic_store):
    src = open_source(synthetic_store)
    assert feature_blocks(src, None) == [("mfcc", 140), ("chroma", 84)]
    assert feature_blocks(src, ["chroma", "mfcc"]) == [("mfcc", 140), ("chroma", 84)]


def test_ablation_refuses_one_feature_and_save_models(synthetic_store, tmp_path):
    with pytest.raises(ParameterError, match="two or more features"):
        run_benchmark(synthetic_store, "logreg", out=tmp_path / "a", features=["mfcc"], ablation=True,
                      workers=1, progress=False)
    with pytest.raises(ParameterError, match="saves no model"):
        run_benchmark(synthetic_store, "logreg", out=tmp_path / "b", ablation=True, save_models=True,
                      workers=1, progress=False)


def test_cli_ablation(synthetic_store, tmp_path, capsys):
    assert main(["benchmark", "--store", str(synthetic_store), "--models", "logreg", "--split", "kfold:2",
                 "--ablation", "--features", "mfcc,chroma", "--out", str(tmp_path / "c"), "--workers", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "logreg[block=mfcc]" in out and "logreg[block=chroma]" in out


def test_fewer_artists_than_folds_suggests_fewer_folds_or_leave_one_artist_out():
    labels = np.repeat(["a", "b"], 6)
    groups = np.array([f"a{i % 3}" for i in range(6)] + [f"b{i % 2}" for i in range(6)], dtype=object)
    sp = make_split(labels, groups=groups, spec="group-kfold:5", seed=0)
    hint = [w for w in sp.warnings if "fewer artists than the 5 folds" in w]
    assert hint and "--split group-kfold:2" in hint[0] and "LeaveOneGroupOut" in hint[0]
    one = make_split(labels, groups=np.array(["x"] * 6 + [f"b{i % 3}" for i in range(6)], dtype=object),
                     spec="group-kfold:3", seed=0)
    assert any("1 label has a single artist" in w and "add artists" in w for w in one.warnings)
    tracks = make_split(np.array(["a"] * 6 + ["b"] * 3), spec="kfold:5", seed=0)
    assert any("--split kfold:3" in w for w in tracks.warnings)
    assert not [w for w in make_split(labels, spec="kfold:3", seed=0).warnings if "fewer" in w]
