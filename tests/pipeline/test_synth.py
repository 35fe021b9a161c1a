"""Tests of the synthetic data set in :mod:`genrekit.pipeline.datasets.synth`."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from genrekit.errors import ParameterError
from genrekit.pipeline.datasets.synth import GENRES, make_dataset, synth_clip

SR = 22050


# --------------------------------------------------------------------------------------------
# synth_clip


def test_genres_are_many_and_unique() -> None:
    assert len(GENRES) >= 6
    assert len(set(GENRES)) == len(GENRES)


def test_same_arguments_give_identical_audio() -> None:
    first = synth_clip("rock", 1, 2, duration=1.0)
    second = synth_clip("rock", 1, 2, duration=1.0)
    assert np.array_equal(first, second)


def test_take_artist_and_genre_change_the_audio() -> None:
    base = synth_clip("jazz", 0, 0, duration=1.0)
    for other in (
        synth_clip("jazz", 0, 1, duration=1.0),
        synth_clip("jazz", 1, 0, duration=1.0),
        synth_clip("waltz", 0, 0, duration=1.0),
    ):
        assert base.shape == other.shape
        assert not np.allclose(base, other)


def test_audio_does_not_depend_on_the_hash_seed() -> None:
    """Seeds come from a CRC of the genre, not Python's per-process salted ``hash``."""
    code = (
        "import hashlib, sys\n"
        "from genrekit.pipeline.datasets.synth import synth_clip\n"
        "x = synth_clip('hiphop', 3, 4, duration=0.5)\n"
        "sys.stdout.write(hashlib.sha256(x.tobytes()).hexdigest())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    here = hashlib.sha256(synth_clip("hiphop", 3, 4, duration=0.5).tobytes()).hexdigest()
    assert done.stdout == here


@pytest.mark.parametrize("genre", GENRES)
def test_every_genre_gives_float32_mono_near_full_scale(genre: str) -> None:
    x = synth_clip(genre, 2, 5, duration=1.5, sr=SR)
    assert x.dtype == np.float32
    assert x.shape == (round(1.5 * SR),)
    assert np.all(np.isfinite(x))
    assert np.max(np.abs(x)) <= 1.0
    assert abs(float(np.max(np.abs(x))) - 0.9) < 0.01
    assert float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) > 0.02  # not silence plus noise


def test_duration_and_sample_rate_set_the_length() -> None:
    assert synth_clip("techno", 0, 0, duration=0.25, sr=16000).shape == (4000,)
    assert synth_clip("ambient", 0, 0, duration=1e-4, sr=8000).shape == (1,)


def test_unknown_genre_lists_the_valid_ones() -> None:
    with pytest.raises(ParameterError) as info:
        synth_clip("polka", 0, 0)
    for genre in GENRES:
        assert genre in str(info.value)
    assert "polka" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"artist": -1},
        {"take": 1.5},
        {"take": True},
        {"duration": 0.0},
        {"duration": float("nan")},
        {"sr": 100},
        {"sr": 22050.0},
    ],
)
def test_bad_arguments_raise_parameter_error(kwargs: dict) -> None:
    args = {"genre": "rock", "artist": 0, "take": 0, "duration": 0.5, "sr": SR} | kwargs
    with pytest.raises(ParameterError):
        synth_clip(args.pop("genre"), args.pop("artist"), args.pop("take"), **args)


# --------------------------------------------------------------------------------------------
# genres differ, and not only per artist


def _features(x: np.ndarray, sr: int) -> np.ndarray:
    """A tiny numpy-only description of a clip.

    Mean and spread of the log energy in 16 log-spaced bands, the rate of onsets (peaks of the
    spectral flux) and how periodic the flux is at 8 tempo ranges from 50 to 210 BPM.
    """
    n_fft, hop = 1024, 512
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = np.geomspace(40.0, sr / 2.0, 17)
    bands = np.stack(
        [power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for lo, hi in zip(edges, edges[1:])],
        axis=1,
    )
    log_bands = np.log10(np.maximum(bands, bands.max() * 1e-6))
    flux = np.maximum(np.diff(log_bands, axis=0), 0.0).mean(axis=1)
    median = np.median(flux)
    threshold = median + 2.0 * np.median(np.abs(flux - median)) + 0.05
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold)
    onset_rate = peaks.sum() / (x.size / sr)
    centred = flux - flux.mean()
    autocorr = np.correlate(centred, centred, "full")[centred.size - 1 :]
    autocorr = autocorr / (autocorr[0] + 1e-12)
    lag_s = np.arange(autocorr.size) * hop / sr
    bpm = np.geomspace(50.0, 210.0, 9)
    periodicity = [
        autocorr[(lag_s > 60.0 / hi) & (lag_s <= 60.0 / lo)].max() for lo, hi in zip(bpm, bpm[1:])
    ]
    return np.concatenate([log_bands.mean(axis=0), log_bands.std(axis=0), [onset_rate],
                           periodicity])


def test_genres_are_separable_across_artists() -> None:
    """A nearest-centroid classifier trained on artist 0 recognises artist 1's genres."""
    takes = range(3)
    train = np.array([_features(synth_clip(g, 0, t, duration=4.0), SR) for g in GENRES
                      for t in takes])
    test = np.array([_features(synth_clip(g, 1, t, duration=4.0), SR) for g in GENRES
                     for t in takes])
    labels = np.repeat(np.arange(len(GENRES)), len(takes))
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-9
    centroids = np.stack([((train - mean) / std)[labels == k].mean(axis=0)
                          for k in range(len(GENRES))])
    distances = ((((test - mean) / std)[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    accuracy = float(np.mean(distances.argmin(axis=1) == labels))
    assert accuracy >= 0.8
    # Artist 1 is not a copy of artist 0: the same genre and take differ.
    assert not np.allclose(train, test)


# --------------------------------------------------------------------------------------------
# make_dataset

_SMALL = {"genres": ("rock", "jazz"), "artists_per_genre": 2, "clips_per_artist": 2,
          "duration": 0.5}


def _read_rows(manifest) -> list[dict[str, str]]:
    with open(manifest, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["path", "label", "artist", "tags"]
        return list(reader)


def test_make_dataset_writes_files_and_manifest(tmp_path) -> None:
    manifest = make_dataset(tmp_path, fmt="wav", **_SMALL)
    assert manifest == tmp_path / "manifest.csv"
    rows = _read_rows(manifest)
    assert len(rows) == 2 * 2 * 2
    assert {row["label"] for row in rows} == {"rock", "jazz"}
    assert {row["artist"] for row in rows} == {
        "rock-artist-0", "rock-artist-1", "jazz-artist-0", "jazz-artist-1"
    }
    assert "rock/rock_a1_0.wav" in {row["path"] for row in rows}
    for row in rows:
        path = tmp_path / row["path"]
        assert path.parent.name == row["label"]
        assert row["artist"].startswith(row["label"] + "-artist-")
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (SR, 1, round(0.5 * SR))
    audio, _ = sf.read(str(tmp_path / "jazz" / "jazz_a1_1.wav"), dtype="float32")
    expected = synth_clip("jazz", 1, 1, duration=0.5)
    assert np.max(np.abs(audio - expected)) < 1e-3  # 16-bit PCM
    assert json.loads((tmp_path / ".synth.json").read_text())["fmt"] == "wav"


def test_make_dataset_second_call_is_a_no_op(tmp_path) -> None:
    manifest = make_dataset(tmp_path, **_SMALL)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 8 + 2  # clips, manifest, parameter record
    stamps = {p: p.stat().st_mtime_ns for p in files}
    assert make_dataset(tmp_path, **_SMALL) == manifest
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == files
    assert {p: p.stat().st_mtime_ns for p in files} == stamps


def test_make_dataset_repairs_and_follows_parameter_changes(tmp_path) -> None:
    make_dataset(tmp_path, **_SMALL)
    lost = tmp_path / "rock" / "rock_a0_1.flac"
    kept = tmp_path / "jazz" / "jazz_a1_0.flac"
    stamp = kept.stat().st_mtime_ns
    lost.unlink()
    make_dataset(tmp_path, **_SMALL)
    assert lost.is_file()
    assert kept.stat().st_mtime_ns == stamp  # only the missing clip is rendered again

    make_dataset(tmp_path, **(_SMALL | {"duration": 0.25}))
    assert sf.info(str(lost)).frames == round(0.25 * SR)

    # A new format replaces the old files rather than leaving both.
    make_dataset(tmp_path, **(_SMALL | {"duration": 0.25}), fmt="wav")
    assert not list(tmp_path.rglob("*.flac"))
    assert len(list(tmp_path.rglob("*.wav"))) == 8
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_make_dataset_formats_are_readable(tmp_path, fmt: str) -> None:
    if fmt == "mp3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    manifest = make_dataset(tmp_path, genres=("techno",), artists_per_genre=1,
                            clips_per_artist=1, duration=0.5, fmt=fmt)
    (row,) = _read_rows(manifest)
    assert row == {"path": f"techno/techno_a0_0.{fmt}", "label": "techno",
                   "artist": "techno-artist-0", "tags": "bass;dark;drums;fast"}
    audio, rate = sf.read(str(tmp_path / row["path"]), dtype="float32")
    assert rate == SR and audio.ndim == 1 and audio.size > 0.4 * SR


def test_manifest_is_read_by_the_manifest_reader(tmp_path) -> None:
    from genrekit.pipeline.extraction.sources import read_manifest

    scan = read_manifest(make_dataset(tmp_path, **_SMALL))
    assert len(scan.tracks) == 8 and not scan.missing
    assert {(t.label, t.group) for t in scan.tracks} == {
        (g, f"{g}-artist-{a}") for g in ("rock", "jazz") for a in range(2)
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"genres": ("rock", "polka")},
        {"genres": ()},
        {"genres": ("rock", "rock")},
        {"artists_per_genre": 0},
        {"clips_per_artist": -1},
        {"fmt": "aiff"},
        {"duration": -1.0},
    ],
)
def test_make_dataset_rejects_bad_parameters(tmp_path, kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        make_dataset(tmp_path, **(_SMALL | kwargs))
    assert not (tmp_path / "manifest.csv").exists()


def test_clip_tags_overlap_genres_and_old_manifests_gain_tags(tmp_path) -> None:
    from genrekit.pipeline.datasets.synth.tags import clip_tags

    assert clip_tags("techno", 0) == ("bass", "dark", "drums", "fast")
    assert "distorted" in clip_tags("rock", 0) and "swing" in clip_tags("jazz", 0)
    fast = {g for g in ("rock", "techno", "jazz") if "fast" in clip_tags(g, 1) + clip_tags(g, 0)}
    assert len(fast) >= 2   # a tag shared by genres
    manifest = make_dataset(tmp_path, fmt="wav", **_SMALL)
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(",".join(line.split(",")[:3]) for line in lines) + "\n")  # before tags
    mtime = (tmp_path / "rock" / "rock_a0_0.wav").stat().st_mtime_ns
    make_dataset(tmp_path, fmt="wav", **_SMALL)
    assert manifest.read_text().splitlines() == lines   # tags back, no clip rendered again
    assert (tmp_path / "rock" / "rock_a0_0.wav").stat().st_mtime_ns == mtime
