"""The built-in features, each registered once: :data:`FEATURES`.

The graph, in compute order (``→`` reads "is computed from"; features in **bold**)::

    signal                                    decoded mono float32 at config.sr
    stft_magnitude → signal                 * |STFT|: the one STFT of the signal
    power_stft → stft_magnitude             *
    mel → power_stft                        * mel power (banded filterbank product)
    **logmel** → mel (overwrites it)   **mfcc** → logmel   **mfcc_delta**, **mfcc_delta2** → mfcc
    **chroma** → power_stft                 *
    contrast_levels → stft_magnitude        * **contrast** → contrast_levels
    spectral_shape → stft_magnitude         * **centroid**, **bandwidth**, **rolloff** → spectral_shape
    **flatness** → power_stft               * (its last consumer: overwrites it in place)
    **zcr**, **rms** → signal
    onset_env → logmel      **onset** → onset_env
    tempogram → onset_env   **tempogram_ratio**, **tempo** (track level) → tempogram

Only the nodes the selected features need are computed (``features=("zcr",)`` computes no STFT),
each once per signal; fixed matrices (filterbanks, windows) are built once per process and config.
The nodes marked ``*`` are framewise: the registry computes them in blocks of STFT frames and keeps
whole only what the others read (mel power, chroma, contrast levels, spectral shape, flatness), so
a long track never holds its whole complex STFT, magnitude or power. What needs the whole track
(dB scaling against the track's peak, deltas, onsets, tempo) reads those whole values.

How to add a feature
--------------------
1. Register ONE function here::

       @feature("flux", inputs=("power_stft",), width=1)
       def _flux(config, *, power_stft):
           '''Spectral flux: [shape=(1, n_frames)].'''
           return ...

   ``inputs`` are nodes registered above it; ``width`` is an int or ``lambda config: ...``;
   ``level="track"`` for one ``(width,)`` vector per track. Optional hooks: ``validate(config)``
   (refuse parameters; FeatureConfig runs it), ``check(y, config)`` (refuse a signal, e.g. too
   short), ``row_names(config)`` (names of the rows in column names), ``frame_rate(config)`` (its
   own frames per second), ``scratch`` (inputs it may overwrite), ``default=False`` (not part of
   ``all``). A new shared intermediate is ``@intermediate(name, inputs=(...))``. Fixed matrices
   belong in :class:`Filterbanks` or a ``functools.lru_cache`` of your own: built once per process.
2. Add its librosa (or other reference) call to ``_ref`` in tests/features/test_parity.py; a test
   fails while a registered feature has none.

Nothing else changes: ``FeatureConfig`` and ``--features`` accept the name; ``feature_dims``,
frame/track, the summary columns (``flux_mean``, …) and the compute order follow from the
registration. Its position among the features here is its position in ``all``, so append it.
A feature in ``all`` is in the default config, whose JSON and hash (the cache key, pinned in
tests/features/test_pinned.py) then change and every default store recomputes; register it with
``default=False`` to keep them.

A learned embedding plugs in the same way (musicnn, at the end of this module): an intermediate
resamples the signal to the model's rate (``signal_16k``), another runs the network once
(``musicnn_out``), and each stored feature picks its part, registered with ``default=False`` (opt-in:
the weights must be fetched), ``clock="patches"`` (its own frame grid: the store keeps offsets per
clock, ``frames_patches/``) with its ``frame_rate``, ``config_fields=("musicnn_model",)`` (the
variant enters the config JSON and hash only when selected), ``cache_key`` (the weights' checksum,
in the hash) and ``ready`` (missing weights refused before any file is read). The network lives in
:mod:`genrekit.pretrained`, imported inside the functions, loaded once per process.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from genrekit.errors import AudioError, ParameterError
import genrekit.features.kernels as kernels
from genrekit.features.kernels import (
    TEMPOGRAM_RATIO_FACTORS,
    band_blocks,
    blocks,
    banded_matmul,
    contrast_bands,
    contrast_db,
    contrast_levels,
    delta,
    flatness,
    n_stft_frames,
    power_to_db,
    rms,
    spectral_shape,
    stft_frames,
    tempogram,
    tempogram_ratio,
    zero_crossing_rate,
)
from genrekit.features.registry import Registry

if TYPE_CHECKING:  # config imports this module (its names come from here)
    from genrekit.features.config import FeatureConfig

def _frame_count(y: np.ndarray, config: FeatureConfig) -> int:
    return n_stft_frames(len(y), config.n_fft, config.hop_length)


#: Every built-in feature and intermediate.
FEATURES = Registry(frame_count=_frame_count)
feature = FEATURES.feature
intermediate = FEATURES.intermediate


class Filterbanks:
    """The fixed matrices of a config, each built on first use (see :func:`filterbanks`)."""

    def __init__(self, config: FeatureConfig):
        self.config = config

    @functools.cached_property
    def mel(self) -> np.ndarray:
        import librosa

        c = self.config
        return librosa.filters.mel(sr=c.sr, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax
                                   ).astype(np.float32)

    @functools.cached_property
    def mel_bands(self) -> list:
        return band_blocks(self.mel)

    @functools.cached_property
    def chroma(self) -> np.ndarray:
        import librosa

        c = self.config
        return librosa.filters.chroma(sr=c.sr, n_fft=c.n_fft, tuning=c.tuning, n_chroma=c.n_chroma
                                      ).astype(np.float32)

    @functools.cached_property
    def fft_freqs(self) -> np.ndarray:
        import librosa

        return librosa.fft_frequencies(sr=self.config.sr, n_fft=self.config.n_fft)

    @functools.cached_property
    def contrast_bands(self) -> list[tuple[int, int, int]]:
        c = self.config
        return contrast_bands(self.fft_freqs, c.contrast_fmin, c.n_contrast_bands, c.sr)

    @functools.cached_property
    def tempo_freqs(self) -> np.ndarray:
        import librosa

        c = self.config
        return librosa.tempo_frequencies(c.tempo_win_length, hop_length=c.hop_length, sr=c.sr)

    @functools.cached_property
    def tempo_window(self) -> np.ndarray:
        import scipy.signal  # on first use: scipy.signal costs ~0.5 s to import

        return scipy.signal.get_window("hann", self.config.tempo_win_length, fftbins=True).astype(np.float32)


@functools.lru_cache(maxsize=8)
def filterbanks(config: FeatureConfig) -> Filterbanks:
    """The :class:`Filterbanks` of ``config``, made on first use in this process, then reused."""
    return Filterbanks(config)


# ------------------------------------------------------------------------------------- spectrum
@intermediate("stft_magnitude", inputs=("signal",), framewise=True)
def _stft_magnitude(config, *, signal, frames):
    return np.abs(stft_frames(signal, config.n_fft, config.hop_length, *frames))


@intermediate("power_stft", inputs=("stft_magnitude",), framewise=True)
def _power_stft(config, *, stft_magnitude):
    return stft_magnitude**2


@intermediate("mel", inputs=("power_stft",), framewise=True)
def _mel(config, *, power_stft):
    return banded_matmul(filterbanks(config).mel_bands, power_stft)


@feature("logmel", inputs=("mel",), width=lambda c: c.n_mels, scratch=("mel",))
def _logmel(config, *, mel):
    return power_to_db(mel, top_db=config.top_db, overwrite=True)


# ------------------------------------------------------------------------------------- cepstrum
@feature("mfcc", inputs=("logmel",), width=lambda c: c.n_mfcc)
def _mfcc(config, *, logmel):
    import librosa

    # Each frame's DCT is its own; in blocks of frames, librosa's DCT of every mel band (of which
    # it keeps the first rows) is a block's size.
    out = np.empty((config.n_mfcc, logmel.shape[1]), dtype=logmel.dtype)
    for a, b in blocks(logmel.shape[1], kernels.COLUMN_BLOCK):
        out[:, a:b] = librosa.feature.mfcc(S=logmel[:, a:b], n_mfcc=config.n_mfcc)
    return out


def _enough_frames_for_deltas(y: np.ndarray, config: FeatureConfig) -> None:
    """MFCC deltas need ``delta_width`` frames (1 + n // hop with centred frames)."""
    min_delta = (config.delta_width - 1) * config.hop_length
    if y.size < min_delta:
        raise AudioError(
            f"audio too short: {y.size} samples ({y.size / config.sr:.3f} s) is less than the "
            f"{min_delta} samples ({config.delta_width} analysis frames) that MFCC deltas need"
        )


@feature("mfcc_delta", inputs=("mfcc",), width=lambda c: c.n_mfcc, check=_enough_frames_for_deltas)
def _mfcc_delta(config, *, mfcc):
    return delta(mfcc, width=config.delta_width, order=1)


@feature("mfcc_delta2", inputs=("mfcc",), width=lambda c: c.n_mfcc, check=_enough_frames_for_deltas)
def _mfcc_delta2(config, *, mfcc):
    return delta(mfcc, width=config.delta_width, order=2)


# ------------------------------------------------------------------------------------- spectral
@feature("chroma", inputs=("power_stft",), width=lambda c: c.n_chroma, framewise=True)
def _chroma(config, *, power_stft):
    import librosa

    return librosa.util.normalize(filterbanks(config).chroma @ power_stft, norm=np.inf, axis=-2)


def _contrast_fits(config: FeatureConfig) -> None:
    """The octave bands of spectral contrast must lie below Nyquist."""
    c = config
    if (c.n_contrast_bands < 1 or c.contrast_fmin <= 0
            or c.contrast_fmin * 2.0 ** (c.n_contrast_bands - 1) >= c.sr / 2):
        raise ParameterError(
            f"spectral contrast: {c.n_contrast_bands} octave bands from {c.contrast_fmin} Hz "
            f"do not fit below Nyquist ({c.sr / 2:g} Hz); lower n_contrast_bands or contrast_fmin"
        )


@intermediate("contrast_levels", inputs=("stft_magnitude",), framewise=True)
def _contrast_levels(config, *, stft_magnitude):
    """(valley, peak) power of each contrast band, per frame."""
    return contrast_levels(stft_magnitude, filterbanks(config).contrast_bands)


@feature("contrast", inputs=("contrast_levels",), width=lambda c: c.n_contrast_bands + 1, validate=_contrast_fits)
def _contrast(config, *, contrast_levels):
    return contrast_db(*contrast_levels)


@intermediate("spectral_shape", inputs=("stft_magnitude",), framewise=True)
def _spectral_shape(config, *, stft_magnitude):
    """(centroid, bandwidth, rolloff) from one compiled pass over the spectrogram."""
    return spectral_shape(stft_magnitude, filterbanks(config).fft_freqs, config.rolloff_percent)


@feature("centroid", inputs=("spectral_shape",), width=1)
def _centroid(config, *, spectral_shape):
    return spectral_shape[0]


@feature("bandwidth", inputs=("spectral_shape",), width=1)
def _bandwidth(config, *, spectral_shape):
    return spectral_shape[1]


@feature("rolloff", inputs=("spectral_shape",), width=1)
def _rolloff(config, *, spectral_shape):
    return spectral_shape[2]


@feature("flatness", inputs=("power_stft",), width=1, scratch=("power_stft",), framewise=True)
def _flatness(config, *, power_stft):
    return flatness(power_stft, overwrite=True)


# ------------------------------------------------------------------------------------- waveform
@feature("zcr", inputs=("signal",), width=1)
def _zcr(config, *, signal):
    return zero_crossing_rate(signal, frame_length=config.n_fft, hop_length=config.hop_length)


@feature("rms", inputs=("signal",), width=1)
def _rms(config, *, signal):
    return rms(signal, frame_length=config.n_fft, hop_length=config.hop_length)


# ------------------------------------------------------------------------------------- rhythm
@intermediate("onset_env", inputs=("logmel",))
def _onset_env(config, *, logmel):
    import librosa

    return librosa.onset.onset_strength(S=logmel, sr=config.sr, n_fft=config.n_fft, hop_length=config.hop_length)


@feature("onset", inputs=("onset_env",), width=1)
def _onset(config, *, onset_env):
    return onset_env[np.newaxis, :]


@intermediate("tempogram", inputs=("onset_env",))
def _tempogram(config, *, onset_env):
    return tempogram(onset_env, filterbanks(config).tempo_window)


@feature("tempogram_ratio", inputs=("tempogram",), width=len(TEMPOGRAM_RATIO_FACTORS))
def _tempogram_ratio(config, *, tempogram):
    import librosa

    # Each frame's tempo from its own column, in blocks of frames: librosa weighs the whole
    # tempogram in float64 at once (~4x its size) otherwise.
    bpm = np.concatenate([
        librosa.feature.tempo(tg=tempogram[:, a:b], sr=config.sr, hop_length=config.hop_length, aggregate=None)
        for a, b in blocks(tempogram.shape[1], kernels.COLUMN_BLOCK)])
    return tempogram_ratio(tempogram, bpm, filterbanks(config).tempo_freqs)


@feature("tempo", inputs=("tempogram",), width=1, level="track")
def _tempo(config, *, tempogram):
    import librosa

    return librosa.feature.tempo(tg=tempogram, sr=config.sr, hop_length=config.hop_length)


# ------------------------------------------------------------------------------------- learned (opt-in)
# musicnn (genrekit.pretrained): the signal at 16 kHz, one run of the network per signal (both
# features read it), one row per 3-s patch on a clock of their own. Not part of ``all``: the
# weights must be fetched first (``genrekit weights fetch``); ``ready`` says so before any file is read.
def _musicnn_ready(config: FeatureConfig) -> None:
    from genrekit.pretrained import weights

    weights.verified_prefix(config.musicnn_model)


def _musicnn_valid(config: FeatureConfig) -> None:
    from genrekit.pretrained.weights import MODELS

    if config.musicnn_model not in MODELS:
        raise ParameterError(f"musicnn_model must be one of {', '.join(MODELS)}, got {config.musicnn_model!r}")


def _musicnn_key(config: FeatureConfig) -> str:
    from genrekit.pretrained.weights import MODELS

    return f"{config.musicnn_model}:{MODELS[config.musicnn_model].digest}"


def _patch_rate(config: FeatureConfig) -> float:
    from genrekit.pretrained.musicnn import PATCH_RATE

    return PATCH_RATE


def _tag_names(config: FeatureConfig) -> list[str]:
    from genrekit.pretrained.labels import column_names

    return column_names(config.musicnn_model)


@intermediate("signal_16k", inputs=("signal",))
def _signal_16k(config, *, signal):
    """The signal resampled to 16 kHz (soxr HQ, as decoding and librosa.load do)."""
    import soxr

    if config.sr == 16000:
        return signal
    return soxr.resample(signal, config.sr, 16000, quality="HQ").astype(np.float32, copy=False)


@intermediate("musicnn_out", inputs=("signal_16k",))
def _musicnn_out(config, *, signal_16k):
    """(penultimate ``(200, n_patches)``, tag probabilities ``(50, n_patches)``); one torch thread."""
    from genrekit.pretrained import musicnn

    pen, prob = musicnn.load(config.musicnn_model).run(signal_16k, threads=1)
    return pen.T, prob.T


_MUSICNN = dict(inputs=("musicnn_out",), default=False, clock="patches", frame_rate=_patch_rate,
                config_fields=("musicnn_model",), cache_key=_musicnn_key, ready=_musicnn_ready,
                validate=_musicnn_valid)


@feature("musicnn", width=200, **_MUSICNN)
def _musicnn(config, *, musicnn_out):
    return musicnn_out[0]


@feature("musicnn_tags", width=50, row_names=_tag_names, **_MUSICNN)
def _musicnn_tags(config, *, musicnn_out):
    return musicnn_out[1]
