"""GTZAN built in: its names recognised; --split gtzan-ff applied by name to a store and to a table."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrekit.cache.store import FeatureStore
from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.features.config import FeatureConfig
from genrekit.pipeline.datasets.synth import synth_clip
from genrekit.pipeline.evaluation.gtzan import clip_id, fault_filtered, looks_like_gtzan
from genrekit.pipeline.evaluation.splits import parse_split, split_for_store
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import load_source
from genrekit.pipeline.tables.dataset import build_dataset

SR = 22050
GTZAN_MINI = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "gtzan-mini"
# clip -> its part in the fault-filtered split (None: a clip the split leaves out)
CLIPS = {"blues.00012": "test", "blues.00029": "train", "blues.00000": "validation", "blues.00098": "test",
         "blues.00049": "train", "classical.00030": "train", "classical.00011": "test",
         "classical.00001": "validation", "classical.00099": "train", "classical.00077": "test",
         "jazz.00033": None}


def test_the_shipped_split_is_the_published_one():
    split = fault_filtered()
    parts = {p: sorted(c for c, q in split.items() if q == p) for p in ("train", "validation", "test")}
    assert {p: len(c) for p, c in parts.items()} == {"train": 443, "validation": 197, "test": 290}
    assert parts["train"][:2] == ["blues.00029", "blues.00030"] and parts["test"][-1] == "rock.00090"
    assert all(split.get(c) == p for c, p in CLIPS.items())
    assert {c.split(".")[0] for c in split} == {"blues", "classical", "country", "disco", "hiphop", "jazz",
                                               "metal", "pop", "reggae", "rock"}


def test_gtzan_names():
    assert clip_id("blues/blues.00012.wav") == "blues.00012"
    assert clip_id("/x/classical.00001.au") == "classical.00001"
    assert clip_id("rock.00001") == "rock.00001"
    assert clip_id("low.00001.wav") is None and clip_id("blues.0001.wav") is None and clip_id(None) is None
    assert looks_like_gtzan([f"pop.{i:05d}.wav" for i in range(10)])
    assert not looks_like_gtzan([f"pop.{i:05d}.wav" for i in range(9)])
    assert parse_split("gtzan-ff").kind == "gtzan-ff"
    with pytest.raises(ParameterError, match="takes no argument"):
        parse_split("gtzan-ff:2")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("gtzan")
    for k, clip in enumerate(list(CLIPS) + ["my-song"]):
        genre = clip.split(".")[0] if "." in clip else "blues"
        (root / genre).mkdir(exist_ok=True)
        sf.write(root / genre / f"{clip}.wav", synth_clip("jazz" if genre == "jazz" else "rock" if genre == "blues"
                                                          else "ambient", k % 3, k, duration=3, sr=SR), SR)
    path = tmp_path_factory.mktemp("gtzan-store") / "store"
    extract(load_source(str(root)).tracks, path, FeatureConfig(features=("rms",)), workers=1, progress=False)
    return path


def _parts(split, ids):
    f = split.folds[0]
    return {ids[i]: p for p, part in (("train", f.train), ("test", f.test), ("validation", f.validation))
            for i in part}


def test_gtzan_ff_on_a_store(store):
    with FeatureStore(store) as fs:
        ids = list(fs.ids)
        split = split_for_store(fs, "gtzan-ff")
        default = split_for_store(fs, None)
    assert split.spec == "gtzan-ff" and split.kind == "predefined" and split.n_folds == 1
    assert {clip_id(i): p for i, p in _parts(split, ids).items()} == {c: p for c, p in CLIPS.items() if p}
    assert "Kereliuk, Sturm & Larsen (2015)" in split.describe()
    notes = " | ".join(split.notes)
    assert "1 track without a GTZAN name left out (e.g. blues/my-song.wav)" in notes
    assert "1 GTZAN clip the fault-filtered split excludes (repeated, mislabelled or distorted) left out: " \
           "jazz/jazz.00033.wav" in notes
    assert "439 train clips of the split are not in this collection" in notes
    assert [n for n in default.notes if "GTZAN's names" in n]  # said once, offering the split
    assert not [n for n in split.notes if "GTZAN's names" in n]


def test_gtzan_ff_on_a_table(tmp_path):
    rng = np.random.default_rng(0)
    table = tmp_path / "features.csv"
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "x1", "x2"])
        for clip in CLIPS:
            w.writerow([f"{clip}.wav", clip.split(".")[0], *rng.normal(size=2).round(3)])
    ds = build_dataset(None, [table])
    split = split_for_store(ds, "gtzan-ff")
    assert {clip_id(i): p for i, p in _parts(split, list(ds.ids)).items()} == {c: p for c, p in CLIPS.items() if p}
    out = tmp_path / "run"
    assert main(["benchmark", "--table", str(table), "--models", "logreg", "--split", "gtzan-ff",
                 "--out", str(out), "--no-progress"]) == 0
    assert '"spec": "gtzan-ff"' in (out / "results.json").read_text()


def test_gtzan_ff_without_gtzan_names_is_one_line(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("id,label,x\na,p,1\nb,q,2\nc,p,3\nd,q,4\n")
    with pytest.raises(ParameterError, match="no track matches the split's train clips by name"):
        split_for_store(build_dataset(None, [table]), "gtzan-ff")


@pytest.mark.slow
@pytest.mark.skipif(not GTZAN_MINI.is_dir(), reason="../shared/data/gtzan-mini is not here")
def test_gtzan_ff_on_real_gtzan_clips(tmp_path):
    path = tmp_path / "store"
    extract(load_source(str(GTZAN_MINI)).tracks, path, FeatureConfig(features=("rms",)), workers=1, progress=False)
    with FeatureStore(path) as fs:
        ids = list(fs.ids)
        split = split_for_store(fs, "gtzan-ff")
    want = {i: fault_filtered()[clip_id(i)] for i in ids if clip_id(i) in fault_filtered()}
    assert _parts(split, ids) == want and len(want) >= 10
