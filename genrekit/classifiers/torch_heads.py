"""The torch side of the neural heads: ``nn.Module`` networks, datasets and the training loop.

Imported lazily by :mod:`genrekit.classifiers.neural` (only when a head is fitted or applied),
so that listing models or running classic baselines never pays for importing torch.

Every network takes a padded batch ``x [shape=(batch, time, dims)]`` (time-major, as frame
matrices are stored) and ``lengths [shape=(batch,)]``, the number of valid frames of each row,
and returns class logits ``[shape=(batch, n_classes)]``. Padding never reaches a pooled value:
every pooling over time is masked with ``lengths`` (carried through the convolutions' own
time pooling).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset


# ====================================================================================== masks
def time_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """``[shape=(batch, T)]`` bool: True where a frame is valid."""
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def pooled_lengths(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """Valid frames after a ``MaxPool(2)`` over time that left ``T`` frames (at least 1)."""
    return torch.clamp(torch.div(lengths + 1, 2, rounding_mode="floor"), 1, max(1, T))


def masked_mean_max(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean and max over time of ``h [shape=(batch, channels, T)]`` ignoring padding → ``(batch, 2 channels)``."""
    m = time_mask(lengths, h.shape[-1])[:, None, :]
    mean = (h * m).sum(-1) / m.sum(-1).clamp(min=1)
    mx = h.masked_fill(~m, torch.finfo(h.dtype).min).amax(-1)
    return torch.cat([mean, mx], dim=1)


def widths(channels, n_blocks: int) -> list[int]:
    """Channel widths of ``n_blocks`` conv blocks: an int ``c`` gives ``c, 2c, 2c, …``; a sequence is used as is."""
    if isinstance(channels, (list, tuple)):
        return [int(c) for c in channels]
    c = int(channels)
    return [c] + [2 * c] * (n_blocks - 1)


def _zero_padding(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``h [shape=(B, ..., T)]`` with every frame past each row's length set to 0."""
    m = time_mask(lengths, h.shape[-1])
    return h * m.view(m.shape[0], *([1] * (h.dim() - 2)), m.shape[1]).to(h.dtype)


class _ConvFront1d(nn.Module):
    """Conv1d → BatchNorm → ReLU → MaxPool(2) blocks over time; tracks valid lengths.

    Frames past a row's length are zeroed before every convolution and pooling, so that what
    the padding holds never changes the output for the valid frames.
    """

    def __init__(self, in_dims: int, chans: list[int], kernel_size: int = 3):
        super().__init__()
        blocks, c_in = [], in_dims
        for c in chans:
            blocks.append(nn.Sequential(
                nn.Conv1d(c_in, c, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm1d(c), nn.ReLU(inplace=True)))
            c_in = c
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.MaxPool1d(2)
        self.out_channels = c_in
        self.min_frames = 2 ** len(chans)

    def forward(self, x, lengths):  # x: (B, T, D)
        h = _zero_padding(x.transpose(1, 2), lengths)
        for b in self.blocks:
            h = self.pool(_zero_padding(b(h), lengths))
            lengths = pooled_lengths(lengths, h.shape[-1])
        return h, lengths  # (B, C, T')


def _pad_time(x: torch.Tensor, min_frames: int) -> torch.Tensor:
    """Zero-pad ``x [shape=(B, T, D)]`` at the end to at least ``min_frames`` frames."""
    if x.shape[1] >= min_frames:
        return x
    return F.pad(x, (0, 0, 0, min_frames - x.shape[1]))


# ====================================================================================== networks
class _BatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` that normalises a training batch of one row with its running statistics (as in
    evaluation) instead of failing: a fold of any size trains. Same parameters and state."""

    def forward(self, x):
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


class MLPNet(nn.Module):
    """Dense layers on one (standardised) summary vector per track."""

    def __init__(self, in_dims: int, n_classes: int, hidden=(256, 128), dropout: float = 0.3):
        super().__init__()
        layers, d = [], in_dims
        for h in hidden:
            layers += [nn.Linear(d, int(h)), _BatchNorm1d(int(h)), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            d = int(h)
        layers.append(nn.Linear(d, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x, lengths=None):  # x: (B, 1, D) or (B, D)
        return self.net(x.reshape(x.shape[0], -1))


class CNN1DNet(nn.Module):
    """1-D convolutions over time (feature dims as channels), masked mean+max pooling, dense."""

    def __init__(self, in_dims: int, n_classes: int, channels=32, n_blocks: int = 3, dropout: float = 0.3,
                 kernel_size: int = 3):
        super().__init__()
        self.front = _ConvFront1d(in_dims, widths(channels, n_blocks), kernel_size)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * self.front.out_channels, n_classes)

    def forward(self, x, lengths):
        x = _pad_time(x, self.front.min_frames)
        h, lengths = self.front(x, lengths)
        return self.head(self.drop(masked_mean_max(h, lengths)))


class CNN2DNet(nn.Module):
    """2-D convolutions over the (dims × time) image, mean over frequency, masked pooling over time."""

    def __init__(self, in_dims: int, n_classes: int, channels=16, n_blocks: int = 3, dropout: float = 0.3):
        super().__init__()
        blocks, c_in = [], 1
        for c in widths(channels, n_blocks):
            blocks.append(nn.Sequential(
                nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)))
            c_in = c
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.min_frames = 2 ** len(blocks)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * c_in, n_classes)

    def forward(self, x, lengths):
        x = _pad_time(x, self.min_frames)
        h = _zero_padding(x.transpose(1, 2)[:, None], lengths)  # (B, 1, D, T)
        for b in self.blocks:
            h = self.pool(_zero_padding(b(h), lengths))
            lengths = pooled_lengths(lengths, h.shape[-1])
        h = h.mean(dim=2)  # (B, C, T')
        return self.head(self.drop(masked_mean_max(h, lengths)))


class CRNNNet(nn.Module):
    """Conv1d front end, then a bidirectional GRU over the remaining time steps, masked mean pooling."""

    def __init__(self, in_dims: int, n_classes: int, channels=32, n_blocks: int = 2, hidden: int = 64,
                 dropout: float = 0.3):
        super().__init__()
        self.front = _ConvFront1d(in_dims, widths(channels, n_blocks))
        self.gru = nn.GRU(self.front.out_channels, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden, n_classes)

    def forward(self, x, lengths):
        x = _pad_time(x, self.front.min_frames)
        h, lengths = self.front(x, lengths)
        packed = nn.utils.rnn.pack_padded_sequence(h.transpose(1, 2), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=h.shape[-1])
        return self.head(self.drop(masked_mean_max(out.transpose(1, 2), lengths)))


class AttentionNet(nn.Module):
    """Conv1d front end, then attention pooling over time (masked softmax), so any length works."""

    def __init__(self, in_dims: int, n_classes: int, channels=32, n_blocks: int = 3, heads: int = 4,
                 dropout: float = 0.3):
        super().__init__()
        self.front = _ConvFront1d(in_dims, widths(channels, n_blocks))
        c = self.front.out_channels
        self.score = nn.Sequential(nn.Linear(c, c), nn.Tanh(), nn.Linear(c, heads))
        self.value = nn.Linear(c, c)
        self.heads = heads
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(heads * c + c, n_classes)

    def forward(self, x, lengths):
        x = _pad_time(x, self.front.min_frames)
        h, lengths = self.front(x, lengths)
        h = h.transpose(1, 2)  # (B, T', C)
        m = time_mask(lengths, h.shape[1])  # (B, T')
        a = self.score(h).masked_fill(~m[:, :, None], float("-inf")).softmax(dim=1)  # (B, T', H)
        pooled = torch.einsum("bth,btc->bhc", a, self.value(h)).flatten(1)  # (B, H*C)
        mx = h.masked_fill(~m[:, :, None], torch.finfo(h.dtype).min).amax(1)
        return self.head(self.drop(torch.cat([pooled, mx], dim=1)))


NETWORKS = {"mlp": MLPNet, "cnn1d": CNN1DNet, "cnn2d": CNN2DNet, "crnn": CRNNNet, "attention": AttentionNet}


def build_network(kind: str, kwargs: dict) -> nn.Module:
    return NETWORKS[kind](**kwargs)


# ====================================================================================== data
class SegmentDataset(Dataset):
    """Fixed-length (or capped) windows of per-track frame matrices, standardised and augmented.

    Each item is one ``(track, offset)`` pair; ``offset = -1`` draws a random crop, seeded by
    ``(seed, epoch, item)`` so that results do not depend on the number of workers. A track
    shorter than ``length`` gives its whole matrix (padded by the collate function). With
    ``random_length`` a random crop is between half of ``min(n_frames, length)`` and all of it
    long (for heads that take any length).

    The source is any sequence of ``(n_frames, dims)`` matrices: a preloaded list, or the
    runner's lazy view over the store (pickled without file handles, so every ``DataLoader``
    worker opens its own HDF5 handles).
    """

    def __init__(self, source, items: np.ndarray, labels, mean, scale, length: int, *, pad: bool,
                 seed: int = 0, time_mask: float = 0.0, freq_mask: float = 0.0, random_length: bool = False):
        self.source = source
        self.items = np.asarray(items, dtype=np.int64).reshape(-1, 2)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        self.mean = np.asarray(mean, np.float32)
        self.scale = np.asarray(scale, np.float32)
        self.length = int(length)
        self.pad = pad
        self.seed = int(seed)
        self.epoch = 0
        self.time_mask = float(time_mask)
        self.freq_mask = float(freq_mask)
        self.random_length = bool(random_length)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        t, off = (int(v) for v in self.items[k])
        x = self.source[t]
        n = len(x)
        rng = None
        if off < 0 or self.time_mask > 0 or self.freq_mask > 0:
            rng = np.random.default_rng([self.seed, self.epoch, int(k)])
        length = self.length
        if off < 0 and self.random_length:
            m = min(n, length)
            length = int(rng.integers((m + 1) // 2, m + 1))
        if n > length:
            if off < 0:
                off = int(rng.integers(0, n - length + 1))
            x = x[off:off + length]
        x = (np.asarray(x, np.float32) - self.mean) / self.scale
        n = len(x)
        if self.time_mask > 0 and n > 1:  # SpecAugment: one time band and one frequency band to 0 (= the mean)
            w = int(rng.integers(0, max(1, int(self.time_mask * n)) + 1))
            if w:
                a = int(rng.integers(0, n - w + 1))
                x[a:a + w] = 0.0
        if self.freq_mask > 0 and x.shape[1] > 1:
            w = int(rng.integers(0, max(1, int(self.freq_mask * x.shape[1])) + 1))
            if w:
                a = int(rng.integers(0, x.shape[1] - w + 1))
                x[:, a:a + w] = 0.0
        y = -1 if self.labels is None else int(self.labels[t])
        return torch.from_numpy(np.ascontiguousarray(x)), n, y


def collate(batch, pad_to: int = 0):
    """Pad a list of ``(x (n_i, D), n_i, y)`` to ``x (B, T, D)``, ``lengths (B,)``, ``y (B,)``."""
    T = max(pad_to, max(b[1] for b in batch))
    D = batch[0][0].shape[1]
    x = torch.zeros(len(batch), T, D, dtype=torch.float32)
    for i, (xi, n, _) in enumerate(batch):
        x[i, :n] = xi
    lengths = torch.tensor([b[1] for b in batch], dtype=torch.int64)
    y = torch.tensor([b[2] for b in batch], dtype=torch.int64)
    return x, lengths, y


class _Collate:
    """Picklable collate with a fixed minimum length (for DataLoader workers)."""

    def __init__(self, pad_to: int):
        self.pad_to = pad_to

    def __call__(self, batch):
        return collate(batch, self.pad_to)


class RowDataset(Dataset):
    """Summary vectors (already standardised) as ``(1, D)`` items, for the MLP."""

    def __init__(self, X: np.ndarray, labels=None, noise: float = 0.0, seed: int = 0):
        self.X = np.ascontiguousarray(X, np.float32)
        self.labels = labels
        self.noise = float(noise)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self):
        return len(self.X)

    def __getitem__(self, k):
        x = self.X[k]
        if self.noise > 0:
            x = x + self.noise * np.random.default_rng([self.seed, self.epoch, int(k)]).standard_normal(
                x.shape).astype(np.float32)
        y = -1 if self.labels is None else int(self.labels[k])
        return torch.from_numpy(np.ascontiguousarray(x[None, :])), 1, y


class EpochShuffle(torch.utils.data.Sampler):
    """A new permutation of the items every epoch, drawn from ``(seed, epoch)`` only (not from
    torch's RNG, which the ``DataLoader`` also draws worker seeds from), so the order is the same
    whatever ``num_workers`` is."""

    def __init__(self, n: int, seed: int, dataset=None):
        self.n = int(n)
        self.seed = int(seed)
        self.dataset = dataset

    def __len__(self):
        return self.n

    def __iter__(self):
        epoch = getattr(self.dataset, "epoch", 0)
        return iter(np.random.default_rng([self.seed, int(epoch), 99]).permutation(self.n).tolist())


def _worker_init(worker_id):
    info = torch.utils.data.get_worker_info()
    np.random.seed((info.seed if info else worker_id) % 2 ** 32)


def make_loader(dataset, *, batch_size: int, shuffle: bool, device: torch.device, num_workers: int,
                seed: int, pad_to: int = 0, drop_last: bool = False) -> DataLoader:
    """A ``DataLoader`` seeded by ``seed``, pinned on CUDA, with workers that each open their own files."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    sampler = EpochShuffle(len(dataset), seed, dataset) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=_Collate(pad_to), pin_memory=device.type == "cuda", generator=g,
                      worker_init_fn=_worker_init if num_workers else None,
                      persistent_workers=False, drop_last=drop_last)


# ====================================================================================== devices
def resolve_device(spec) -> torch.device:
    """``"auto"`` → CUDA, then Apple MPS, then CPU; otherwise the named device.

    Raises
    ------
    ValueError
        For an unknown device name or one that this machine does not have.
    """
    s = "auto" if spec is None else str(spec).strip().lower()
    if s == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(s)
    except (RuntimeError, ValueError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {spec!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} was asked for but torch sees no CUDA GPU; use --device auto or cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {spec!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {spec!r} was asked for but Apple MPS is not available; use --device auto or cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {spec!r}")
    return dev


def _autocast(device: torch.device, enabled: bool):
    """Mixed precision on CUDA only (bfloat16 where supported, else float16)."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)


# ====================================================================================== training
def _soft_ce(logits, y_a, y_b, lam):
    logp = F.log_softmax(logits.float(), dim=1)
    la = F.nll_loss(logp, y_a, reduction="none")
    if y_b is None:
        return la
    return lam * la + (1 - lam) * F.nll_loss(logp, y_b, reduction="none")


def window_offsets(n: int, length: int, max_segments: int) -> list[int]:
    """Starts of the evenly spaced windows a track of ``n`` frames is predicted from.

    A track no longer than ``length`` is one window (the whole track); a longer one gives
    ``min(max_segments, ceil(n / length))`` windows from its start to its end.
    """
    if n <= length:
        return [0]
    k = max(1, min(int(max_segments), math.ceil(n / length)))
    if k == 1:
        return [(n - length) // 2]
    return [int(round(o)) for o in np.linspace(0, n - length, k)]


class TrackWindows(Dataset):
    """One item per track: its evenly spaced windows ``(k, T, D)`` standardised, and their lengths.

    With ``pad`` every window has ``length`` frames (short tracks zero-padded, i.e. padded with
    the training mean); without, a short track keeps its own length.
    """

    def __init__(self, source, mean, scale, length: int, max_segments: int, pad: bool):
        self.source = source
        self.mean = np.asarray(mean, np.float32)
        self.scale = np.asarray(scale, np.float32)
        self.length = int(length)
        self.max_segments = int(max_segments)
        self.pad = pad

    def __len__(self):
        return len(self.source)

    def __getitem__(self, t):
        x = np.asarray(self.source[int(t)], np.float32)
        n = len(x)
        offs = window_offsets(n, self.length, self.max_segments)
        T = self.length if self.pad else min(n, self.length)
        out = np.zeros((len(offs), T, x.shape[1]), np.float32)
        lens = []
        for i, o in enumerate(offs):
            seg = x[o:o + self.length]
            out[i, :len(seg)] = (seg - self.mean) / self.scale
            lens.append(len(seg))
        return torch.from_numpy(out), torch.tensor(lens, dtype=torch.int64)


class RowTracks(Dataset):
    """One item per track for the MLP: its standardised summary vector as one ``(1, 1, D)`` window."""

    def __init__(self, X: np.ndarray):
        self.X = np.ascontiguousarray(X, np.float32)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, t):
        return torch.from_numpy(self.X[int(t)][None, None, :].copy()), torch.ones(1, dtype=torch.int64)


def evaluate_tracks(module, dataset, *, device, amp: bool, batch_size: int, num_workers: int = 0) -> list:
    """Log-probabilities of every window of every track: a list of ``(k_i, n_classes)`` float64 arrays.

    Windows of several tracks share a forward pass (about ``batch_size`` windows at a time).
    """
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=num_workers,
                        pin_memory=device.type == "cuda")
    module.eval()
    out = [None] * len(dataset)
    buf: list = []

    def flush():
        T = max(x.shape[1] for _, x, _ in buf)
        D = buf[0][1].shape[2]
        xs = torch.zeros(sum(len(x) for _, x, _ in buf), T, D)
        i = 0
        for _, x, _ in buf:
            xs[i:i + len(x), :x.shape[1]] = x
            i += len(x)
        lens = torch.cat([n for _, _, n in buf])
        with torch.no_grad(), _autocast(device, amp):
            logits = module(xs.to(device, non_blocking=True), lens.to(device, non_blocking=True))
        logp = F.log_softmax(logits.float(), dim=1).cpu().double().numpy()
        i = 0
        for t, x, _ in buf:
            out[t] = logp[i:i + len(x)]
            i += len(x)
        buf.clear()

    n_buf = 0
    for t, (x, lens) in enumerate(loader):
        buf.append((t, x, lens))
        n_buf += len(x)
        if n_buf >= batch_size:
            flush()
            n_buf = 0
    if buf:
        flush()
    return out


class WarmupCosine:
    """Learning-rate factor of step ``i`` of ``total``: linear warm-up over the first ``warmup`` share,
    then a cosine decay to ``floor`` (a one-cycle schedule that works for any number of steps)."""

    def __init__(self, total: int, warmup: float = 0.2, floor: float = 0.02):
        self.total = max(1, int(total))
        self.warm = max(1, int(round(warmup * self.total)))
        self.floor = floor

    def __call__(self, i: int) -> float:
        if i < self.warm:
            return (i + 1) / self.warm
        p = min(1.0, (i - self.warm) / max(1, self.total - self.warm))
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * p))


def _train_step(module, x, lengths, y, *, device, opt, sched, scaler, mixup, rng, perm_gen, amp):
    """One optimiser step on one batch (mixup drawn from ``rng``/``perm_gen``); ``(loss sum, correct)``."""
    x = x.to(device, non_blocking=True)
    lengths_d = lengths.to(device, non_blocking=True)
    y = y.to(device, non_blocking=True)
    y_b, lam = None, 1.0
    if mixup and mixup > 0 and len(y) > 1:
        lam = float(rng.beta(mixup, mixup))
        perm = torch.randperm(len(y), generator=perm_gen).to(device)
        x = lam * x + (1 - lam) * x[perm]
        lengths_d = torch.maximum(lengths_d, lengths_d[perm])
        y_b = y[perm]
    with _autocast(device, amp):
        logits = module(x, lengths_d)
    loss_each = _soft_ce(logits, y, y_b, lam)
    loss = loss_each.mean()
    opt.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        opt.step()
    sched.step()
    with torch.no_grad():
        target = y if lam >= 0.5 or y_b is None else y_b
        return float(loss_each.sum()), float((logits.argmax(1) == target).sum())


def _validate(module, valid, *, device, amp) -> tuple[float, float]:
    """Validation loss (mean cross-entropy of the windows) and per-track accuracy."""
    vds, y_track, vbs, vworkers = valid
    per_track = evaluate_tracks(module, vds, device=device, amp=amp, batch_size=vbs, num_workers=vworkers)
    loss = float(np.concatenate([-lp[:, y] for lp, y in zip(per_track, y_track)]).mean())
    tl = np.stack([lp.mean(axis=0) for lp in per_track])
    return loss, float((tl.argmax(1) == y_track).mean())


def train(module, train_loader, *, device, epochs: int, lr: float, weight_decay: float, patience: int | None,
          mixup: float, seed: int, amp: bool, valid=None, progress: bool = False, desc: str = "train"):
    """AdamW + warm-up/cosine schedule, optional mixup, early stopping on validation loss.

    Parameters
    ----------
    valid : tuple, optional
        ``(dataset, y_track, batch_size, num_workers)``: the validation tracks'
        :class:`TrackWindows` (or :class:`RowTracks`) and labels. The loss is the mean
        cross-entropy of the windows; the accuracy is per track (mean window log-probabilities).

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch, train_loss, train_accuracy, valid_loss, valid_accuracy, lr, seconds``.
    best_epoch : int
        The epoch whose weights the module holds at return (1-based).
    """
    from genrekit.progress import progress_bar

    module.to(device)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, WarmupCosine(max(1, len(train_loader)) * epochs))
    scaler = None
    if amp and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        scaler = torch.amp.GradScaler("cuda")
    rng = np.random.default_rng([seed, 7])
    perm_gen = torch.Generator().manual_seed(int(seed) + 1)
    history, best, best_state, best_epoch, bad = [], math.inf, None, epochs, 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        ds = train_loader.dataset
        if hasattr(ds, "epoch"):
            ds.epoch = epoch
        module.train()
        tot_loss, tot_correct, tot_n = 0.0, 0.0, 0
        bar = progress_bar(train_loader, desc=f"{desc} epoch {epoch}/{epochs}", leave=False, disable=not progress,
                           lines=False, file=sys.stderr)  # not a terminal: the epoch's line below only
        for x, lengths, y in bar:
            loss_sum, correct = _train_step(module, x, lengths, y, device=device, opt=opt, sched=sched,
                                            scaler=scaler, mixup=mixup, rng=rng, perm_gen=perm_gen, amp=amp)
            tot_loss, tot_correct, tot_n = tot_loss + loss_sum, tot_correct + correct, tot_n + len(y)
            if progress:
                bar.set_postfix(loss=f"{tot_loss / max(tot_n, 1):.3f}")
        bar.close()
        rec = {"epoch": epoch, "train_loss": tot_loss / max(tot_n, 1), "train_accuracy": tot_correct / max(tot_n, 1),
               "valid_loss": None, "valid_accuracy": None, "lr": float(opt.param_groups[0]["lr"])}
        if valid is not None:
            rec["valid_loss"], rec["valid_accuracy"] = _validate(module, valid, device=device, amp=amp)
        rec["seconds"] = time.perf_counter() - t0
        history.append(rec)
        if progress:
            print(f"{desc} epoch {epoch}/{epochs}: train loss {rec['train_loss']:.3f} acc {rec['train_accuracy']:.3f}"
                  + (f", valid loss {rec['valid_loss']:.3f} acc {rec['valid_accuracy']:.3f}"
                     if valid is not None else ""), file=sys.stderr)
        if valid is None:
            continue
        if rec["valid_loss"] < best - 1e-6:
            best, best_epoch, bad = rec["valid_loss"], epoch, 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
        else:
            bad += 1
            if patience is not None and bad >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    else:  # no validation, or it never gave a finite loss: the last weights
        best_epoch = len(history)
    return history, best_epoch
