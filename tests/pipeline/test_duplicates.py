"""Near-duplicate detection on generated audio: copies re-encoded, gain-changed, resampled, offset
excerpts of one long synthetic recording are grouped; other songs of the same synthetic artist are not."""

from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pytest
import soundfile as sf
import soxr

from genrekit.cache.store import FeatureStore
from genrekit.cli import main
from genrekit.errors import StoreError
from genrekit.features.config import FeatureConfig
from genrekit.features.fingerprint import FRAMES_PER_SECOND, fingerprint
from genrekit.pipeline.datasets.synth import synth_clip
from genrekit.pipeline.duplicates.find import find_duplicates
from genrekit.pipeline.duplicates.groups import components, merge_groups
from genrekit.pipeline.duplicates.index import MIN_SCORE, FingerprintIndex
from genrekit.pipeline.extraction import worker
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import read_manifest

SR = 22050
CHEAP = FeatureConfig(features=("rms",))  # extraction's features do not matter here: only its fingerprints
EXCERPT_START = 9.507  # seconds: off every frame grid; overlaps the original by 10.5 s


def _mp3_64k(y: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    sf.write(buf, y, SR, format="MP3", compression_level=0.6, bitrate_mode="CONSTANT")  # ~64 kbit/s
    assert 56_000 <= buf.tell() * 8 / (len(y) / SR) <= 72_000
    buf.seek(0)
    return sf.read(buf, dtype="float32")[0]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """One 40-s recording of artist 0 as an original, copies and an excerpt; three other songs."""
    root = tmp_path_factory.mktemp("dups")
    long = synth_clip("rock", 0, 0, duration=40, sr=SR)
    orig = long[:20 * SR]
    a = int(round(EXCERPT_START * SR))
    files = {"orig.wav": (orig, SR), "gain.wav": (orig * 0.3, SR),
             "up44k.wav": (soxr.resample(orig, SR, 44100), 44100),
             "down16k.flac": (soxr.resample(orig, SR, 16000), 16000),
             "excerpt.wav": (long[a:a + 20 * SR], SR),
             "take1.wav": (synth_clip("rock", 0, 1, duration=20, sr=SR), SR),  # same artist, other songs
             "take2.wav": (synth_clip("rock", 0, 2, duration=20, sr=SR), SR),
             "other.wav": (synth_clip("jazz", 1, 0, duration=20, sr=SR), SR),
             "short.wav": (long[:SR // 4], SR)}
    for name, (y, sr) in files.items():
        sf.write(root / name, y, sr)
    sf.write(root / "lowrate.mp3", orig, SR, format="MP3", compression_level=0.6, bitrate_mode="CONSTANT")
    shutil.copyfile(root / "orig.wav", root / "copy.wav")
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "artist"])
        for p in sorted(root.glob("*.*")):
            if p.suffix != ".csv":
                w.writerow([p.name, "jazz" if p.stem == "other" else "rock", "b" if p.stem == "other" else "a"])
    return root


def _extract(root, store, **kw):
    return extract(read_manifest(root / "manifest.csv").tracks, store, CHEAP, workers=1, progress=False, **kw)


@pytest.fixture(scope="module")
def store(collection, tmp_path_factory):
    path = tmp_path_factory.mktemp("dstore") / "store"
    _extract(collection, path)
    return path


SAME = {"orig", "copy", "gain", "up44k", "down16k", "lowrate", "excerpt"}


def test_fingerprints_pair_one_recording_and_no_other_song():
    long = synth_clip("hiphop", 2, 0, duration=35, sr=SR)
    orig = long[:20 * SR]
    a = int(round(EXCERPT_START * SR))
    variants = [orig, orig * 0.3, soxr.resample(soxr.resample(orig, SR, 16000), 16000, SR), _mp3_64k(orig),
                long[a:a + 20 * SR]]
    others = [synth_clip("hiphop", 2, t, duration=20, sr=SR) for t in (1, 2)]
    index = FingerprintIndex([fingerprint(y, SR) for y in variants + others])
    found = {(m.a, m.b): m for m in index.matches()}
    for j in range(1, len(variants)):
        assert (0, j) in found and found[(0, j)].score >= MIN_SCORE
    assert not [p for p in found if max(p) >= len(variants)]  # the artist's other songs: never
    m = found[(0, 4)]  # the excerpt: what is at 9.5 s in the original is at 0 s in it
    assert m.offset / FRAMES_PER_SECOND == pytest.approx(-EXCERPT_START, abs=0.05)
    assert m.overlap / FRAMES_PER_SECOND == pytest.approx(20 - EXCERPT_START, abs=0.3)


def test_fingerprint_is_empty_for_silence_and_deterministic():
    h, t = fingerprint(np.zeros(SR * 5, np.float32), SR)
    assert h.size == 0 and t.size == 0
    y = synth_clip("techno", 0, 0, duration=5, sr=SR)
    h1, t1 = fingerprint(y, SR)
    h2, t2 = fingerprint(y, SR)
    assert h1.dtype == np.uint32 and t1.dtype == np.int32 and h1.size > 100
    assert np.array_equal(h1, h2) and np.array_equal(t1, t2) and np.all(np.diff(t1) >= 0)
    assert h1.max() < 1 << 21


def test_store_groups_the_copies(store):
    with FeatureStore(store) as fs:
        rep = find_duplicates(fs)
    assert len(rep.groups) == 1
    assert {rep.ids[i].rsplit(".", 1)[0] for i in rep.groups[0]} == SAME
    assert [rep.ids[i] for i in rep.too_short] == ["short.wav"]
    assert not rep.missing
    offsets = {rep.ids[i]: o for i, o in rep.group_offsets(rep.groups[0]).items()}
    assert offsets["excerpt.wav"] - offsets["orig.wav"] == pytest.approx(-EXCERPT_START, abs=0.05)
    assert offsets["copy.wav"] == pytest.approx(offsets["orig.wav"], abs=0.02)


def test_duplicates_command(store, capsys):
    assert main(["duplicates", str(store), "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1 duplicate group (7 tracks)")
    assert out[1].startswith("group 1: 7 tracks, score")
    assert any("excerpt.wav" in line and "-9.5" in line for line in out[2:9])
    assert "too short" in out[-1] and "short.wav" in out[-1]
    assert main(["duplicates", str(store), "--json"]) == 0
    assert '"offset_s"' in capsys.readouterr().out
    assert main(["duplicates", str(store), "--min-score", "2"]) == 2


def test_store_without_fingerprints_says_how_to_add_them(collection, tmp_path, monkeypatch, capsys):
    path = tmp_path / "old"
    args = worker.shard_writer_args
    with monkeypatch.context() as m:  # a store as a genrekit that did not fingerprint wrote it
        m.setattr(worker, "shard_writer_args", lambda c: {**args(c), "fingerprint_version": None})
        _extract(collection, path)
    with FeatureStore(path) as fs, pytest.raises(StoreError, match="--add-fingerprints"):
        find_duplicates(fs)
    assert main(["duplicates", str(path)]) == 2
    assert "extract AUDIO_DIR --store" in capsys.readouterr().err
    assert _extract(collection, path).n_extracted == 0  # a plain re-run keeps the store as it is
    report = _extract(collection, path, add_fingerprints=True)
    assert report.n_extracted == len(list(collection.glob("*.*"))) - 1
    with FeatureStore(path) as fs:
        assert len(find_duplicates(fs).groups) == 1


def test_union_find_groups():
    assert components(6, [(0, 1), (1, 2), (4, 5)]) == [[0, 1, 2], [4, 5]]
    merged, n = merge_groups(["a", "b", "c", "\x00track-3"], [(1, 3), (2, 0)])
    assert n == 2 and list(merged) == ["a", "b", "a", "b"]
    same, n = merge_groups(["a", "b"], [])
    assert n == 0 and list(same) == ["a", "b"]


def test_verify_checks_the_fingerprints(store, tmp_path):
    import h5py

    from genrekit.cache.verify import verify_store

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    assert verify_store(copy).ok
    shard = next(copy.glob("shard-*.h5"))
    with h5py.File(shard, "r+") as f:
        f["fingerprints/offsets"][-1] += 5
    report = verify_store(copy)
    assert not report.ok
    assert any("fingerprints/offsets" in line for line in report.lines())
