"""`genrekit export`: every format round-trips bit-exactly, frames stream in long form, clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.tables.export import export_table, frame_column_names
from genrekit.pipeline.tables.readers import read_table
from genrekit.pipeline.tables.dataset import build_dataset
from tests.conftest import make_synthetic_store

METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "confusion_matrix")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """3 labels × 6 tracks and 2 unlabelled ones over 3 shards; MFCC, chroma and tempo; artists, splits."""
    return make_synthetic_store(tmp_path_factory.mktemp("export") / "store", n_per_class=6, n_classes=3,
                                n_artists_per_class=3, shard_size=8, n_unlabelled=2, splits=True, n_frames=30,
                                features=("mfcc", "chroma", "tempo"))


def _aligned(fs, ids):
    where = {v: i for i, v in enumerate(ids)}
    assert sorted(where) == sorted(fs.ids), "every track exported once"
    return np.array([where[v] for v in fs.ids])


def _same_bits(a, b):
    assert a.dtype == np.float32 and b.dtype == np.float32 and a.shape == b.shape
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "arff", "npz"])
def test_summary_round_trip_is_exact(store, tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    fs = FeatureStore(store)
    X, names = fs.summary()
    out = tmp_path / f"features.{fmt}"
    rep = export_table(store, fmt, out, progress=False)
    assert rep.n_tracks == len(fs) == 20 and out.exists()
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"
    if fmt == "npz":
        d = np.load(out)  # no pickle needed: every array is numeric or fixed-width unicode
        assert set(d.files) == {"X", "y", "names", "ids", "groups", "splits", "paths"}
        order = _aligned(fs, d["ids"].tolist())
        _same_bits(d["X"][order], X)
        assert d["names"].tolist() == names
        assert d["y"][order].tolist() == [v or "" for v in fs.labels]
        assert d["groups"][order].tolist() == [v or "" for v in fs.raw_groups]
        assert d["splits"][order].tolist() == [v or "" for v in fs.splits]
        return
    t = read_table(out)
    order = _aligned(fs, t.ids.tolist())
    _same_bits(t.X[order], X)
    assert t.names == names and "tempo" in names and "mfcc_03_mean" in names
    assert t.labels[order].tolist() == fs.labels.tolist()
    assert t.groups[order].tolist() == fs.raw_groups.tolist()
    assert t.splits[order].tolist() == fs.splits.tolist()
    assert t.paths[order].tolist() == [r.path for r in fs.tracks]
    assert not t.left_out and t.columns == {"id": "id", "label": "label", "group": "group", "split": "split",
                                            "path": "path"}
    if fmt == "arff":
        text = out.read_text()
        head, _, data = text.partition("@data")
        assert "@attribute label {genre0,genre1,genre2}" in head
        assert head.rstrip().splitlines()[-1].startswith("@attribute label")  # the class is last
        assert "@attribute id string" in head and "@attribute mfcc_00_mean numeric" in head
        assert data.strip().splitlines()[-1].endswith(",?")  # an unlabelled track: missing class


def test_csv_and_parquet_open_in_pandas_with_dtypes(store, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    export_table(store, "csv", tmp_path / "f.csv", progress=False)
    export_table(store, None, tmp_path / "f.parquet", progress=False, labels_only=True)  # format from the name
    c = pd.read_csv(tmp_path / "f.csv")
    assert list(c.columns[:5]) == ["id", "path", "label", "group", "split"] and len(c) == 20
    assert c["label"].isna().sum() == 2
    q = pd.read_parquet(tmp_path / "f.parquet")
    assert len(q) == 18 and q["label"].notna().all()  # --labels-only
    assert q["mfcc_00_mean"].dtype == np.float32 and q["tempo"].dtype == np.float32
    assert pd.api.types.is_string_dtype(q["id"]) and pd.api.types.is_string_dtype(q["label"])


def test_features_subset_and_errors(store, tmp_path):
    rep = export_table(store, "csv", tmp_path / "c.csv", features=["chroma"], progress=False)
    t = read_table(tmp_path / "c.csv")
    assert t.names and all(n.startswith("chroma_") for n in t.names) and len(t.names) == 12 * 7
    assert rep.columns[:5] == ["id", "path", "label", "group", "split"]
    with pytest.raises(ParameterError, match="cannot tell the format"):
        export_table(store, None, tmp_path / "x.xlsx", progress=False)
    with pytest.raises(ParameterError, match="unknown --format 'xls'"):
        export_table(store, "xls", tmp_path / "x.xls", progress=False)
    with pytest.raises(Exception, match="'spectrum' is not in this store"):
        export_table(store, "csv", tmp_path / "x.csv", features=["spectrum"], progress=False)


@pytest.mark.parametrize("fmt", ["arff", "npz"])
def test_frames_in_a_format_that_cannot_hold_them(store, tmp_path, fmt):
    with pytest.raises(ParameterError, match="cannot hold --level frames.*--format parquet.*--format csv"):
        export_table(store, fmt, tmp_path / f"f.{fmt}", level="frames", progress=False)
    assert main(["export", "--store", str(store), "--format", fmt, "--level", "frames",
                 "--out", str(tmp_path / f"f.{fmt}"), "--no-progress"]) == 2
    assert not (tmp_path / f"f.{fmt}").exists()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_frame_level_long_form(store, tmp_path, fmt):
    pd = pytest.importorskip("pandas")
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
    fs = FeatureStore(store)
    out = tmp_path / f"frames.{fmt}"
    rep = export_table(store, fmt, out, level="frames", features=["mfcc", "chroma"], progress=False,
                       row_group_rows=200)
    total = sum(r.n_frames for r in fs.tracks)
    assert rep.n_rows == total and rep.n_tracks == 20
    df = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert len(df) == total
    names = frame_column_names(fs, ["mfcc", "chroma"])
    assert list(df.columns) == ["id", "label", "group", "split", "frame", "time", *names]
    assert names[:2] == ["mfcc_00", "mfcc_01"] and names[-1] == "chroma_11"
    cfg = fs.config
    np.testing.assert_allclose(df["time"].to_numpy(), df["frame"].to_numpy() * cfg.hop_length / cfg.sr, rtol=1e-12)
    for tid in (fs.tracks[0].id, fs.tracks[-1].id):
        part = df[df["id"] == tid]
        assert part["frame"].tolist() == list(range(fs.track(tid).n_frames))
        _same_bits(part[names].to_numpy(dtype=np.float32), fs.frame_matrix(tid, ["mfcc", "chroma"]))
    if fmt == "parquet":
        meta = pq.ParquetFile(out)
        assert meta.metadata.num_row_groups > 1
        schema = meta.schema_arrow
        assert str(schema.field("frame").type) == "int32" and str(schema.field("mfcc_00").type) == "float"
        assert b"genrekit" in schema.metadata


def test_frames_refuse_track_level_features(store, tmp_path):
    pytest.importorskip("pyarrow")
    with pytest.raises(ParameterError, match="tempo is a track-level feature"):
        export_table(store, "parquet", tmp_path / "f.parquet", level="frames", features=["tempo"], progress=False)


def test_parquet_export_without_pyarrow(store, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ParameterError, match=r"pip install pyarrow.*genrekit\[parquet\]"):
        export_table(store, "parquet", tmp_path / "f.parquet", progress=False)


def test_cli_export(store, tmp_path, capsys):
    out = tmp_path / "sub" / "w.arff"
    assert main(["export", "--store", str(store), "--out", str(out), "--labels-only", "--no-progress"]) == 0
    assert "exported 18 tracks" in capsys.readouterr().out
    assert read_table(out).X.shape[0] == 18


@pytest.mark.parametrize("fmt", ["csv", "arff"])
def test_benchmark_on_exported_table_equals_store(synthetic_store, tmp_path, fmt):
    """Same seed, same metrics: the table carries everything the store's benchmark uses."""
    out = tmp_path / f"t.{fmt}"
    export_table(synthetic_store, fmt, out, progress=False)
    kw = dict(workers=1, progress=False, seed=3)
    a = run_benchmark(synthetic_store, "logreg,knn", out=tmp_path / "store", **kw)
    b = run_benchmark(build_dataset(tables=[out]), "logreg,knn", out=tmp_path / "table", **kw)
    assert a.results["split"]["spec"] == b.results["split"]["spec"] == "group-kfold:5"
    assert a.results["split"]["folds"] == b.results["split"]["folds"]
    for n in ("logreg", "knn"):
        fa, fb = a.results["models"][n]["folds"], b.results["models"][n]["folds"]
        assert [{k: f[k] for k in METRICS} for f in fa] == [{k: f[k] for k in METRICS} for f in fb]
    assert b.results["store"]["tracks_hash"] and b.results["dataset"]["blocks"][0]["format"] == fmt
    assert b.results["command"].startswith(f"genrekit benchmark --table {out} --models logreg,knn")
