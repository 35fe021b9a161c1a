"""`extract --backend dask` on a real LocalCluster: 2 worker processes on loopback."""

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")  # a dependency of distributed

from genrekit.cache import FeatureStore, load_index  # noqa: E402
from genrekit.cli import main  # noqa: E402
from genrekit.errors import ParameterError, StoreError  # noqa: E402
from genrekit.features import FeatureConfig  # noqa: E402
from genrekit.pipeline.extraction.plan import plan  # noqa: E402
from genrekit.pipeline.extraction.run import extract  # noqa: E402
from genrekit.pipeline.extraction.sources import scan_folder  # noqa: E402
from tests.audio_helpers import write_collection  # noqa: E402

FEATURES = "mfcc,chroma,rms,tempo"
CONFIG = FeatureConfig(features=tuple(FEATURES.split(",")))
N_GOOD = 24


def _wait_for(pred, timeout=60.0, every=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(every)
    return False


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    root = write_collection(tmp_path_factory.mktemp("audio"), n_per_label=N_GOOD // 2, labels=("a", "b"),
                            seconds=4.0)
    (root / "a" / "empty.wav").write_bytes(b"")  # one failure record, stored like a track
    return root


def tracks(audio):
    return scan_folder(audio).tracks


@pytest.fixture(scope="module")
def reference(audio, tmp_path_factory):
    """The local backend's store of the same files and config."""
    store = tmp_path_factory.mktemp("local") / "store"
    rep = extract(tracks(audio), store, CONFIG, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_failed) == (N_GOOD, 1)
    return store


def assert_same_store(store, reference):
    """Track for track and value for value; each file once; nothing temporary left indexed."""
    a, b = FeatureStore(store), FeatureStore(reference)
    strip = dict(shard="", row=-1)
    assert [dataclasses.replace(r, **strip) for r in a.tracks] == [dataclasses.replace(r, **strip) for r in b.tracks]
    assert [r.meta for r in a.tracks] == [r.meta for r in b.tracks]
    assert [dataclasses.replace(f, shard="") for f in a.failures] == [dataclasses.replace(f, shard="") for f in b.failures]
    xa, na = a.summary()
    xb, nb = b.summary()
    assert na == nb
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(a.track_features("tempo"), b.track_features("tempo"))
    for r in a.tracks:
        fa, fb = a.frames(r.id), b.frames(r.id)
        assert fa.keys() == fb.keys()
        for k in fa:
            np.testing.assert_array_equal(fa[k], fb[k])
    index, _ = load_index(store)
    held = [i for e in index["shards"].values() for i in (*e["ids"], *e["failure_ids"])]
    assert len(held) == len(set(held)) == N_GOOD + 1, "a file stored twice or not at all"


# ------------------------------------------------------------------------------------ results
@pytest.mark.slow
def test_dask_store_equals_local_store_and_reruns_skip_across_backends(audio, reference, client, tmp_path):
    store = tmp_path / "store"
    rep = extract(tracks(audio), store, CONFIG, executor="dask", scheduler=client, batch_size=4, progress=False)
    assert (rep.n_extracted, rep.n_cached, rep.n_failed) == (N_GOOD, 0, 1)
    assert rep.shards_written == len(load_index(store)[0]["shards"]) == 7   # 25 files in batches of 4
    assert "empty" in rep.failures[0].message
    assert_same_store(store, reference)
    assert not list(store.glob("*.tmp")) and not list(store.glob(".*.tmp"))
    # a rerun skips everything whichever backend made the store
    rep = extract(tracks(audio), store, CONFIG, executor="dask", scheduler=client, progress=False)
    assert (rep.n_extracted, rep.n_cached, rep.n_failed_cached) == (0, N_GOOD, 1)
    rep = extract(tracks(audio), reference, CONFIG, executor="dask", scheduler=client, progress=False)
    assert (rep.n_extracted, rep.n_cached, rep.n_failed_cached) == (0, N_GOOD, 1)
    rep = extract(tracks(audio), store, CONFIG, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached, rep.n_failed_cached) == (0, N_GOOD, 1)


def _holds_shard_open(pid, store):
    try:
        return any(f.path.startswith(str(store)) and f.path.endswith(".h5.tmp")
                   for f in psutil.Process(pid).open_files())
    except psutil.Error:
        return False


@pytest.mark.slow
def test_worker_killed_mid_batch_costs_only_its_batch(audio, reference, client, tmp_path):
    store = tmp_path / "store"
    victim = sorted(client.run(os.getpid).values())[0]
    out = {}

    def run():
        try:
            out["report"] = extract(tracks(audio), store, CONFIG, executor="dask", scheduler=client, batch_size=2,
                                    progress=False)
        except BaseException as e:  # pragma: no cover - shown by the assertion below
            out["error"] = e

    th = threading.Thread(target=run)
    th.start()
    try:
        assert _wait_for(lambda: _holds_shard_open(victim, store) or not th.is_alive()), "worker never wrote"
        assert th.is_alive(), "the run ended before the worker could be killed"
        os.kill(victim, signal.SIGKILL)  # in the middle of writing its batch's shard
    finally:
        th.join(120)
    assert "error" not in out, out.get("error")
    rep = out["report"]
    assert (rep.n_extracted, rep.n_failed) == (N_GOOD, 1)
    assert list(store.glob("shard-*.h5.tmp")), "the killed worker's unfinished shard should be left behind"
    assert_same_store(store, reference)
    # the next run removes the orphan and has nothing to do
    rep = extract(tracks(audio), store, CONFIG, executor="dask", scheduler=client, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (0, N_GOOD)
    assert not list(store.glob("*.tmp"))
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def _extract_cmd(audio, store):
    return [sys.executable, "-m", "genrekit", "extract", str(audio), "--store", str(store), "--backend", "dask",
            "--workers", "2", "--batch-size", "2", "--features", FEATURES, "--no-progress"]


@pytest.mark.slow
def test_killed_client_leaves_finished_shards_and_the_rerun_resumes(audio, reference, client, tmp_path):
    store = tmp_path / "store"
    # The client, its local cluster's nannies and workers: one process group, all SIGKILLed.
    proc = subprocess.Popen(_extract_cmd(audio, store), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: any(store.glob("shard-*.h5")) or proc.poll() is not None, timeout=90)
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert _wait_for(lambda: not _group_alive(proc.pid), timeout=10), "cluster processes outlived the kill"
    finished = sorted(p.name for p in store.glob("shard-*.h5"))
    # every finished shard counts, whether or not the client lived to write it into index.json
    index, _ = load_index(store)
    assert set(finished) <= set(index["shards"])
    done = {i for n in finished for i in (*index["shards"][n]["ids"], *index["shards"][n]["failure_ids"])}
    assert 0 < len(done) < N_GOOD + 1
    rep = extract(tracks(audio), store, CONFIG, executor="dask", scheduler=client.scheduler.address, batch_size=4,
                  progress=False)
    n_done_ok = len(done - {"a/empty.wav"})
    assert (rep.n_extracted, rep.n_cached) == (N_GOOD - n_done_ok, n_done_ok)
    assert not list(store.glob("*.tmp")), "temporary files of the killed run left behind"
    assert_same_store(store, reference)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.mark.slow
def test_relative_paths_mean_what_they_mean_to_the_client(audio, reference, client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the workers' working directory is another one
    assert set(client.run(os.getcwd).values()) != {str(tmp_path)}
    rel = scan_folder(os.path.relpath(audio, tmp_path)).tracks
    assert not os.path.isabs(rel[0].path)
    rep = extract(rel, "store", CONFIG, executor="dask", scheduler=client, progress=False)
    assert (rep.n_extracted, rep.n_failed) == (N_GOOD, 1)
    # the paths are stored absolute, as the local backend stores them; the values are the same
    assert sorted(r.path for r in FeatureStore("store").tracks) == sorted(
        os.path.abspath(t.path) for t in rel if "empty" not in t.id)
    np.testing.assert_array_equal(FeatureStore("store").summary()[0], FeatureStore(reference).summary()[0])


# ------------------------------------------------------------------------------------ shared storage
@pytest.mark.slow
@pytest.mark.parametrize("worker_has_a_store_dir", [False, True], ids=["missing-there", "other-dir-there"])
def test_worker_that_does_not_share_the_store_is_named(worker_has_a_store_dir, audio, client, tmp_path, monkeypatch):
    # /proc/self/cwd/store names a different directory in every process whose working directory
    # differs: the same path meaning different storage, as on machines without a shared mount.
    here, there = tmp_path / "client", tmp_path / "worker"
    here.mkdir()
    there.mkdir()
    if worker_has_a_store_dir:
        (there / "store").mkdir()
    monkeypatch.chdir(here)
    cwds = client.run(os.getcwd)
    client.run(os.chdir, str(there))
    try:
        with pytest.raises(StoreError) as e:
            extract(tracks(audio), "/proc/self/cwd/store", CONFIG, executor="dask", scheduler=client, progress=False)
    finally:
        for addr, cwd in cwds.items():
            client.run(os.chdir, cwd, workers=[addr])
    msg = str(e.value)
    assert "Dask worker tcp://127.0.0.1:" in msg and "/proc/self/cwd/store" in msg and "shared storage" in msg
    assert ("is not the client's" if worker_has_a_store_dir else "no such directory there") in msg
    assert "\n" not in msg
    # nothing was sent: no shard anywhere, the run's token file removed
    assert {p.name for p in (here / "store").iterdir()} <= {".lock", "index.json"}
    assert not (there / "store").exists() or not list((there / "store").iterdir())


@pytest.mark.slow
def test_a_redundant_shard_from_a_batch_computed_twice_is_dropped(audio, client, tmp_path):
    """A batch whose result died with its worker after the shard was renamed runs again; the
    client keeps one shard per file."""
    from genrekit.pipeline.extraction.dask_executor import extract_batch
    from genrekit.pipeline.extraction.merge import drop_redundant_shards

    store = tmp_path / "store"
    extract(tracks(audio), store, CONFIG, executor="dask", scheduler=client, batch_size=8, progress=False)
    index, _ = load_index(store)
    n_shards = len(index["shards"])
    # the first computation of a batch, whose result never reached the client
    tasks, *_ = plan(tracks(audio)[:8], {}, {}, retry_failed=True)
    twin = extract_batch(tasks, str(store), CONFIG.to_json())
    run_ids = {t.id for t in tracks(audio)}
    drop_redundant_shards(store, index, CONFIG.hash(), run_ids)
    (shard,) = twin.shards
    assert not (store / shard).exists() and len(index["shards"]) == n_shards
    # a shard holding anything else is kept and indexed, never lost
    twin = extract_batch(tasks, str(store), CONFIG.to_json())
    drop_redundant_shards(store, index, CONFIG.hash(), run_ids - {tasks[0]["id"]})
    (shard,) = twin.shards
    assert (store / shard).exists() and shard in index["shards"]


# ------------------------------------------------------------------------------------ CLI
@pytest.mark.slow
def test_cli_extract_on_a_running_scheduler(audio, reference, client, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENREKIT_PROGRESS", "bar")  # the bar a terminal shows (captured stderr is not one)
    store = tmp_path / "store"
    rc = main(["extract", str(audio), "--store", str(store), "--backend", "dask", "--scheduler",
               client.scheduler.address, "--batch-size", "5", "--features", FEATURES])
    out, err = capsys.readouterr()
    assert rc == 0 and f"{N_GOOD} extracted, 0 skipped as cached, 1 failed" in out
    assert "dask: 2 workers, dashboard http://127.0.0.1:" in err
    assert "25/25" in err  # the progress bar counts files
    assert len(load_index(store)[0]["shards"]) == 5
    assert_same_store(store, reference)


@pytest.mark.parametrize("args, match", [
    (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler tcp://127.0.0.1:8786 needs --backend dask"),
    (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:1"], "cannot connect to the Dask scheduler"),
])
def test_cli_cluster_errors_are_one_line(args, match, audio, tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        rc = main(["extract", str(audio), "--store", str(tmp_path / "s"), "--no-progress", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and match in err[-1] and err[-1].startswith("genrekit extract: error:")
    assert not any("Traceback" in line for line in err)


def test_cli_batch_size_must_be_positive(audio, capsys):
    with pytest.raises(SystemExit) as e:
        main(["extract", str(audio), "--backend", "dask", "--batch-size", "0"])
    assert e.value.code == 2 and "--batch-size" in capsys.readouterr().err


def test_without_distributed_the_error_says_how_to_install_it(audio, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    rc = main(["extract", str(audio), "--store", str(tmp_path / "s"), "--backend", "dask", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == (
        "genrekit extract: error: --backend dask needs Dask's distributed scheduler: "
        "pip install 'genrekit[distributed]'")
    assert not (tmp_path / "s").exists()
    with pytest.raises(ParameterError, match="genrekit\\[distributed\\]"):
        extract(tracks(audio), tmp_path / "s", CONFIG, executor="dask", progress=False)


# ------------------------------------------------------------------------------------ benchmark
@pytest.mark.slow
def test_cli_benchmark_on_dask_predicts_what_the_local_run_predicts(reference, client, tmp_path, capsys):
    pytest.importorskip("genrekit.pipeline.evaluation.runner")
    common = ["benchmark", "--store", str(reference), "--models", "svm,knn", "--no-progress"]
    assert main([*common, "--workers", "1", "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--backend", "dask", "--scheduler", client.scheduler.address, "--out", str(tmp_path / "dask")]) == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].endswith("on 2 workers")  # the cluster's threads
    assert (tmp_path / "dask" / "predictions.csv").read_text() == (tmp_path / "local" / "predictions.csv").read_text()
