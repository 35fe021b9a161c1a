"""What abuse of the outputs broke once: each case here failed before its fix.

Two benchmarks into one ``--out`` (they mixed their files and one run's results were lost), an
``--out`` re-used (stale figures), a full disk outside ``extract`` (a traceback, partial files,
the leaderboard lost), a read-only store (a traceback from the lock file), ``--seed`` out of
numpy's range and an ``--out`` that is a file (refused only after every fold ran).

A real full disk is a small tmpfs and a real read-only store a read-only bind mount: both need
root and the right to mount, and skip cleanly elsewhere. The same cases are also simulated
(ENOSPC raised where the file is written, file modes instead of a mount) so that every machine
runs them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import genrekit.pipeline.evaluation.runner as bm
from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.features import FeatureConfig, parse_feature_list
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import write_collection
from tests.reliability import FEATURES, as_another_user, one_line_error

CONFIG = FeatureConfig(features=parse_feature_list(FEATURES))
CLAIM = ".genrekit-benchmark.lock"
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A store of 8 labelled tracks and one complete run of it (with a saved model) to compare with."""
    base = tmp_path_factory.mktemp("outputs")
    audio = write_collection(base / "audio", n_per_label=4, seconds=1.5)
    store = base / "store"
    extract(scan_folder(audio).tracks, store, CONFIG, workers=1, shard_size=4, progress=False)
    reference = base / "reference"
    assert main(bench(store, reference, "--save-models")) == 0
    return audio, store, reference


def bench(store, out=None, *extra, models="logreg"):
    """``genrekit benchmark`` arguments of a quick run (one process, two folds)."""
    return ["benchmark", "--store", str(store), "--models", models, "--split", "kfold:2", "--workers", "1",
            "--no-progress", *(["--out", str(out)] if out is not None else []), *extra]


def files_in(folder) -> dict:
    """``relative path -> bytes`` of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def error_line(stderr: str) -> str:
    """The run's one error line: the last line of stderr, no traceback, no other error before it."""
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ": error: " in ln]
    assert errors == lines[-1:], stderr
    return lines[-1]


def exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's usage errors
        return e.code


@pytest.fixture
def fits(monkeypatch):
    """Counts the fits a benchmark starts (with --workers 1 they run in this process)."""
    calls = []
    real = bm.run_job

    def counting(job):
        calls.append(job["model"])
        return real(job)

    monkeypatch.setattr(bm, "run_job", counting)
    return calls


# ------------------------------------------------------------------------------ mounts (root only)
def _mount(*args):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs or a read-only bind mount needs root")
    p = subprocess.run(["mount", *args], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"mount is not permitted here: {p.stderr.strip()}")


def _umount(target):
    if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs, and ``fill(leave)``: a filler file takes all of its space but ``leave`` bytes."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(disk))

    def fill(leave: int):
        st = os.statvfs(disk)
        todo = st.f_bavail * st.f_frsize - leave // PAGE * PAGE
        with open(disk / "filler", "wb") as f:
            while todo > 0:
                todo -= f.write(b"\0" * min(todo, 1 << 16))
        st = os.statvfs(disk)
        assert st.f_bavail * st.f_frsize == leave // PAGE * PAGE

    try:
        yield disk, fill
    finally:
        _umount(disk)


@pytest.fixture
def read_only(tmp_path):
    """``read_only(src)``: a read-only bind mount of the folder ``src`` (a read-only file system)."""
    mounts = []

    def make(src):
        target = tmp_path / f"ro{len(mounts)}"
        target.mkdir()
        _mount("--bind", str(src), str(target))
        mounts.append(target)
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], capture_output=True).returncode:
            pytest.skip("a read-only remount is not permitted here")
        return target

    yield make
    for m in reversed(mounts):
        _umount(m)


# ================================================================== 5. two runs, one --out
#: Runs ``genrekit ARGS`` with every fit held until the file FLAG exists; touches STARTED at the first.
HELD = r"""
import os, sys, time
import genrekit.pipeline.evaluation.runner as bm

flag, started, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
real = bm.run_job

def held(job):
    open(started, "w").close()
    while not os.path.exists(flag):
        time.sleep(0.05)
    return real(job)

bm.run_job = held
from genrekit.cli import main
sys.exit(main(argv))
"""


@contextlib.contextmanager
def held_benchmark(tmp_path, argv):
    """A ``genrekit benchmark`` in another process, inside its first fit until ``release()`` is called."""
    flag, started = tmp_path / "go", tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", HELD, str(flag), str(started), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the held benchmark never started fitting"
            time.sleep(0.05)
        yield proc, lambda: flag.touch()
    finally:
        flag.touch()
        if proc.poll() is None:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_second_benchmark_into_an_out_in_use_is_refused_naming_the_first(made, tmp_path, fits, capsys):
    _, store, reference = made
    out = tmp_path / "shared"
    with held_benchmark(tmp_path, bench(store, out)) as (first, release):
        rc = main(bench(store, out, "--param", "knn.n_neighbors=3", models="knn"))
        line = one_line_error(capsys.readouterr().err)
        release()
        stdout, stderr = first.communicate(timeout=120)
    assert rc == 2 and fits == []  # refused before fitting anything
    host = os.uname().nodename
    assert line == (f"genrekit benchmark: error: --out {out} is in use by another benchmark "
                    f"(pid {first.pid} on {host}); give another --out")
    assert first.returncode == 0, stderr
    doc = json.loads((out / "results.json").read_text())
    assert list(doc["models"]) == ["logreg"]
    # the first run's files alone: nothing of knn, and no claim left behind
    assert sorted(files_in(out)) == sorted(k for k in files_in(reference) if not k.startswith("models/"))


def test_an_out_with_files_in_it_is_refused_and_left_as_it_was(made, tmp_path, fits, capsys):
    _, store, _ = made
    out = tmp_path / "run"
    assert main(bench(store, out, "--param", "knn.n_neighbors=3", models="logreg,knn")) == 0
    assert (out / "figures" / "confusion_knn.png").exists()
    before = files_in(out)
    fits.clear()
    capsys.readouterr()
    assert main(bench(store, out)) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line == (f"genrekit benchmark: error: --out {out} is not empty (it holds figures, leaderboard.csv, "
                    f"predictions.csv, …); give a new or empty folder, or remove that one")
    assert fits == [] and files_in(out) == before  # no stale figure mixed with new results


def test_an_empty_out_or_one_left_by_a_killed_run_is_used(made, tmp_path, capsys):
    _, store, reference = made
    expected = sorted(k for k in files_in(reference) if not k.startswith("models/"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(bench(store, empty)) == 0
    assert sorted(files_in(empty)) == expected
    # a run killed while fitting leaves its claim behind, which nobody holds any more
    out = tmp_path / "killed"
    with held_benchmark(tmp_path, bench(store, out)) as (first, _):
        assert sorted(os.listdir(out)) == [CLAIM]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    capsys.readouterr()
    assert main(bench(store, out)) == 0
    assert sorted(files_in(out)) == expected and not (out / CLAIM).exists()


def test_runs_without_out_get_a_new_folder_each_even_in_the_same_second(made, tmp_path, monkeypatch, capsys):
    _, store, _ = made
    monkeypatch.chdir(tmp_path)
    stamp = "20240101-120000"
    real_strftime, real_mkdir = time.strftime, os.mkdir
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: stamp if fmt == "%Y%m%d-%H%M%S" else real_strftime(fmt, *a))
    taken = tmp_path / "runs" / stamp

    def mkdir(path, *a, **k):  # another run takes the same name between our look and our mkdir
        if Path(path).absolute() == taken and not taken.exists():
            real_mkdir(taken)
            (taken / "results.json").write_text("the other run's")
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    assert main(bench(store)) == 0 and main(bench(store)) == 0
    assert sorted(os.listdir(tmp_path / "runs")) == [stamp, f"{stamp}-2", f"{stamp}-3"]
    assert files_in(taken) == {"results.json": b"the other run's"}
    assert json.loads((tmp_path / "runs" / f"{stamp}-2" / "results.json").read_text())["models"]


# ================================================================== 6. a full disk outside extract
def _disk_full_line(out):
    return (f"genrekit benchmark: error: disk full while writing the benchmark results into {out}: "
            f"no partial files kept; free space and run again")


@pytest.mark.parametrize("share", [0.0, 0.3, 0.7, 0.95])
def test_benchmark_on_a_real_full_disk_prints_the_leaderboard_then_one_line(share, made, small_disk, capsys):
    """The disk fills up at a different file each time (model, CSVs, a figure, results.json)."""
    _, store, reference = made
    disk, fill = small_disk
    need = sum(len(b) for b in files_in(reference).values())
    fill(int(share * need))
    out = disk / "run"
    capsys.readouterr()
    assert main(bench(store, out, "--save-models")) == 2
    cap = capsys.readouterr()
    assert error_line(cap.err) == _disk_full_line(out)
    board = cap.out.splitlines()
    assert board[0].split()[:4] == ["rank", "model", "balanced", "acc."] and board[1].split()[:2] == ["1", "logreg"]
    assert os.listdir(disk) == ["filler"]  # no run folder, no temporary file, no half PNG or model
    (disk / "filler").unlink()  # free space: the same command now completes
    assert main(bench(store, out, "--save-models")) == 0
    assert sorted(files_in(out)) == sorted(files_in(reference))


FORMATS = {"csv": [], "npz": [], "arff": [], "parquet": [], "frames.csv": ["--level", "frames"]}


@pytest.mark.parametrize("name", list(FORMATS))
def test_export_on_a_real_full_disk_is_one_line_and_keeps_the_old_file(name, made, small_disk, tmp_path, capsys):
    if name == "parquet":
        pytest.importorskip("pyarrow")
    _, store, _ = made
    disk, fill = small_disk
    argv = ["export", "--store", str(store), "--no-progress", *FORMATS[name]]
    assert main([*argv, "--out", str(tmp_path / f"full.{name}")]) == 0
    need = (tmp_path / f"full.{name}").stat().st_size
    out = disk / f"features.{name}"
    out.write_bytes(b"an earlier export")
    fill(need // 2)
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"genrekit export: error: disk full while writing {out}: no partial file kept; {out} is as it was; "
        f"free space and run again")
    assert sorted(os.listdir(disk)) == sorted(["filler", out.name])
    assert out.read_bytes() == b"an earlier export"


def _enospc(*_):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _half_then_enospc(path, data: bytes):
    if hasattr(path, "write"):  # a writer handed an open file (a figure saved to a temporary file)
        path.write(data[: len(data) // 2])
        path.flush()
        _enospc()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    _enospc()


@pytest.mark.parametrize("site", ["model", "figure", "results.json"])
def test_enospc_while_writing_benchmark_results_keeps_no_partial_file(site, made, tmp_path, monkeypatch, capsys):
    """The same, simulated: the writer leaves half a file behind when the disk fills up."""
    import matplotlib.figure

    import genrekit.pipeline.prediction.artifacts as artifacts

    _, store, _ = made
    if site == "model":  # whatever the artifact writer does, what it leaves in OUT/models goes
        monkeypatch.setattr(artifacts, "save_artifact", lambda art, path: _half_then_enospc(path, b"x" * 4096))
    elif site == "figure":
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                            lambda self, fname, **kw: _half_then_enospc(fname, b"\x89PNG\r\n\x1a\n" * 512))
    else:
        monkeypatch.setattr(bm, "atomic_write_text", lambda path, text, **kw: _half_then_enospc(path, text.encode()))
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(bench(store, out, "--save-models")) == 2
    cap = capsys.readouterr()
    assert error_line(cap.err) == _disk_full_line(out)
    assert "logreg" in cap.out.splitlines()[1]  # the leaderboard came first
    assert not out.exists()


@pytest.mark.parametrize("existed", [True, False])
def test_enospc_while_exporting_keeps_no_partial_file(existed, made, tmp_path, monkeypatch, capsys):
    import genrekit.pipeline.tables.export as ex

    _, store, _ = made
    real = ex._summary_csv

    def fills_up(tmp, *a):  # the whole table written, then the disk is full (at close, say)
        real(tmp, *a)
        _enospc()

    monkeypatch.setattr(ex, "_summary_csv", fills_up)
    out = tmp_path / "features.csv"
    if existed:
        out.write_text("an earlier export")
    capsys.readouterr()
    assert main(["export", "--store", str(store), "--out", str(out), "--no-progress"]) == 2
    kept = f"; {out} is as it was" if existed else ""
    assert one_line_error(capsys.readouterr().err) == (
        f"genrekit export: error: disk full while writing {out}: no partial file kept{kept}; free space and run again")
    assert os.listdir(tmp_path) == (["features.csv"] if existed else [])
    assert not existed or out.read_text() == "an earlier export"


# ================================================================== 8. one line, exit 2
def _read_only_line(command, store, why):
    return (f"genrekit {command}: error: store {store} is {why}: extract and verify --repair write to it "
            f"(info, export, benchmark and verify only read it); use a --store you can write")


def test_a_store_on_a_read_only_file_system_reads_as_usual_and_refuses_writers(made, read_only, tmp_path, capsys):
    audio, store, reference = made
    src = tmp_path / "src"
    shutil.copytree(store, src / "store")
    shutil.copytree(reference / "models", src / "models")
    ro = read_only(src)
    before = files_in(ro)
    track = str(next((audio / "low").glob("*.wav")))
    for argv in (["info", str(ro / "store")], ["verify", str(ro / "store")],
                 ["export", "--store", str(ro / "store"), "--out", str(tmp_path / "x.csv"), "--no-progress"],
                 bench(ro / "store", tmp_path / "run"),
                 ["predict", "--model", str(ro / "models" / "logreg.joblib"), track, "--no-progress"]):
        assert main(argv) == 0, argv
    capsys.readouterr()
    for command, argv in (("extract", ["extract", str(audio), "--store", str(ro / "store"), "--workers", "1",
                                       "--features", FEATURES, "--no-progress"]),
                          ("verify", ["verify", "--repair", str(ro / "store")])):
        assert main(argv) == 2
        assert one_line_error(capsys.readouterr().err) == _read_only_line(
            command, ro / "store", "on a read-only file system")
    assert files_in(ro) == before


@pytest.fixture
def unwritable(made):
    """``(audio, store, folder)``: copies this user (or ``nobody``, when root) may read, and a store
    and a folder they may not write."""
    d = Path(tempfile.mkdtemp(prefix="genrekit-ro-"))
    os.chmod(d, 0o755)
    audio, store = shutil.copytree(made[0], d / "audio"), shutil.copytree(made[1], d / "store")
    for p in store.iterdir():
        os.chmod(p, 0o444)
    os.chmod(store, 0o555)
    (d / "folder").mkdir(mode=0o555)
    yield audio, store, d / "folder"
    os.chmod(store, 0o755)
    shutil.rmtree(d, ignore_errors=True)


def test_a_store_without_write_permission_reads_as_usual_and_refuses_writers(unwritable, capsys):
    audio, store, _ = unwritable
    before = files_in(store)
    capsys.readouterr()
    with as_another_user():
        assert main(["info", str(store)]) == 0 and main(["verify", str(store)]) == 0
        codes = [main(["extract", str(audio), "--store", str(store), "--workers", "1", "--features", FEATURES,
                       "--no-progress"])]
        err = [capsys.readouterr().err]
        codes.append(main(["verify", "--repair", str(store)]))
        err.append(capsys.readouterr().err)
    assert codes == [2, 2]
    why = "read-only for this user (permission denied)"
    assert one_line_error(err[0]) == _read_only_line("extract", store, why)
    assert one_line_error(err[1]) == _read_only_line("verify", store, why)
    assert files_in(store) == before


@pytest.mark.parametrize("seed", ["4294967296", "-1", "99999999999999999999999"])
def test_a_seed_numpy_cannot_take_is_an_argument_error(seed, made, tmp_path, fits, capsys):
    assert exit_code(bench(made[1], tmp_path / "run", "--seed", seed)) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"genrekit benchmark: error: argument --seed: must be from 0 to 4294967295 (2**32 - 1), got {seed} "
        f"(see: genrekit benchmark --help)")
    assert fits == [] and not (tmp_path / "run").exists()


def test_the_largest_seed_runs_and_a_larger_one_is_refused_by_the_library(made, tmp_path, fits):
    assert main(bench(made[1], tmp_path / "run", "--seed", "4294967295")) == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["config"]["seed"] == 2**32 - 1
    fits.clear()
    with pytest.raises(ParameterError, match=r"--seed must be a whole number from 0 to 4294967295 \(2\*\*32 - 1\)"):
        bm.run_benchmark(made[1], "logreg", seed=2**32, out=tmp_path / "lib", workers=1, progress=False)
    assert fits == [] and not (tmp_path / "lib").exists()


@pytest.mark.parametrize("case", ["a file", "under a file", "read-only"])
def test_an_out_that_cannot_be_used_is_refused_before_any_fit(case, made, tmp_path, read_only, fits, capsys):
    store = made[1]
    file = tmp_path / "results.txt"
    file.write_text("keep me")
    if case == "a file":
        out, words = file, f"--out {file} is a file; give a new or empty folder for the run's results"
    elif case == "under a file":
        out = file / "run"
        words = f"--out {out}: {file} is a file, not a folder; give a new or empty folder for the run's results"
    else:
        (tmp_path / "mine").mkdir()
        out = read_only(tmp_path / "mine") / "run"
        words = f"--out {out} is on a read-only file system; give a folder you can write"
    capsys.readouterr()
    assert main(bench(store, out)) == 2
    assert one_line_error(capsys.readouterr().err) == f"genrekit benchmark: error: {words}"
    assert fits == [] and file.read_text() == "keep me"


def test_an_out_without_write_permission_is_refused_before_any_fit(unwritable, fits, capsys):
    _, store, folder = unwritable
    capsys.readouterr()
    with as_another_user():
        rc = main(bench(store, folder / "run"))
    assert rc == 2 and fits == []
    assert one_line_error(capsys.readouterr().err) == (
        f"genrekit benchmark: error: --out {folder / 'run'}: permission denied; give a folder you can write")


@pytest.mark.parametrize("case", ["under a file", "read-only"])
def test_an_export_out_that_cannot_be_written_is_one_line(case, made, tmp_path, read_only, capsys):
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    if case == "under a file":
        out, why = file / "features.csv", f"{file} is a file, not a folder"
    else:
        (tmp_path / "mine").mkdir()
        out, why = read_only(tmp_path / "mine") / "features.csv", "read-only file system"
    capsys.readouterr()
    assert main(["export", "--store", str(made[1]), "--out", str(out), "--no-progress"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"genrekit export: error: cannot write --out {out}: {why}; give a path you can write")
    assert file.read_text() == "keep me"
