"""A FeatureStore sent to a worker process reads its shards from any working directory."""

from __future__ import annotations

import pickle

import numpy as np

from genrekit.cache import FeatureStore
from tests.conftest import make_synthetic_store


def test_a_store_opened_by_a_relative_path_unpickles_in_another_directory(tmp_path, monkeypatch):
    make_synthetic_store(tmp_path / "store")
    monkeypatch.chdir(tmp_path)
    fs = FeatureStore("store")
    first = fs.tracks[0].id
    expected = fs.frames(first, list(fs.frame_features[:1]))
    blob = pickle.dumps(fs)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as a reused worker process started in another directory
    copy = pickle.loads(blob)
    got = copy.frames(first, list(fs.frame_features[:1]))
    assert copy.path.is_absolute() and copy.path == (tmp_path / "store")
    for k, v in expected.items():
        np.testing.assert_array_equal(got[k], v)
    assert fs.path.as_posix() == "store"  # the user's own path is kept where it is shown
