"""A long file's stored values equal the whole-track computation, bit for bit.

Extraction bounds its memory on long files by working in blocks (of STFT frames, of samples, of
rows); what it stores must not change. ``tests/features/wholetrack.py`` is a frozen copy of the
whole-track computation; these tests compare :func:`extract_one` with it on a generated file of
80 s (44.1 kHz stereo, resampled and downmixed as real music is), which spans several blocks.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from genrekit.features import FeatureConfig, summary_vector
from genrekit.pipeline.datasets.synth import synth_clip
from genrekit.pipeline.extraction.worker import extract_one
from tests.features import wholetrack

SR = 44100


def _music(seconds: float) -> np.ndarray:
    """Stereo music-like audio: two genres in turn, a silent gap, the channels different."""
    half = seconds / 2 - 1
    left = np.concatenate([synth_clip("rock", 0, 0, duration=half, sr=SR), np.zeros(2 * SR, np.float32),
                           synth_clip("ambient", 1, 0, duration=half, sr=SR)])
    right = np.concatenate([synth_clip("techno", 2, 1, duration=half, sr=SR), np.zeros(2 * SR, np.float32),
                            0.5 * synth_clip("jazz", 0, 2, duration=half, sr=SR)])
    return np.stack([left, right], axis=1)


@pytest.fixture(autouse=True)
def one_blas_thread():
    """As in extraction's workers (one BLAS thread each): with several, OpenBLAS splits a matrix
    product over threads by its width, so a block and the whole track may round differently."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.flac"
    sf.write(path, _music(80.0), SR)
    return path


def _extract(path, config):
    st = path.stat()
    task = {"id": "x", "path": str(path), "file_size": st.st_size, "file_mtime_ns": st.st_mtime_ns}
    res = extract_one(task, config)
    assert res["status"] == "ok", res
    return res


def _assert_identical(name, got, want):
    assert got.dtype == want.dtype and got.shape == want.shape, (name, got.shape, want.shape)
    np.testing.assert_array_equal(got, want, err_msg=name)


def test_every_stored_value_equals_the_whole_track_computation(long_file):
    config = FeatureConfig()
    res = _extract(long_file, config)
    y = wholetrack.decode(long_file, config.sr)
    assert res["duration"] == len(y) / config.sr
    want = wholetrack.features(y, config)
    for name in config.frame_features:
        _assert_identical(name, res["frames"][name], np.ascontiguousarray(want[name].T))
    _assert_identical("tempo", res["track_features"]["tempo"], want["tempo"])
    assert res["n_frames"] == 1 + len(y) // config.hop_length
    parts = [wholetrack.summarize(want[n]).ravel() if n in config.frame_features else want[n]
             for n in config.features]
    _assert_identical("summary", res["summary"], np.concatenate(parts).astype(np.float32))
    hashes, times = wholetrack.fingerprint(y, config.sr)
    assert hashes.size > 1000
    _assert_identical("fingerprint hashes", res["fingerprint"][0], hashes)
    _assert_identical("fingerprint times", res["fingerprint"][1], times)


def test_summary_vector_equals_the_all_rows_at_once_statistics(long_file):
    config = FeatureConfig()
    y = wholetrack.decode(long_file, config.sr)
    feats = wholetrack.features(y, config)
    want = [wholetrack.summarize(feats[n]).ravel() if n in config.frame_features else feats[n]
            for n in config.features]
    _assert_identical("summary", summary_vector(feats, config), np.concatenate(want).astype(np.float32))


def test_small_blocks_give_the_same_values(long_file, monkeypatch):
    """Many block boundaries in every blockwise step (STFT frames, tempogram columns, rms hops,
    fingerprint frames, summary rows, a decoder buffer that must grow): nothing changes."""
    from genrekit.features import extract, fingerprint, kernels, registry
    from genrekit.pipeline.extraction import decode

    config = FeatureConfig()
    whole = _extract(long_file, config)
    monkeypatch.setattr(registry, "BLOCK_FRAMES", 512)
    monkeypatch.setattr(kernels, "COLUMN_BLOCK", 256)
    monkeypatch.setattr(fingerprint, "BLOCK_FRAMES", 704)
    monkeypatch.setattr(extract, "SUMMARY_ROWS", 5)
    real_signal = decode._Signal
    monkeypatch.setattr(decode, "_Signal", lambda expected: real_signal(expected / 10))
    blocked = _extract(long_file, config)
    assert whole["n_frames"] > 3 * 512 and blocked["duration"] == whole["duration"]
    for name in config.frame_features:
        _assert_identical(name, blocked["frames"][name], whole["frames"][name])
    _assert_identical("tempo", blocked["track_features"]["tempo"], whole["track_features"]["tempo"])
    _assert_identical("summary", blocked["summary"], whole["summary"])
    for got, want in zip(blocked["fingerprint"], whole["fingerprint"]):
        _assert_identical("fingerprint", got, want)


@pytest.mark.parametrize("kwargs", [
    dict(n_fft=1024, hop_length=256, n_mels=64, n_mfcc=13),
    dict(n_fft=2047, hop_length=300),  # odd frame, a hop that does not divide it (rms via librosa)
    dict(sr=16000, n_mels=64, n_contrast_bands=5, tempo_ac_seconds=4.0),
    dict(features=("chroma", "zcr", "tempo")),
])
def test_blocks_do_not_change_other_configs(kwargs, monkeypatch):
    from genrekit.features import compute_features, fingerprint, kernels, registry

    config = FeatureConfig(**kwargs)
    y = np.concatenate([synth_clip("waltz", 0, 0, duration=20, sr=config.sr), np.zeros(config.sr, np.float32),
                        synth_clip("hiphop", 1, 1, duration=20, sr=config.sr)])
    whole = compute_features(y, config)
    fp_whole = fingerprint.fingerprint(y, config.sr)
    monkeypatch.setattr(registry, "BLOCK_FRAMES", 256)
    monkeypatch.setattr(kernels, "COLUMN_BLOCK", 128)
    monkeypatch.setattr(fingerprint, "BLOCK_FRAMES", 320)
    blocked = compute_features([y.copy()], config)  # handed over, as extraction does
    for name in config.features:
        _assert_identical(name, blocked[name], whole[name])
    for got, want in zip(fingerprint.fingerprint(y, config.sr), fp_whole):
        _assert_identical("fingerprint", got, want)
