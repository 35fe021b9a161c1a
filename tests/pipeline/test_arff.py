"""genrekit's ARFF reader agrees with liac-arff wherever both read a file.

liac-arff (vendored by scikit-learn as ``sklearn.externals._arff``) is the reference ARFF parser
of the Python world. genrekit keeps a reader of its own because liac-arff refuses ARFF that Weka
writes and genrekit documents: ``date`` attributes, instance weights (``, {0.5}``) and ``%``
comments after a declaration or a row (measured with liac-arff 2.5.0 and the vendored 2.4.0).
"""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.pipeline.tables.readers import read_table

liac = pytest.importorskip("sklearn.externals._arff")

pytestmark = pytest.mark.filterwarnings("ignore::genrekit.pipeline.tables.readers.TableWarning")

BOTH_READ = """% what Marsyas, jAudio and Weka write, minus what liac-arff refuses
@RELATION genres

@ATTRIBUTE id STRING
@ATTRIBUTE 'spectral centroid' NUMERIC
@attribute zcr REAL
@attribute n_onsets INTEGER
@attribute title string
@attribute mood {calm, 'very loud'}
@attribute genre {blues,'hip hop',"rock, roll"}

@data
a1, 0.5, 0.125, 3, 'Hello, world', calm, blues
'a 2', ?, 0.25, 4, 'it\\'s "quoted"', 'very loud', 'hip hop'
a3,1.5,?,5,?,?,'rock, roll'
a4, 2.5e-3, -0.5, 6, plain, calm, ?
{0 s5, 1 7, 5 'very loud', 6 blues}
"""


def test_values_equal_liac_arffs(tmp_path):
    p = tmp_path / "both.arff"
    p.write_text(BOTH_READ, encoding="utf-8")
    t = read_table(p, id_column="id", label_column="genre")
    ref = liac.loads(BOTH_READ)
    names = [a for a, _ in ref["attributes"]]
    rows = ref["data"]
    col = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    assert list(t.ids) == col["id"]
    assert list(t.labels) == col["genre"]
    assert t.names == ["spectral centroid", "zcr", "n_onsets"]
    expected = np.array([[np.nan if v is None else v for v in col[n]] for n in t.names], dtype=np.float32).T
    np.testing.assert_array_equal(t.X, expected)
    assert set(t.left_out) == {"title", "mood"}


def test_what_genrekit_reads_beyond_liac_arff(tmp_path):
    """Dates, instance weights and trailing comments: valid ARFF (Weka writes them)."""
    text = """@relation extras
@attribute id string
@attribute x numeric   % a comment after a declaration
@attribute when date "yyyy-MM-dd"
@attribute class {a,b}
@data
r1, 1.5, '2001-01-01', a   % a comment after a row
r2, 2.5, ?, b, {0.5}
"""
    p = tmp_path / "extras.arff"
    p.write_text(text, encoding="utf-8")
    t = read_table(p)
    assert list(t.ids) == ["r1", "r2"] and list(t.labels) == ["a", "b"]
    np.testing.assert_array_equal(t.X, np.array([[1.5], [2.5]], np.float32))
    assert t.left_out == {"when": "date"} and any("instance weights on 1 rows ignored" in n for n in t.notes)
