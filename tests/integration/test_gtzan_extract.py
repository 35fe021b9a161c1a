"""Extract the real GTZAN excerpts in ../shared/data/gtzan-mini (skips when absent)."""

from pathlib import Path

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.cli import main

GTZAN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gtzan-mini"

pytestmark = pytest.mark.skipif(not (GTZAN / "tracks.csv").exists(),
                                reason="real audio not available: ../shared/data/gtzan-mini is absent")


@pytest.mark.slow
def test_gtzan_mini_extracts_50_tracks_with_artists_as_groups(tmp_path, capsys):
    store = tmp_path / "store"
    rc = main(["extract", str(GTZAN), "--manifest", str(GTZAN / "tracks.csv"), "--store", str(store),
               "--workers", "2", "--no-progress"])
    assert rc == 0
    assert "50 extracted, 0 skipped as cached, 0 failed" in capsys.readouterr().out
    fs = FeatureStore(store)
    assert len(fs) == 50 and not fs.failures
    assert sorted(set(fs.labels)) == ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal",
                                      "pop", "reggae", "rock"]
    hooker = [r for r in fs.tracks if r.group == "John Lee Hooker"]
    assert {r.label for r in hooker} == {"blues"} and len(hooker) >= 2
    assert len({r.group for r in fs.tracks if r.group}) >= 10
    assert all(29 < r.duration < 31 for r in fs.tracks)
    X, names = fs.summary()
    assert X.shape == (50, len(names)) and np.isfinite(X).all()
    tempo = fs.track_features("tempo")[:, 0]
    assert ((tempo > 40) & (tempo < 250)).all()
    # a rerun redoes nothing
    assert main(["extract", str(GTZAN), "--manifest", str(GTZAN / "tracks.csv"), "--store", str(store),
                 "--no-progress"]) == 0
    assert "0 extracted, 50 skipped as cached" in capsys.readouterr().out
