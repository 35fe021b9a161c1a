"""Audio the tests make for themselves (no test needs ../shared/data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(freq: float, seconds: float = 2.0, sr: int = 22050, *, beat_hz: float = 0.0, seed: int = 0,
         channels: int = 1) -> np.ndarray:
    """A harmonic tone, optionally pulsed at ``beat_hz``, with a little seeded noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    if beat_hz:
        y = y * (0.5 + 0.5 * (np.mod(t * beat_hz, 1.0) < 0.3))
    y = 0.3 * y + 0.01 * rng.standard_normal(t.size)
    y = y.astype(np.float32)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


def write_collection(root: Path, n_per_label: int = 3, labels=("low", "high"), seconds: float = 2.0,
                     fmt: str = "wav", sr: int = 22050) -> Path:
    """A GTZAN-style folder ``root/<label>/<label>.<i>.<fmt>`` plus ``root/manifest.csv`` with artists."""
    root = Path(root)
    rows = [["path", "label", "artist"]]
    for li, label in enumerate(labels):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_label):
            y = tone(110 * (2 ** (2 * li)) * (1 + 0.05 * i), seconds, sr, beat_hz=2 + li, seed=100 * li + i)
            rel = f"{label}/{label}.{i:05d}.{fmt}"
            sf.write(root / rel, y, sr)
            rows.append([rel, label, f"{label}-artist-{i % 2}"])
    with open(root / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root
