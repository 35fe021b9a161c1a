"""A real `genrekit extract` killed with SIGKILL resumes to the same store as one clean run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from genrekit.cache import FeatureStore, load_index
from tests.audio_helpers import write_collection

ARGS = ["--workers", "1", "--shard-size", "2", "--features", "mfcc,chroma,rms", "--no-progress"]


def _extract_cmd(audio, store):
    return [sys.executable, "-m", "genrekit", "extract", str(audio), "--store", str(store), *ARGS]


def _wait_for(pred, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return write_collection(tmp_path_factory.mktemp("audio"), n_per_label=6, labels=("a", "b"), seconds=3.0)


@pytest.fixture(scope="module")
def clean_store(audio, tmp_path_factory):
    store = tmp_path_factory.mktemp("clean") / "store"
    subprocess.run(_extract_cmd(audio, store), check=True, capture_output=True)
    return FeatureStore(store)


def _kill_when(audio, store, moment):
    """Start an extract, SIGKILL its whole process group at ``moment``; return shards seen then."""
    proc = subprocess.Popen(_extract_cmd(audio, store), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: moment(store) or proc.poll() is not None), "run never reached the moment"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return sorted(p.name for p in store.glob("shard-*.h5"))


def _shards(store):
    return len(list(store.glob("shard-*.h5")))


@pytest.mark.parametrize("moment", [
    pytest.param(lambda s: any(s.glob("*.tmp")), id="while-first-shard-written"),
    pytest.param(lambda s: _shards(s) >= 1, id="after-first-shard"),
    pytest.param(lambda s: _shards(s) >= 2 and any(s.glob("shard-*.h5.tmp")), id="mid-run-shard-in-progress"),
    pytest.param(lambda s: _shards(s) >= 4, id="late"),
])
@pytest.mark.slow
def test_sigkill_then_rerun_equals_a_clean_run(moment, audio, clean_store, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    before = _kill_when(audio, store, moment)
    # every shard that was finished when the process died is still there, intact
    index, _ = load_index(store)
    for name in before:
        assert name in index["shards"]
    done_before = sum(len(index["shards"][n]["ids"]) for n in before)
    assert done_before < 12
    out = subprocess.run(_extract_cmd(audio, store), check=True, capture_output=True, text=True).stdout
    assert f"{12 - done_before} extracted, {done_before} skipped as cached, 0 failed" in out
    assert not list(store.glob("*.tmp")), "temporary shard left behind"
    fs = FeatureStore(store)
    ids = [r.id for r in fs.tracks]
    assert ids == [r.id for r in clean_store.tracks]          # no track missing
    all_ids = [i for e in load_index(store)[0]["shards"].values() for i in e["ids"]]
    assert len(all_ids) == len(set(all_ids)) == 12           # none twice
    np.testing.assert_array_equal(fs.summary()[0], clean_store.summary()[0])
    for r in fs.tracks:
        a, b = fs.frames(r.id), clean_store.frames(r.id)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
