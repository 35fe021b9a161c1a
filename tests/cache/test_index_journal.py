"""A large index is kept up to date by appending to ``index.journal`` instead of rewriting
index.json on every merge (issue 16); readers replay it, and a reader that knows no journal
still gets every shard (from the shards themselves)."""

from __future__ import annotations

import json

import pytest

import genrekit.cache.index as idx
from genrekit.cache import FeatureStore, load_index, write_index
from genrekit.cache.verify import verify_store
from tests.conftest import make_synthetic_store


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "JOURNAL_FROM_BYTES", 1)  # every index counts as large
    return make_synthetic_store(tmp_path / "store", n_per_class=3, n_classes=2, shard_size=2)


def _drop_and_add_back(store):
    index, _ = load_index(store)
    names = list(index["shards"])
    gone = index["shards"].pop(names[0])
    write_index(store, index)          # appended: {"drop": ...}
    index["shards"][names[0]] = gone
    write_index(store, index)          # appended: {"add": ...}
    return names


def test_changes_are_appended_and_replayed(store):
    base = (store / "index.json").read_bytes()
    names = _drop_and_add_back(store)
    assert (store / "index.json").read_bytes() == base  # not rewritten
    lines = [json.loads(x) for x in (store / "index.journal").read_text().splitlines()]
    assert lines[0] == {"drop": names[0]} and lines[1]["add"] == names[0]
    index, changed = load_index(store)
    assert not changed and list(index["shards"]) == names
    assert verify_store(store).ok
    assert len(FeatureStore(store)) == 6


def test_a_torn_last_line_is_ignored_and_the_shards_settle_it(store):
    index, _ = load_index(store)
    victim = list(index["shards"])[-1]
    del index["shards"][victim]
    write_index(store, index)  # the journal now drops it …
    with open(store / "index.journal", "ab") as f:
        f.write(b'{"add": "shard-x", "entr')  # … and a kill tore the next line
    index, changed = load_index(store)
    assert changed and victim in index["shards"]  # on disk: read back from the shard
    write_index(store, index)
    assert load_index(store)[0]["shards"].keys() == index["shards"].keys()


def test_a_reader_without_the_journal_still_sees_every_shard(store):
    index, _ = load_index(store)
    victim = list(index["shards"])[0]
    entry = index["shards"].pop(victim)
    write_index(store, index)  # journal: drop
    index["shards"][victim] = entry
    write_index(store, index)  # journal: add
    (store / "index.journal").unlink()  # what an older genrekit sees: index.json alone
    index, _ = load_index(store)
    assert victim in index["shards"] and len(FeatureStore(store)) == 6


def test_the_journal_is_folded_into_index_json_once_as_large(store):
    index, _ = load_index(store)
    names = list(index["shards"])
    for _ in range(200):  # the journal outgrows index.json: rewritten whole, journal removed
        e = index["shards"].pop(names[0])
        write_index(store, index)
        index["shards"][names[0]] = e
        write_index(store, index)
    assert (store / "index.journal").stat().st_size < (store / "index.json").stat().st_size
    assert sorted(json.loads((store / "index.json").read_text())["shards"]) != [] and verify_store(store).ok


def test_a_changed_config_or_an_index_rewritten_elsewhere_rewrites_it_whole(store):
    index, _ = load_index(store)
    index["configs"]["other"] = "{}"
    write_index(store, index)
    assert not (store / "index.journal").exists()
    assert "other" in json.loads((store / "index.json").read_text())["configs"]
    idx._ON_DISK.clear()  # another process wrote it: unknown here
    index["shards"].pop(next(iter(index["shards"])))
    write_index(store, index)
    assert not (store / "index.journal").exists()
