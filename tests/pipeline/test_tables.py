"""Reading feature tables (CSV, Parquet, ARFF) and joining them into a benchmark Dataset."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.tables.export import arff_quote
from genrekit.pipeline.tables.readers import TableWarning, read_table
from genrekit.pipeline.tables.dataset import build_dataset

pytestmark = pytest.mark.filterwarnings("ignore::genrekit.pipeline.tables.readers.TableWarning")

ARFF = """% A Marsyas-style file, with the usual oddities
% comment lines, blank lines, quoted names

@RELATION 'genre features'

@ATTRIBUTE id STRING
@attribute 'spectral centroid' NUMERIC
@attribute zcr real   % trailing comment
@attribute n_onsets integer
@attribute recorded date "yyyy-MM-dd"
@attribute title string
@attribute mood {calm, 'very loud'}
@attribute genre {blues,'hip hop',"rock, roll"}

@data
% a comment inside the data
a1, 0.5, 0.125, 3, '2001-01-01', 'Hello, world', calm, blues
'a 2', ?, 0.25, 4, ?, 'it\\'s "quoted"', 'very loud', 'hip hop'
a3,1.5,?,5,'2002-02-02',?,?,'rock, roll'
a4, 2.5, 0.5, 6, '2003-03-03', plain, calm, ?
"""


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ============================================================================ ARFF
def test_arff_types_quotes_missing_and_class(tmp_path):
    p = _write(tmp_path / "marsyas.arff", ARFF)
    with pytest.warns(TableWarning, match="left out") as caught:
        t = read_table(p)
    # the class is the last nominal attribute, quoted values with spaces and commas intact
    assert t.columns["label"] == "genre"
    assert list(t.labels) == ["blues", "hip hop", "rock, roll", None]
    assert list(t.ids) == ["a1", "a 2", "a3", "a4"]
    # numeric, real, integer are features; ? is NaN
    assert t.names == ["spectral centroid", "zcr", "n_onsets"]
    assert t.X.dtype == np.float32
    np.testing.assert_array_equal(t.X, np.array([[0.5, 0.125, 3], [np.nan, 0.25, 4], [1.5, np.nan, 5],
                                                 [2.5, 0.5, 6]], np.float32))
    # the date, the free text and the other nominal are reported and left out
    assert set(t.left_out) == {"recorded", "title", "mood"}
    assert "mood (nominal)" in str(caught[0].message) and "title (string)" in str(caught[0].message)
    assert t.warnings and "3 columns left out" in t.warnings[0]
    assert any("last nominal attribute" in n for n in t.notes)
    assert t.relation == "'genre features'"


def test_arff_label_column_by_name_and_escapes(tmp_path):
    text = ARFF.replace("@attribute title string", "@attribute label string")
    with pytest.warns(TableWarning):
        t = read_table(_write(tmp_path / "x.arff", text))
    assert t.columns["label"] == "label"  # a 'label' attribute wins over the last nominal
    assert t.labels[1] == "it's \"quoted\"" and t.labels[0] == "Hello, world" and t.labels[2] is None


def test_arff_sparse_rows_and_weights(tmp_path):
    text = """@relation sparse
@attribute id string
@attribute f0 numeric
@attribute f1 numeric
@attribute f2 numeric
@attribute class {no,yes}
@data
{0 s1, 2 1.5, 4 yes}
{0 's 2', 1 -2, 3 ?}, {0.5}
s3, 1, 2, 3, no, {2}
"""
    t = read_table(_write(tmp_path / "s.arff", text))
    assert list(t.ids) == ["s1", "s 2", "s3"]
    np.testing.assert_array_equal(t.X, np.array([[0, 1.5, 0], [-2, 0, np.nan], [1, 2, 3]], np.float32))
    assert list(t.labels) == ["yes", "no", "no"]  # omitted nominal in a sparse row = its first value
    assert any("instance weights on 2 rows ignored" in n for n in t.notes)


@pytest.mark.parametrize("body, message", [
    ("@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\nfoo,b\n", "not a number"),
    ("@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n2,z\n", "not a value of nominal attribute 'c'"),
    ("@attribute x numeric\n@attribute c {a,b}\n@data\n1,a,3\n", "line 5: 3 values, the header declares 2"),
    ("@attribute x numeric\n@attribute c {a,b}\n@data\n'1,a\n", "line 5: unterminated"),
    ("@attribute x relational\n@data\n", "relational"),
    ("@attribute x numeric\n@attribute c {a,b}\n", "no @data"),
])
def test_arff_errors_name_the_line(tmp_path, body, message):
    p = _write(tmp_path / "bad.arff", "@relation r\n" + body)
    with pytest.raises(ParameterError, match=message):
        read_table(p)


def test_arff_quote_round_trips_odd_strings(tmp_path):
    odd = ["plain", "with space", "a,b", "it's", 'say "hi"', "back\\slash", "{brace}", "50%", "?", "",
           "tab\there", "new\nline", "ünïcödé"]
    lines = ["@relation odd", "@attribute id string", "@attribute s string", "@attribute x numeric",
             "@attribute label {" + ",".join(arff_quote(v) for v in ("a b", "c,d")) + "}", "@data"]
    for i, v in enumerate(odd):
        lines.append(f"{arff_quote(f'id {i}')},{arff_quote(v)},{i},{arff_quote('a b' if i % 2 else 'c,d')}")
    lines.append(f"x,{arff_quote(None)},99,?")
    with pytest.warns(TableWarning):
        t = read_table(_write(tmp_path / "odd.arff", "\n".join(lines) + "\n"))
    assert list(t.ids[:-1]) == [f"id {i}" for i in range(len(odd))]
    assert list(t.labels) == ["c,d", "a b"] * (len(odd) // 2) + ["c,d"] * (len(odd) % 2) + [None]
    assert t.X[:, 0].tolist() == list(range(len(odd))) + [99]
    assert arff_quote(None) == "?" and arff_quote("?") == "'?'" and arff_quote("") == "''"


def test_arff_reader_agrees_with_scipy(tmp_path):
    arff = pytest.importorskip("scipy.io.arff")
    text = ("@relation r\n@attribute a numeric\n@attribute 'b c' real\n@attribute class {x,y_z}\n@data\n"
            "1.5,2,x\n?,-3.25e2,y_z\n0.1,0.2,x\n")
    p = _write(tmp_path / "r.arff", text)
    t = read_table(p)
    data, meta = arff.loadarff(p)
    np.testing.assert_array_equal(t.X[:, 0], data["a"].astype(np.float32))
    np.testing.assert_array_equal(t.X[:, 1], data["b c"].astype(np.float32))
    assert list(t.labels) == [v.decode() for v in data["class"]]


# ============================================================================ CSV
def test_csv_label_missing_names_the_columns(tmp_path):
    p = _write(tmp_path / "f.csv", "filename,tempo,genre\na.wav,120,rock\nb.wav,90,jazz\n")
    with pytest.raises(ParameterError) as e:
        read_table(p)
    msg = str(e.value)
    assert "no label column 'label'" in msg and "filename, tempo, genre" in msg and "--label-column" in msg
    # and through the CLI: one line, exit code 2
    assert main(["benchmark", "--table", str(p), "--no-progress"]) == 2


def test_csv_non_numeric_columns_reported_not_coerced(tmp_path):
    p = _write(tmp_path / "f.csv", ",filename,tempo,key,energy,label\n"
                                   "0,a.wav,120,C,0.5,rock\n1,b.wav,90,12,,jazz\n2,c.wav,100,D,NA,rock\n")
    with pytest.warns(TableWarning) as caught:
        t = read_table(p)
    assert t.names == ["tempo", "energy"]  # 'key' mixes numbers and text: left out, not half-parsed
    assert set(t.left_out) == {"(unnamed column 1)", "filename", "key"}
    msg = str(caught[0].message)
    assert "2 columns left out" in msg and "key (text (e.g. 'C'))" in msg and "unnamed" in msg
    assert t.left_out["filename"] == "metadata" and any("filename never used as features" in n for n in t.notes)
    np.testing.assert_array_equal(t.X[:, 1], np.array([0.5, np.nan, np.nan], np.float32))
    # no id column: rows numbered from 0, and the note points at a likely id column
    assert list(t.ids) == ["0", "1", "2"]
    assert any("rows are numbered from 0" in n and "filename" in n for n in t.notes)


def test_csv_dialects_roles_and_errors(tmp_path):
    t = read_table(_write(tmp_path / "semi.csv", "ID;Artist;x;y;Label;Split\nt1;A;1,5;2;pop;train\n"
                                                 "t2;B;3;4;rock;test\n"))
    assert t.columns == {"id": "ID", "label": "Label", "group": "Artist", "split": "Split", "path": None}
    assert list(t.groups) == ["A", "B"] and list(t.splits) == ["train", "test"]
    assert t.names == ["y"]  # '1,5' is not a number: x is left out
    t = read_table(_write(tmp_path / "t.tsv", 'id\tlabel\tf\n"a\tb"\tpop\t1\n'))
    assert list(t.ids) == ["a\tb"]
    with pytest.raises(ParameterError, match="infinite value"):
        read_table(_write(tmp_path / "inf.csv", "id,label,f\na,x,inf\n"))
    with pytest.raises(ParameterError, match="frame-level table"):
        read_table(_write(tmp_path / "fr.csv", "id,label,frame,f\na,x,0,1\na,x,1,2\n"))
    with pytest.raises(ParameterError, match="line 3: 2 fields"):
        read_table(_write(tmp_path / "short.csv", "id,label,f\na,x,1\nb,y\n"))
    with pytest.raises(ParameterError, match="has no column 'artist_id'"):
        read_table(_write(tmp_path / "g.csv", "id,label,f\na,x,1\n"), group_column="artist_id")
    with pytest.raises(ParameterError, match="no numeric feature column"):
        read_table(_write(tmp_path / "n.csv", "id,label\na,x\n"))
    with pytest.raises(ParameterError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


# ============================================================================ Parquet
def test_parquet_types(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "id": ["a", "b", "c"], "label": ["x", "y", None],
        "f32": pa.array([1.5, None, 3.0], pa.float32()), "i64": pa.array([1, 2, None], pa.int64()),
        "flag": [True, False, True], "name": ["p", "q", "r"],
        "cat": pa.array(["u", "v", "u"]).dictionary_encode(),
    })
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.warns(TableWarning, match="flag \\(bool\\)"):
        t = read_table(tmp_path / "t.parquet")
    assert t.names == ["f32", "i64"]
    np.testing.assert_array_equal(t.X, np.array([[1.5, 1], [np.nan, 2], [3, np.nan]], np.float32))
    assert list(t.labels) == ["x", "y", None]
    assert set(t.left_out) == {"flag", "name", "cat"}


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    p = _write(tmp_path / "t.parquet", "not really")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ParameterError, match=r"pip install pyarrow.*genrekit\[parquet\]"):
        read_table(p)


# ============================================================================ joining
def _tables(tmp_path):
    a = _write(tmp_path / "a.csv", "id,label,artist,f1\nt3,pop,A,3\nt1,rock,B,1\nt2,pop,C,2\nt9,rock,D,9\n")
    b = _write(tmp_path / "b.csv", "id,g1,g2\nt2,20,200\nt1,10,100\nt3,30,\nt7,70,700\n")
    return a, b


def test_join_counts_order_and_labels(tmp_path):
    a, b = _tables(tmp_path)
    ds = build_dataset(tables=[a, b])
    assert list(ds.ids) == ["t1", "t2", "t3"]  # inner join, ordered by id
    assert list(ds.labels) == ["rock", "pop", "pop"] and list(ds.groups) == ["B", "C", "A"]
    X, names = ds.summary()
    np.testing.assert_array_equal(X, np.array([[1, 10, 100], [2, 20, 200], [3, 30, np.nan]], np.float32))
    assert names == ["f1", "g1", "g2"] and [blk.name for blk in ds.blocks] == ["a.csv", "b.csv"]
    notes = "\n".join(ds.notes)
    assert "a.csv: 1 of 4 tracks have no match" in notes and "'t9'" in notes
    assert "b.csv: 1 of 4 tracks have no match" in notes and "'t7'" in notes
    assert "3 tracks in all 2 sources" in notes and "1 missing values in 1 column (g2)" in notes
    assert ds.command_args() == ["--table", str(a), "--table", str(b), "--fusion", "early"]


def test_join_without_matching_ids_is_a_clear_error(tmp_path):
    a, _ = _tables(tmp_path)
    c = _write(tmp_path / "c.csv", "track,h\nx1,1\nx2,2\n")
    with pytest.raises(ParameterError) as e:
        build_dataset(tables=[a, c])
    msg = str(e.value)
    assert "join is empty" in msg and "'t1'" in msg and "c.csv: '0', '1'" in msg
    assert "c.csv has no id column" in msg and "--id-column" in msg
    d = _write(tmp_path / "d.csv", "id,h\nx1,1\nx2,2\n")
    with pytest.raises(ParameterError, match="join is empty.*d.csv: 'x1', 'x2'"):
        build_dataset(tables=[a, d])
    assert main(["benchmark", "--table", str(a), "--table", str(d), "--no-progress"]) == 2


def test_join_label_conflicts_and_roles(tmp_path):
    a, b = _tables(tmp_path)
    e = _write(tmp_path / "e.csv", "id,label,h\nt1,rock,1\nt2,jazz,2\nt3,pop,3\n")
    with pytest.raises(ParameterError, match="different labels.*'t2': 'pop' in a.csv but 'jazz' in e.csv"):
        build_dataset(tables=[a, e])
    with pytest.raises(ParameterError, match="no table has a label column 'label'"):
        build_dataset(tables=[b, b.with_name("b.csv")])
    with pytest.raises(ParameterError, match="a.csv has no id column 'key'"):
        build_dataset(tables=[a, b], id_column="key")
    with pytest.raises(ParameterError, match="--fusion"):
        build_dataset(tables=[a, b], fusion="middle")


def test_table_benchmark_imputes_missing_values_inside_the_folds(tmp_path):
    rng = np.random.default_rng(1)
    n = 60
    y = np.repeat(["a", "b", "c"], n // 3)
    X = rng.normal(size=(n, 4)) + (np.searchsorted(["a", "b", "c"], y)[:, None] * 1.5)
    X[rng.random(X.shape) < 0.15] = np.nan
    lines = ["id,label,artist," + ",".join(f"f{j}" for j in range(4))]
    for i in range(n):
        lines.append(f"t{i:03d},{y[i]},art{i % 12},"
                     + ",".join("?" if np.isnan(v) else repr(float(v)) for v in X[i]))
    p = _write(tmp_path / "nan.csv", "\n".join(lines) + "\n")
    ds = build_dataset(tables=[p])
    assert ds.n_missing == int(np.isnan(X).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error", TableWarning)
        res = run_benchmark(ds, "svm,logreg", out=tmp_path / "run", workers=1, progress=False)
    assert not res.failed
    assert res.results["split"]["spec"] == "group-kfold:5"  # the artist column grouped the folds
    assert any("mean-imputed inside each model's pipeline" in n for n in res.results["split"]["notes"])
    assert res.results["models"]["svm"]["accuracy"]["mean"] > 0.6
    assert "mean-imputed" in res.results["models"]["svm"]["description"]
    assert res.results["dataset"]["blocks"][0]["n_missing"] == ds.n_missing
