"""Extraction into a store: round trip, skip-on-rerun, config changes, failures, CLI."""

import os
import shutil

import h5py
import numpy as np
import pytest
import soundfile as sf
from threadpoolctl import threadpool_limits

from genrekit.cache import FeatureStore, load_index
from genrekit.cli import main
from genrekit.features import FeatureConfig, compute_features, summary_names
from genrekit.pipeline.extraction.decode import decode
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import tone, write_collection

SMALL = FeatureConfig(features=("mfcc", "mfcc_delta", "chroma", "rms", "tempo"))


@pytest.fixture
def collection(tmp_path):
    return write_collection(tmp_path / "audio", n_per_label=3)


def direct(path, config=SMALL):
    """Features computed here, the way a worker computes them (one BLAS thread)."""
    with threadpool_limits(1):
        y, native = decode(path, config.sr)
        return compute_features(y, config), native


def test_store_round_trip_matches_direct_computation(collection, tmp_path):
    tracks = scan_folder(collection).tracks
    rep = extract(tracks, tmp_path / "store", SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached, rep.n_failed) == (6, 0, 0)
    fs = FeatureStore(tmp_path / "store")
    assert [r.id for r in fs.tracks] == sorted(t.id for t in tracks)
    assert set(fs.labels) == {"low", "high"}
    assert fs.config == SMALL
    X, names = fs.summary()
    assert names == summary_names(SMALL) and X.shape == (6, len(names))
    assert np.isfinite(X).all()
    # values equal a direct computation on the same decoded signal
    r = fs.tracks[0]
    ref, native = direct(r.path)
    frames = fs.frames(r.id)
    np.testing.assert_array_equal(frames["mfcc"], ref["mfcc"].T)
    np.testing.assert_array_equal(fs.track_features("tempo")[0], ref["tempo"])
    assert r.n_frames == frames["mfcc"].shape[0] == ref["mfcc"].shape[1]
    assert r.duration == pytest.approx(2.0, abs=0.01) and r.sample_rate == native == 22050
    assert fs.frame_matrix(r.id, ["mfcc", "chroma"]).shape == (r.n_frames, 32)
    sub, sub_names = fs.summary(features=["mfcc_delta"])
    assert all(n.startswith("mfcc_delta_") for n in sub_names) and len(sub_names) == 20 * 7
    # iteration covers each track once
    assert sorted(row.id for row, _ in fs.iter_frames(["rms"])) == [r.id for r in fs.tracks]


@pytest.mark.slow
def test_parallel_equals_serial(collection, tmp_path):
    tracks = scan_folder(collection).tracks
    extract(tracks, tmp_path / "s1", SMALL, workers=1, progress=False)
    rep = extract(tracks, tmp_path / "s2", SMALL, workers=2, shard_size=4, progress=False)
    a, b = FeatureStore(tmp_path / "s1"), FeatureStore(tmp_path / "s2")
    assert len(a.shards) == 1
    # each worker writes its own shards; batches are small enough for every worker to get ~4
    entries = load_index(tmp_path / "s2")[0]["shards"].values()
    assert rep.shards_written == len(b.shards) == 6 and all(len(e["ids"]) == 1 for e in entries)
    assert [r.id for r in a.tracks] == [r.id for r in b.tracks]
    np.testing.assert_array_equal(a.summary()[0], b.summary()[0])
    for r in a.tracks:
        for k, v in a.frames(r.id).items():
            np.testing.assert_array_equal(v, b.frames(r.id)[k])


@pytest.mark.slow
def test_workers_write_shards_of_at_most_shard_size_files(tmp_path):
    root = tmp_path / "audio"
    for i in range(24):
        (root / "x").mkdir(parents=True, exist_ok=True)
        sf.write(root / "x" / f"t{i:02d}.wav", tone(100.0 + 20 * i, 1.0), 22050)
    rep = extract(scan_folder(root).tracks, tmp_path / "s", SMALL, workers=2, shard_size=2, progress=False)
    sizes = [len(e["ids"]) for e in load_index(tmp_path / "s")[0]["shards"].values()]
    assert rep.n_extracted == 24 and sum(sizes) == 24 and max(sizes) == 2
    assert rep.shards_written == len(sizes) == 16 and sizes.count(1) == 8  # batches shrink at the end


def test_batches_shrink_towards_the_end_of_a_parallel_run():
    from genrekit.pipeline.extraction.plan import batches_of

    tasks = [{"id": str(i)} for i in range(2000)]
    sizes = [len(b) for b in batches_of(tasks, 64, workers=2)]
    assert sum(sizes) == 2000 and [t for b in batches_of(tasks, 64, workers=2) for t in b] == tasks
    assert sizes[:20] == [64] * 20 and sizes == sorted(sizes, reverse=True) and sizes[-4:] == [1] * 4
    assert [len(b) for b in batches_of(tasks[:10], 4)] == [4, 4, 2]  # one worker: shard-sized batches


def test_rerun_skips_everything_and_moving_the_folder_invalidates_nothing(collection, tmp_path):
    store = tmp_path / "store"
    extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    rep = extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (0, 6)
    moved = tmp_path / "moved"
    shutil.move(collection, moved)
    rep = extract(scan_folder(moved).tracks, store, SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (0, 6)
    # a copy (new mtimes) is recognised by content hash, without recomputation
    copied = tmp_path / "copied"
    shutil.copytree(moved, copied, copy_function=shutil.copy)
    for p in copied.rglob("*.wav"):
        os.utime(p, ns=(1, 1))
    rep = extract(scan_folder(copied).tracks, store, SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (0, 6)
    assert len(FeatureStore(store)) == 6


def test_changed_file_is_recomputed_and_replaces_the_old_row(collection, tmp_path):
    store = tmp_path / "store"
    extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    target = collection / "low" / "low.00000.wav"
    sf.write(target, tone(999.0, 2.0), 22050)
    rep = extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (1, 5)
    fs = FeatureStore(store)
    assert len(fs) == 6
    np.testing.assert_array_equal(fs.frames("low/low.00000.wav")["mfcc"], direct(target)[0]["mfcc"].T)


def test_changed_config_computes_what_is_new_and_keeps_the_old(collection, tmp_path):
    store = tmp_path / "store"
    tracks = scan_folder(collection).tracks
    extract(tracks, store, SMALL, workers=1, progress=False)
    other = SMALL.replace(n_mfcc=13)
    rep = extract(tracks, store, other, workers=1, progress=False)
    assert rep.n_extracted == 6
    assert FeatureStore(store).config == other           # the store now serves the new config
    assert FeatureStore(store, config_hash=SMALL.hash()).config == SMALL
    rep = extract(tracks, store, SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_cached) == (0, 6)     # switching back recomputes nothing


def test_bad_files_are_recorded_and_the_batch_goes_on(collection, tmp_path):
    (collection / "low" / "empty.wav").write_bytes(b"")
    (collection / "low" / "garbage.mp3").write_bytes(os.urandom(5000))
    (collection / "low" / "notes.mp3").write_text("this is not audio\n" * 50)
    sf.write(collection / "high" / "short.wav", np.zeros(300, np.float32), 22050)
    nan = tone(440.0, 1.0)
    nan[100] = np.nan
    sf.write(collection / "high" / "nan.wav", nan, 22050, subtype="FLOAT")
    (collection / "high" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (collection / ".DS_Store").write_bytes(b"x")
    scan = scan_folder(collection)
    assert "high/cover.jpg" in scan.skipped
    rep = extract(scan.tracks, tmp_path / "store", SMALL, workers=2, progress=False)
    assert (rep.n_extracted, rep.n_failed) == (6, 5)
    fs = FeatureStore(tmp_path / "store")
    why = {f.id: (f.error_type, f.message) for f in fs.failures}
    assert set(why) == {"low/empty.wav", "low/garbage.mp3", "low/notes.mp3", "high/short.wav", "high/nan.wav"}
    assert "empty" in why["low/empty.wav"][1]
    assert "too short" in why["high/short.wav"][1]
    assert "non-finite" in why["high/nan.wav"][1]
    assert "decode" in why["low/garbage.mp3"][1]
    assert all(f.path.endswith(f.id) for f in fs.failures)
    # unchanged failures are not retried; a repaired file is
    rep = extract(scan_folder(collection).tracks, tmp_path / "store", SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_failed, rep.n_failed_cached) == (0, 0, 5)
    sf.write(collection / "high" / "short.wav", tone(300.0, 1.0), 22050)
    rep = extract(scan_folder(collection).tracks, tmp_path / "store", SMALL, workers=1, progress=False)
    assert (rep.n_extracted, rep.n_failed_cached) == (1, 4)
    fs = FeatureStore(tmp_path / "store")
    assert "high/short.wav" in fs.ids and len(fs.failures) == 4


def test_store_format_is_readable_with_plain_h5py(collection, tmp_path):
    extract(scan_folder(collection).tracks, tmp_path / "store", SMALL, workers=1, progress=False)
    (shard,) = sorted((tmp_path / "store").glob("shard-*.h5"))
    with h5py.File(shard, "r") as f:
        assert f.attrs["schema_version"] == 1
        assert FeatureConfig.from_json(f.attrs["config_json"]) == SMALL
        assert f.attrs["config_hash"] == SMALL.hash()
        ids = f["tracks/id"].asstr()[:]
        off = f["frames/offsets"][:]
        assert len(off) == len(ids) + 1 and off[0] == 0
        assert f["frames/mfcc"].shape == (off[-1], 20)
        assert f["frames/mfcc"].compression == "lzf" and f["frames/mfcc"].chunks is not None
        assert list(f["summary/names"].asstr()[:]) == summary_names(SMALL)
        assert f["summary/matrix"].shape == (len(ids), len(summary_names(SMALL)))
        assert f["tracks/n_frames"][:].sum() == off[-1]
    index, changed = load_index(tmp_path / "store")
    assert not changed and shard.name in index["shards"]
    assert len(index["shards"][shard.name]["sha256"]) == 64


def test_index_lists_every_shard_at_the_end_of_a_run(collection, tmp_path):
    store = tmp_path / "store"
    extract(scan_folder(collection).tracks, store, SMALL, workers=1, shard_size=1, progress=False)
    index, changed = load_index(store)
    assert not changed and len(index["shards"]) == 6
    assert all(e["sha256"] for e in index["shards"].values())


def test_index_is_rebuilt_from_shards_when_lost(collection, tmp_path):
    store = tmp_path / "store"
    extract(scan_folder(collection).tracks, store, SMALL, workers=1, shard_size=2, progress=False)
    (store / "index.json").unlink()
    assert len(FeatureStore(store)) == 6
    rep = extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)
    assert rep.n_cached == 6


def test_second_writer_is_refused_naming_the_holder(collection, tmp_path):
    from genrekit.cache import StoreLock
    from genrekit.errors import StoreError

    store = tmp_path / "store"
    store.mkdir()
    with StoreLock(store):
        with pytest.raises(StoreError, match=f"being written by pid {os.getpid()}"):
            extract(scan_folder(collection).tracks, store, SMALL, workers=1, progress=False)


# ----------------------------------------------------------------------------------- CLI
def test_cli_extract_and_info(collection, tmp_path, capsys):
    store = tmp_path / "store"
    rc = main(["extract", str(collection), "--manifest", str(collection / "manifest.csv"), "--store", str(store),
               "--workers", "1", "--features", "mfcc,chroma", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "6 extracted, 0 skipped as cached, 0 failed" in out
    fs = FeatureStore(store)
    assert {r.group for r in fs.tracks} == {"low-artist-0", "low-artist-1", "high-artist-0", "high-artist-1"}
    assert fs.config.features == ("mfcc", "chroma")
    rc = main(["info", str(store)])
    out = capsys.readouterr().out
    assert rc == 0 and "tracks     6" in out and "groups     4" in out and "mfcc, chroma" in out


def test_cli_default_store_is_in_the_working_directory(collection, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["extract", str(collection), "--workers", "1", "--features", "rms", "--no-progress"]) == 0
    assert (tmp_path / "genrekit_store" / "index.json").exists()
    assert main(["info"]) == 0


def test_cli_strict_exit_code(collection, tmp_path, capsys):
    (collection / "low" / "empty.wav").write_bytes(b"")
    args = ["extract", str(collection), "--store", str(tmp_path / "s"), "--workers", "1", "--features", "rms",
            "--no-progress"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "1 failed" in out and "empty.wav" in err
    assert main(args + ["--strict"]) == 1


@pytest.mark.parametrize("args, match", [
    (["extract", "NOPE"], "no such folder"),
    (["extract", "{audio}", "--manifest", "{audio}/nothere.csv"], "no such manifest"),
    (["extract", "{empty}"], "no audio files"),
    (["extract", "{audio}", "--features", "mfcc,bogus"], "unknown feature 'bogus'"),
    (["extract", "{audio}", "--store", "{audio}/manifest.csv"], "is a file"),
    (["info", "{tmp}/nostore"], "no feature store"),
])
def test_cli_bad_arguments_are_one_line_errors(args, match, collection, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    args = [a.format(audio=collection, empty=tmp_path / "empty", tmp=tmp_path) for a in args]
    rc = main(args + (["--no-progress"] if args[0] == "extract" else []))
    err = capsys.readouterr().err
    assert rc == 2
    assert match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_manifest_missing_path_column(tmp_path, capsys):
    (tmp_path / "m.csv").write_text("file,label\na.wav,x\n")
    rc = main(["extract", str(tmp_path), "--manifest", str(tmp_path / "m.csv"), "--no-progress"])
    assert rc == 2 and "path" in capsys.readouterr().err


def test_cli_negative_workers_is_a_usage_error(collection, capsys):
    with pytest.raises(SystemExit) as e:
        main(["extract", str(collection), "--workers", "-1"])
    assert e.value.code == 2


def test_files_longer_than_max_seconds_are_refused_before_decoding(collection, tmp_path):
    long = collection / "low" / "long.wav"
    sf.write(long, tone(200.0, 6.0), 22050)
    rep = extract(scan_folder(collection).tracks, tmp_path / "s", SMALL, workers=1, progress=False, max_seconds=4)
    assert rep.n_extracted == 6 and rep.n_failed == 1
    (fail,) = FeatureStore(tmp_path / "s").failures
    assert fail.id == "low/long.wav" and "0.1 min of audio is more than the 0.0666667 min" in fail.message
    assert "--duration" in fail.message
    # analysing only part of it is allowed
    rep = extract(scan_folder(collection).tracks, tmp_path / "s2", SMALL.replace(duration=3.0), workers=1,
                  progress=False, max_seconds=4)
    assert rep.n_failed == 0 and rep.n_extracted == 7


def test_cli_max_minutes(collection, tmp_path, capsys):
    sf.write(collection / "low" / "long.wav", tone(200.0, 6.0), 22050)
    rc = main(["extract", str(collection), "--store", str(tmp_path / "s"), "--workers", "1", "--features", "rms",
               "--max-minutes", "0.05", "--no-progress"])
    assert rc == 0 and "1 failed" in capsys.readouterr().out


def test_a_worker_killed_by_the_system_is_a_clear_error_and_finished_work_is_kept(collection, tmp_path,
                                                                                    monkeypatch, capsys):
    import genrekit.pipeline.extraction.worker as ex
    from tests.pipeline.killer import extract_one_or_die

    sf.write(collection / "low" / "zz-doomed.wav", tone(200.0, 2.0), 22050)
    monkeypatch.setattr(ex, "extract_one", extract_one_or_die)
    store = tmp_path / "s"
    rc = main(["extract", str(collection), "--store", str(store), "--workers", "2", "--features", "rms",
               "--no-progress", "--shard-size", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "killed by the system (most likely out of memory)" in err and "Traceback" not in err
    kept = len(FeatureStore(store)) if list(store.glob("shard-*.h5")) else 0
    monkeypatch.undo()
    (collection / "low" / "zz-doomed.wav").unlink()
    rep = extract(scan_folder(collection).tracks, store, FeatureConfig(features=("rms",)), workers=1, progress=False)
    assert rep.n_cached == kept and rep.n_extracted == 6 - kept


@pytest.mark.parametrize("channels", [1, 2, 3, 6, 8])
def test_downmix_is_the_channel_mean(channels):
    from genrekit.pipeline.extraction.decode import downmix

    block = np.random.default_rng(channels).standard_normal((5000, channels)).astype(np.float32)
    ref = block.mean(axis=1, dtype=np.float32)
    mono = downmix(block)
    assert mono.dtype == np.float32 and mono.flags.c_contiguous and not np.shares_memory(mono, block)
    if channels < 8:  # the same float32 sums in the same order as numpy's
        np.testing.assert_array_equal(mono, ref)
    else:
        np.testing.assert_allclose(mono, ref, rtol=0, atol=1e-6)


def test_extraction_processes_keep_freed_memory_on_glibc():
    import platform

    from genrekit.pipeline.extraction.worker import keep_freed_memory

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt tuning applies to glibc only")
    assert keep_freed_memory() is True  # every option accepted (32 MB is glibc's mmap-threshold limit)
