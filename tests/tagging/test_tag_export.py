"""`genrekit export` writes tags: one ``tags`` column, or multi-hot ``tag_<name>`` columns."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from genrekit.cache import FeatureStore
from genrekit.errors import ParameterError
from genrekit.pipeline.tables.export import export_table
from tests.tagging.tagged_store import TAGS, make_tagged_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_tagged_store(tmp_path_factory.mktemp("exp") / "s", n_tracks=8, untagged=2)


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_default_one_tags_column(store, tmp_path):
    rep = export_table(store, out=tmp_path / "t.csv", progress=False)
    assert rep.columns[:6] == ["id", "path", "label", "group", "split", "tags"]
    rows = _csv(tmp_path / "t.csv")
    with FeatureStore(store) as fs:
        assert [r["tags"] for r in rows] == [";".join(t) for t in fs.tags]
    assert rows[-1]["tags"] == ""   # an untagged track


def test_multi_hot_columns_in_csv_parquet_npz_arff(store, tmp_path):
    with FeatureStore(store) as fs:
        truth = fs.tags
    rep = export_table(store, out=tmp_path / "m.csv", progress=False, tags="multi-hot")
    names = [f"tag_{t}" for t in TAGS]
    assert rep.columns[5:10] == names
    rows = _csv(tmp_path / "m.csv")
    assert [[int(r[n]) for n in names] for r in rows] == [[int(t in s) for t in TAGS] for s in truth]
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    export_table(store, out=tmp_path / "m.parquet", progress=False, tags="multi-hot")
    df = pd.read_parquet(tmp_path / "m.parquet")
    assert df[names].to_numpy().tolist() == [[int(t in s) for t in TAGS] for s in truth]
    export_table(store, out=tmp_path / "m.npz", progress=False, tags="multi-hot")
    z = np.load(tmp_path / "m.npz")
    assert z["tag_names"].tolist() == list(TAGS) and z["tag_matrix"].shape == (10, 5)
    export_table(store, out=tmp_path / "m.arff", progress=False, tags="multi-hot")
    assert "@attribute tag_bass numeric" in (tmp_path / "m.arff").read_text()


def test_none_and_bad_modes(store, tmp_path):
    rep = export_table(store, out=tmp_path / "n.csv", progress=False, tags="none")
    assert "tags" not in rep.columns and not any(c.startswith("tag_") for c in rep.columns)
    with pytest.raises(ParameterError, match="unknown --tags"):
        export_table(store, out=tmp_path / "b.csv", progress=False, tags="many")
    with pytest.raises(ParameterError, match="--level summary"):
        export_table(store, out=tmp_path / "f.csv", progress=False, tags="column", level="frames")


def test_info_counts_tags(store):
    from genrekit.cache.describe import describe_store

    line = next(x for x in describe_store(store).splitlines() if x.startswith("tags"))
    with FeatureStore(store) as fs:
        n_tagged = sum(bool(t) for t in fs.tags)
    assert line.startswith(f"tags       {len(TAGS)} on {n_tagged} tracks (most: ")
