"""What deliberate abuse of the inputs broke once (issue 18, items 4, 9 and 10); each case failed before its fix.

- A file rewritten in place with its size and mtime kept is served stale unless ``--rehash``.
- Values that must be refused with one line and exit code 2, before any work and before the store
  learns a new config: an infinite or overflowing ``--offset``/``--duration``, more mel bands than
  the STFT has bins, ``--features ""``/``--models ""``, absurd ``--workers``, a manifest with a
  column twice or an unknown split, ``--manifest`` naming a folder.
- Where the store says a track is: an absolute path in folder and manifest mode alike; a manifest
  row whose file is missing is a recorded failure.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genrekit.cache import FeatureStore, load_index
from genrekit.cli import WORKERS_PER_CORE, main
from genrekit.errors import ParameterError
from genrekit.features.config import ALL_FEATURES, MAX_SECONDS, FeatureConfig, parse_feature_list
from genrekit.pipeline.extraction.decode import content_hash
from genrekit.pipeline.extraction.sources import normalise_split, read_manifest
from tests.audio_helpers import tone, write_collection
from tests.reliability import cli_fails

FEATURES = "mfcc,rms"
SR = 22050


def _extract(audio, store, *extra) -> list[str]:
    return ["extract", str(audio), "--store", str(store), "--workers", "1", "--features", FEATURES,
            "--no-progress", *map(str, extra)]


def _ok(argv, capsys) -> tuple[str, str]:
    """Run the CLI in-process; it must exit 0. Returns (the last stdout line, stderr)."""
    capsys.readouterr()
    assert main(argv) == 0, argv
    out, err = capsys.readouterr()
    return out.strip().splitlines()[-1], err


def _counts(line: str) -> str:
    """``N extracted, M skipped as cached, K failed`` of the summary line (without the timing)."""
    return line.split(" in ")[0]


def _shards(store) -> set[str]:
    return {p.name for p in Path(store).glob("shard-*.h5")}


def _row(store, track_id):
    """(TrackRow, summary vector) of ``track_id`` as the store serves it."""
    with FeatureStore(store) as fs:
        X, _ = fs.summary()
        i = [r.id for r in fs.tracks].index(track_id)
        return fs.tracks[i], X[i].copy()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A labelled collection (with its manifest) and a store of it."""
    base = tmp_path_factory.mktemp("inputs")
    audio = write_collection(base / "audio", n_per_label=2, seconds=1.0)
    store = base / "store"
    assert main(_extract(audio, store)) == 0
    return audio, store


# ------------------------------------------------------------------------------------ item 4: --rehash
def _rewrite_in_place(path: Path, y: np.ndarray):
    """Write ``y`` over ``path`` keeping its size and restoring its mtime (what ``cp -p`` or
    ``tar`` do to a file of the same size)."""
    st = os.stat(path)
    sf.write(path, y, SR, subtype="PCM_16")
    assert os.path.getsize(path) == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns


def test_a_file_rewritten_with_its_size_and_mtime_is_recomputed_with_rehash(tmp_path, capsys):
    audio = write_collection(tmp_path / "audio", n_per_label=2, seconds=1.0)
    store, fresh = tmp_path / "store", tmp_path / "fresh"
    assert _counts(_ok(_extract(audio, store), capsys)[0]) == "4 extracted, 0 skipped as cached, 0 failed"
    victim_id = "low/low.00000.wav"
    victim = audio / victim_id
    old_row, old_x = _row(store, victim_id)

    _rewrite_in_place(victim, tone(1760.0, 1.0, SR, beat_hz=5, seed=99))  # other music, same bytes count
    assert content_hash(victim) != old_row.content_hash

    # the size+mtime shortcut is fooled (documented in README): the stale features are still served
    assert _counts(_ok(_extract(audio, store), capsys)[0]) == "0 extracted, 4 skipped as cached, 0 failed"
    np.testing.assert_array_equal(_row(store, victim_id)[1], old_x)

    # --rehash reads every file and recomputes exactly the one whose content changed
    shards = _shards(store)
    assert _counts(_ok(_extract(audio, store, "--rehash"), capsys)[0]) == "1 extracted, 3 skipped as cached, 0 failed"
    assert len(_shards(store) - shards) == 1
    new_row, new_x = _row(store, victim_id)
    assert new_row.content_hash == content_hash(victim)
    assert not np.array_equal(new_x, old_x)
    # ... and serves what a clean extraction of the new audio gives, for every track
    _ok(_extract(audio, fresh), capsys)
    with FeatureStore(store) as a, FeatureStore(fresh) as b:
        assert [r.id for r in a.tracks] == [r.id for r in b.tracks]
        np.testing.assert_array_equal(a.summary()[0], b.summary()[0])

    # a second --rehash finds nothing changed and writes nothing
    shards = _shards(store)
    assert _counts(_ok(_extract(audio, store, "--rehash"), capsys)[0]) == "0 extracted, 4 skipped as cached, 0 failed"
    assert _shards(store) == shards


def test_rehash_also_rechecks_files_that_failed_before(tmp_path, capsys):
    audio, store = tmp_path / "audio", tmp_path / "store"
    audio.mkdir()
    sf.write(audio / "good.wav", tone(220.0, 1.0, SR), SR, subtype="PCM_16")
    size = os.path.getsize(audio / "good.wav")
    rng = np.random.default_rng(0)
    for name in ("fixed.wav", "broken.wav"):  # noise bytes: no decoder accepts them
        (audio / name).write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    assert _counts(_ok(_extract(audio, store), capsys)[0]) == "1 extracted, 0 skipped as cached, 2 failed"

    _rewrite_in_place(audio / "fixed.wav", tone(440.0, 1.0, SR))  # repaired in place, mtime restored
    assert _counts(_ok(_extract(audio, store), capsys)[0]) == "0 extracted, 1 skipped as cached, 2 failed"

    shards = _shards(store)
    assert _counts(_ok(_extract(audio, store, "--rehash"), capsys)[0]) == "1 extracted, 1 skipped as cached, 1 failed"
    assert len(_shards(store) - shards) == 1  # the repaired file's features; broken.wav is not recorded again
    with FeatureStore(store) as fs:
        assert [r.id for r in fs.tracks] == ["fixed.wav", "good.wav"]
        assert [f.id for f in fs.failures] == ["broken.wav"]


# ------------------------------------------------------------------------------------ item 9: refused values
@pytest.mark.parametrize("extra, words", [
    (["--offset", "inf"], "offset must be a finite number of seconds up to 2147483648 (68 years), got inf"),
    (["--offset", "1e308"], "offset must be a finite number of seconds up to 2147483648"),
    (["--duration", "1e308"], "duration must be a finite number of seconds up to 2147483648 (68 years), got 1e+308"),
    (["--duration", "inf"], "duration must be a finite number of seconds"),
    (["--duration", "3e9"], "duration must be a finite number of seconds up to 2147483648"),
    (["--n-mels", "100000"], "n_mels=100000 exceeds the 1025 frequency bins of an n_fft=2048 STFT "
                             "(n_fft // 2 + 1); use at most 1025 mel bands"),
    (["--features", ""], "no feature named in ''; valid features: " + ", ".join(ALL_FEATURES)),
    (["--features", " , "], "no feature named in ' , '; valid features: logmel"),
    (["--workers", "100000"], f"--workers: at most {WORKERS_PER_CORE * os.cpu_count()} "
                              f"({WORKERS_PER_CORE} per core of this machine's {os.cpu_count()}), got 100000"),
])
def test_values_that_would_overflow_or_explode_are_refused_before_any_work(extra, words, made, capsys):
    audio, store = made
    index = (store / "index.json").read_bytes()
    argv = _extract(audio, store)
    argv = argv[:argv.index("--features")] + ["--no-progress", *extra]  # extra may set --features itself
    line = cli_fails(argv, capsys)
    assert words in line, line
    assert (store / "index.json").read_bytes() == index  # no junk config added, nothing written


def test_the_library_refuses_the_same_configs():
    for kwargs in (dict(offset=math.inf), dict(offset=math.nan), dict(duration=math.inf), dict(duration=1e308),
                   dict(duration=math.nan), dict(offset=np.nextafter(MAX_SECONDS, math.inf))):
        with pytest.raises(ParameterError, match="finite number of seconds up to 2147483648"):
            FeatureConfig(**kwargs)
    FeatureConfig(offset=MAX_SECONDS, duration=MAX_SECONDS)  # the limit itself is fine
    with pytest.raises(ParameterError, match="n_mels=1026 exceeds the 1025 frequency bins"):
        FeatureConfig(n_mels=1026)
    with pytest.raises(ParameterError, match="n_mels=514 exceeds the 513 frequency bins of an n_fft=1024"):
        FeatureConfig(n_fft=1024, n_mels=514)
    assert FeatureConfig(n_mels=1025).n_mels == 1025
    for text in ("", ",", " , "):
        with pytest.raises(ParameterError, match="valid features: logmel"):
            parse_feature_list(text)
    assert parse_feature_list(None) == parse_feature_list("all") == ALL_FEATURES


def test_workers_up_to_the_cap_are_accepted(made, capsys):
    audio, store = made
    line, _ = _ok(_extract(audio, store) + ["--workers", str(WORKERS_PER_CORE * os.cpu_count())], capsys)
    assert _counts(line) == "0 extracted, 4 skipped as cached, 0 failed"


# (paths where nothing can start: without the cap these would otherwise spawn thousands of processes)
@pytest.mark.parametrize("argv", [
    ["benchmark", "--store", "{tmp}/no-store", "--workers", "100000"],
    ["predict", "{tmp}/x.wav", "--model", "{tmp}/m.joblib", "--workers", "100000"],
    ["demo", "--cache-dir", "{tmp}/a-file/demo", "--workers", "100000"],
])
def test_absurd_workers_are_refused_by_every_command(argv, tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    line = cli_fails([a.format(tmp=tmp_path) for a in argv] + ["--no-progress"], capsys)
    assert "--workers: at most" in line and "got 100000" in line and "--help" in line


@pytest.mark.parametrize("argv, words", [
    (["benchmark", "--store", "{store}", "--models", "", "--out", "{out}"], ["--models '' names nothing", "svm", "knn"]),
    (["benchmark", "--store", "{store}", "--models", ",", "--out", "{out}"], ["--models ',' names nothing", "svm"]),
    (["benchmark", "--store", "{store}", "--models", "logreg", "--features", "", "--out", "{out}"],
     ["--features '' names nothing", "mfcc", "chroma"]),
    (["export", "--store", "{store}", "--features", "", "--out", "{out}"], ["--features '' names nothing", "mfcc"]),
])
def test_empty_model_and_feature_lists_are_refused_not_read_as_all(argv, words, made, tmp_path, capsys):
    out = tmp_path / "out.csv"
    line = cli_fails([a.format(store=made[1], out=out) for a in argv] + ["--no-progress"], capsys)
    assert all(w in line for w in words), line
    assert not out.exists()


def _manifest(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, words", [
    ("path,label,label\nlow/low.00000.wav,low,high\n",
     "has two 'label' columns (columns 2 and 3); keep one, or rename the other"),
    ("path,Label,artist,LABEL\nlow/low.00000.wav,low,x,high\n", "has two 'LABEL' columns (columns 2 and 4)"),
    ("path,label,path\nlow/low.00000.wav,low,high/high.00000.wav\n", "has two 'path' columns"),
    ("path,label,title,title\nlow/low.00000.wav,low,a,b\n", "has two 'title' columns (columns 3 and 4)"),
    ("path,label,split\nlow/low.00000.wav,low,train\nhigh/high.00000.wav,high,bogus\n",
     "line 3: unknown split 'bogus'; use train, validation, test (or val, valid, training), or leave it blank"),
])
def test_manifest_with_a_column_twice_or_an_unknown_split_is_refused(text, words, made, capsys):
    audio, store = made
    index = (store / "index.json").read_bytes()
    manifest = _manifest(audio / "bad-manifest.csv", text)
    try:
        line = cli_fails(_extract(audio, store, "--manifest", manifest), capsys)
        assert words in line and str(manifest) in line, line
        with pytest.raises(ParameterError, match=re.escape(words.split(";")[0])):
            read_manifest(manifest)
    finally:
        manifest.unlink()
    assert (store / "index.json").read_bytes() == index


def test_unknown_split_values_are_not_normalised_into_the_store():
    assert [normalise_split(v) for v in ("Train", " val ", "valid", "training", "TEST", "", None)] == [
        "train", "validation", "validation", "train", "test", None, None]
    for bad in ("bogus", "holdout", "tset"):
        with pytest.raises(ParameterError, match=f"unknown split '{bad}'; use train, validation, test"):
            normalise_split(bad)


def test_manifest_that_is_a_folder_says_so(made, capsys):
    audio, store = made
    line = cli_fails(_extract(audio, store, "--manifest", audio), capsys)
    assert f"manifest {audio} is a folder; pass the CSV file that lists the audio" in line
    assert "no such manifest" not in line
    with pytest.raises(ParameterError, match="is a folder"):
        read_manifest(audio)


# ------------------------------------------------------------------------------------ item 10: paths, missing rows
def test_stored_paths_are_absolute_in_folder_and_manifest_mode(made, tmp_path, capsys, monkeypatch):
    audio = made[0]
    os.symlink("low.00001.wav", audio / "low" / "link.wav")  # a link keeps its own path
    try:
        monkeypatch.chdir(audio.parent)
        _ok(_extract("audio", tmp_path / "folder"), capsys)  # AUDIO_DIR relative to the working directory
        _ok(_extract("audio", tmp_path / "manifest", "--manifest", "audio/manifest.csv"), capsys)
    finally:
        os.unlink(audio / "low" / "link.wav")
    monkeypatch.chdir(tmp_path)  # a reader elsewhere
    with FeatureStore(tmp_path / "folder") as folder, FeatureStore(tmp_path / "manifest") as manifest:
        paths = {r.id: r.path for r in folder.tracks}
        here = os.path.realpath(audio)  # what the working directory was, as the system names it
        assert paths == {i: os.path.join(here, *i.split("/")) for i in paths}
        assert paths["low/link.wav"].endswith(os.path.join("low", "link.wav"))  # not the link's target
        assert {r.id: r.path for r in manifest.tracks} == {i: p for i, p in paths.items() if i != "low/link.wav"}
        assert all(os.path.isfile(p) for i, p in paths.items() if i != "low/link.wav")  # from anywhere


def test_manifest_rows_whose_file_is_missing_are_recorded_failures(tmp_path, capsys):
    audio = write_collection(tmp_path / "audio", n_per_label=1, seconds=1.0)
    manifest = _manifest(audio / "m.csv", "path,label\nlow/low.00000.wav,low\nhigh/high.00000.wav,high\n"
                                          "high/gone.wav,high\n")
    store = tmp_path / "store"
    gone = str(audio / "high" / "gone.wav")
    line, err = _ok(_extract(audio, store, "--manifest", manifest), capsys)
    assert _counts(line) == "2 extracted, 0 skipped as cached, 1 failed"
    assert f"failed: {gone}: FileNotFoundError: cannot read file: No such file or directory" in err
    assert "note:" not in err
    with FeatureStore(store) as fs:
        assert [(f.id, f.path, f.error_type) for f in fs.failures] == [("high/gone.wav", gone, "FileNotFoundError")]
    capsys.readouterr()
    assert main(["info", str(store), "--failures"]) == 0
    assert f"{gone}: FileNotFoundError: cannot read file" in capsys.readouterr().out
    assert main(_extract(audio, store, "--manifest", manifest, "--strict")) == 1  # a failure, as any other

    shards = _shards(store)
    line, _ = _ok(_extract(audio, store, "--manifest", manifest), capsys)  # still missing: recorded once
    assert _counts(line) == "0 extracted, 2 skipped as cached, 1 failed"
    assert _shards(store) == shards and len(load_index(store)[0]["shards"]) == len(shards)

    sf.write(gone, tone(660.0, 1.0, SR), SR)  # the file arrives: the next run extracts it
    line, _ = _ok(_extract(audio, store, "--manifest", manifest), capsys)
    assert _counts(line) == "1 extracted, 2 skipped as cached, 0 failed"
    with FeatureStore(store) as fs:
        assert len(fs.tracks) == 3 and not fs.failures


def test_a_manifest_none_of_whose_files_exist_is_still_an_error(made, capsys):
    audio, store = made
    manifest = _manifest(audio / "none.csv", "path,label\nnope/a.wav,x\nnope/b.wav,y\n")
    try:
        line = cli_fails(_extract(audio, store, "--manifest", manifest), capsys)
    finally:
        manifest.unlink()
    assert "2 listed audio files not found" in line and "relative to the manifest's folder" in line
