"""musicnn (Pons & Serra 2019) in torch, loaded from the original TensorFlow checkpoints.

The network, for one patch of 187 log-mel frames × 96 bands (``x``, time-major):

- **front end**: batch norm of the input; *timbral* filters — convolutions spanning 7 frames and
  38 or 67 mel bands (40 % / 70 % of 96; the time axis zero-padded by 3 each side, 204 filters
  each) — and *temporal* filters — convolutions spanning 128, 64 and 32 frames and one band
  (TensorFlow's ``same`` padding, 51 filters each); each is ReLU → batch norm → max over the
  mel axis, and the five maps are stacked: 561 channels per frame.
- **mid end**: three 1-D convolutions over time (7 frames, 64 filters, zero-padded by 3) with
  ReLU → batch norm, the 2nd and 3rd with residual connections; the front end and the three
  outputs are stacked (dense connections): 753 channels per frame.
- **back end**: max and mean over time (interleaved per channel as ``max, mean``: 1,506 values),
  batch norm → dense 200 + ReLU → batch norm (**penultimate**, the 200-d embedding) → dense 50
  → sigmoid (**tag probabilities**).

Batch norms are in inference mode (moving mean and variance, ε = 0.001: TensorFlow's default),
folded into one scale and shift each; dropout is inactive. The front end is computed the fast way,
equal to float32 rounding: the timbral filters through FFTs along the mel axis (:class:`_Timbral`),
the temporal ones as matrix products on one unfolding of the signal (:func:`_temporal`), and each
filter's max over bands taken before its bias, ReLU and batch norm (all monotonic). The input is musicnn's own
(:func:`log_mel`, :func:`patches`). Tensors are read with :mod:`genrekit.pretrained.tfcheckpoint`;
TensorFlow is never imported.
"""

from __future__ import annotations

import functools

import numpy as np

from genrekit.errors import AudioError
from genrekit.pretrained import weights
from genrekit.pretrained.labels import LABELS
from genrekit.pretrained.tfcheckpoint import CheckpointReader

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH = 187  # frames: 3 s, as musicnn computes it (librosa.time_to_frames(3) + 1)
EMBED_DIM = 200
BN_EPS = 1e-3
F16_MAX = float(np.finfo(np.float16).max)
#: Patches per second of the ``musicnn`` and ``musicnn_tags`` features.
PATCH_RATE = SR / (HOP * PATCH)


# ------------------------------------------------------------------------------------ the input
@functools.cache
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def log_mel(y: np.ndarray) -> np.ndarray:
    """musicnn's input representation of a 16 kHz mono signal: ``[shape=(n_frames, 96)]`` float32.

    The mel power spectrogram (librosa's defaults: centred Hann frames of 512, hop 256, Slaney
    mel filters), rounded to float16 and back as musicnn stores it, then ``log10(10000·x + 1)``
    computed in float32 (musicnn computes the product in float16, which overflows to inf on loud
    music). Powers above float16's largest value (65504; none in practice) are clipped to it
    rather than becoming inf.
    """
    import librosa

    y = np.ascontiguousarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"musicnn needs a non-empty mono signal, got shape {y.shape}")
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    mel = (_mel_basis() @ power).T
    mel16 = np.minimum(mel, F16_MAX).astype(np.float16).astype(np.float32)
    return np.log10(np.float32(10000) * mel16 + np.float32(1))


def patches(logmel: np.ndarray) -> np.ndarray:
    """Non-overlapping patches of 187 frames from the start: ``[shape=(n_patches, 187, 96)]``.

    An incomplete last patch is dropped (as musicnn does). A signal shorter than one patch
    (< 2.99 s) gives ONE patch: its frames repeated until 187 are filled, the padding musicnn's
    models were trained with for short clips (``pad_short: repeat-pad`` in their config).
    """
    n = logmel.shape[0]
    if n == 0:
        raise AudioError("musicnn needs at least one frame of audio")
    if n < PATCH:
        reps = -(-PATCH // n)
        return np.tile(logmel, (reps, 1))[:PATCH][None]
    k = n // PATCH
    return np.ascontiguousarray(logmel[:k * PATCH].reshape(k, PATCH, logmel.shape[1]))


# ------------------------------------------------------------------------------------ the network
def _same_pad(k: int) -> tuple[int, int]:
    """TensorFlow's ``same`` padding for a kernel of ``k`` at stride 1: (before, after)."""
    return (k - 1) // 2, (k - 1) - (k - 1) // 2


class _Timbral:
    """The timbral filters' ``max over bands`` through FFTs along the mel axis, exactly.

    A filter spans 7 frames × ``kf`` bands and slides over the 96 bands without padding (``96 −
    kf + 1`` positions), so each output is a circular correlation of length 96 that never wraps:
    per frequency bin, the 7 taps are one small complex product with every filter (a batched
    matrix product over bins), and the positions needed come back through one real matrix product
    with the inverse DFT's rows: 46 % (38 bands) and 31 % (67 bands) of the direct convolution's
    multiply-adds; equal to it to float32 rounding (max difference ~1e-5 on maps of scale 10).
    """

    def __init__(self, w, sign):
        import torch

        n = N_MELS
        self.bins = n // 2 + 1
        # a negative BN scale turns the max into a min: max(conv(x, −w)) = −min(conv(x, w))
        spec = torch.fft.rfft(w[:, 0] * sign.view(-1, 1, 1), n=n, dim=-1).conj().permute(2, 1, 0)  # (bins, 7, F)
        self.re = torch.cat([spec.real, -spec.imag], 1).contiguous()  # Re(U·W) = Ur·Wr − Ui·Wi
        self.im = torch.cat([spec.imag, spec.real], 1).contiguous()  # Im(U·W) = Ur·Wi + Ui·Wr
        k = np.arange(self.bins)
        p = np.arange(n - w.shape[3] + 1)
        weight = np.where((k == 0) | (k == n // 2), 1.0, 2.0) / n
        angle = 2 * np.pi * np.outer(p, k) / n
        self.inverse = torch.from_numpy(np.concatenate([weight * np.cos(angle), -weight * np.sin(angle)], 1)
                                        .astype(np.float32))  # (positions, 2·bins)

    def __call__(self, taps, rows: int = 16):
        """``taps``: (bins, n, 2·7) — the real and imaginary parts of each frame's 7-frame window of
        spectra → signed max over positions, (n, F). ``rows`` frames at a time, so that their
        products per bin (2 × 49 × rows × F values) stay in cache for the inverse (12 % faster
        than whole patches here)."""
        import torch

        n, f = taps.shape[1], self.re.shape[2]
        out = torch.empty(n, f)
        for s in range(0, n, rows):
            part = taps[:, s:s + rows]
            prod = torch.empty(2, self.bins, part.shape[1], f)
            torch.bmm(part, self.re, out=prod[0])
            torch.bmm(part, self.im, out=prod[1])
            torch.amax(self.inverse @ prod.view(2 * self.bins, -1), 0, out=out[s:s + rows].view(-1))
        return out


def _timbral_taps(x):
    """``x`` (B, T + 6, 96), the time axis padded → (bins, B·T, 14): per frequency bin, the real
    and imaginary parts of the spectra of the 7 frames each output frame's filters span."""
    import torch

    spec = torch.fft.rfft(x, dim=-1).unfold(1, 7, 1)  # (B, T, bins, 7)
    spec = spec.permute(2, 0, 1, 3).reshape(spec.shape[2], -1, 7)
    return torch.cat([spec.real, spec.imag], 2)


def _temporal(x, kernels, bands_per_step: int = 16):
    """Temporal filters (``kernels``: (F, kt) matrices, kt ≤ 128, TensorFlow ``same`` padding)
    on every band, max over bands: ``x`` (T, 96) → [(F, T)]. A few bands at a time, each band's
    windows of the widest kernel unfolded once (every kernel's windows are columns of them) and
    kept in cache for all kernels and the running max."""
    import torch
    import torch.nn.functional as F

    t, bands = x.shape
    wide = max(k.shape[1] for k in kernels)
    before = _same_pad(wide)[0]
    padded = F.pad(x.T.contiguous(), _same_pad(wide))  # (bands, T + wide - 1)
    best = [None] * len(kernels)
    for b in range(0, bands, bands_per_step):
        win = padded[b:b + bands_per_step].unfold(1, wide, 1).reshape(-1, wide)  # (bands·T, wide)
        for i, k in enumerate(kernels):
            start = before - _same_pad(k.shape[1])[0]
            m = (k @ win[:, start:start + k.shape[1]].T).view(k.shape[0], -1, t).amax(1)  # (F, T)
            best[i] = m if best[i] is None else torch.maximum(best[i], m)
    return best


def build_module(tensors: dict[str, np.ndarray]):
    """The torch module of a musicnn checkpoint's tensors (``conv2d*``, ``batch_normalization*``,
    ``dense*``), in eval mode."""
    import torch

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    def bn(i):
        p = f"batch_normalization{'' if i == 0 else f'_{i}'}/"
        scale = tensors[p + "gamma"].astype(np.float64) / np.sqrt(tensors[p + "moving_variance"].astype(np.float64) + BN_EPS)
        shift = tensors[p + "beta"] - tensors[p + "moving_mean"] * scale
        return t(scale), t(shift)

    def conv(i):
        p = f"conv2d{'' if i == 0 else f'_{i}'}/"
        return t(tensors[p + "kernel"].transpose(3, 2, 0, 1)), t(tensors[p + "bias"])  # (out, in, kt, kf)

    return _network()([bn(i) for i in range(11)], [conv(i) for i in range(8)],
                    [(t(tensors[f"dense{s}/kernel"].T), t(tensors[f"dense{s}/bias"])) for s in ("", "_1")]).eval()


@functools.cache
def _network():
    """The network's torch module class (see the module's docstring), defined on first use so that
    torch is imported only then."""
    import torch
    import torch.nn.functional as F

    class Musicnn(torch.nn.Module):
        def __init__(self, bns, convs, dense):
            super().__init__()
            self.bns, self.mid, self.dense = bns, convs[5:], dense
            front = bns[1:6]
            # bias, ReLU and a BN scale ≥ 0 are non-decreasing (a scale < 0: non-increasing), so each
            # filter's max (min) over bands is taken on the bare convolution, the sign folded in its weights
            sign = [torch.where(s >= 0, 1.0, -1.0) for s, _ in front]
            self.timbral = [_Timbral(convs[i][0], sign[i]) for i in range(2)]
            self.temporal = [(convs[i][0][:, 0, :, 0] * sign[i].view(-1, 1)).contiguous() for i in range(2, 5)]
            self.front = [torch.cat(v) for v in (sign, [b for _, b in convs[:5]], [s for s, _ in front],
                                                 [c for _, c in front])]

        def _front(self, x):
            """(B, T, 96) normalised input → (B, 561, T): timbral and temporal maps, max over bands."""
            maps = []
            for xi in x:  # one patch at a time: its intermediates stay in cache
                taps = _timbral_taps(F.pad(xi, (0, 0, 3, 3))[None])
                maps.append(torch.cat([f(taps).T for f in self.timbral] + _temporal(xi, self.temporal)))
            sign, bias, scale, shift = (v.view(1, -1, 1) for v in self.front)
            return F.relu(torch.stack(maps) * sign + bias) * scale + shift

        def forward(self, x):
            """``x``: (batch, 187, 96) → (penultimate (batch, 200), tag probabilities (batch, 50))."""
            bns = self.bns
            mids = [self._front(x * bns[0][0] + bns[0][1])]  # (B, 561, T)
            prev = None
            for i, (w, b) in enumerate(self.mid):
                h = F.relu(F.conv1d(F.pad(mids[-1], (3, 3)), w[:, 0].transpose(1, 2), b))  # (out, kf, kt) → (out, in, kt)
                h = h * bns[6 + i][0].view(1, -1, 1) + bns[6 + i][1].view(1, -1, 1)
                prev = h if prev is None else h + prev
                mids.append(prev)
            m = torch.cat(mids, 1)  # (B, 753, T)
            pooled = torch.stack([m.amax(dim=2), m.mean(dim=2)], dim=2).flatten(1)  # max, mean interleaved
            pooled = pooled * bns[9][0] + bns[9][1]
            (w1, b1), (w2, b2) = self.dense
            pen = F.relu(pooled @ w1.T + b1) * bns[10][0] + bns[10][1]
            return pen, torch.sigmoid(pen @ w2.T + b2)

    return Musicnn


class MusicnnModel:
    """A loaded musicnn model: :meth:`run` on signals, :meth:`run_patches` on its input.

    Parameters
    ----------
    model : {"MTT_musicnn", "MSD_musicnn"}
    prefix : str, optional
        A checkpoint prefix to read instead of the verified weights folder (tests).
    """

    def __init__(self, model: str = "MTT_musicnn", *, prefix: str | None = None):
        self.name = model
        self.labels = LABELS[model.split("_")[0]]
        reader = CheckpointReader(prefix or weights.verified_prefix(model))
        needed = [n for n in reader.names() if "/Adam" not in n and n.split("/")[0] not in ("beta1_power", "beta2_power")]
        self.module = build_module({n: reader.tensor(n) for n in needed})

    def run_patches(self, x: np.ndarray, *, batch_size: int = 16, threads: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """``x`` ``[shape=(n, 187, 96)]`` → (penultimate ``(n, 200)``, tag probabilities ``(n, 50)``).

        ``threads``: torch threads for this call (extraction: 1 per worker process; the previous
        setting is restored); None: the process's own.
        """
        import torch

        pens, probs = [], []
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            self._forward(x, batch_size, pens, probs)
        finally:
            if threads is not None:
                torch.set_num_threads(before)
        if not pens:
            return np.zeros((0, EMBED_DIM), np.float32), np.zeros((0, len(self.labels)), np.float32)
        return np.concatenate(pens), np.concatenate(probs)

    def _forward(self, x, batch_size, pens, probs):
        import torch

        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                p, q = self.module(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size], dtype=np.float32)))
                pens.append(p.numpy())
                probs.append(q.numpy())

    def run(self, y16k: np.ndarray, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A 16 kHz mono signal → (penultimate ``(n_patches, 200)``, tag probabilities ``(n_patches, 50)``)."""
        return self.run_patches(patches(log_mel(y16k)), threads=threads)


@functools.lru_cache(maxsize=2)
def load(model: str = "MTT_musicnn") -> MusicnnModel:
    """The verified ``model``, loaded once per process."""
    return MusicnnModel(model)
