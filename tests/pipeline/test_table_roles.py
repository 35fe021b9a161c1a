"""Roles are never features: id, label, group/artist, split, path and other metadata columns of any
table (genrekit's own exports included) stay out of X whatever their type; a fusion run uses one
group column; messages and reports about tables say "table"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.tables.dataset import build_dataset
from genrekit.pipeline.tables.export import export_table
from genrekit.pipeline.tables.readers import read_table
from tests.conftest import make_synthetic_store

pytestmark = pytest.mark.filterwarnings("ignore::genrekit.pipeline.tables.readers.TableWarning")


def _table(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def _numeric_artist_rows(n=40, seed=0):
    """Rows ``id, label, artist (a numeric id that gives the label away), f0, f1`` — weak features."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % 2
        artist = label * 100 + i % 5        # artists 0-4 play label a, 100-104 label b
        rows.append((f"t{i:02d}", "ab"[label], artist, *rng.normal(size=2).round(4)))
    return rows


def test_a_numeric_artist_column_is_never_a_feature(tmp_path):
    p = _table(tmp_path / "a.csv", ["id", "label", "group", "artist", "Track_ID", "f0", "f1"],
               [(i, lab, f"g{a}", a, k, x, y) for k, (i, lab, a, x, y) in enumerate(_numeric_artist_rows())])
    t = read_table(p)
    assert t.columns["group"] == "group" and t.names == ["f0", "f1"]
    assert t.left_out == {"artist": "metadata", "Track_ID": "metadata"}
    assert not t.warnings and any("artist, Track_ID never used as features" in n for n in t.notes)


def test_the_group_column_of_another_table_is_never_a_feature_and_groups_must_agree(tmp_path):
    rows = _numeric_artist_rows()
    a = _table(tmp_path / "a.csv", ["id", "label", "artist", "f0", "f1"], rows)
    # as genrekit's export names them: id, path, label, group, split, then features — group numeric here
    b = _table(tmp_path / "b.csv", ["id", "path", "label", "group", "split", "g0"],
               [(i, f"{i}.wav", lab, art, "", x) for i, lab, art, x, _ in rows])
    with pytest.raises(ParameterError, match=r"different columns \(a.csv: 'artist', b.csv: 'group'\).*--group-column"):
        build_dataset(tables=[a, b])
    ds = build_dataset(tables=[a, b], group_column="artist")
    assert [blk.names for blk in ds.blocks] == [["f0", "f1"], ["g0"]]  # b's numeric group column is not a feature
    assert sorted(set(ds.groups)) == sorted({str(r[2]) for r in rows})
    # a table whose group values disagree with another's for the same track: one clear error
    c = _table(tmp_path / "c.csv", ["id", "label", "artist", "h0"],
               [(i, lab, art + 1, x) for i, lab, art, x, _ in rows])
    with pytest.raises(ParameterError, match="different groups in different sources"):
        build_dataset(tables=[a, c])


def test_genrekit_parquet_export_marks_its_metadata_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = make_synthetic_store(tmp_path / "store", n_per_class=4, n_classes=2, features=("chroma",))
    out = tmp_path / "x.parquet"
    export_table(store, "parquet", out, progress=False)
    meta = json.loads(pq.read_schema(out).metadata[b"genrekit"])
    assert meta["metadata_columns"] == ["id", "path", "label", "group", "split"]
    t = read_table(out)
    assert t.names == [c for c in pq.read_schema(out).names if c not in meta["metadata_columns"]]
    # a column the file marks as metadata stays out even under a name the reader would not know
    table = pa.table({"id": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"], "speaker": [1, 2, 1, 2],
                      "f": [0.1, 0.2, 0.3, 0.4]})
    table = table.replace_schema_metadata({b"genrekit": json.dumps({"metadata_columns": ["speaker"]}).encode()})
    pq.write_table(table, tmp_path / "m.parquet")
    t = read_table(tmp_path / "m.parquet")
    assert t.names == ["f"] and t.left_out == {"speaker": "metadata"}


def test_table_runs_speak_of_tables_not_the_store(tmp_path):
    rows = _numeric_artist_rows(60, seed=1)
    a = _table(tmp_path / "a.csv", ["id", "label", "artist", "f0", "f1"], rows)
    res = run_benchmark(build_dataset(tables=[a]), "logreg", split="kfold:3", out=tmp_path / "run", workers=1,
                        progress=False)
    warnings = res.results["split"]["warnings"]
    assert any(w.startswith("the table a.csv knows artists but --split kfold:3 is not grouped") for w in warnings)
    text = json.dumps(res.results) + res.report_path.read_text()
    assert "the store" not in text and "store knows" not in text
    report = res.report_path.read_text()
    assert "- table: `a.csv` — 60 labelled tracks" in report and "feature config" not in report
    # the numeric artist id that gives the label away was not used: logreg is near chance on f0, f1
    assert res.results["models"]["logreg"]["pooled"]["accuracy"]["value"] < 0.8
