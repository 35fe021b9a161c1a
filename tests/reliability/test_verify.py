"""`genrekit verify [STORE] [--repair]`: every kind of damage is reported; repair makes the next extract whole."""

import json
import shutil

import h5py
import numpy as np
import pytest

from genrekit.cache import FeatureStore, StoreLock, load_index
from genrekit.cache.verify import PROBLEM_KINDS, verify_store
from genrekit.cli import main
from genrekit.errors import StoreError
from genrekit.features import FeatureConfig, parse_feature_list
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import write_collection
from tests.reliability import FEATURES, assert_stores_equal, one_line_error

CONFIG = FeatureConfig(features=parse_feature_list(FEATURES))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp("verify")
    audio = write_collection(base / "audio", n_per_label=3, seconds=1.5)
    store = base / "store"
    extract(scan_folder(audio).tracks, store, CONFIG, workers=1, shard_size=2, progress=False)
    fs = FeatureStore(store)
    yield audio, store, fs
    fs.close()


@pytest.fixture
def store(made, tmp_path):
    """A fresh copy of the clean 3-shard store to damage."""
    dst = tmp_path / "store"
    shutil.copytree(made[1], dst)
    return dst


def _shards(store):
    return sorted(store.glob("shard-*.h5"))


def _kinds(report):
    return sorted(p.kind for p in report.problems)


def _repair_then_extract_completes(made, store, capsys, n_recomputed):
    audio, _, clean = made
    assert main(["verify", str(store), "--repair"]) == 0
    assert main(["verify", str(store)]) == 0
    capsys.readouterr()
    assert main(["extract", str(audio), "--store", str(store), "--workers", "1", "--features", FEATURES,
                 "--no-progress"]) == 0
    assert f"{n_recomputed} extracted, {6 - n_recomputed} skipped as cached, 0 failed" in capsys.readouterr().out
    assert_stores_equal(store, clean)
    assert verify_store(store).ok


def test_a_clean_store_verifies(store, capsys):
    r = verify_store(store)
    assert r.ok and (r.n_shards, r.n_rows, r.n_failure_rows) == (3, 6, 0)
    assert main(["verify", str(store)]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_truncated_shard(made, store, capsys):
    victim = _shards(store)[1]
    ids = load_index(store)[0]["shards"][victim.name]["ids"]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    r = verify_store(store)
    assert _kinds(r) == ["unreadable"] and r.problems[0].path == victim
    assert main(["verify", str(store)]) == 1
    out = capsys.readouterr().out
    assert "unreadable" in out and victim.name in out and "--repair" in out
    # readers refuse with a pointer to the fix instead of a traceback
    assert main(["info", str(store)]) == 2
    assert "genrekit verify --repair" in one_line_error(capsys.readouterr().err)
    r = verify_store(store, repair=True)
    assert r.ok and r.removed == [victim] and r.lost_ids == sorted(ids)
    assert not victim.exists()
    _repair_then_extract_completes(made, store, capsys, n_recomputed=2)


def test_flipped_bytes_fail_the_checksum(made, store, capsys):
    victim = _shards(store)[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x55
    victim.write_bytes(bytes(data))
    r = verify_store(store)
    assert "checksum" in _kinds(r) or "unreadable" in _kinds(r)
    assert {p.path for p in r.problems} == {victim}
    _repair_then_extract_completes(made, store, capsys, n_recomputed=2)


def test_orphan_temporary_files(made, store, capsys):
    (store / "shard-00000000000000000001-deadbeef.h5.tmp").write_bytes(b"\x89HDF partial")
    (store / "index.json.12345.tmp").write_text("{")
    r = verify_store(store)
    assert _kinds(r) == ["orphan_tmp", "orphan_tmp"]
    _repair_then_extract_completes(made, store, capsys, n_recomputed=0)
    assert not list(store.glob("*.tmp"))


def test_index_entry_without_shard_file(made, store, capsys):
    victim = _shards(store)[2]
    victim.unlink()
    r = verify_store(store)
    assert _kinds(r) == ["missing_shard"] and "2 tracks" in r.problems[0].detail
    r = verify_store(store, repair=True)
    assert r.ok and len(r.lost_ids) == 2
    assert victim.name not in json.loads((store / "index.json").read_text())["shards"]
    _repair_then_extract_completes(made, store, capsys, n_recomputed=2)


def test_shard_missing_from_the_index_is_indexed_again_with_its_checksum(made, store, capsys):
    index = json.loads((store / "index.json").read_text())
    victim = _shards(store)[1]
    del index["shards"][victim.name]
    (store / "index.json").write_text(json.dumps(index))
    assert _kinds(verify_store(store)) == ["unindexed_shard"]
    r = verify_store(store, repair=True)
    assert r.ok and r.removed == [] and r.lost_ids == []
    entry = json.loads((store / "index.json").read_text())["shards"][victim.name]
    assert entry["sha256"] and len(entry["ids"]) == 2
    _repair_then_extract_completes(made, store, capsys, n_recomputed=0)


def test_corrupt_index_is_rebuilt_from_the_shards(made, store, capsys):
    (store / "index.json").write_text('{"schema_version": 1, "shards": {"shard-')
    r = verify_store(store)
    assert _kinds(r) == ["index_corrupt", "unindexed_shard", "unindexed_shard", "unindexed_shard"]
    _repair_then_extract_completes(made, store, capsys, n_recomputed=0)
    assert FeatureStore(store).config == CONFIG


@pytest.mark.parametrize("damage, kind", [
    (lambda f: f["frames/offsets"].__setitem__(-1, 10**6), "structure"),
    (lambda f: f["tracks/n_frames"].__setitem__(0, 1), "structure"),
    (lambda f: f.__delitem__("summary/matrix"), "structure"),
    (lambda f: f["summary/matrix"].__setitem__((0, 3), np.nan), "nonfinite"),
    (lambda f: f["frames/mfcc"].__setitem__((5, 0), np.inf), "nonfinite"),
])
def test_structural_damage_and_non_finite_values(damage, kind, made, store, capsys):
    victim = _shards(store)[0]
    with h5py.File(victim, "a") as f:
        damage(f)
    r = verify_store(store)
    assert _kinds(r) == [kind], r.lines()
    assert kind in PROBLEM_KINDS
    _repair_then_extract_completes(made, store, capsys, n_recomputed=2)


def test_while_an_extract_holds_the_lock(store, capsys):
    tmp = store / "shard-00000000000000000009-cafe0000.h5.tmp"
    with StoreLock(store):
        tmp.write_bytes(b"in progress")
        r = verify_store(store)
        assert r.ok and r.in_progress == [tmp]       # a writer's temp file is not an orphan
        with pytest.raises(StoreError, match="being written by pid"):
            verify_store(store, repair=True)          # never two writers
        assert main(["verify", str(store), "--repair"]) == 2
        assert "being written by" in one_line_error(capsys.readouterr().err)
    assert _kinds(verify_store(store)) == ["orphan_tmp"]


def test_not_a_store(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    for target, words in ((tmp_path / "file", "is a file"), (tmp_path / "nope", "no feature store"),
                          (tmp_path / "empty", "holds no feature store")):
        assert main(["verify", str(target)]) == 2
        assert words in one_line_error(capsys.readouterr().err)
