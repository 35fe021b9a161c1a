"""Metadata of cached tracks follows the latest source; a manifest in AUDIO_DIR is found (issue 17.1)."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from genrekit.cache import FeatureStore
from genrekit.cache.metadata import metadata_fields
from genrekit.cli import main
from genrekit.features import FeatureConfig
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import load_source, read_manifest, scan_folder
from tests.audio_helpers import write_collection

SMALL = FeatureConfig(features=("mfcc", "rms"))
GTZAN_MINI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gtzan-mini"


@pytest.fixture
def collection(tmp_path):
    return write_collection(tmp_path / "audio", n_per_label=3)


def _rewrite_manifest(path: Path, change):
    rows = list(csv.reader(open(path, newline="")))
    header, body = rows[0], rows[1:]
    header, body = change(header, body)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *body])


def _shard_mtimes(store):
    return {p.name: p.stat().st_mtime_ns for p in Path(store).glob("shard-*.h5")}


def test_cached_tracks_take_the_latest_manifest_without_recomputing(collection, tmp_path):
    store = tmp_path / "store"
    rep = extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    assert rep.n_extracted == 6 and rep.n_metadata_changed == 0
    with FeatureStore(store) as fs:
        assert set(fs.raw_groups) == {None}
        X0, _ = fs.summary()
    shards = _shard_mtimes(store)

    # the manifest adds artists, a split, an extra column and relabels one track
    def change(header, body):
        body[0][1] = "other"
        return header + ["split", "mood"], [r + ["test" if i % 2 else "train", f"m{i}"] for i, r in enumerate(body)]
    _rewrite_manifest(collection / "manifest.csv", change)
    rep = extract(read_manifest(collection / "manifest.csv").tracks, store, SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached, rep.n_metadata_changed) == (0, 6, 6)
    assert "metadata of 6 cached tracks updated" in rep.line()
    assert _shard_mtimes(store) == shards  # no feature recomputed, no shard rewritten
    with FeatureStore(store) as fs:
        by_id = {r.id: r for r in fs.tracks}
        first = by_id["low/low.00000.wav"]
        assert first.label == "other" and first.group == "low-artist-0" and first.split == "train"
        assert first.meta == {"mood": "m0"}
        assert set(fs.splits) == {"train", "test"}
        assert {r.group for r in fs.tracks} == {f"{g}-artist-{i}" for g in ("low", "high") for i in (0, 1)}
        X1, _ = fs.summary()
    assert (X0 == X1).all()

    # the same manifest again: nothing changes; back to the bare folder: the label it gives wins,
    # and what it says nothing about (artists, splits, extra columns) is kept, not erased
    rep = extract(read_manifest(collection / "manifest.csv").tracks, store, SMALL, workers=1, progress=False)
    assert rep.n_metadata_changed == 0
    rep = extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    assert rep.n_metadata_changed == 1
    with FeatureStore(store) as fs:
        first = fs.track("low/low.00000.wav")
        assert first.label == "low" and first.group == "low-artist-0" and first.meta == {"mood": "m0"}
        assert set(fs.splits) == {"train", "test"} and None not in set(fs.raw_groups)
    rep = extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    assert rep.n_metadata_changed == 0


def test_metadata_fields_are_found_generically():
    fields = metadata_fields()
    assert {"path", "label", "group", "split", "meta"} <= set(fields)
    assert not {"id", "content_hash", "duration", "shard", "row"} & set(fields)


def test_an_update_for_another_config_agrees_with_new_rows(collection, tmp_path):
    """A track extracted anew under another config keeps the source's latest metadata."""
    store = tmp_path / "store"
    extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    extract(read_manifest(collection / "manifest.csv").tracks, store, SMALL, workers=1, progress=False)
    other = FeatureConfig(features=("rms",))
    _rewrite_manifest(collection / "manifest.csv", lambda h, b: (h, [[r[0], "x", r[2]] for r in b]))
    rep = extract(read_manifest(collection / "manifest.csv").tracks, store, other, workers=1, progress=False)
    assert rep.n_extracted == 6
    with FeatureStore(store) as fs:
        assert set(fs.labels) == {"x"}
    with FeatureStore(store, config_hash=SMALL.hash()) as fs:  # the other config's rows follow too
        assert set(fs.labels) == {"x"}
    assert json.loads((store / "metadata.json").read_text())["version"] == 1


def test_a_manifest_in_the_audio_folder_is_used(collection, tmp_path, capsys):
    scan = load_source(collection)
    assert {t.group for t in scan.tracks} == {"low-artist-0", "low-artist-1", "high-artist-0", "high-artist-1"}
    assert scan.skipped == [] and "using the manifest" in scan.notes[0]
    bare = load_source(collection, find_manifest=False)
    assert {t.group for t in bare.tracks} == {None} and bare.skipped == ["manifest.csv"]

    assert main(["extract", str(collection), "--store", str(tmp_path / "s"), "--features", "rms",
                 "--workers", "1", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "note: using the manifest" in err and "--no-manifest" in err and "non-audio" not in err
    with FeatureStore(tmp_path / "s") as fs:
        assert None not in set(fs.raw_groups)


def test_a_manifest_that_lists_part_of_the_folder_is_suggested(collection):
    _rewrite_manifest(collection / "manifest.csv", lambda h, b: (h, b[:2]))
    (collection / "notes.csv").write_text("a,b\n1,2\n")  # no path column: not a manifest
    scan = load_source(collection)
    assert {t.group for t in scan.tracks} == {None}
    assert len(scan.notes) == 1
    assert "lists 2 of the 6 audio files" in scan.notes[0] and "--manifest" in scan.notes[0]


@pytest.mark.slow
@pytest.mark.skipif(not (GTZAN_MINI / "tracks.csv").exists(), reason="../shared/data/gtzan-mini not present")
def test_gtzan_mini_gets_its_artists_on_a_second_run(tmp_path, capsys):
    store = str(tmp_path / "store")
    base = ["extract", str(GTZAN_MINI), "--store", store, "--duration", "1", "--features", "mfcc,rms",
            "--workers", "2", "--no-progress"]
    assert main(base + ["--no-manifest"]) == 0
    assert "skipped 1 non-audio files" in capsys.readouterr().err
    with FeatureStore(store) as fs:
        assert set(fs.raw_groups) == {None} and len(fs) == 50
    assert main(base) == 0
    out = capsys.readouterr()
    assert "0 extracted, 50 skipped as cached" in out.out and "metadata of 50 cached tracks updated" in out.out
    with FeatureStore(store) as fs:
        artists = {r.group for r in fs.tracks if r.group}
        assert len(artists) > 10 and all("title" in r.meta for r in fs.tracks)
    assert main(["info", store]) == 0
    assert "groups     none known" not in capsys.readouterr().out
