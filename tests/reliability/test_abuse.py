"""What deliberate abuse broke once: each case here failed before its fix.

Shards the user may not read, FIFOs and devices among the audio, foreign pickles, files changed in
place, two benchmarks into one folder, a full disk outside ``extract``, and values that must be
refused before any work starts.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile

import pytest
import soundfile as sf

from genrekit.cache import FeatureStore, load_index
from genrekit.cache.verify import verify_store
from genrekit.cli import main
from genrekit.features import FeatureConfig, parse_feature_list
from genrekit.pipeline.extraction.decode import content_hash, decode
from genrekit.errors import AudioError
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import tone, write_collection
from tests.reliability import FEATURES, as_another_user, extract_cmd, run

CONFIG = FeatureConfig(features=parse_feature_list(FEATURES))
SR = 22050


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp("abuse")
    audio = write_collection(base / "audio", n_per_label=2, seconds=1.5)
    store = base / "store"
    extract(scan_folder(audio).tracks, store, CONFIG, workers=1, shard_size=2, progress=False)
    return audio, store


@pytest.fixture
def open_store(made):
    """A copy of the store in a folder anyone may enter and write (so ``nobody`` can lock it)."""
    d = tempfile.mkdtemp(prefix="genrekit-perm-")
    os.chmod(d, 0o777)
    dst = os.path.join(d, "store")
    shutil.copytree(made[1], dst)
    os.chmod(dst, 0o777)
    for name in os.listdir(dst):
        os.chmod(os.path.join(dst, name), 0o666)
    yield dst
    shutil.rmtree(d, ignore_errors=True)


# -------------------------------------------------------------------- 1. access is not damage
def test_repair_never_deletes_a_shard_it_may_not_read(open_store, capsys):
    from pathlib import Path

    store = Path(open_store)
    victim = sorted(store.glob("shard-*.h5"))[0]
    before = victim.read_bytes()
    entry = load_index(store)[0]["shards"][victim.name]
    os.chmod(victim, 0)
    try:
        with as_another_user():
            r = verify_store(store)
            assert [p.kind for p in r.problems] == ["access"] and r.problems[0].path == victim
            assert "permission denied" in r.problems[0].detail
            rc = main(["verify", str(store), "--repair"])
            out = capsys.readouterr().out
            with pytest.raises(Exception, match="permission denied"):
                FeatureStore(store)
    finally:
        os.chmod(victim, 0o644)
    assert rc == 1 and "permission" in out
    assert victim.read_bytes() == before                        # the file is untouched
    assert load_index(store)[0]["shards"][victim.name] == entry  # and still indexed
    assert verify_store(store).ok                                # readable again: nothing lost


# -------------------------------------------------------------------- 2. FIFOs and devices
def _collection_with_fifo(root):
    root.mkdir()
    for i in range(3):
        sf.write(root / f"t{i}.wav", tone(220.0 + 60 * i, 1.0, SR), SR)
    os.mkfifo(root / "x.wav")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_fifo_named_like_audio_is_a_recorded_failure_not_a_hang(workers, tmp_path):
    audio = _collection_with_fifo(tmp_path / "audio")
    store = tmp_path / "store"
    cmd = extract_cmd(audio, store)
    cmd[cmd.index("--workers") + 1] = workers
    out = run(cmd, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "3 extracted" in out.stdout and "1 failed" in out.stdout
    with FeatureStore(store) as fs:
        (fail,) = fs.failures
        assert fail.id == "x.wav" and "FIFO" in fail.message
    assert not list(store.glob("*.tmp"))
    again = run(cmd, timeout=120)  # the failure is remembered, not re-recorded
    assert again.returncode == 0 and "0 extracted" in again.stdout
    assert verify_store(store).ok


def test_a_fifo_swapped_in_after_planning_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "late.wav")
    with pytest.raises(AudioError, match="FIFO"):
        content_hash(tmp_path / "late.wav")
    with pytest.raises(AudioError, match="FIFO"):
        decode(tmp_path / "late.wav", SR)


def test_predict_names_what_a_non_regular_file_is(tmp_path):
    os.mkfifo(tmp_path / "pipe.mp3")
    with pytest.raises(AudioError) as e:
        decode(str(tmp_path / "pipe.mp3"), SR)
    assert "FIFO" in str(e.value) and "empty" not in str(e.value)
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe.mp3").st_mode)
