"""`FeatureConfig`: every parameter of feature extraction, frozen, JSON round-trip, hashable."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from genrekit.errors import ParameterError
from genrekit.features.catalog import FEATURES

#: Every feature ``all`` selects (the default config's features), in registration order; the
#: names, widths and levels live in the registry (:mod:`genrekit.features.catalog`).
ALL_FEATURES = FEATURES.names(default_only=True)
#: Frame-level features (one row per frame) of :data:`ALL_FEATURES`.
FRAME_FEATURES = tuple(f for f in ALL_FEATURES if FEATURES[f].level == "frame")
#: Track-level features (one vector per track) of :data:`ALL_FEATURES`.
TRACK_FEATURES = tuple(f for f in ALL_FEATURES if FEATURES[f].level == "track")

#: Summary statistics of every frame feature (the seven the FMA baselines use).
STATISTICS = ("mean", "std", "skew", "kurtosis", "median", "min", "max")

#: Largest ``offset`` or ``duration`` (seconds, 68 years): at any sample rate a file can declare
#: (a 32-bit integer), its sample count still fits in 64 bits.
MAX_SECONDS = float(2 ** 31)


@dataclass(frozen=True)
class FeatureConfig:
    """Every parameter that determines the features of a track.

    Two configs with equal fields have equal :meth:`hash`; the hash is part of each track's cache
    key, so changing any field recomputes, and an unchanged config reuses the store.

    Parameters
    ----------
    sr : int
        Sample rate every file is resampled to (Hz).
    n_fft, hop_length : int
        STFT size and hop (samples). One STFT per file; every feature is derived from it.
    n_mels : int
        Mel bands of the log-mel spectrogram (power, dB, ``top_db`` below its peak); at most the
        STFT's ``n_fft // 2 + 1`` frequency bins.
    n_mfcc : int
        MFCCs (DCT-II, ortho) of the log-mel spectrogram; Δ and ΔΔ use ``delta_width``.
    fmin, fmax : float
        Mel filterbank range (``fmax=None`` means ``sr / 2``).
    n_chroma, tuning : int, float
        Chroma bins and tuning deviation in fractions of a bin (fixed, not estimated per file).
    n_contrast_bands, contrast_fmin : int, float
        Spectral-contrast octave bands (rows = bands + 1) and the lowest band edge.
    rolloff_percent : float
        Spectral roll-off energy fraction.
    tempo_ac_seconds : float
        Autocorrelation window of the tempogram (seconds); tempo and tempogram ratio use it.
    offset, duration : float
        Start (s) and maximum length (s) of audio read from each file; ``duration=None`` reads all.
        Both finite and at most :data:`MAX_SECONDS`.
    features : tuple of str
        Which features are stored (any of :data:`ALL_FEATURES`, or an opt-in feature such as
        ``musicnn``).
    musicnn_model : {"MTT_musicnn", "MSD_musicnn"}
        The pretrained model of the ``musicnn`` and ``musicnn_tags`` features (in the JSON and
        hash only when one of them is selected, with the weights' checksum).
    """

    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 20
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float = 80.0
    delta_width: int = 9
    n_chroma: int = 12
    tuning: float = 0.0
    n_contrast_bands: int = 6
    contrast_fmin: float = 200.0
    rolloff_percent: float = 0.85
    tempo_ac_seconds: float = 8.0
    offset: float = 0.0
    duration: float | None = None
    features: tuple[str, ...] = ALL_FEATURES
    musicnn_model: str = "MTT_musicnn"

    def __post_init__(self):
        feats = tuple(self.features)
        object.__setattr__(self, "features", feats)
        FEATURES.check_names(feats)
        if not feats:
            raise ParameterError("features is empty; choose at least one of " + ", ".join(ALL_FEATURES))
        if len(set(feats)) != len(feats):
            raise ParameterError(f"features lists a name twice: {feats}")
        for name in ("sr", "n_fft", "hop_length", "n_mels", "n_mfcc", "n_chroma", "delta_width"):
            if int(getattr(self, name)) <= 0:
                raise ParameterError(f"{name} must be positive, got {getattr(self, name)!r}")
        n_bins = self.n_fft // 2 + 1
        if self.n_mels > n_bins:
            raise ParameterError(
                f"n_mels={self.n_mels} exceeds the {n_bins} frequency bins of an n_fft={self.n_fft} STFT "
                f"(n_fft // 2 + 1); use at most {n_bins} mel bands"
            )
        if self.n_mfcc > self.n_mels:
            raise ParameterError(f"n_mfcc={self.n_mfcc} exceeds n_mels={self.n_mels}")
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ParameterError(f"delta_width must be odd and >= 3, got {self.delta_width}")
        if self.offset < 0:
            raise ParameterError(f"offset must be >= 0 seconds, got {self.offset}")
        if self.duration is not None and self.duration <= 0:
            raise ParameterError(f"duration must be > 0 seconds, got {self.duration}")
        for name in ("offset", "duration"):  # NaN, Inf and sample counts that overflow
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_SECONDS:
                raise ParameterError(f"{name} must be a finite number of seconds up to {MAX_SECONDS:.0f} "
                                     f"(68 years), got {value}")
        if not 0 < self.rolloff_percent < 1:
            raise ParameterError(f"rolloff_percent must be in (0, 1), got {self.rolloff_percent}")
        FEATURES.validate(self, feats)  # each selected feature's own parameter checks

    # ----------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """The fields; a field only unselected features read is left out, and each selected
        feature's ``cache_key`` (a weights checksum) is added under ``cache_keys``."""
        d = dataclasses.asdict(self)
        d["features"] = list(self.features)
        used = {f for n in self.features for f in FEATURES[n].config_fields}
        for n in FEATURES.names():
            for f in FEATURES[n].config_fields:
                if f not in used:
                    d.pop(f, None)
        keys = {n: FEATURES[n].cache_key(self) for n in self.features if FEATURES[n].cache_key is not None}
        if keys:
            d["cache_keys"] = keys
        return d

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal configs give equal strings."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names - {"cache_keys"}
        if unknown:
            raise ParameterError(f"unknown FeatureConfig field(s): {', '.join(sorted(unknown))}")
        d = dict(d)
        d.pop("cache_keys", None)  # derived from the other fields
        if "features" in d:
            d["features"] = tuple(d["features"])
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "FeatureConfig":
        return cls.from_dict(json.loads(text))

    def hash(self) -> str:
        """Short stable hash of the canonical JSON (16 hex digits)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes) -> "FeatureConfig":
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------------- shapes
    @property
    def tempo_win_length(self) -> int:
        """Tempogram window in frames, as librosa derives it from ``ac_size``."""
        return int(round(self.tempo_ac_seconds * self.sr / self.hop_length))

    def feature_dims(self) -> dict[str, int]:
        """Width of each selected feature: frame features per frame, track features per track."""
        return {f: FEATURES[f].dim(self) for f in self.features}

    @property
    def frame_features(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if FEATURES[f].level == "frame")

    @property
    def track_features(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if FEATURES[f].level == "track")


def parse_feature_list(text: str | None) -> tuple[str, ...]:
    """Parse ``--features`` (comma-separated; ``all`` or None means every default feature, and
    ``all`` in a list stands for them: ``all,musicnn`` adds an opt-in feature).

    Raises
    ------
    ParameterError
        For an unknown name, or a text that names no feature (``""``, ``","``); the message
        lists the valid names.
    """
    if text is None or text.strip() == "all":
        return ALL_FEATURES
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise ParameterError(f"no feature named in {text!r}; valid features: {', '.join(ALL_FEATURES)} "
                             "(or all)")
    names = tuple(dict.fromkeys(n for t in names for n in (ALL_FEATURES if t == "all" else (t,))))
    FEATURES.check_names(names)
    return names
