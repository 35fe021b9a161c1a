"""What deliberate abuse broke once, part two: each case here failed before its fix.

Model artifacts that run code before genrekit recognises them (issue 18, item 3), and the noise,
retries and unindexed shards of a REAL full disk during ``extract`` (item 7). The full-disk tests
mount a small tmpfs, so they need root and skip cleanly elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pickle
import secrets
import struct
import subprocess
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf

from genrekit.cache.store import FeatureStore
from genrekit.cache.verify import verify_store
from genrekit.cli import main
from genrekit.errors import GenrekitError, ParameterError, StoreError
from genrekit.features import FeatureConfig
from genrekit.pipeline.prediction import artifacts as A
from genrekit.pipeline.prediction.artifacts import ModelArtifact, load_artifact, save_artifact
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.prediction.predict import predict
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import tone, write_collection
from tests.conftest import make_synthetic_store
from tests.reliability import assert_stores_equal, genrekit_cmd, one_line_error, run

SR = 22050


# ============================================================================ 3. artifacts are code
class WritesMarker:
    """A pickle that, when loaded, creates ``marker`` (what a hostile artifact would do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module", autouse=True)
def key_home(tmp_path_factory):
    """This module's user: an empty config folder, so the first save makes a key there."""
    home = tmp_path_factory.mktemp("config")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("XDG_CONFIG_HOME", str(home))
        m.delenv("GENREKIT_MODEL_KEY", raising=False)
        yield home


@pytest.fixture(scope="module")
def trained(key_home, tmp_path_factory):
    """A real logreg artifact saved by ``benchmark --save-models``, and a song to predict."""
    base = tmp_path_factory.mktemp("artifacts")
    store = make_synthetic_store(base / "store", n_per_class=6, n_classes=2, n_artists_per_class=3)
    result = run_benchmark(store, "logreg", split="kfold:2", out=base / "run", save_models=True, workers=1,
                           progress=False)
    song = base / "song.wav"
    sf.write(song, tone(220, 2.0, SR, seed=3), SR)
    return {"artifact": Path(result.artifacts["logreg"]), "song": song}


@pytest.fixture
def marker(tmp_path):
    m = tmp_path / "pwned"
    yield m
    assert not m.exists(), "loading the artifact ran the code inside it"


def _predict_fails(args, capsys) -> str:
    assert main(["predict", "--no-progress", "--workers", "1", *map(str, args)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith("genrekit predict: error: ")
    return line


def _parts(path: Path) -> tuple[bytes, bytes, dict, bytes]:
    """``(mac, manifest bytes, manifest, payload)`` of an artifact file."""
    data = path.read_bytes()
    assert data.startswith(A.MAGIC)
    mac = data[len(A.MAGIC):len(A.MAGIC) + A.MAC_SIZE]
    at = len(A.MAGIC) + A.MAC_SIZE
    (n,) = struct.unpack(">I", data[at:at + 4])
    body = data[at + 4:at + 4 + n]
    return mac, body, json.loads(body), data[at + 4 + n:]


def _forge(path: Path, manifest: dict | bytes, payload: bytes, key: bytes | None = None, mac: bytes | None = None):
    """Write a genrekit-format file by hand: what someone without your key can make."""
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    signed = A.MAGIC + struct.pack(">I", len(body)) + body
    if mac is None:
        mac = A._mac(key or secrets.token_bytes(32), signed)
    path.write_bytes(A.MAGIC + mac + signed[len(A.MAGIC):] + payload)
    return path


def _evil_payload(marker) -> bytes:
    import io

    buf = io.BytesIO()
    joblib.dump(WritesMarker(marker), buf, compress=3)
    return buf.getvalue()


@pytest.mark.parametrize("how", ["joblib", "pickle", "old-genrekit-format"])
def test_a_foreign_pickle_is_refused_before_it_runs(how, trained, tmp_path, marker, capsys):
    evil = tmp_path / "model.joblib"
    if how == "joblib":
        joblib.dump(WritesMarker(marker), evil)
    elif how == "pickle":
        evil.write_bytes(pickle.dumps(WritesMarker(marker)))
    else:  # what genrekit itself saved before: a joblib dict whose estimator is a pickle
        joblib.dump({"format": "genrekit-model", "format_version": 1, "model": "logreg",
                     "estimator": WritesMarker(marker), "config_json": "{}", "classes": ["a"]}, evil, compress=3)
    line = _predict_fails(["--model", evil, trained["song"]], capsys)
    assert "plain pickle/joblib file" in line and "runs the code" in line
    assert "re-save" in line and "`genrekit benchmark --save-models`" in line
    with pytest.raises(ParameterError):
        load_artifact(evil, trust=True)  # no header to check: not even --trust runs it


def test_a_forged_header_with_a_true_hash_but_without_your_key_is_refused(trained, tmp_path, marker, capsys):
    _, _, manifest, _ = _parts(trained["artifact"])
    payload = _evil_payload(marker)
    manifest.update(key_id="0123456789abcdef",
                    payload={"encoding": "joblib", "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
    forged = _forge(tmp_path / "forged.joblib", manifest, payload)
    line = _predict_fails(["--model", forged, trained["song"]], capsys)
    assert "saved with another genrekit key (0123456789abcdef" in line
    assert "runs code when loaded" in line and "--trust" in line and A.KEY_ENV in line


def test_a_changed_payload_is_refused_even_with_trust(trained, tmp_path, marker, capsys):
    mac, body, manifest, original = _parts(trained["artifact"])
    payload = _evil_payload(marker)
    assert len(payload) < len(original)
    payload += b"\0" * (len(original) - len(payload))  # the same size: only the hash can tell
    swapped = _forge(tmp_path / "swapped.joblib", body, payload, mac=mac)  # header kept, model replaced
    line = _predict_fails(["--model", swapped, "--trust", trained["song"]], capsys)
    assert "damaged or altered" in line and "SHA-256" in line and "nothing was loaded" in line
    # the hash fixed up too: the signature under your key no longer matches
    manifest["payload"] = {"encoding": "joblib", "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    rehashed = _forge(tmp_path / "rehashed.joblib", manifest, payload, mac=mac)
    line = _predict_fails(["--model", rehashed, "--trust", trained["song"]], capsys)
    assert "altered after it was saved" in line and "nothing was loaded" in line


def test_truncated_padded_and_empty_artifacts_say_why(trained, tmp_path, capsys):
    data = trained["artifact"].read_bytes()
    _, body, _, payload = _parts(trained["artifact"])
    cases = {
        "empty": (b"", "is empty (0 bytes)"),
        "magic-only": (data[:10], "is truncated: its genrekit header is incomplete"),
        "mid-manifest": (data[:len(A.MAGIC) + A.MAC_SIZE + 4 + len(body) // 2], "header is incomplete"),
        "mid-payload": (data[:len(data) - len(payload) // 2], "is truncated: its model should be"),
        "padded": (data + b"\0", "longer than its header says"),
        "text": (b"hello, I am a model", "not a readable genrekit model artifact"),
    }
    for name, (content, words) in cases.items():
        p = tmp_path / f"{name}.joblib"
        p.write_bytes(content)
        line = _predict_fails(["--model", p, trained["song"]], capsys)
        assert words in line, (name, line)


def test_a_saved_artifact_is_signed_readable_without_unpickling_and_predicts(trained, key_home, tmp_path):
    path = trained["artifact"]
    assert path.read_bytes().startswith(A.MAGIC)
    m = A.read_manifest(path)  # the header alone: nothing is unpickled
    assert (m["format"], m["format_version"], m["model"]) == ("genrekit-model", A.FORMAT_VERSION, "logreg")
    assert m["classes"] == ["genre0", "genre1"] and FeatureConfig.from_json(m["config_json"]).features
    assert m["payload"]["sha256"] == hashlib.sha256(_parts(path)[3]).hexdigest()
    key = key_home / "genrekit" / "model-key"
    assert A.key_path() == key
    assert oct(key.stat().st_mode & 0o777) == "0o600" and oct(key.parent.stat().st_mode & 0o777) == "0o700"
    assert m["key_id"] == A.key_id(bytes.fromhex(key.read_text().strip()))
    again = save_artifact(load_artifact(path), tmp_path / "again")  # the same key, not a new one
    assert A.read_manifest(again)["key_id"] == m["key_id"] and again.suffix == ".joblib"
    (p,) = predict(again, [trained["song"]], top_k=2)
    assert p.ok and {lab for lab, _ in p.top} == {"genre0", "genre1"}


def test_another_users_artifact_needs_trust_or_their_key(trained, tmp_path, monkeypatch, capsys):
    theirs_key = tmp_path / "colleague" / "model-key"
    mine = load_artifact(trained["artifact"])
    monkeypatch.setenv(A.KEY_ENV, str(theirs_key))
    theirs = save_artifact(mine, tmp_path / "theirs.joblib")  # a colleague's first save makes their key
    assert oct(theirs_key.stat().st_mode & 0o777) == "0o600"
    monkeypatch.delenv(A.KEY_ENV)
    line = _predict_fails(["--model", theirs, trained["song"]], capsys)
    assert "another genrekit key" in line and "--trust" in line
    assert main(["predict", "--model", str(theirs), "--trust", "--no-progress", "--workers", "1",
                 str(trained["song"])]) == 0
    err = capsys.readouterr().err
    assert "warning: theirs.joblib was not saved with your genrekit key" in err and "(--trust)" in err
    with pytest.warns(A.ArtifactTrustWarning):
        load_artifact(theirs, trust=True)
    monkeypatch.setenv(A.KEY_ENV, str(theirs_key))  # a shared key file: loads without --trust
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_artifact(theirs).model == "logreg"


def test_a_key_others_may_read_is_refused(trained, key_home, capsys):
    key = key_home / "genrekit" / "model-key"
    os.chmod(key, 0o644)
    try:
        line = _predict_fails(["--model", trained["artifact"], trained["song"]], capsys)
        assert "can be changed or read by other users (mode 0644)" in line and f"chmod 600 {key}" in line
    finally:
        os.chmod(key, 0o600)


def test_predict_help_says_an_artifact_is_code(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "A model artifact is code" in out and "--trust" in out
    assert "Load only artifacts you or someone you trust saved" in out


def _artifact_of(estimator) -> ModelArtifact:
    return ModelArtifact(model="logreg", estimator=estimator, config_json=FeatureConfig().to_json(), classes=["a", "b"])


def test_a_failed_save_leaves_no_file_and_keeps_the_old_one(trained, tmp_path, monkeypatch):
    target = save_artifact(load_artifact(trained["artifact"]), tmp_path / "m.joblib")
    before = target.read_bytes()
    real_write = os.write
    calls = []

    def write(fd, data):  # the disk fills up after the first block
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    with monkeypatch.context() as m:
        m.setattr(os, "write", write)
        with pytest.raises(A.ArtifactWriteError) as e:
            save_artifact(_artifact_of(np.arange(10_000)), target)
    assert len(calls) > 1
    assert isinstance(e.value, GenrekitError) and e.value.errno == errno.ENOSPC
    assert str(e.value) == (f"disk full while saving the model artifact {target}: nothing was written; "
                            f"free space and run again")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.joblib"] and target.read_bytes() == before


# ============================================================================ a real full disk
@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of ``size`` mounted at ``path``; skips the test where that is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def _grow(path: Path, size: str = "64m"):
    """Free space: make the tmpfs larger."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, capture_output=True, timeout=30)


def test_saving_on_a_real_full_disk_leaves_no_partial_file(trained, tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        old = save_artifact(load_artifact(trained["artifact"]), disk / "models" / "m.joblib")
        before = old.read_bytes()
        big = np.random.default_rng(0).random(400_000)  # ~3 MB that does not compress
        with pytest.raises(A.ArtifactWriteError) as e:
            save_artifact(_artifact_of(big), old)
        assert e.value.errno == errno.ENOSPC and "\n" not in str(e.value)
        assert str(e.value).startswith(f"disk full while saving the model artifact {old}")
        assert sorted(p.name for p in old.parent.iterdir()) == ["m.joblib"]
        assert old.read_bytes() == before and load_artifact(old).model == "logreg"


# ============================================================================ 7. full disk in extract
N_FILES = 16


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """16 clips of 5 s: ~3 MB of shards with every feature, more than the 2 MB disk holds."""
    root = write_collection(tmp_path_factory.mktemp("disk-audio"), n_per_label=N_FILES // 2, seconds=5.0)
    (root / "manifest.csv").unlink()  # nothing but audio: stderr must be exactly one line
    return root


@pytest.fixture(scope="module")
def reference(audio, tmp_path_factory):
    store = tmp_path_factory.mktemp("disk-reference") / "store"
    rep = extract(scan_folder(audio).tracks, store, FeatureConfig(), workers=1, progress=False)
    assert rep.n_extracted == N_FILES
    fs = FeatureStore(store)
    yield fs
    fs.close()


@pytest.mark.parametrize("backend", ["local-1", "local-2", "dask-2"])
def test_a_real_full_disk_is_one_line_no_retry_and_the_store_verifies_clean(backend, audio, reference, tmp_path):
    kind, workers = backend.split("-")
    if kind == "dask":
        pytest.importorskip("distributed")
    extra = ["--backend", "dask", "--batch-size", "2"] if kind == "dask" else []
    with small_disk(tmp_path / "disk", "2m") as disk:
        store = disk / "store"
        cmd = genrekit_cmd("extract", audio, "--store", store, "--workers", workers, "--shard-size", "2",
                           "--no-progress", *extra)
        r = run(cmd, timeout=300)
        assert r.returncode == 2, r.stderr
        assert r.stderr.splitlines() == [f"genrekit extract: error: disk full while writing the store {store}: "
                                         f"finished shards kept; free space and run again to resume"]
        assert not list(store.glob("*.tmp")), "the shards in progress must be removed"
        rep = verify_store(store)
        assert rep.ok and not rep.problems and rep.n_shards >= 1, rep.lines()
        _grow(disk)  # free space; the next run (any backend: here the quickest) resumes
        r = run(genrekit_cmd("extract", audio, "--store", store, "--workers", "1", "--no-progress"), timeout=300)
        assert r.returncode == 0, r.stderr
        assert f"{N_FILES - rep.n_rows} extracted, {rep.n_rows} skipped as cached" in r.stdout
        assert verify_store(store).ok
        assert_stores_equal(store, reference)


def test_dask_does_not_retry_a_batch_that_found_the_disk_full(audio, tmp_path):
    distributed = pytest.importorskip("distributed")
    import logging

    with small_disk(tmp_path / "disk", "2m") as disk, \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        with distributed.get_task_stream(client) as ts:
            with pytest.raises(StoreError, match="disk full"):
                extract(scan_folder(audio).tracks, disk / "store", FeatureConfig(), executor="dask",
                        scheduler=client, batch_size=2, progress=False)
            end = time.monotonic() + 60
            while any(client.processing().values()) and time.monotonic() < end:
                time.sleep(0.05)
        runs = {}
        for t in ts.data:
            if str(t["key"]).startswith("genrekit-extract-"):
                runs[t["key"]] = runs.get(t["key"], 0) + 1
        assert runs and max(runs.values()) == 1, f"batches run more than once: {runs}"
        assert all(t.get("status") != "error" for t in ts.data), "a batch raised on a worker"
