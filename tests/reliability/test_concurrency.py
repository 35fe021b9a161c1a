"""Two writers never share a store; readers during an extract see only finished shards."""

import subprocess
import sys
import time

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.cache.verify import verify_store
from genrekit.errors import StoreError
from genrekit.cache.describe import describe_store
from tests.audio_helpers import write_collection
from tests.reliability import assert_stores_equal, extract_cmd, genrekit_cmd, one_line_error, run

N_TRACKS = 12


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return write_collection(tmp_path_factory.mktemp("audio"), n_per_label=N_TRACKS // 2, labels=("x", "y"),
                            seconds=3.0)


@pytest.fixture(scope="module")
def clean(audio, tmp_path_factory):
    store = tmp_path_factory.mktemp("clean") / "store"
    p = run(extract_cmd(audio, store))
    assert p.returncode == 0, p.stderr
    fs = FeatureStore(store)
    yield fs
    fs.close()


#: ``genrekit extract`` that takes at least 0.25 s per file, so that readers see it mid-run
#: however fast the machine (the features are the real ones).
PACED = r"""
import sys, time
import genrekit.pipeline.extraction.worker as ex

real = ex.extract_one

def paced(task, config):
    time.sleep(0.25)
    return real(task, config)

ex.extract_one = paced  # --workers 1 runs the tasks in this process
from genrekit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _start(audio, store):
    # shard size 1: a new finished shard after every file, so readers see many states
    cmd = extract_cmd(audio, store)
    cmd[cmd.index("--shard-size") + 1] = "1"
    return subprocess.Popen([sys.executable, "-c", PACED, *cmd[3:]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(pred, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if pred():
            return True
        time.sleep(0.005)
    return pred()


#: ``genrekit extract`` that, after its first file, waits for a file named GO to appear: it holds
#: the store's lock for as long as the test needs, however slow the machine.
HOLD = r"""
import os, sys, time
import genrekit.pipeline.extraction.worker as ex

go, argv = sys.argv[1], sys.argv[2:]
real, n = ex.extract_one, [0]

def held(task, config):
    n[0] += 1
    while n[0] > 1 and not os.path.exists(go):
        time.sleep(0.01)
    return real(task, config)

ex.extract_one = held  # --workers 1 runs the tasks in this process
from genrekit.cli import main
sys.exit(main(argv))
"""


@pytest.mark.slow
def test_second_extract_is_refused_naming_the_first(audio, clean, tmp_path):
    store, go = tmp_path / "store", tmp_path / "GO"
    cmd = extract_cmd(audio, store)
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(go), *cmd[3:]], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: any(store.glob("*.h5.tmp")), first), "first run never started writing"
        second = run(cmd, timeout=120)
        assert first.poll() is None
    finally:
        go.touch()
        out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    assert second.returncode == 2
    line = one_line_error(second.stderr)
    assert f"being written by pid {first.pid}" in line and "--store" in line
    # the refused run changed nothing: the store is exactly a clean run's
    assert_stores_equal(store, clean)
    assert verify_store(store).ok
    again = run(cmd)
    assert again.returncode == 0 and f"0 extracted, {N_TRACKS} skipped as cached" in again.stdout


@pytest.mark.slow
def test_readers_during_an_extract_see_only_finished_shards(audio, clean, tmp_path):
    store = tmp_path / "store"
    reference = {r.id: i for i, r in enumerate(clean.tracks)}
    X_ref = clean.summary()[0]
    writer = _start(audio, store)
    seen, reads, info_runs = [], 0, []
    try:
        while writer.poll() is None:
            try:
                with FeatureStore(store) as fs:
                    ids = [r.id for r in fs.tracks]
                    X, _ = fs.summary()
                    for r in fs.tracks[:2]:
                        assert fs.frames(r.id)["mfcc"].shape[0] == r.n_frames
                    text = describe_store(store)      # what `genrekit info` prints
            except StoreError as e:                  # before the first shard is finished
                assert "no finished shards" in str(e) or "no feature store" in str(e), e
                continue
            reads += 1
            assert set(ids) <= set(reference)
            np.testing.assert_array_equal(X, X_ref[[reference[i] for i in ids]])  # finished rows only
            n_info = int(text.split("tracks", 1)[1].split()[0])     # a later read: never fewer
            assert len(ids) <= n_info <= N_TRACKS
            assert not seen or len(ids) >= seen[-1], "a reader saw the store shrink"
            seen.append(len(ids))
            report = verify_store(store)              # read-only verify: the writer's temp files are
            assert report.ok, report.lines()          # "in progress", not orphans
            if len(info_runs) < 2 and 0 < len(ids) < N_TRACKS:   # `genrekit info` alongside
                info_runs.append(subprocess.Popen(genrekit_cmd("info", store), stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True))
    finally:
        out, err = writer.communicate(timeout=180)
    assert writer.returncode == 0, err
    assert any(0 < n < N_TRACKS for n in seen), f"no intermediate state observed: {seen}"
    assert info_runs
    for p in info_runs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "Traceback" not in err, err
    assert_stores_equal(store, clean)
