"""Tag sets in the sources and the store: normalisation, manifest ``tags``, FMA ``genres_all``,
MTG-Jamendo split files, shards with and without the ``tracks/tags`` field."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import h5py
import pytest

from genrekit.cache import FeatureStore
from genrekit.errors import ParameterError
from genrekit.features import FeatureConfig
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import load_source, read_fma, read_jamendo, read_manifest
from genrekit.tags import normalise_tags, parse_tags, tags_text
from tests.audio_helpers import write_collection

SMALL = FeatureConfig(features=("mfcc", "rms"))


@pytest.mark.parametrize(("text", "expected"), [
    ("rock; Pop ;rock", ("pop", "rock")),
    ("  Hip  Hop\t; hip hop", ("hip hop",)),
    ("", ()),
    (" ; ;", ()),
    ("a\x00b;genre---Rock", ("a b", "genre---rock")),
])
def test_parse_tags_normalises_never_rejects(text, expected):
    assert parse_tags(text) == expected
    assert parse_tags(tags_text(expected)) == expected


def test_normalise_tags_drops_separator_and_sorts():
    assert normalise_tags(["b;c", "A", "a"]) == ("a", "b c")
    assert normalise_tags(None) == ()


def _manifest(root: Path, rows) -> Path:
    path = root / "tagged.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_manifest_tags_column_and_label_side_by_side(tmp_path):
    root = write_collection(tmp_path / "c", n_per_label=2)
    path = _manifest(root, [["path", "label", "tags", "mood"],
                            ["low/low.00000.wav", "low", "Bass; drums ;bass", "calm"],
                            ["low/low.00001.wav", "low", "", "calm"],
                            ["high/high.00000.wav", "", "lead", ""]])
    scan = read_manifest(path)
    by_id = {t.id: t for t in scan.tracks}
    assert by_id["low/low.00000.wav"].tags == ("bass", "drums")
    assert by_id["low/low.00000.wav"].label == "low"
    assert by_id["low/low.00001.wav"].tags == ()
    assert by_id["high/high.00000.wav"].tags == ("lead",) and by_id["high/high.00000.wav"].label is None
    assert by_id["low/low.00000.wav"].meta == {"mood": "calm"}  # tags are not metadata


def test_tags_stored_per_track_and_old_shards_read_as_no_tags(tmp_path):
    root = write_collection(tmp_path / "c", n_per_label=2, seconds=1.0)
    path = _manifest(root, [["path", "label", "tags"],
                            ["low/low.00000.wav", "low", "bass;drums"],
                            ["low/low.00001.wav", "low", ""],
                            ["high/high.00000.wav", "high", "lead; Bass"]])
    store = tmp_path / "store"
    extract(read_manifest(path).tracks, store, SMALL, workers=1, progress=False)
    with FeatureStore(store) as fs:
        assert fs.tags == [("bass", "lead"), ("bass", "drums"), ()]
        assert [r.id for r in fs.tracks] == ["high/high.00000.wav", "low/low.00000.wav", "low/low.00001.wav"]
        shard = Path(store) / fs.tracks[0].shard
    with h5py.File(shard, "r") as f:  # plain h5py: the set as text, "" = none
        assert sorted(f["tracks/tags"].asstr()[:]) == ["", "bass;drums", "bass;lead"]
    with h5py.File(shard, "a") as f:  # a shard written before tags existed
        del f["tracks/tags"]
    with FeatureStore(store) as fs:
        assert fs.tags == [(), (), ()] and len(fs) == 3


_FMA_TOP = ["", "artist", "set", "set", "track", "track"]
_FMA_SUB = ["", "id", "split", "subset", "genre_top", "genres_all"]


def _fma(tmp_path, genres: bool = True):
    meta = tmp_path / "fma_metadata"
    meta.mkdir()
    with open(meta / "tracks.csv", "w", newline="") as f:
        csv.writer(f).writerows([_FMA_TOP, _FMA_SUB, ["track_id"] + [""] * 5,
                                 ["2", "1", "training", "small", "Hip-Hop", "[21]"],
                                 ["3", "1", "training", "small", "", "[12, 21, 76]"],
                                 ["5", "2", "test", "small", "Rock", "not a list"],
                                 ["7", "2", "test", "small", "Rock", "[12, 999]"]])
    if genres:
        with open(meta / "genres.csv", "w", newline="") as f:
            csv.writer(f).writerows([["genre_id", "#tracks", "parent", "title", "top_level"],
                                     ["12", "3", "0", "Rock", "12"], ["21", "2", "0", "Hip-Hop", "21"],
                                     ["76", "1", "12", "Experimental Pop", "12"]])
    audio = tmp_path / "fma_small"
    for n in (2, 3, 5, 7):
        p = audio / f"{n:06d}"[:3] / f"{n:06d}.mp3"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\0" * 16)
    return meta, audio


def test_fma_genres_all_become_titled_tags(tmp_path):
    meta, audio = _fma(tmp_path)
    by_id = {t.id: t for t in read_fma(meta, audio).tracks}
    assert by_id["2"].tags == ("hip-hop",) and by_id["2"].label == "Hip-Hop"
    assert by_id["3"].tags == ("experimental pop", "hip-hop", "rock") and by_id["3"].label is None
    assert by_id["5"].tags == ()            # not a list of ids: no tags, not an error
    assert by_id["7"].tags == ("999", "rock")  # an id genres.csv lacks stays its number


def test_fma_without_genres_csv_keeps_ids(tmp_path):
    meta, audio = _fma(tmp_path, genres=False)
    by_id = {t.id: t for t in read_fma(meta, audio).tracks}
    assert by_id["3"].tags == ("12", "21", "76")


_HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"


def _jamendo(tmp_path, parts=("train", "validation", "test")):
    split = tmp_path / "data" / "splits" / "split-0"
    split.mkdir(parents=True)
    lines = {
        "train": ["track_0000214\tartist_000014\talbum_000031\t14/214.mp3\t124.6\tgenre---punkrock\tinstrument---guitar",
                  "track_0000215\tartist_000014\talbum_000031\t15/215.mp3\t200.0\tgenre---rock\tgenre---rock",
                  "broken line without tabs",
                  "track_0000214\tartist_000099\talbum_000001\t14/214.mp3\t10.0\tgenre---pop"],
        "validation": ["track_0000300\tartist_000020\talbum_000040\t00/300.mp3\t99.1\tgenre---pop\tmood/theme---happy"],
        "test": ["track_0000400\tartist_000030\talbum_000050\t00/400.mp3\t33.3\tgenre---Jazz",
                 "track_0000401\tartist_000030\talbum_000050\t01/401.mp3\t33.3\tgenre---jazz"],
    }
    for part in parts:
        (split / f"autotagging_genre-{part}.tsv").write_text(_HEADER + "\n".join(lines[part]) + "\n")
    audio = tmp_path / "audio"
    for rel in ("14/214.mp3", "15/215.mp3", "00/300.mp3", "00/400.mp3"):  # 01/401.mp3 is missing
        (audio / rel).parent.mkdir(parents=True, exist_ok=True)
        (audio / rel).write_bytes(b"\0" * 16)
    return split, audio


def test_jamendo_split_files(tmp_path):
    split, audio = _jamendo(tmp_path)
    for given in (split / "autotagging_genre", split):
        scan = read_jamendo(given, audio)
        by_id = {t.id: t for t in scan.tracks}
        assert sorted(by_id) == ["track_0000214", "track_0000215", "track_0000300", "track_0000400"]
        t = by_id["track_0000214"]
        assert t.tags == ("genre---punkrock", "instrument---guitar") and t.group == "artist_000014"
        assert t.split == "train" and t.meta == {"album": "album_000031", "duration": "124.6"}
        assert t.path == os.path.join(str(audio), "14/214.mp3") and t.label is None
        assert by_id["track_0000215"].tags == ("genre---rock",)
        assert by_id["track_0000300"].split == "validation"
        assert by_id["track_0000400"].tags == ("genre---jazz",) and by_id["track_0000400"].split == "test"
        assert scan.missing == ["track_0000401"]
        assert len(scan.skipped) == 2
        assert scan.skipped[0].startswith("autotagging_genre-train.tsv line 4:")
        assert "listed again" in scan.skipped[1]
    genre_only = {t.id: t for t in read_jamendo(split, audio, categories=("genre",)).tracks}
    assert genre_only["track_0000214"].tags == ("genre---punkrock",)
    one = read_jamendo(split / "autotagging_genre-test.tsv", audio)
    assert [t.split for t in one.tracks] == ["test"]


def test_jamendo_refusals_are_one_line(tmp_path):
    split, audio = _jamendo(tmp_path)
    (split / "autotagging_instrument-train.tsv").write_text(_HEADER)
    with pytest.raises(ParameterError, match="2 Jamendo tasks"):
        read_jamendo(split, audio)
    bad = tmp_path / "bad-train.tsv"
    bad.write_text("id,path\n1,a.mp3\n")
    with pytest.raises(ParameterError, match="Jamendo's header"):
        read_jamendo(bad, audio)
    with pytest.raises(ParameterError, match="no Jamendo split file"):
        read_jamendo(tmp_path / "nothing", audio)
    with pytest.raises(ParameterError, match="none found"):
        load_source(tmp_path / "data", jamendo=split / "autotagging_genre")
    with pytest.raises(ParameterError, match="pass only one"):
        load_source(audio, manifest=bad, jamendo=split)


@pytest.mark.slow
def test_extract_jamendo_end_to_end_keeps_tags_splits_and_reports_skips(tmp_path, capsys):
    import soundfile as sf

    from genrekit.cli import main
    from tests.audio_helpers import tone

    audio = tmp_path / "audio"
    for rel, f in (("00/1.wav", 220), ("00/2.wav", 330), ("01/3.wav", 440)):
        (audio / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(audio / rel, tone(f, 1.0), 22050)
    split = tmp_path / "split-0"
    split.mkdir()
    (split / "autotagging-train.tsv").write_text(
        _HEADER + "track_1\tartist_1\talbum_1\t00/1.wav\t1.0\tgenre---rock\tmood/theme---happy\n"
        "track_2\tartist_2\talbum_2\t00/2.wav\t1.0\tinstrument---piano\n"
        "track_9\tartist_9\talbum_9\t09/9.wav\t1.0\tgenre---pop\n"
        "garbage\n")
    (split / "autotagging-test.tsv").write_text(_HEADER + "track_3\tartist_3\talbum_3\t01/3.wav\t1.0\tgenre---Rock\n")
    store = tmp_path / "store"
    assert main(["extract", str(audio), "--jamendo-split", str(split), "--store", str(store), "--workers", "1",
                 "--no-progress", "--features", "mfcc"]) == 0
    err = capsys.readouterr().err
    assert "1 listed files were not found (e.g. track_9)" in err
    assert "skipped 1 malformed lines (first: autotagging-train.tsv line 5" in err
    with FeatureStore(store) as fs:
        assert [(r.id, r.tags, r.split, r.group) for r in fs.tracks] == [
            ("track_1", ("genre---rock", "mood/theme---happy"), "train", "artist_1"),
            ("track_2", ("instrument---piano",), "train", "artist_2"),
            ("track_3", ("genre---rock",), "test", "artist_3")]
        assert fs.tracks[0].meta["album"] == "album_1"
