"""Every feature equals librosa's reference call with the same parameters (rel. error < 1e-4)."""

import numpy as np
import pytest

librosa = pytest.importorskip("librosa")

from genrekit.features import FEATURES, FeatureConfig, compute_features
from genrekit.features.kernels import tempogram_ratio

SR = 22050


def _signal(seconds=6.0, seed=0):
    """A music-like test signal: a chord with vibrato, percussive clicks and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = sum(0.2 * np.sin(2 * np.pi * f * t * (1 + 0.002 * np.sin(2 * np.pi * 5 * t))) for f in (220, 277.2, 329.6))
    beat = (np.mod(t, 0.5) < 0.02) * rng.standard_normal(t.size) * 0.5
    y = y + beat + 0.01 * rng.standard_normal(t.size)
    return (y / np.abs(y).max() * 0.9).astype(np.float32)


@pytest.fixture(scope="module")
def y():
    return _signal()


@pytest.fixture(scope="module")
def feats(y):
    return compute_features(y, FeatureConfig())


def _close(a, b, rtol=1e-4):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)
    assert err < rtol, f"relative error {err:.2e}"


def _ref(y, c=FeatureConfig()):
    kw = dict(sr=c.sr, n_fft=c.n_fft, hop_length=c.hop_length)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, n_mels=c.n_mels, **kw))
    mfcc = librosa.feature.mfcc(y=y, n_mfcc=c.n_mfcc, n_mels=c.n_mels, **kw)
    return {
        "logmel": lambda: mel_db,
        "mfcc": lambda: mfcc,
        "mfcc_delta": lambda: librosa.feature.delta(mfcc, width=c.delta_width),
        "mfcc_delta2": lambda: librosa.feature.delta(mfcc, width=c.delta_width, order=2),
        "chroma": lambda: librosa.feature.chroma_stft(y=y, tuning=c.tuning, n_chroma=c.n_chroma, **kw),
        "contrast": lambda: librosa.feature.spectral_contrast(y=y, fmin=c.contrast_fmin, n_bands=c.n_contrast_bands, **kw),
        "centroid": lambda: librosa.feature.spectral_centroid(y=y, **kw),
        "bandwidth": lambda: librosa.feature.spectral_bandwidth(y=y, **kw),
        "rolloff": lambda: librosa.feature.spectral_rolloff(y=y, roll_percent=c.rolloff_percent, **kw),
        "flatness": lambda: librosa.feature.spectral_flatness(y=y, n_fft=c.n_fft, hop_length=c.hop_length),
        "zcr": lambda: librosa.feature.zero_crossing_rate(y, frame_length=c.n_fft, hop_length=c.hop_length),
        "rms": lambda: librosa.feature.rms(y=y, frame_length=c.n_fft, hop_length=c.hop_length),
        "onset": lambda: librosa.onset.onset_strength(y=y, **kw)[np.newaxis, :],
        "tempo": lambda: librosa.feature.tempo(y=y, sr=c.sr, hop_length=c.hop_length, ac_size=c.tempo_ac_seconds),
        "tempogram_ratio": lambda: librosa.feature.tempogram_ratio(
            y=y, sr=c.sr, hop_length=c.hop_length, win_length=c.tempo_win_length),
        # opt-in (weights needed): the torch port on librosa's 16 kHz resampling; the port itself
        # equals musicnn's TF graph (tests/pretrained/test_musicnn.py, tests/pretrained/test_feature.py)
        "musicnn": lambda: _musicnn_ref(y, c)[0],
        "musicnn_tags": lambda: _musicnn_ref(y, c)[1],
    }


def _musicnn_ref(y, c):
    from genrekit.pretrained import musicnn

    pen, prob = musicnn.load(c.musicnn_model).run(librosa.resample(y, orig_sr=c.sr, target_sr=16000, res_type="soxr_hq"))
    return pen.T, prob.T


@pytest.mark.parametrize("name", FeatureConfig().features)
def test_feature_equals_librosa_reference(name, y, feats):
    ref = _ref(y)[name]()
    _close(feats[name], ref)
    assert feats[name].dtype == np.float32


def test_every_feature_has_a_parity_test():
    """A feature is added by registering it (genrekit/features/catalog.py) and adding its
    reference to ``_ref`` above; every registered feature must have one."""
    assert set(_ref(np.zeros(4096, np.float32))) == set(FEATURES.names())


def test_parity_holds_for_non_default_parameters():
    y = _signal(4.0, seed=3)
    c = FeatureConfig(n_mels=64, n_mfcc=13, n_fft=1024, hop_length=256, fmax=8000.0)
    f = compute_features(y, c)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13, n_mels=64, n_fft=1024, hop_length=256, fmax=8000.0)
    _close(f["mfcc"], ref)
    assert f["logmel"].shape == (64, 1 + len(y) // 256)


def test_frame_features_share_one_frame_count(feats, y):
    n = 1 + len(y) // FeatureConfig().hop_length
    for name, arr in feats.items():
        if name != "tempo":
            assert arr.shape[-1] == n, name
    assert feats["tempo"].shape == (1,)


def test_feature_subset_computes_only_what_is_asked(y):
    f = compute_features(y, FeatureConfig(features=("chroma", "tempo")))
    assert set(f) == {"chroma", "tempo"}


def test_vectorised_tempogram_ratio_matches_librosa():
    rng = np.random.default_rng(1)
    tg = np.abs(rng.standard_normal((100, 40)))
    freqs = librosa.tempo_frequencies(100, sr=SR, hop_length=512)
    bpm = rng.uniform(40, 300, size=40)
    ref = librosa.feature.tempogram_ratio(tg=tg, sr=SR, bpm=bpm, freqs=freqs)
    _close(tempogram_ratio(tg, bpm, freqs), ref, rtol=1e-9)


@pytest.mark.parametrize("kind", ["silence", "gaps", "noise-odd-length"])
def test_fast_spectral_shape_and_zcr_match_librosa_on_edge_cases(kind):
    rng = np.random.default_rng(7)
    if kind == "silence":
        y = np.zeros(SR, np.float32)
    elif kind == "gaps":
        y = _signal(2.0)
        y[5000:20000] = 0.0  # exact digital silence inside: zero frames and sign runs
    else:
        y = rng.standard_normal(SR + 333).astype(np.float32) * 0.1
    f = compute_features(y, FeatureConfig(features=("centroid", "bandwidth", "rolloff", "zcr", "flatness",
                                                    "rms", "contrast")))
    kw = dict(sr=SR, n_fft=2048, hop_length=512)
    if kind == "silence":  # librosa gives exactly 0 for both
        np.testing.assert_array_equal(f["centroid"], 0)
        np.testing.assert_array_equal(f["bandwidth"], 0)
        assert librosa.feature.spectral_centroid(y=y, **kw).max() == 0
    else:
        _close(f["centroid"], librosa.feature.spectral_centroid(y=y, **kw))
        _close(f["bandwidth"], librosa.feature.spectral_bandwidth(y=y, **kw))
    np.testing.assert_array_equal(f["rolloff"], librosa.feature.spectral_rolloff(y=y, **kw).astype(np.float32))
    np.testing.assert_array_equal(f["zcr"], librosa.feature.zero_crossing_rate(y).astype(np.float32))
    _close(f["flatness"], librosa.feature.spectral_flatness(y=y))
    _close(f["rms"], librosa.feature.rms(y=y))
    if kind != "silence":  # librosa's contrast of digital silence is 0 - 0 in dB: both give 0
        _close(f["contrast"], librosa.feature.spectral_contrast(y=y, **kw))
    else:
        np.testing.assert_array_equal(f["contrast"], 0)


@pytest.mark.parametrize("n_fft,hop", [(1024, 256), (2048, 300)])
def test_own_kernels_match_librosa_for_other_frame_sizes(n_fft, hop):
    """Roll-off, RMS, contrast, flatness and the rhythm features away from the defaults
    (a hop that does not divide the frame takes RMS's general path)."""
    y = _signal(5.0, seed=5)
    c = FeatureConfig(n_fft=n_fft, hop_length=hop, n_contrast_bands=4, contrast_fmin=150.0)
    f = compute_features(y, c)
    kw = dict(sr=SR, n_fft=n_fft, hop_length=hop)
    np.testing.assert_array_equal(f["rolloff"], librosa.feature.spectral_rolloff(y=y, **kw).astype(np.float32))
    _close(f["rms"], librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop))
    _close(f["contrast"], librosa.feature.spectral_contrast(y=y, n_bands=4, fmin=150.0, **kw))
    _close(f["flatness"], librosa.feature.spectral_flatness(y=y, n_fft=n_fft, hop_length=hop))
    _close(f["logmel"], librosa.power_to_db(librosa.feature.melspectrogram(y=y, **kw)))
    oenv = librosa.onset.onset_strength(y=y, **kw)  # (librosa's y= path would use n_fft=2048)
    _close(f["onset"], oenv[np.newaxis, :])
    _close(f["tempogram_ratio"], librosa.feature.tempogram_ratio(
        onset_envelope=oenv, sr=SR, hop_length=hop, win_length=c.tempo_win_length))
    _close(f["tempo"], librosa.feature.tempo(onset_envelope=oenv, sr=SR, hop_length=hop,
                                             ac_size=c.tempo_ac_seconds))


def test_banded_filterbank_product_equals_the_dense_product():
    from genrekit.features.kernels import band_blocks, banded_matmul

    rng = np.random.default_rng(2)
    X = np.abs(rng.standard_normal((1025, 50))).astype(np.float32)
    for fb in (librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128),
               librosa.filters.mel(sr=SR, n_fft=2048, n_mels=40, fmin=300.0, fmax=5000.0)):
        fb = fb.astype(np.float32)
        _close(banded_matmul(band_blocks(fb), X), fb @ X, rtol=1e-6)
    dense = rng.standard_normal((12, 1025)).astype(np.float32)  # no zeros: one block per 8 rows, all bins
    _close(banded_matmul(band_blocks(dense), X), dense @ X, rtol=1e-6)


@pytest.mark.parametrize("width,order", [(3, 1), (9, 1), (9, 2), (5, 2), (11, 1)])
def test_delta_equals_librosa_including_the_edges(width, order):
    from genrekit.features.kernels import delta

    rng = np.random.default_rng(width * 10 + order)
    for n in (width, width + 1, 300):
        x = np.cumsum(rng.standard_normal((13, n)), axis=1).astype(np.float32)
        _close(delta(x, width=width, order=order), librosa.feature.delta(x, width=width, order=order), rtol=1e-5)


def test_contrast_kernel_handles_ties_and_flat_bands():
    from genrekit.features.kernels import contrast_bands, spectral_contrast

    rng = np.random.default_rng(4)
    S = np.abs(rng.standard_normal((1025, 60))).astype(np.float32)
    S[:, :10] = 0.5                        # flat frames: every band ties
    S[::7, 10:20] = 0.0                    # repeated zeros inside bands
    S = np.asfortranarray(np.round(S, 1))  # many exact ties, librosa's STFT layout
    freqs = librosa.fft_frequencies(sr=SR, n_fft=2048)
    for n_bands, fmin in ((6, 200.0), (4, 100.0)):
        got = spectral_contrast(S, contrast_bands(freqs, fmin, n_bands, SR))
        ref = librosa.feature.spectral_contrast(S=S, sr=SR, n_fft=2048, fmin=fmin, n_bands=n_bands)
        _close(got, ref, rtol=1e-6)
