"""The torch port of musicnn: its input, its patches, and parity with the original TF graph.

The reference numbers (tests/pretrained/fixtures/musicnn_reference.*) were produced once with
musicnn 0.1.0's own ``models.define_model`` in TensorFlow 2.21 (graph mode, tf-keras), every
variable restored from ``<weights>/<MODEL>/model`` and checked equal to its checkpoint tensor,
fed the same input (librosa.load at 16 kHz, the mel power cast to float16 and back, then
log10(10000·x + 1) in float32), first 4 patches of each clip.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from genrekit.errors import AudioError
from genrekit.pretrained import musicnn
from tests.pretrained.conftest import FIXTURES, real_prefix


def test_log_mel_rounds_through_float16_and_never_overflows():
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(16000) * 0.99).clip(-1, 1).astype(np.float32)  # loud noise
    x = musicnn.log_mel(y)
    assert x.shape == (1 + 16000 // 256, 96) and x.dtype == np.float32
    assert np.isfinite(x).all()
    # the values are log10(10000·m + 1) of float16-representable m
    m = (10 ** x.astype(np.float64) - 1) / 10000
    assert np.allclose(m, m.astype(np.float16).astype(np.float64), rtol=1e-3, atol=1e-6)
    with np.errstate(over="ignore"):  # musicnn's own float16 product overflows on this signal
        import librosa
        mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
        assert np.isinf(np.log10(np.float16(10000) * mel.astype(np.float16) + 1)).any()
    assert np.allclose(x, np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1), atol=1e-5)
    assert (musicnn.log_mel(np.zeros(4000, np.float32)) == 0).all()  # silence: log10(1)


def test_patches_are_non_overlapping_from_the_start_and_drop_the_rest():
    x = np.arange(500 * 96, dtype=np.float32).reshape(500, 96)
    p = musicnn.patches(x)
    assert p.shape == (2, 187, 96)
    np.testing.assert_array_equal(p[1], x[187:374])


def test_a_clip_shorter_than_a_patch_is_repeated_to_one_patch():
    x = np.arange(50 * 96, dtype=np.float32).reshape(50, 96)
    p = musicnn.patches(x)
    assert p.shape == (1, 187, 96)
    np.testing.assert_array_equal(p[0, :50], x)
    np.testing.assert_array_equal(p[0, 50:100], x)
    np.testing.assert_array_equal(p[0, 150:187], x[:37])
    with pytest.raises(AudioError):
        musicnn.patches(np.zeros((0, 96), np.float32))
    with pytest.raises(AudioError):
        musicnn.log_mel(np.zeros(0, np.float32))


@pytest.mark.parametrize("model", ["MTT_musicnn", "MSD_musicnn"])
def test_parity_with_the_original_tensorflow_graph(model, shared_data):
    import librosa

    real_prefix(model)
    ref = np.load(FIXTURES / "musicnn_reference.npz")
    meta = json.loads((FIXTURES / "musicnn_reference.json").read_text())
    m = musicnn.load(model)
    for clip in meta["clips"]:
        path = shared_data / clip
        if not path.is_file():
            pytest.skip(f"{clip} is not in ../shared/data")
        y, _ = librosa.load(path, sr=16000)
        x = musicnn.patches(musicnn.log_mel(y))[:meta["n_patches"]]
        key = f"{model}|{clip}"
        np.testing.assert_allclose(x.mean(axis=(1, 2)), ref[key + "|mel_mean"], atol=1e-4)  # same input
        pen, prob = m.run_patches(x, batch_size=3)
        assert np.abs(prob - ref[key + "|prob"]).max() <= 1e-4, clip
        scale = np.abs(ref[key + "|pen"]).max()
        assert np.abs(pen - ref[key + "|pen"]).max() <= 1e-3 * scale, clip


def test_restored_weights_tag_a_classical_clip_as_classical(shared_data):
    import librosa

    real_prefix("MTT_musicnn")
    m = musicnn.load("MTT_musicnn")
    y, _ = librosa.load(shared_data / "gtzan-mini" / "classical" / "classical.00000.mp3", sr=16000)
    pen, prob = m.run(y)
    assert pen.shape == (10, 200) and prob.shape == (10, 50)
    top = [m.labels[i] for i in np.argsort(-prob.mean(axis=0))[:3]]
    assert top == ["classical", "strings", "violin"]
