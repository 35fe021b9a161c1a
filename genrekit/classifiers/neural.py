"""Neural heads: torch networks as scikit-learn estimators, in the same registry as the baselines.

Five heads, all ``ClassifierMixin + BaseEstimator`` (the skorch pattern: ``__init__`` stores
parameters, the network ``module_`` is built inside :meth:`fit`), so ``clone``,
``get_params``/``set_params``, ``GridSearchCV`` and the benchmark runner treat them like any
other model:

========== ======== ==========================================================================
name       input    network
========== ======== ==========================================================================
mlp        summary  dense layers on the standardised summary vector
cnn1d      frames   1-D convolutions over time on log-mel frames, masked mean+max pooling
cnn2d      frames   2-D convolutions over the log-mel image
crnn       frames   1-D conv front end, bidirectional GRU over time
attention  frames   1-D conv front end, attention pooling over time: any length, no fixed crop
========== ======== ==========================================================================

Data (frame heads)
------------------
``X`` is a sequence of per-track frame matrices ``[shape=(n_frames_i, n_dims)]`` (see
:mod:`genrekit.classifiers.registry`). Training uses fixed-length *segments* of
``segment_seconds`` (converted to frames with ``frame_rate``, which the benchmark runner sets
from the store's feature config): random crops when ``augment`` is on, else the evenly spaced
segments prediction uses. A track shorter than a segment is zero-padded (the padding is masked
out of every pooling); a long one gives up to ``max_segments`` evenly spaced segments. A track's
prediction is the mean of its segments' log-probabilities. Standardisation statistics (mean and
standard deviation of every frame dimension) are computed in :meth:`fit` over the tracks it is
given, i.e. the training fold only. Segments of one track never straddle train / validation /
test: the validation tracks for early stopping are carved from the training tracks by track
(:func:`~genrekit.classifiers.torch_base.carve_validation`): every label keeps training tracks and
every label of two or more tracks gets validation tracks; whole artists go to validation where
``fit`` is given ``groups`` and a label has artists to spare, a label with too few artists is
carved by track (a warning says how many labels were).

Training
--------
AdamW with a warm-up + cosine learning-rate schedule, early stopping on validation loss with
``patience`` (the best epoch's weights are restored), optional SpecAugment time/frequency masks
and mixup. Small data: when the validation part would hold fewer than
:data:`~genrekit.classifiers.torch_base.MIN_VALID_TRACKS` tracks (or more than twice
``validation_fraction`` of them, to keep every label), it cannot steer early stopping: the head
then trains on every training track for ``max_epochs`` epochs (the cosine schedule runs to its
end) and keeps the last weights, with a warning. After fitting, a head whose accuracy on its
validation tracks (without validation: its training tracks) is no better than always answering
the most common label says so in a warning (``check_accuracy_`` holds the figures). Fitting is
seeded (``random_state``) so two CPU fits give identical predictions. ``device`` ``"auto"`` picks CUDA, then Apple MPS, then the CPU; mixed precision (``amp``) applies on CUDA
only. Per-epoch train/validation loss and accuracy are kept in ``history_``.

What every head shares as an estimator (parameters, seeding, threads, the validation carve) is in
:mod:`.torch_base`. Torch is imported only when a head is fitted or applied (:mod:`.torch_heads`), so listing models
or running the classic baselines never pays for it. Fitted heads pickle with their weights as a
CPU ``state_dict`` and load on any machine.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from genrekit.classifiers.params import FEATURE_NAMES, INT_LIST, at_least, int_list
from genrekit.classifiers.registry import register
from genrekit.classifiers.torch_base import PRELOAD_BYTES, _seed_of, _TorchHead, carve_validation, default_frame_rate

#: Frame features that carry timbre, harmony and rhythm frame by frame (what the summary vectors
#: summarise): on the demo's artist-grouped folds cnn1d scored 0.804 on them against 0.608 on log-mel.
TIMBRE_FRAME_FEATURES = ("mfcc", "mfcc_delta", "mfcc_delta2", "chroma", "contrast", "centroid", "bandwidth",
                         "rolloff", "flatness", "zcr", "rms", "onset")

#: CPU-sized settings for ``genrekit demo`` (240 clips of 10 s, 5 folds on 2 cores): ``--param`` values.
DEMO_PARAMS = {
    "mlp": {"max_epochs": 30},
    "cnn1d": {"channels": 16, "max_epochs": 10, "patience": 4, "crops_per_track": 2,
              "frame_features": ",".join(TIMBRE_FRAME_FEATURES)},
}


# ====================================================================================== MLP
class TorchMLPClassifier(_TorchHead):
    """Dense network on summary vectors, standardised inside (statistics of the training rows).

    Parameters
    ----------
    hidden : int, str or sequence of int, default="256,128"
        Hidden layer widths (``"256,128"`` from the command line).
    dropout : float, default=0.3
    lr : float, default=1e-3
        Peak learning rate (AdamW; linear warm-up, then cosine decay).
    weight_decay : float, default=1e-2
    batch_size : int, default=32
    max_epochs : int, default=60
    patience : int or None, default=10
        Epochs without a better validation loss before stopping (None: never stop early).
    validation_fraction : float, default=0.15
        Share of the training tracks held out for early stopping (grouped by ``groups``).
    augment : bool, default=False
        Gaussian noise (``noise`` standard deviations) on the standardised inputs.
    noise : float, default=0.1
    mixup : float, default=0.0
        Mixup Beta(alpha, alpha) parameter; 0 switches it off.
    device : str, default="auto"
        ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    amp : bool, default=True
        Mixed precision on CUDA (ignored elsewhere).
    num_workers : int, default=0
        ``DataLoader`` worker processes.
    n_threads : int or None, default=1
        Torch CPU threads while fitting and predicting (None: torch's default). One thread per
        fit is fastest for these small networks; the runner parallelises over folds instead.
    verbose : int, default=0
        1: a progress bar and a line per epoch on stderr.
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_, n_features_in_, mean_, scale_, module_, module_kwargs_, history_, best_epoch_,
    n_epochs_, device_
    """

    _network = "mlp"

    def __init__(self, hidden="256,128", dropout=0.3, lr=1e-3, weight_decay=1e-2, batch_size=32, max_epochs=60,
                 patience=10, validation_fraction=0.15, augment=False, noise=0.1, mixup=0.0, device="auto",
                 amp=True, num_workers=0, n_threads=1, verbose=0, random_state=None):
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.augment = augment
        self.noise = noise
        self.mixup = mixup
        self.device = device
        self.amp = amp
        self.num_workers = num_workers
        self.n_threads = n_threads
        self.verbose = verbose
        self.random_state = random_state

    _parameter_constraints: dict = {
        **_TorchHead._parameter_constraints,
        "hidden": [INT_LIST],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Fit on summary vectors ``X [shape=(n_tracks, n_features)]``; ``groups`` keep artists together
        when carving the validation tracks."""
        from genrekit.classifiers.torch_heads import RowDataset, RowTracks

        X, y = validate_data(self, X, y, dtype=np.float32)
        y_idx = self._targets(y)
        device = self._fit_device()
        seed = _seed_of(self.random_state)
        self.mean_ = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        sd = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(sd > 1e-8, sd, 1.0).astype(np.float32)
        Z = (X - self.mean_) / self.scale_
        tr, va = self._carve(y_idx, groups, seed)
        train_ds = RowDataset(Z[tr], y_idx[tr], noise=float(self.noise) if self.augment else 0.0, seed=seed)
        valid_ds = RowTracks(Z[va]) if len(va) else None
        kwargs = {"in_dims": X.shape[1], "n_classes": len(self.classes_),
                  "hidden": tuple(int_list(self.hidden, "hidden")), "dropout": float(self.dropout)}
        self.n_train_tracks_, self.n_valid_tracks_ = len(tr), len(va)
        return self._fit_network(kwargs, train_ds, valid_ds, y_idx[va], device=device, seed=seed, drop_single=True,
                                 fit_tracks=(RowTracks(Z[tr]), y_idx[tr]))

    def _predict_dataset(self, X):
        from genrekit.classifiers.torch_heads import RowTracks

        X = validate_data(self, X, reset=False, dtype=np.float32)
        return RowTracks((X - self.mean_) / self.scale_)


# ====================================================================================== frame heads
def _check_sequence(X):
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise ValueError("expected a sequence of per-track frame matrices (n_frames, n_dims), "
                         f"got one array of shape {X.shape}; pass a list with one matrix per track")
    if isinstance(X, str) or not hasattr(X, "__getitem__") or not hasattr(X, "__len__"):
        raise ValueError(f"expected a sequence of per-track frame matrices, got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError("no tracks: X is empty")


def _check_matrix(x, i, n_dims=None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"track {i}: expected a frame matrix (n_frames >= 1, n_dims >= 1), got shape {x.shape}")
    if n_dims is not None and x.shape[1] != n_dims:
        raise ValueError(f"track {i} has {x.shape[1]} frame dimensions, expected {n_dims}")
    if not np.isfinite(x).all():
        raise ValueError(f"track {i}: frame matrix holds NaN or infinity")
    return x


class _FrameHead(_TorchHead):
    """Frame-sequence heads: segments, fold-only standardisation, augmentation, track voting."""

    #: Fixed-length segments (padded); False: any length up to the segment (attention).
    _fixed_length = True

    _parameter_constraints: dict = {
        **_TorchHead._parameter_constraints,
        "frame_rate": [Interval(Real, 0, None, closed="neither"), None],
        "segment_seconds": [Interval(Real, 0, None, closed="neither")],
        "crops_per_track": [at_least(1)],
        "max_segments": [at_least(1)],
        "time_mask": [Interval(Real, 0, 0.9, closed="both")],
        "freq_mask": [Interval(Real, 0, 0.9, closed="both")],
        "channels": [INT_LIST],
        "n_blocks": [at_least(1)],
        "frame_features": [FEATURE_NAMES, None],
        "preload": [StrOptions({"auto"}), "boolean"],
    }

    def _segment_length(self) -> int:
        """Frames per segment: ``segment_frames`` where a head has it and it is set, else ``segment_seconds``."""
        frames = getattr(self, "segment_frames", None)
        return int(frames) if frames else max(1, int(round(float(self.segment_seconds) * self.frame_rate_)))

    def _channels(self):
        c = int_list(self.channels, "channels")
        return c[0] if len(c) == 1 else tuple(c)

    def _network_kwargs(self, n_dims: int, n_classes: int) -> dict:
        return {"in_dims": n_dims, "n_classes": n_classes, "channels": self._channels(),
                "n_blocks": int(self.n_blocks), "dropout": float(self.dropout)}

    def _read_training(self, X):
        """One pass over the training tracks: per-dimension mean/std, lengths, and (if it fits) the data."""
        budget = {"auto": PRELOAD_BYTES, True: float("inf"), False: 0}[self.preload]
        kept, lengths, n_dims = [], [], None
        shift = s1 = s2 = None
        total = 0
        for i in range(len(X)):
            x = _check_matrix(X[i], i, n_dims)
            if n_dims is None:
                n_dims = x.shape[1]
                shift = x.mean(axis=0, dtype=np.float64)
                s1 = np.zeros(n_dims)
                s2 = np.zeros(n_dims)
            d = x.astype(np.float64) - shift
            s1 += d.sum(axis=0)
            s2 += (d * d).sum(axis=0)
            lengths.append(len(x))
            total += x.nbytes
            if kept is not None:
                if total <= budget:
                    kept.append(x)
                else:
                    kept = None
        n = float(sum(lengths))
        mean = shift + s1 / n
        var = np.maximum(s2 / n - (s1 / n) ** 2, 0.0)
        sd = np.sqrt(var)
        return kept, np.asarray(lengths), n_dims, mean, np.where(sd > 1e-8, sd, 1.0)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Fit on per-track frame matrices.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_frames_i, n_dims)
        y : array-like of shape (n_tracks,)
        groups : array-like of shape (n_tracks,), optional
            Artist (or other) of each track; the validation tracks for early stopping share no
            group with the tracks trained on.

        Returns
        -------
        self
        """
        from genrekit.classifiers.torch_heads import SegmentDataset, TrackWindows, window_offsets

        _check_sequence(X)
        y_idx = self._targets(y)
        if len(X) != len(y_idx):
            raise ValueError(f"X has {len(X)} tracks but y has {len(y_idx)} labels")
        device = self._fit_device()
        seed = _seed_of(self.random_state)
        kept, lengths, n_dims, mean, scale = self._read_training(X)
        self.n_features_in_ = int(n_dims)
        self.mean_ = mean.astype(np.float32)
        self.scale_ = scale.astype(np.float32)
        self.frame_rate_ = float(self.frame_rate or default_frame_rate())
        self.segment_frames_ = self._segment_length()
        source = kept if kept is not None else X
        tr, va = self._carve(y_idx, groups, seed)
        L = self.segment_frames_
        if self.augment:
            items = np.array([(t, -1) for t in tr for _ in range(int(self.crops_per_track))], dtype=np.int64)
        else:
            items = np.array([(t, o) for t in tr for o in window_offsets(int(lengths[t]), L, int(self.max_segments))],
                             dtype=np.int64)
        aug = bool(self.augment)
        train_ds = SegmentDataset(source, items, y_idx, self.mean_, self.scale_, L, pad=self._fixed_length,
                                  seed=seed, time_mask=float(self.time_mask) if aug else 0.0,
                                  freq_mask=float(self.freq_mask) if aug else 0.0,
                                  random_length=aug and not self._fixed_length)
        valid_ds = None
        if len(va):
            valid_ds = TrackWindows(_Subset(source, va), self.mean_, self.scale_, L, int(self.max_segments),
                                    pad=self._fixed_length)
        self.n_train_tracks_, self.n_valid_tracks_ = len(tr), len(va)
        fit_tracks = (TrackWindows(_Subset(source, tr), self.mean_, self.scale_, L, int(self.max_segments),
                                   pad=self._fixed_length), y_idx[tr])
        return self._fit_network(self._network_kwargs(n_dims, len(self.classes_)), train_ds, valid_ds, y_idx[va],
                                 device=device, seed=seed, pad_to=L if self._fixed_length else 0,
                                 fit_tracks=fit_tracks)

    def _predict_dataset(self, X):
        from genrekit.classifiers.torch_heads import TrackWindows

        _check_sequence(X)
        return TrackWindows(_Checked(X, self.n_features_in_), self.mean_, self.scale_, self.segment_frames_,
                            int(self.max_segments), pad=self._fixed_length)


class _Subset:
    """``source[indices[i]]`` as a sequence (picklable: DataLoader workers get the lazy source)."""

    def __init__(self, source, indices):
        self.source = source
        self.indices = np.asarray(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.source[int(self.indices[i])]


class _Checked:
    """A sequence of frame matrices checked as they are read (dimension count, finite values)."""

    def __init__(self, source, n_dims):
        self.source = source
        self.n_dims = n_dims

    def __len__(self):
        return len(self.source)

    def __getitem__(self, i):
        return _check_matrix(self.source[int(i)], int(i), self.n_dims)


_FRAME_DOC = """
    Parameters
    ----------
    channels : int or str, default={channels}
        Width of the first block; later blocks are twice as wide (or ``"16,32,64"``: every width).
    n_blocks : int, default={n_blocks}
        Convolution blocks (each halves the time resolution).
    segment_seconds : float, default={segment_seconds}
        Segment length (a head that takes any length: the longest window).
    frame_rate : float or None, default=None
        Frames per second of the input (the runner sets it from the store's feature config;
        None: the default config's ``sr / hop_length``).
    frame_features : str or None, default=None
        Frame features to read instead of the registry's (e.g. ``"mfcc"`` or
        ``"mfcc,mfcc_delta"``); the runner and ``predict`` build the input from it.
    crops_per_track : int, default=4
        Random crops per training track per epoch (when augmenting).
    max_segments : int, default=16
        Most evenly spaced segments a track is predicted from (and trained on without ``augment``).
    augment : bool, default=True
        Random crops, SpecAugment masks (``time_mask``, ``freq_mask``: largest masked share of
        the frames / dimensions) and mixup (``mixup``: Beta parameter; 0 switches it off).
    time_mask, freq_mask : float, default=0.1
    mixup : float, default=0.2
    dropout : float, default=0.3
    lr : float, default={lr}
        Peak learning rate (AdamW; linear warm-up, then cosine decay).
    weight_decay : float, default=1e-2
    batch_size : int, default=32
    max_epochs : int, default={max_epochs}
    patience : int or None, default={patience}
        Epochs without a better validation loss before stopping (None: never stop early).
    validation_fraction : float, default=0.15
        Share of the training tracks held out for early stopping (grouped by ``groups``).
    preload : {{"auto", True, False}}, default="auto"
        Keep the training frames in memory ("auto": up to 1 GiB), else read them each epoch.
    device : str, default="auto"
        ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    amp : bool, default=True
        Mixed precision on CUDA (ignored elsewhere).
    num_workers : int, default=0
        ``DataLoader`` worker processes (each opens its own store files).
    n_threads : int or None, default=1
        Torch CPU threads while fitting and predicting (None: torch's default). One thread per
        fit is fastest for these small networks; the runner parallelises over folds instead.
    verbose : int, default=0
        1: a progress bar and a line per epoch on stderr.
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_ : ndarray
    n_features_in_ : int
        Frame dimensions.
    mean_, scale_ : ndarray of shape (n_features_in_,)
        Standardisation fitted on the training tracks.
    frame_rate_ : float
    segment_frames_ : int
    module_ : torch.nn.Module
    module_kwargs_ : dict
    history_ : list of dict
        Per epoch: ``epoch, train_loss, train_accuracy, valid_loss, valid_accuracy, lr, seconds``.
    best_epoch_, n_epochs_ : int
    n_train_tracks_, n_valid_tracks_ : int
    check_accuracy_ : dict
        ``tracks`` ("validation" or "training"), ``accuracy`` and ``chance`` (the most common
        label's share) of the chance check after fitting (absent with a single label).
    device_ : str
"""


def _store(est, params: dict):
    """Store ``__init__``'s arguments as attributes, unchanged (the scikit-learn contract)."""
    for k, v in params.items():
        if k not in ("self", "__class__"):
            setattr(est, k, v)


class CNN1DClassifier(_FrameHead):
    __doc__ = ("1-D convolutions over time (frame dimensions as channels), masked mean+max pooling, dense.\n"
               + _FRAME_DOC.format(channels=32, n_blocks=3, segment_seconds=3.0, lr=3e-3, max_epochs=40,
                                   patience=8)
               + "    segment_frames : int or None, default=None\n        Segment length in frames, instead of "
                 "``segment_seconds`` (``1024`` with ``max_segments=1``: every track\n        padded or cut to its "
                 "central 1,024 frames; ``128`` on 128-band log-mel: 128×128 pieces).\n")
    _network = "cnn1d"

    def __init__(self, channels=32, n_blocks=3, segment_seconds=3.0, frame_rate=None, frame_features=None,
                 crops_per_track=4, max_segments=16, augment=True, time_mask=0.1, freq_mask=0.1, mixup=0.2,
                 dropout=0.3, lr=3e-3, weight_decay=1e-2, batch_size=32, max_epochs=40, patience=8,
                 validation_fraction=0.15, preload="auto", device="auto", amp=True, num_workers=0, n_threads=1,
                 verbose=0, random_state=None, segment_frames=None):
        _store(self, locals())

    _parameter_constraints: dict = {**_FrameHead._parameter_constraints, "segment_frames": [at_least(1), None]}


class CNN2DClassifier(_FrameHead):
    __doc__ = ("2-D convolutions over the (dimension × time) image, mean over frequency, masked pooling over time.\n"
               + _FRAME_DOC.format(channels=16, n_blocks=3, segment_seconds=3.0, lr=3e-3, max_epochs=40,
                                   patience=8))
    _network = "cnn2d"

    def __init__(self, channels=16, n_blocks=3, segment_seconds=3.0, frame_rate=None, frame_features=None,
                 crops_per_track=4, max_segments=16, augment=True, time_mask=0.1, freq_mask=0.1, mixup=0.2,
                 dropout=0.3, lr=3e-3, weight_decay=1e-2, batch_size=32, max_epochs=40, patience=8,
                 validation_fraction=0.15, preload="auto", device="auto", amp=True, num_workers=0, n_threads=1,
                 verbose=0, random_state=None):
        _store(self, locals())


class CRNNClassifier(_FrameHead):
    __doc__ = ("Conv1d front end, bidirectional GRU over time (``hidden`` units per direction), masked pooling.\n"
               + _FRAME_DOC.format(channels=32, n_blocks=2, segment_seconds=3.0, lr=3e-3, max_epochs=40,
                                   patience=8)
               + "    hidden : int, default=64\n        GRU units per direction.\n")
    _network = "crnn"

    def __init__(self, channels=32, n_blocks=2, hidden=64, segment_seconds=3.0, frame_rate=None,
                 frame_features=None, crops_per_track=4, max_segments=16, augment=True, time_mask=0.1,
                 freq_mask=0.1, mixup=0.2, dropout=0.3, lr=3e-3, weight_decay=1e-2, batch_size=32,
                 max_epochs=40, patience=8, validation_fraction=0.15, preload="auto", device="auto", amp=True,
                 num_workers=0, n_threads=1, verbose=0, random_state=None):
        _store(self, locals())

    _parameter_constraints: dict = {**_FrameHead._parameter_constraints, "hidden": [at_least(1)]}

    def _network_kwargs(self, n_dims, n_classes):
        return {**super()._network_kwargs(n_dims, n_classes), "hidden": int(self.hidden)}


class AttentionClassifier(_FrameHead):
    __doc__ = ("Conv1d front end, multi-head attention pooling over time (masked): takes tracks of any length.\n\n"
               "Tracks up to ``segment_seconds`` long are used whole (batches are padded and masked, not\n"
               "cropped to a fixed length); longer tracks are cut into windows of that length. With\n"
               "``augment`` training takes random crops of random length (half the track up to all of it).\n"
               + _FRAME_DOC.format(channels=32, n_blocks=3, segment_seconds=30.0, lr=3e-3, max_epochs=40,
                                   patience=8)
               + "    heads : int, default=4\n        Attention heads.\n")
    _network = "attention"
    _fixed_length = False

    def __init__(self, channels=32, n_blocks=3, heads=4, segment_seconds=30.0, frame_rate=None,
                 frame_features=None, crops_per_track=2, max_segments=16, augment=True, time_mask=0.1,
                 freq_mask=0.1, mixup=0.2, dropout=0.3, lr=3e-3, weight_decay=1e-2, batch_size=16,
                 max_epochs=40, patience=8, validation_fraction=0.15, preload="auto", device="auto", amp=True,
                 num_workers=0, n_threads=1, verbose=0, random_state=None):
        _store(self, locals())

    _parameter_constraints: dict = {**_FrameHead._parameter_constraints, "heads": [at_least(1)]}

    def _network_kwargs(self, n_dims, n_classes):
        return {**super()._network_kwargs(n_dims, n_classes), "heads": int(self.heads)}


# ====================================================================================== registry
@register("mlp", "torch MLP (256-128, dropout, early stopping) on standardised summary vectors",
          grid={"hidden": ["256,128", "512,256"], "dropout": [0.2, 0.5]}, cost=3)
def mlp(random_state=None):
    """:class:`TorchMLPClassifier` with its defaults."""
    return TorchMLPClassifier(random_state=random_state)


@register("cnn1d", "torch 1-D CNN over time on log-mel segments (3 s, SpecAugment + mixup), segment votes per track",
          input="frames", frame_features=("logmel",), grid={"channels": [16, 32, 64]}, cost=20)
def cnn1d(random_state=None):
    """:class:`CNN1DClassifier` with its defaults."""
    return CNN1DClassifier(random_state=random_state)


@register("cnn2d", "torch 2-D CNN on the log-mel image (3 s segments, SpecAugment + mixup), segment votes per track",
          input="frames", frame_features=("logmel",), grid={"channels": [8, 16, 32]}, cost=40)
def cnn2d(random_state=None):
    """:class:`CNN2DClassifier` with its defaults."""
    return CNN2DClassifier(random_state=random_state)


@register("crnn", "torch CRNN: conv front end + bidirectional GRU over log-mel segments, segment votes per track",
          input="frames", frame_features=("logmel",), grid={"hidden": [32, 64, 128]}, cost=30)
def crnn(random_state=None):
    """:class:`CRNNClassifier` with its defaults."""
    return CRNNClassifier(random_state=random_state)


@register("attention", "torch conv front end + attention pooling over whole log-mel tracks (any length, masked)",
          input="frames", frame_features=("logmel",), grid={"heads": [2, 4, 8]}, cost=30)
def attention(random_state=None):
    """:class:`AttentionClassifier` with its defaults."""
    return AttentionClassifier(random_state=random_state)
