"""The frame heads (cnn1d, cnn2d, crnn, attention) as multi-label taggers: the same network with one
sigmoid output per tag and a BCE-with-logits loss, fitted once on the multi-hot matrix (not once
per tag).

:class:`FrameHeadTagger` takes everything from the registry head it wraps (its network and every
hyper-parameter, so ``--param cnn1d.KEY=VALUE`` means the same for genres and tags) and trains as
for genres: standardisation on the training tracks only, the same segments (random crops with
``augment``, else the evenly spaced windows), SpecAugment masks, mixup (the multi-hot targets are
mixed by the same convex combination), AdamW with the warm-up + cosine schedule, the best epoch's
weights kept. A track's scores are the mean of its segments' sigmoid probabilities.

Early stopping: validation tracks are carved from the training tracks (``validation_fraction``):
whole artists (``GroupShuffleSplit``) when ``groups`` are given with at least 3 artists, else
tracks (``ShuffleSplit``), seeded; no per-tag stratification (a tag may miss from the validation
part: the monitored loss is the mean BCE over all tags of the validation tracks' scores, defined
whatever their tags). As for genres, fewer than
:data:`~genrekit.classifiers.torch_base.MIN_VALID_TRACKS` validation tracks cannot steer early
stopping: every training track is then trained on for ``max_epochs`` epochs and the last weights
kept, with the same warning. Seeded (``random_state``): two CPU fits give identical scores.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from genrekit.classifiers.torch_base import CpuWeightsPickle


def carve_tracks(n: int, groups, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit and validation tracks (sorted): whole groups when there are at least 3, else tracks."""
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    if not fraction or n < 8:
        return np.arange(n), np.arange(0)
    if groups is not None and len(set(groups)) >= 3:
        tr, va = next(GroupShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(n), groups=groups))
    else:
        tr, va = next(ShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(n)))
    return np.sort(tr), np.sort(va)


def track_proba(module, dataset, *, device, amp: bool, batch_size: int) -> np.ndarray:
    """``(n_tracks, n_tags)``: the mean sigmoid probability of each track's windows
    (:class:`~genrekit.classifiers.torch_heads.TrackWindows` items; several tracks per forward pass)."""
    import torch

    from genrekit.classifiers.torch_heads import _autocast

    module.eval()
    out, buf = [], []

    def flush():
        T, D = max(x.shape[1] for x, _ in buf), buf[0][0].shape[2]
        xs = torch.zeros(sum(len(x) for x, _ in buf), T, D)
        i = 0
        for x, _ in buf:
            xs[i:i + len(x), :x.shape[1]] = x
            i += len(x)
        lens = torch.cat([n for _, n in buf])
        with torch.no_grad(), _autocast(device, amp):
            p = torch.sigmoid(module(xs.to(device), lens.to(device)).float()).cpu().double().numpy()
        i = 0
        for x, _ in buf:
            out.append(p[i:i + len(x)].mean(axis=0))
            i += len(x)
        buf.clear()

    n_buf = 0
    for t in range(len(dataset)):
        buf.append(dataset[t])
        n_buf += len(buf[-1][0])
        if n_buf >= batch_size:
            flush()
            n_buf = 0
    if buf:
        flush()
    return np.stack(out)


def _bce(P: np.ndarray, Y: np.ndarray) -> float:
    P = np.clip(P, 1e-7, 1 - 1e-7)
    return float(-(Y * np.log(P) + (1 - Y) * np.log(1 - P)).mean())


class FrameHeadTagger(CpuWeightsPickle, BaseEstimator):
    """Multi-label frame head (sigmoid outputs, BCE loss) with the network and parameters of ``base``."""

    #: Fitted on the multi-hot matrix as it is (see genrekit.pipeline.evaluation.tag_models).
    multilabel_native = True

    def __init__(self, base=None):
        self.base = base

    def _network_class(self):  # (CpuWeightsPickle: the weights travel as a CPU state_dict)
        return self.base._network

    def _windows(self, source, n_dims=None):
        from genrekit.classifiers.neural import _Checked
        from genrekit.classifiers.torch_heads import TrackWindows

        if n_dims is not None:
            source = _Checked(source, n_dims)
        return TrackWindows(source, self.mean_, self.scale_, self.segment_frames_, int(self.base.max_segments),
                            pad=self.base._fixed_length)

    def fit(self, X, Y, groups=None):
        """Fit on per-track frame matrices ``X`` and multi-hot ``Y (n_tracks, n_tags)``."""
        from genrekit.classifiers.neural import _check_sequence, _Subset
        from genrekit.classifiers.torch_base import FIXED_EPOCHS_NOTE, MIN_VALID_TRACKS, _seed_of, default_frame_rate
        from genrekit.classifiers.torch_heads import SegmentDataset, window_offsets

        b = self.base
        b._validate_params()
        _check_sequence(X)
        Y = np.asarray(Y, np.float32)
        if Y.ndim != 2 or len(Y) != len(X):
            raise ValueError(f"expected multi-hot targets of shape ({len(X)}, n_tags), got {Y.shape}")
        seed = _seed_of(b.random_state)
        self.device_ = b._fit_device()
        kept, lengths, n_dims, mean, scale = b._read_training(X)
        self.n_features_in_, self.n_tags_ = int(n_dims), Y.shape[1]
        self.mean_, self.scale_ = mean.astype(np.float32), scale.astype(np.float32)
        self.frame_rate_ = float(b.frame_rate or default_frame_rate())
        frames = getattr(b, "segment_frames", None)
        L = int(frames) if frames else max(1, int(round(float(b.segment_seconds) * self.frame_rate_)))
        self.segment_frames_ = L
        source = kept if kept is not None else X
        fraction = float(b.validation_fraction)
        tr, va = carve_tracks(len(Y), groups, fraction, seed)
        if fraction and len(va) < MIN_VALID_TRACKS:
            warnings.warn(FIXED_EPOCHS_NOTE, UserWarning, stacklevel=2)
            tr, va = np.arange(len(Y)), np.arange(0)
        aug = bool(b.augment)
        if aug:
            items = [(t, -1) for t in tr for _ in range(int(b.crops_per_track))]
        else:
            items = [(t, o) for t in tr for o in window_offsets(int(lengths[t]), L, int(b.max_segments))]
        # the dataset's "label" of an item is its track's index: the batch's targets are Y[those rows]
        train_ds = SegmentDataset(source, np.array(items, np.int64), np.arange(len(Y)), self.mean_, self.scale_, L,
                                  pad=b._fixed_length, seed=seed, time_mask=float(b.time_mask) if aug else 0.0,
                                  freq_mask=float(b.freq_mask) if aug else 0.0,
                                  random_length=aug and not b._fixed_length)
        valid = (self._windows(_Subset(source, va)), Y[va]) if len(va) else None
        self.n_train_tracks_, self.n_valid_tracks_ = len(tr), len(va)
        self._train(train_ds, Y, valid, seed, L if b._fixed_length else 0)
        return self

    def _train(self, train_ds, Y, valid, seed, pad_to):
        import torch

        from genrekit.classifiers.torch_base import _TorchThreads
        from genrekit.classifiers.torch_heads import build_network, make_loader

        b, dev = self.base, self.device_
        self.amp_ = bool(b.amp) and dev.type == "cuda" and torch.cuda.is_bf16_supported()
        loader = make_loader(train_ds, batch_size=int(b.batch_size), shuffle=True, device=dev,
                             num_workers=int(b.num_workers), seed=seed, pad_to=pad_to)
        self.module_kwargs_ = b._network_kwargs(self.n_features_in_, self.n_tags_)
        with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []), _TorchThreads(b.n_threads):
            torch.manual_seed(seed)
            self.module_ = build_network(b._network, self.module_kwargs_).to(dev)
            self.history_, self.best_epoch_ = self._epochs(loader, torch.from_numpy(Y), valid, seed)
        self.module_.eval()
        self.n_epochs_ = len(self.history_)

    def _epochs(self, loader, Yt, valid, seed):
        import torch
        import torch.nn.functional as F

        from genrekit.classifiers.torch_heads import WarmupCosine, _autocast

        b, dev, net = self.base, self.device_, self.module_
        epochs, mixup = int(b.max_epochs), float(b.mixup) if b.augment else 0.0
        opt = torch.optim.AdamW(net.parameters(), lr=float(b.lr), weight_decay=float(b.weight_decay))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(max(1, len(loader)) * epochs))
        rng, perm_gen = np.random.default_rng([seed, 7]), torch.Generator().manual_seed(int(seed) + 1)
        history, best, best_state, best_epoch, bad = [], np.inf, None, epochs, 0
        for epoch in range(1, epochs + 1):
            loader.dataset.epoch = epoch
            net.train()
            total, n = 0.0, 0
            for x, lengths, rows in loader:
                x, lengths, y = x.to(dev), lengths.to(dev), Yt[rows].to(dev)
                if mixup > 0 and len(y) > 1:  # mixup: inputs and multi-hot targets by the same weights
                    lam = float(rng.beta(mixup, mixup))
                    perm = torch.randperm(len(y), generator=perm_gen).to(dev)
                    x, y = lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
                    lengths = torch.maximum(lengths, lengths[perm])
                with _autocast(dev, self.amp_):
                    logits = net(x, lengths)
                loss = F.binary_cross_entropy_with_logits(logits.float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total, n = total + float(loss.detach()) * len(y), n + len(y)
            rec = {"epoch": epoch, "train_loss": total / max(n, 1), "valid_loss": None}
            if valid is not None:
                P = track_proba(net, valid[0], device=dev, amp=self.amp_, batch_size=max(int(b.batch_size), 64))
                rec["valid_loss"] = _bce(P, valid[1])
            history.append(rec)
            if valid is None:
                continue
            if rec["valid_loss"] < best - 1e-6:
                best, best_epoch, bad = rec["valid_loss"], epoch, 0
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}
            else:
                bad += 1
                if b.patience is not None and bad >= int(b.patience):
                    break
        if best_state is None:
            return history, len(history)
        net.load_state_dict(best_state)
        return history, best_epoch

    def predict_proba(self, X) -> np.ndarray:
        """``(n_tracks, n_tags)``: the mean of each track's segments' sigmoid probabilities."""
        from genrekit.classifiers.neural import _check_sequence
        from genrekit.classifiers.torch_base import _TorchThreads

        check_is_fitted(self, "module_")
        _check_sequence(X)
        dev = self.base._predict_device()
        self.module_.to(dev)
        with _TorchThreads(self.base.n_threads):
            return track_proba(self.module_, self._windows(X, self.n_features_in_), device=dev,
                               amp=getattr(self, "amp_", False) and dev.type == "cuda",
                               batch_size=max(int(self.base.batch_size), 64))
