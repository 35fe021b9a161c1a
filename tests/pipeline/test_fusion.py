"""Several feature blocks: per-block, early and late fusion on the leaderboard; the fusion estimators."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from genrekit.classifiers import make_model, tuning_grid
from genrekit.classifiers.fusion import (
    BlockScaler,
    LateFusionClassifier,
    ModelVariant,
    parse_fusion,
    plan_variants,
)
from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.tables.export import export_table
from genrekit.pipeline.tables.readers import TableWarning
from genrekit.pipeline.tables.dataset import build_dataset

pytestmark = pytest.mark.filterwarnings("ignore::genrekit.pipeline.tables.readers.TableWarning")


def _acc(result, name):
    return result.results["models"][name]["accuracy"]["mean"]


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """Two tables that each carry half of the signal: label = sign(a + b), a in one, b in the other."""
    d = tmp_path_factory.mktemp("fusion")
    rng = np.random.default_rng(7)
    n = 240
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a + b > 0, "up", "down")
    order = rng.permutation(n)  # the files list tracks in different orders: the join is on id
    with open(d / "audio.csv", "w") as f:
        f.write("id,label,a,noise_a\n")
        for i in range(n):
            f.write(f"trk{i:03d},{label[i]},{float(a[i])!r},{float(rng.normal())!r}\n")
    with open(d / "lyrics.csv", "w") as f:
        f.write("id,b,noise_b,language\n")
        for i in order:
            f.write(f"trk{i:03d},{float(b[i])!r},{float(rng.normal())!r},en\n")
    return d


def test_each_block_weak_together_strong(halves, tmp_path):
    ds = build_dataset(tables=[halves / "audio.csv", halves / "lyrics.csv"], fusion="both")
    res = run_benchmark(ds, "logreg", params={"logreg": {"C": 1.0}}, split="kfold:5", out=tmp_path / "run",
                        workers=1, progress=False)
    names = {r["model"] for r in res.leaderboard}
    assert names == {"logreg[block=audio.csv]", "logreg[block=lyrics.csv]", "logreg[early]", "logreg[late]"}
    for block in ("audio.csv", "lyrics.csv"):
        assert 0.6 < _acc(res, f"logreg[block={block}]") < 0.82, "half of the signal: weak alone"
    assert _acc(res, "logreg[early]") > 0.93
    assert _acc(res, "logreg[late]") > 0.88
    assert res.leaderboard[0]["model"] in ("logreg[early]", "logreg[late]")
    # the report says what each entry is, and where the data came from
    doc = res.results
    early = doc["models"]["logreg[early]"]["description"]
    assert "early fusion of audio.csv (2 columns) + lyrics.csv (2 columns)" in early
    assert doc["dataset"]["fusion"] == ["early", "late"]
    assert "--table" in doc["command"] and "--fusion both" in doc["command"]
    assert "--param logreg.C=1.0" in doc["command"]
    assert any("language" in w for w in doc["split"]["warnings"])  # the text column was reported
    assert (res.out_dir / "figures" / "confusion_logreg_early_.png").exists()


def test_store_joined_with_a_table(synthetic_store, tmp_path):
    """A store plus a table of extra features: ids must match, what does not is counted."""
    export_table(synthetic_store, "csv", tmp_path / "all.csv", features=["chroma"], progress=False)
    lines = (tmp_path / "all.csv").read_text().splitlines()
    head = lines[0].split(",")
    keep = [0] + [i for i, h in enumerate(head) if h.startswith("chroma_00_")]  # id + a few chroma columns
    rows = [",".join(r.split(",")[i] for i in keep) for r in [lines[0]] + lines[1:-3]]  # 3 tracks missing
    rows.append(",".join(["stray/track.wav"] + ["0"] * (len(keep) - 1)))  # one id the store lacks
    (tmp_path / "extra.csv").write_text("\n".join(rows) + "\n")
    ds = build_dataset(synthetic_store, [tmp_path / "extra.csv"], features=["mfcc"], fusion="late")
    assert len(ds) == 27 and [b.name for b in ds.blocks] == ["synthetic", "extra.csv"]
    assert ds.blocks[0].width == 20 * 7 and ds.blocks[1].width == 7
    notes = "\n".join(ds.notes)
    assert "synthetic: 3 of 30 tracks have no match" in notes and "extra.csv: 1 of 28 tracks" in notes
    assert ds.path == "store synthetic + extra.csv" and ds.config_hash != "none"
    res = run_benchmark(ds, "knn", out=tmp_path / "run", workers=1, progress=False)
    assert {r["model"] for r in res.leaderboard} == {"knn[block=synthetic]", "knn[block=extra.csv]", "knn[late]"}
    assert res.results["split"]["grouped"]  # the store's artists still group the folds
    assert res.results["command"].split("--models")[0].rstrip().endswith(
        f"--store {synthetic_store} --table {tmp_path / 'extra.csv'} --features mfcc --fusion late")
    with pytest.raises(ParameterError, match="--save-models needs a store alone"):
        run_benchmark(ds, "knn", out=tmp_path / "r2", workers=1, progress=False, save_models=True)
    with pytest.raises(ParameterError, match="gmm-frames reads frame sequences"):
        run_benchmark(ds, "gmm-frames", out=tmp_path / "r3", workers=1, progress=False)


def test_cli_tables_and_fusion(halves, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["benchmark", "--table", str(halves / "audio.csv"), "--table", str(halves / "lyrics.csv"),
               "--fusion", "late", "--models", "logreg", "--split", "kfold:3", "--out", str(out), "--workers", "1",
               "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0 and "logreg[late]" in captured.out and "logreg[early]" not in captured.out
    assert "language" in captured.err and "joined on track id: 240 tracks" in captured.err
    assert main(["benchmark", "--table", str(halves / "audio.csv"), "--fusion", "late", "--no-progress"]) == 2
    assert "--fusion needs two or more feature blocks" in capsys.readouterr().err
    assert main(["benchmark", "--label-column", "genre", "--no-progress"]) == 2
    assert "--label-column applies to --table" in capsys.readouterr().err


# ============================================================================ the estimators
def test_late_fusion_averages_block_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 3] > 0).astype(int)
    clf = LateFusionClassifier(LogisticRegression(), blocks=[("a", 3), ("b", 2)]).fit(X, y)
    pa = LogisticRegression().fit(X[:, :3], y).predict_proba(X[:, :3])
    pb = LogisticRegression().fit(X[:, 3:], y).predict_proba(X[:, 3:])
    np.testing.assert_allclose(clf.predict_proba(X), (pa + pb) / 2)
    assert set(clf.named_estimators_) == {"a", "b"}
    w = LateFusionClassifier(LogisticRegression(), blocks=[("a", 3), ("b", 2)], weights=[1, 0]).fit(X, y)
    np.testing.assert_allclose(w.predict_proba(X), pa)
    with pytest.raises(ValueError, match="add up to 5 columns, X has 6"):
        LateFusionClassifier(LogisticRegression(), blocks=[("a", 3), ("b", 2)]).fit(np.c_[X, X[:, 0]], y)
    c = clone(clf)
    assert c.get_params()["estimator__C"] == 1.0 and not hasattr(c, "estimators_")


@pytest.mark.slow
def test_late_fusion_passes_sklearn_checks():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(LateFusionClassifier(LogisticRegression()), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed


def test_block_scaler_gives_each_block_an_equal_share():
    rng = np.random.default_rng(0)
    X = rng.normal(3, 5, size=(200, 12))
    Z = BlockScaler(blocks=[("wide", 10), ("narrow", 2)]).fit_transform(X)
    var = Z.var(axis=0)
    assert var[:10].sum() == pytest.approx(6) and var[10:].sum() == pytest.approx(6)  # D/B = 12/2 each
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    same = BlockScaler(blocks=[("a", 6), ("b", 6)]).fit_transform(X)
    np.testing.assert_allclose(same, (X - X.mean(0)) / X.std(0))  # equal widths: plain standardisation


def test_variants_names_wrapping_and_tuning_grids():
    blocks = (("audio", 3), ("lyrics", 2))
    plan = plan_variants(["svm", "knn"], blocks, ("early", "late"), impute=True)
    assert list(plan) == ["svm[block=audio]", "svm[block=lyrics]", "svm[early]", "svm[late]",
                          "knn[block=audio]", "knn[block=lyrics]", "knn[early]", "knn[late]"]
    assert list(plan_variants(["svm"], (("only", 4),))) == ["svm"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    X[::7, 1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + X[:, 4] > 0).astype(int)
    for name, v in plan.items():
        base = make_model(v.model, random_state=0)
        est = v.wrap(base)
        grid = v.wrap_grid(tuning_grid(v.model, None, base))
        clone(est).set_params(**{k: vals[0] for k, vals in grid.items()})  # the renamed grid is valid
        est.fit(X, y)
        assert est.predict_proba(X).shape == (60, 2), name
    early = plan["svm[early]"].wrap(make_model("svm"))
    assert early.named_steps["model"].named_steps["scale"] == "passthrough"  # BlockScaler standardises
    # imputation is fitted on the training rows only
    train = np.arange(30)
    est = plan["svm[block=audio]"].wrap(make_model("svm")).fit(X[train], y[train])
    np.testing.assert_allclose(est.named_steps["impute"].statistics_, np.nanmean(X[train, :3], axis=0))
    gs = GridSearchCV(plan["svm[late]"].wrap(make_model("svm")),
                      plan["svm[late]"].wrap_grid({"svc__estimator__C": [1, 10]}), cv=2).fit(X, y)
    assert gs.best_params_
    assert ModelVariant("svm").wrap_grid({"a": [1]}) == {"a": [1]}


def test_parse_fusion():
    assert parse_fusion(None) == ("early",)
    assert parse_fusion("late") == ("late",)
    assert parse_fusion("both") == parse_fusion("late,early") == ("early", "late")
    with pytest.raises(ValueError, match="unknown fusion 'mid'"):
        parse_fusion("mid")


def test_table_warning_is_a_python_warning(halves):
    with pytest.warns(TableWarning, match="language"):
        build_dataset(tables=[halves / "audio.csv", halves / "lyrics.csv"])
