"""What every torch head shares, as a scikit-learn estimator: parameters stored in ``__init__`` and
checked by ``_parameter_constraints``, seeding, the threads torch may use, the validation tracks
carved for early stopping, and the fit / predict wiring around a network built in ``fit``.

The heads themselves are in :mod:`genrekit.classifiers.neural`; the torch code they run is in
:mod:`genrekit.classifiers.torch_heads` (imported only when a head is fitted or applied).
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from genrekit.classifiers.params import DEVICE, at_least
from genrekit.roles import fill_groups

#: Bytes of training frames kept in memory by ``preload="auto"`` (beyond: read from the store each epoch).
PRELOAD_BYTES = 1 << 30


def default_frame_rate() -> float:
    """Frames per second of the default feature config (``sr / hop_length``)."""
    from genrekit.features.config import FeatureConfig

    c = FeatureConfig()
    return c.sr / c.hop_length


def _seed_of(random_state) -> int:
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


#: Fewest validation tracks that steer early stopping (see :func:`carve_validation`): with fewer, a
#: head trains on every training track for ``max_epochs`` epochs and keeps the last weights. Chosen
#: on 200 real 2–3 s GTZAN excerpts (artist-grouped 5-fold, 24–30 validation tracks per fold): early
#: stopping on them gave cnn1d 0.196 accuracy, the fixed epochs 0.275 (svm 0.320).
MIN_VALID_TRACKS = 40

#: The warning of the fallback (one text, so that the folds of a run share it).
FIXED_EPOCHS_NOTE = (f"too few training tracks for a validation part that can steer early stopping (fewer than "
                     f"{MIN_VALID_TRACKS} validation tracks): trained on every training track for max_epochs epochs "
                     "and kept the last weights")


def _quota(y: np.ndarray, fraction: float) -> dict:
    """Validation tracks wanted per label: ``round(fraction * n)`` shared out by label size (largest
    remainder), at least 1 for a label of two or more tracks, never a label's last track."""
    labels, counts = np.unique(y, return_counts=True)
    total = max(1, int(round(fraction * len(y))))
    want = total * counts / len(y)
    q = np.floor(want).astype(int)
    for i in np.argsort(-(want - q), kind="stable")[:total - q.sum()]:
        q[i] += 1
    q = np.where(counts >= 2, np.clip(q, 1, counts - 1), 0)
    return dict(zip(labels.tolist(), q.tolist()))


def _grouped_part(y, g, quota, rng) -> np.ndarray:
    """Whole groups (in a seeded order) into validation while their labels want tracks: a group goes
    only when every label it holds keeps a training track and takes at most twice its quota."""
    val = np.zeros(len(y), bool)
    left = dict(zip(*np.unique(y, return_counts=True)))
    taken = dict.fromkeys(left, 0)
    names = np.unique(g)
    for gi in rng.permutation(len(names)):
        idx = np.flatnonzero(g == names[gi])
        labs, cnt = np.unique(y[idx], return_counts=True)
        if all(taken[l] < quota[l] and left[l] - c >= 1 and taken[l] + c <= 2 * quota[l]
               for l, c in zip(labs.tolist(), cnt.tolist())):
            val[idx] = True
            for l, c in zip(labs.tolist(), cnt.tolist()):
                taken[l] += c
                left[l] -= c
    return val


def carve_validation(y: np.ndarray, groups, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training tracks into fit and validation tracks (sorted indices) for early stopping.

    Every label keeps at least one fit track, and every label of two or more tracks gets
    validation tracks: about ``fraction`` of its tracks. With ``groups`` (artists), whole groups go
    to validation where a label has enough of them (no artist on both sides); a label whose tracks
    have too few artists for that is carved by track instead (stratified), and a ``UserWarning``
    says how many labels were. Without groups: stratified by track. No validation (every track
    fits) when ``fraction`` is 0 or there are fewer than 8 tracks.
    """
    y = np.asarray(y)
    n = len(y)
    everything = np.arange(n)
    if not fraction or n < 8:
        return everything, everything[:0]
    quota = _quota(y, float(fraction))
    rng = np.random.default_rng([int(seed) % 2 ** 32, 11])
    val = np.zeros(n, bool)
    if groups is not None:
        val = _grouped_part(y, fill_groups(groups), quota, rng)
    by_track = [l for l, q in quota.items() if q and not val[y == l].any()]
    for l in by_track:  # stratified by track: the label's quota drawn from its tracks
        idx = np.flatnonzero(y == l)
        val[rng.choice(idx, size=quota[l], replace=False)] = True
    if groups is not None and by_track:
        warnings.warn(f"validation tracks for early stopping: {len(by_track)} of {len(quota)} labels have too few "
                      "artists among the training tracks to hold one out, so their validation tracks were drawn by "
                      "track (stratified): an artist may be on both sides of that carve", UserWarning, stacklevel=2)
    return np.flatnonzero(~val), np.flatnonzero(val)


class _TorchThreads:
    """Context: torch uses ``n`` CPU threads inside (None: unchanged), restored on exit."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import torch

        self.before = torch.get_num_threads()
        if self.n is not None:
            torch.set_num_threads(int(self.n))

    def __exit__(self, *exc):
        import torch

        if self.n is not None:
            torch.set_num_threads(self.before)


class CpuWeightsPickle:
    """Pickles a fitted network (``module_``) as a CPU ``state_dict``, so a model fitted on a GPU
    loads anywhere; on load it is rebuilt from ``_network_class()`` and ``module_kwargs_``."""

    def __getstate__(self):
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        if module is not None:
            state["module_state_"] = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        weights = state.pop("module_state_", None)
        super().__setstate__(state)
        if weights is not None:
            from genrekit.classifiers.torch_heads import build_network

            module = build_network(self._network_class(), self.module_kwargs_)
            module.load_state_dict(weights)
            module.eval()
            self.module_ = module


class _TorchHead(CpuWeightsPickle, ClassifierMixin, BaseEstimator):
    """What every neural head shares: validation, seeding, devices, the training loop, pickling."""

    #: Network name in :data:`genrekit.classifiers.torch_heads.NETWORKS`.
    _network = ""

    # ------------------------------------------------------------------ parameters
    #: Checked by scikit-learn's ``_validate_params`` at the start of ``fit`` (``_fit_context``).
    _parameter_constraints: dict = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [at_least(1)],
        "max_epochs": [at_least(1)],
        "patience": [at_least(1), None],
        "validation_fraction": [Interval(Real, 0, 0.5, closed="both")],
        "dropout": [Interval(Real, 0, 0.95, closed="both")],
        "mixup": [Interval(Real, 0, None, closed="left")],
        "num_workers": [at_least(0)],
        "n_threads": [at_least(1), None],
        "augment": ["boolean"],
        "amp": ["boolean"],
        "device": [DEVICE],
        "verbose": [at_least(0)],
        "random_state": ["random_state"],
    }

    def _network_class(self):
        return self._network

    # ------------------------------------------------------------------ devices
    def _fit_device(self):
        from genrekit.classifiers.torch_heads import resolve_device

        return resolve_device(self.device)

    def _predict_device(self):
        """The device to predict on: ``device``, or the CPU (with a warning) when it is not here."""
        from genrekit.classifiers.torch_heads import resolve_device

        try:
            return resolve_device(self.device)
        except ValueError as e:
            import torch

            warnings.warn(f"{e}; predicting on the CPU", RuntimeWarning, stacklevel=3)
            return torch.device("cpu")

    # ------------------------------------------------------------------ shared fit
    def _carve(self, y_idx, groups, seed) -> tuple[np.ndarray, np.ndarray]:
        """Fit and validation tracks; every track fits (fixed epochs, a warning) when validation is too
        small to steer early stopping or would take more than twice ``validation_fraction``."""
        fraction = float(self.validation_fraction)
        tr, va = carve_validation(y_idx, groups, fraction, seed)
        if fraction and (len(va) < MIN_VALID_TRACKS or len(va) > 2 * fraction * len(y_idx)):
            warnings.warn(FIXED_EPOCHS_NOTE, UserWarning, stacklevel=3)
            tr, va = np.arange(len(y_idx)), np.arange(0)
        return tr, va

    def _check_chance(self, dataset, y_track, device, where: str):
        """Warn when the fitted network is no better than always answering the most common label of
        ``dataset``'s tracks (its validation tracks, or its training tracks without validation)."""
        from genrekit.classifiers.torch_heads import evaluate_tracks

        y_track = np.asarray(y_track)
        if len(np.unique(y_track)) < 2:  # one label: always answering it is right, nothing to compare with
            return
        if where == "validation":
            acc = self.history_[self.best_epoch_ - 1]["valid_accuracy"]
        else:
            with _TorchThreads(self.n_threads):
                lp = evaluate_tracks(self.module_, dataset, device=device, amp=bool(self.amp),
                                     batch_size=max(int(self.batch_size), 64), num_workers=int(self.num_workers))
            acc = float((np.stack([p.mean(axis=0) for p in lp]).argmax(1) == y_track).mean())
        chance = float(np.bincount(y_track).max() / len(y_track))
        self.check_accuracy_ = {"tracks": where, "accuracy": float(acc), "chance": chance}
        if acc <= chance + 1e-9:
            warnings.warn(f"{type(self).__name__} ended no better than chance on its {where} tracks: accuracy "
                          f"{acc:.2f}, always answering the most common label {chance:.2f} ({len(y_track)} tracks)",
                          UserWarning, stacklevel=3)

    def _fit_network(self, module_kwargs, train_ds, valid_ds, y_valid, *, device, seed, pad_to=0,
                     drop_single=False, fit_tracks=None):
        import torch

        from genrekit.classifiers.torch_heads import build_network, make_loader, train

        nw = int(self.num_workers)
        bs = int(self.batch_size)
        # a last batch of one row cannot be batch-normalised: drop it (each epoch drops another row)
        drop_last = drop_single and len(train_ds) > bs and len(train_ds) % bs == 1
        loader = make_loader(train_ds, batch_size=bs, shuffle=True, device=device,
                             num_workers=nw, seed=seed, pad_to=pad_to, drop_last=drop_last)
        cuda = [device.index or 0] if device.type == "cuda" else []
        # seeded, without touching the caller's RNG state
        with torch.random.fork_rng(devices=cuda), _TorchThreads(self.n_threads):
            torch.manual_seed(seed)
            module = build_network(self._network, module_kwargs)
            valid = None
            if valid_ds is not None and len(valid_ds):
                valid = (valid_ds, np.asarray(y_valid), int(self.batch_size), nw)
            history, best = train(module, loader, device=device, epochs=int(self.max_epochs), lr=float(self.lr),
                                  weight_decay=float(self.weight_decay), patience=self.patience,
                                  mixup=float(self.mixup) if self.augment or self._network == "mlp" else 0.0,
                                  seed=seed, amp=bool(self.amp), valid=valid, progress=bool(self.verbose),
                                  desc=type(self).__name__)
        module.eval()
        self.module_ = module
        self.module_kwargs_ = dict(module_kwargs)
        self.history_ = history
        self.best_epoch_ = int(best)
        self.n_epochs_ = len(history)
        self.device_ = str(device)
        if valid is not None:
            self._check_chance(None, y_valid, device, "validation")
        elif fit_tracks is not None:
            self._check_chance(*fit_tracks, device, "training")
        return self

    def _window_log_proba(self, dataset):
        from genrekit.classifiers.torch_heads import evaluate_tracks

        device = self._predict_device()
        self.module_.to(device)
        with _TorchThreads(self.n_threads):
            return evaluate_tracks(self.module_, dataset, device=device, amp=bool(self.amp),
                                   batch_size=max(int(self.batch_size), 64), num_workers=int(self.num_workers))

    # ------------------------------------------------------------------ predictions
    def segment_log_proba(self, X) -> list[np.ndarray]:
        """Log-probabilities of each track's segments: a list of ``(n_segments_i, n_classes)`` arrays."""
        check_is_fitted(self, "module_")
        return self._window_log_proba(self._predict_dataset(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """Per track: the mean of its segments' log-probabilities, renormalised (columns: ``classes_``)."""
        from scipy.special import logsumexp

        m = np.stack([lp.mean(axis=0) for lp in self.segment_log_proba(X)])
        return m - logsumexp(m, axis=1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities per track (rows sum to 1), from the mean segment log-probability."""
        return np.exp(self.predict_log_proba(X))

    #: ``predict`` is the argmax of ``predict_proba``: a caller needing both computes one
    #: (genrekit.pipeline.evaluation.jobs), not two inference passes.
    predicts_most_probable = True

    def predict(self, X) -> np.ndarray:
        """The class with the highest mean segment log-probability."""
        log_proba = self.predict_log_proba(X)  # first: an unfitted head raises NotFittedError
        return self.classes_[np.argmax(log_proba, axis=1)]

    def _targets(self, y):
        y = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        return y_idx
