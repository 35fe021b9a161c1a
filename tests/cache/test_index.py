"""``load_index``: index.json is a cache of what the shards hold, reconciled with the files on disk."""

from __future__ import annotations

import json

import pytest

from genrekit.cache import FeatureStore, load_index, write_index
from genrekit.errors import StoreError
from tests.conftest import make_synthetic_store


@pytest.fixture
def store(tmp_path):
    """3 shards of 2 tracks each (2 labels × 3 tracks), with a consistent index.json."""
    return make_synthetic_store(tmp_path / "store", n_per_class=3, n_classes=2, shard_size=2)


def _shards(store):
    return sorted(p.name for p in store.glob("shard-*.h5"))


def _written(store) -> dict:
    return json.loads((store / "index.json").read_text())


def test_a_consistent_index_is_taken_as_it_is(store):
    index, changed = load_index(store)
    assert not changed
    assert index == _written(store)
    assert list(index["shards"]) == _shards(store) and len(_shards(store)) == 3
    assert sum(len(e["ids"]) for e in index["shards"].values()) == 6
    assert all(e["sha256"] and e["size"] > 0 for e in index["shards"].values())


def test_a_shard_on_disk_but_not_in_the_index_is_read_from_the_shard(store):
    written = _written(store)
    victim = _shards(store)[1]
    kept = dict(written, shards={k: v for k, v in written["shards"].items() if k != victim})
    write_index(store, kept)
    index, changed = load_index(store)
    assert changed
    assert list(index["shards"]) == _shards(store)
    entry, original = index["shards"][victim], written["shards"][victim]
    for key in ("config_hash", "ids", "content_hashes", "failure_ids", "size"):
        assert entry[key] == original[key], key
    assert entry["sha256"] is None  # indexed after the fact: verify recomputes it
    # the other entries are untouched, checksums included
    assert all(index["shards"][k] == v for k, v in kept["shards"].items())


def test_the_config_of_an_unindexed_shard_is_learnt_from_it(store):
    written = _written(store)
    write_index(store, {"schema_version": 1, "shards": {}, "configs": {}, "current_config": None})
    index, changed = load_index(store)
    assert changed and index["configs"] == written["configs"]
    assert index["current_config"] == written["current_config"]
    assert list(index["shards"]) == _shards(store)


def test_an_index_entry_without_its_file_is_dropped(store):
    gone = _shards(store)[0]
    (store / gone).unlink()
    index, changed = load_index(store)
    assert changed
    assert gone not in index["shards"] and list(index["shards"]) == _shards(store)
    assert index["configs"] == _written(store)["configs"]  # the config stays known
    with FeatureStore(store) as fs:
        assert len(fs) == 4  # readers see the tracks of the shards that remain


@pytest.mark.parametrize("text", ["", "{", "not json", "[]", "null", "{}", '{"shards": []}',
                                  '{"schema_version": 1}'])
def test_a_corrupt_index_is_rebuilt_from_the_shards(store, text):
    written = _written(store)
    (store / "index.json").write_text(text)
    index, changed = load_index(store)
    assert changed
    assert list(index["shards"]) == _shards(store)
    assert {k: v["ids"] for k, v in index["shards"].items()} == {k: v["ids"] for k, v in written["shards"].items()}
    assert index["configs"] == written["configs"] and index["current_config"] == written["current_config"]
    assert "_corrupt" not in index


def test_a_missing_index_is_rebuilt_from_the_shards(store):
    (store / "index.json").unlink()
    index, changed = load_index(store)
    assert changed and list(index["shards"]) == _shards(store)


def test_an_unreadable_unindexed_shard_is_skipped_and_named(store):
    """A shard that cannot be read (here truncated) is left out and named; it is not deleted, and
    its error is not written into index.json (``genrekit verify`` reports it)."""
    written = _written(store)
    victim = _shards(store)[2]
    data = (store / victim).read_bytes()
    (store / victim).write_bytes(data[: len(data) // 3])
    write_index(store, dict(written, shards={k: v for k, v in written["shards"].items() if k != victim}))
    index, changed = load_index(store)
    assert not changed  # nothing it could add or remove
    assert victim not in index["shards"] and len(index["shards"]) == 2
    assert set(index["unreadable"]) == {victim} and index["unreadable"][victim]
    assert (store / victim).exists()
    write_index(store, index)
    assert "unreadable" not in _written(store)
    # a file of another kind under a shard's name is unreadable too
    (store / "shard-0-junk.h5").write_text("not hdf5")
    index, _ = load_index(store)
    assert set(index["unreadable"]) == {victim, "shard-0-junk.h5"}


def test_temporary_files_are_not_shards(store):
    (store / "shard-1-x.h5.tmp").write_bytes(b"in progress")
    (store / "index.json.123.tmp").write_text("{}")
    index, changed = load_index(store)
    assert not changed and list(index["shards"]) == _shards(store)


def test_another_schema_version_is_an_error_not_a_rebuild(store):
    written = _written(store)
    write_index(store, dict(written, schema_version=99))
    with pytest.raises(StoreError, match="schema version 99.*--store NEW_PATH"):
        load_index(store)


def test_an_unindexed_shard_of_another_schema_version_is_an_error(store):
    import h5py

    written = _written(store)
    victim = _shards(store)[0]
    with h5py.File(store / victim, "r+") as f:
        f.attrs["schema_version"] = 99
    write_index(store, dict(written, shards={k: v for k, v in written["shards"].items() if k != victim}))
    with pytest.raises(StoreError, match=f"{victim} has store schema version 99"):
        load_index(store)
