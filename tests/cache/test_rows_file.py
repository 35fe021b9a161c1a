"""The rows file (``rows-<config>.h5``): opening a store reads it instead of every shard, and
it is never trusted beyond the shards it was made from (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.cache import FeatureStore
from genrekit.cache.rows import rows_path
from tests.conftest import make_synthetic_store


@pytest.fixture
def store(tmp_path):
    return make_synthetic_store(tmp_path / "store", n_per_class=4, n_classes=2, shard_size=3)


def _snapshot(fs):
    X, names = fs.summary()
    return [r for r in fs.tracks], fs.failures, X, names


def _from_shards(store):
    """What the store says when read shard by shard (no rows file, and none written)."""
    fs = FeatureStore.__new__(FeatureStore)
    import genrekit.cache.rows as rows

    orig = rows.write
    rows.write = lambda *a, **k: False
    try:
        for p in store.glob("rows-*.h5"):
            p.unlink()
        fs.__init__(store)
    finally:
        rows.write = orig
    return fs


def test_the_rows_file_gives_what_the_shards_give(store):
    ref = _from_shards(store)
    assert not ref._rows_current
    tracks, fails, X, names = _snapshot(ref)
    first = FeatureStore(store)  # writes the rows file
    assert first._rows_current and rows_path(store, first.config_hash).exists()
    second = FeatureStore(store)  # reads it
    assert second._rows_current
    for fs in (first, second):
        t2, f2, X2, n2 = _snapshot(fs)
        assert t2 == tracks and [r.shard for r in t2] == [r.shard for r in tracks]
        assert [r.row for r in t2] == [r.row for r in tracks] and [r.meta for r in t2] == [r.meta for r in tracks]
        assert f2 == fails and n2 == names and np.array_equal(X2, X)
        assert np.array_equal(fs.summary(["mfcc"])[0], ref.summary(["mfcc"])[0])
        blocks = [x for _, x in fs.iter_summary(block_rows=3)]
        assert np.array_equal(np.concatenate(blocks), X)
        some = tracks[3].id
        assert all(np.array_equal(fs.frames(some)[k], ref.frames(some)[k]) for k in ref.frame_features)


def test_a_changed_or_removed_shard_is_never_hidden_by_the_rows_file(store):
    FeatureStore(store)
    shards = sorted(store.glob("shard-*.h5"))
    shards[-1].unlink()  # gone: the rows file no longer matches; rebuilt from what is left
    fs = FeatureStore(store)
    assert len(fs) == len(_from_shards(store)) < 8
    FeatureStore(store)
    data = shards[0].read_bytes()
    shards[0].write_bytes(data[: len(data) // 2])  # truncated: opening reads the shard and says so
    from genrekit.errors import StoreError

    with pytest.raises(StoreError, match="verify --repair"):
        FeatureStore(store)


def test_an_unreadable_rows_file_is_rebuilt(store):
    X = FeatureStore(store).summary()[0]
    path = next(store.glob("rows-*.h5"))
    path.write_bytes(b"not hdf5")
    fs = FeatureStore(store)
    assert fs._rows_current and np.array_equal(fs.summary()[0], X)


def test_summary_of_chosen_ids_in_any_order_comes_from_the_rows_file_unchanged(store):
    ref = _from_shards(store)
    fs = FeatureStore(store)
    ids = list(ref.ids)[::-1][:5] + list(ref.ids)[:2]
    got = np.concatenate([x for _, x in fs.iter_summary(ids=ids, block_rows=4)])
    want = np.concatenate([x for _, x in ref.iter_summary(ids=ids, block_rows=4)])
    assert fs._rows_current and np.array_equal(got, want)
    assert np.array_equal(np.concatenate([x for _, x in fs.iter_summary(["mfcc"], ids=ids)]),
                          np.concatenate([x for _, x in ref.iter_summary(["mfcc"], ids=ids)]))


def test_rows_follow_the_fields_of_the_row_class_not_a_list_of_names():
    """A field added to TrackRow (e.g. ``tags``) flows from a column named after it, or
    ``<field>_json``; a field no column feeds gets its default (a fresh one per row)."""
    from dataclasses import dataclass, field

    from genrekit.cache.rows import make_rows

    @dataclass(frozen=True)
    class Row:
        id: str
        label: str | None
        tags: list = field(default_factory=list)
        extra: dict = field(default_factory=dict)
        n_frames: int = 0
        shard: str = ""
        row: int = -1

    cols = {"id": ["a", "b"], "label": ["x", ""], "tags_json": ['["rock", "live"]', ""],
            "n_frames": np.array([3, 4], np.int64)}
    a, b = make_rows(Row, cols, ["s0", "s1"], np.array([1, 0]), np.array([0, 7]))
    assert a == Row("a", "x", ["rock", "live"], {}, 3, "s1", 0) and b == Row("b", None, [], {}, 4, "s0", 7)
    assert a.extra is not b.extra and type(a.n_frames) is int
