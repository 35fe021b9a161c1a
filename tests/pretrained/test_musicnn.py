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


@pytest.mark.parametrize("kf", [38, 67])
def test_timbral_filters_through_ffts_equal_the_direct_convolution(kf):
    """Without any weights: the FFT route of the timbral filters gives each filter's max (min,
    where its sign is negative) over bands of the plain 'valid' convolution."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(kf)
    x = torch.rand(2, 187 + 6, 96, generator=g) * 4
    w = torch.randn(12, 1, 7, kf, generator=g) * 0.1
    sign = torch.tensor([1.0, -1.0] * 6)
    got = musicnn._Timbral(w, sign)(musicnn._timbral_taps(x)).view(2, 187, 12)
    direct = F.conv2d(x[:, None], w * sign.view(-1, 1, 1, 1))  # (2, 12, 187, 96 - kf + 1)
    want = direct.amax(3).transpose(1, 2)
    assert torch.allclose(got, want, atol=2e-5 * want.abs().max())
    assert torch.equal(direct.amax(3)[:, 1], -F.conv2d(x[:, None], w[1:2]).amin(3)[:, 0])


def test_temporal_filters_from_one_unfold_equal_same_padded_convolutions():
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    x = torch.rand(187, 96, generator=g)
    kernels = [torch.randn(5, k, generator=g) for k in (128, 64, 32)]
    for k, got in zip(kernels, musicnn._temporal(x, kernels)):
        pad = musicnn._same_pad(k.shape[1])
        direct = F.conv2d(F.pad(x.T[None, None], pad), k[:, None, None, :])  # (1, 5, 96, 187)
        assert got.shape == (5, 187)
        assert torch.allclose(got, direct[0].amax(1), atol=1e-4)
