"""Crashes at the worst moments, and a full disk: finished work survives, the next run completes the store.

SIGKILL points are injected deterministically: the extract runs in a child interpreter whose
store functions are wrapped to SIGKILL the process at one exact step (in the middle of an HDF5
write, after fsync but before the rename, after the rename but before the index is written,
between writing the new index and replacing the old one). Two more runs with two workers are
killed at seeded random moments. ``tests/pipeline/test_resume.py`` kills at four more points by
watching the store from outside. After each kill the next plain run must complete the store, and
the result must equal a store made in one clean run, track for track and value for value.

A full disk is simulated in-process: the writer's HDF5 append, its close, or the index write
raises ENOSPC the way the OS and h5py report it.
"""

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genrekit.cache import FeatureStore, ShardWriter, StoreLock, load_index
from genrekit.cache.verify import verify_store
from genrekit.cli import main
from genrekit.errors import StoreError
from genrekit.features import FeatureConfig, parse_feature_list
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import write_collection
from tests.reliability import FEATURES, assert_stores_equal, extract_cmd, one_line_error, run

N_TRACKS = 8
CONFIG = FeatureConfig(features=parse_feature_list(FEATURES))


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return write_collection(tmp_path_factory.mktemp("audio"), n_per_label=N_TRACKS // 2, labels=("a", "b"),
                            seconds=2.0)


@pytest.fixture(scope="module")
def clean(audio, tmp_path_factory):
    store = tmp_path_factory.mktemp("clean") / "store"
    p = run(extract_cmd(audio, store))
    assert p.returncode == 0, p.stderr
    fs = FeatureStore(store)
    yield fs
    fs.close()


# --------------------------------------------------------------------------- deterministic SIGKILLs
#: Runs ``genrekit extract`` with one store step wrapped to SIGKILL the process there.
DRIVER = r"""
import os, signal, sys
import genrekit.cache.shards as st
import genrekit.pipeline.extraction.run as ex

point, argv = sys.argv[1], sys.argv[2:]
store = argv[argv.index("--store") + 1]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def shards_on_disk():
    return len([n for n in os.listdir(store) if n.startswith("shard-") and n.endswith(".h5")])

real_append, real_replace = st.ShardWriter._append, os.replace

def append(ds, values):
    # writing the second shard: its tracks/* rows are in the file, its frames not yet
    if point == "mid-hdf5-write" and ds.name.startswith("/frames/") and shards_on_disk() == 1:
        die()
    return real_append(ds, values)

def replace(src, dst):
    src = os.fspath(src)
    if point == "after-fsync-before-rename" and src.endswith(".h5.tmp") and shards_on_disk() == 1:
        die()  # shard 2 is complete and fsynced under its temporary name
    if point == "index-written-not-replaced" and "index.json." in src and shards_on_disk() >= 1:
        die()  # the new index is written in full beside the old one, which still holds
    real_replace(src, dst)
    if point == "after-rename-before-index" and src.endswith(".h5.tmp") and shards_on_disk() == 2:
        die()  # shard 2 is renamed into place; the index does not list it yet

st.ShardWriter._append = staticmethod(append)
os.replace = replace

from genrekit.cli import main
sys.exit(main(argv))
"""

#: kill point -> (shards finished when it dies (None: depends on when the index is written),
#: what `verify` must report before the rerun, what it may report besides). The index is
#: rewritten every few seconds, so finished shards it does not list yet are expected after a kill.
POINTS = {
    "mid-hdf5-write": (1, {"orphan_tmp"}, {"unindexed_shard"}),
    "after-fsync-before-rename": (1, {"orphan_tmp"}, {"unindexed_shard"}),
    "after-rename-before-index": (2, {"unindexed_shard"}, set()),
    "index-written-not-replaced": (None, {"orphan_tmp", "unindexed_shard"}, set()),
}


def _rerun_completes(audio, store, clean, done_before, capsys):
    """The next plain run (in this process: the same code, without another interpreter start)."""
    capsys.readouterr()
    assert main(extract_cmd(audio, store)[3:]) == 0
    out = capsys.readouterr().out
    assert f"{N_TRACKS - done_before} extracted, {done_before} skipped as cached, 0 failed" in out
    assert not list(Path(store).glob("*.tmp")), "temporary file left behind"
    assert_stores_equal(store, clean)
    assert verify_store(store).ok


@pytest.mark.slow
@pytest.mark.parametrize("point", list(POINTS))
def test_sigkill_at_an_exact_step_then_rerun_equals_a_clean_run(point, audio, clean, tmp_path, capsys):
    store = tmp_path / "store"
    p = run([sys.executable, "-c", DRIVER, point, *extract_cmd(audio, store)[3:]])
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stderr[-2000:])
    n_shards, must, may = POINTS[point]
    on_disk = len(list(store.glob("shard-*.h5")))
    assert on_disk == n_shards or n_shards is None and 1 <= on_disk <= N_TRACKS // 2
    kinds = {q.kind for q in verify_store(store).problems}
    assert must <= kinds <= must | may, kinds
    # every finished shard is intact and readable, even before the rerun
    with FeatureStore(store) as fs:
        assert len(fs) == 2 * on_disk
    _rerun_completes(audio, store, clean, 2 * on_disk, capsys)


#: Runs ``genrekit extract`` with every file taking at least 0.3 s (batches stay in flight), with
#: Ctrl-C handled as in a terminal even when the tests run with SIGINT ignored (nohup, a background
#: job without job control: the child would inherit SIG_IGN and Python would keep it).
SLOW_DRIVER = r"""
import signal
import sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import genrekit.pipeline.extraction.worker as ex
from tests.pipeline.killer import extract_one_slowly

ex.extract_one = extract_one_slowly
from genrekit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_a_random_moment_with_two_workers(seed, audio, clean, tmp_path, capsys):
    """Every file takes at least 0.3 s (SLOW_DRIVER), so the 8 files keep 2 workers busy for 1.2 s
    or more after the first shard opens: a kill 0-0.6 s later lands while the run is working, and
    the test proves it did (the process died of SIGKILL, the store was incomplete)."""
    store = tmp_path / "store"
    args = [c if c != "1" else "2" for c in extract_cmd(audio, store)[3:]]  # --workers 2
    proc = subprocess.Popen([sys.executable, "-c", SLOW_DRIVER, *args], cwd=Path(__file__).parents[2],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # wait until a shard is being written, then kill after a seeded random delay
    end = time.monotonic() + 60
    while not list(store.glob("*.h5.tmp")) and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.005)
    time.sleep(random.Random(seed).uniform(0.0, 0.6))
    os.killpg(proc.pid, signal.SIGKILL)  # the workers too
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill (exit {proc.returncode}): {err}"
    index, _ = load_index(store)
    done_before = sum(len(e["ids"]) for e in index["shards"].values())
    assert done_before < N_TRACKS, "the kill landed after every track was stored"
    _rerun_completes(audio, store, clean, done_before, capsys)


@pytest.mark.slow
def test_ctrl_c_with_two_workers_keeps_finished_shards_without_a_traceback(audio, clean, tmp_path, capsys):
    store = tmp_path / "store"
    args = [c if c != "1" else "2" for c in extract_cmd(audio, store)[3:]]  # --workers 2
    proc = subprocess.Popen([sys.executable, "-c", SLOW_DRIVER, *args], cwd=Path(__file__).parents[2],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while not list(store.glob("shard-*.h5")) and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the workers get it too
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert out.startswith("interrupted: ") and "(finished shards kept; run again to resume)" in out
    done = int(out.split("interrupted: ")[1].split(" extracted")[0])
    assert 1 <= done < N_TRACKS
    index, _ = load_index(store)
    assert sum(len(e["ids"]) for e in index["shards"].values()) == done  # the index lists them
    _rerun_completes(audio, store, clean, done, capsys)


# --------------------------------------------------------------------------- a full disk
def _enospc_h5py_style():
    # how h5py reports a failed write: a RuntimeError whose text carries the errno
    return RuntimeError("Can't write data (file write failed: time = Mon Jan  1 00:00:00 2024\n, filename = "
                        "'shard.h5.tmp', file descriptor = 7, errno = 28, error message = 'No space left on "
                        "device', buf = 0x5601, total write size = 65536, bytes this sub-write = 65536, offset = 0)")


def _inject(monkeypatch, site):
    """Make the store writer fail with ENOSPC at ``site``, after the first shard is finished."""
    import genrekit.pipeline.extraction.merge as ex

    count = {"tracks": 0, "closes": 0, "closed": 0}
    real_add, real_append, real_close, real_wi = (ShardWriter.add_track, ShardWriter._append,
                                                  ShardWriter.close, ex.write_index)

    def add_track(self, *a, **k):
        count["tracks"] += 1
        if site == "add_track" and count["tracks"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_add(self, *a, **k)

    def append(ds, values):
        if site == "hdf5-write" and count["closed"] == 1 and ds.name.startswith("/frames/"):
            raise _enospc_h5py_style()
        return real_append(ds, values)

    def close(self):
        count["closes"] += 1
        if site == "close" and count["closes"] == 2:
            self._f.close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.tmp_path))
        entry = real_close(self)
        count["closed"] += 1
        return entry

    def write_index(store_dir, index):
        if site == "index" and index["shards"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_wi(store_dir, index)

    monkeypatch.setattr(ShardWriter, "add_track", add_track)
    monkeypatch.setattr(ShardWriter, "_append", staticmethod(append))
    monkeypatch.setattr(ShardWriter, "close", close)
    monkeypatch.setattr(ex, "write_index", write_index)
    monkeypatch.setattr(ex, "INDEX_WRITE_SECONDS", 0.0, raising=False)  # index after every shard


SITES = {"add_track": 1, "hdf5-write": 1, "close": 1, "index": 1}  # site -> shards kept


@pytest.mark.parametrize("site", list(SITES))
def test_disk_full_stops_cleanly_and_the_next_run_resumes(site, audio, clean, tmp_path, monkeypatch):
    store = tmp_path / "store"
    tracks = scan_folder(audio).tracks
    with monkeypatch.context() as m:
        _inject(m, site)
        with pytest.raises(StoreError) as e:
            extract(tracks, store, CONFIG, workers=1, shard_size=2, progress=False)
    msg = str(e.value)
    assert "disk full" in msg and "finished shards kept" in msg and "free space and run again" in msg
    assert not list(store.glob("*.tmp")), "the shard in progress must be removed"
    shards = list(store.glob("shard-*.h5"))
    assert len(shards) == SITES[site]
    kinds = {p.kind for p in verify_store(store).problems}
    assert kinds <= {"unindexed_shard"}  # finished shards intact (the index may lag one shard behind)
    StoreLock(store).acquire().release()  # the lock was released
    rep = extract(tracks, store, CONFIG, workers=1, shard_size=2, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (N_TRACKS - 2 * SITES[site], 2 * SITES[site])
    assert_stores_equal(store, clean)


def test_disk_full_in_the_cli_is_a_one_line_error_and_exit_code_2(audio, clean, tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    args = extract_cmd(audio, store)[3:]
    with monkeypatch.context() as m:
        _inject(m, "hdf5-write")
        assert main(args) == 2
    err = one_line_error(capsys.readouterr().err)
    assert err.startswith("genrekit extract: error: disk full") and "free space and run again" in err
    assert main(args) == 0
    assert f"{N_TRACKS - 2} extracted, 2 skipped as cached" in capsys.readouterr().out
    assert_stores_equal(store, clean)
