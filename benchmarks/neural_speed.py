"""How fast do the neural heads train and predict, on the CPU and (when present) on CUDA?

For every head (mlp, cnn1d, cnn2d, crnn, attention) and every device, in one run, on the same
synthetic data — ``--tracks`` tracks of ``--seconds`` seconds of log-mel-shaped frames
(``--n-mels`` dimensions at the default feature config's frame rate, 22050 / 512 ≈ 43 frames per
second), three labels; summary vectors of ``--summary-dims`` columns for the MLP — it fits the
head's default network for ``--epochs`` epochs (augmentation on as by default, no validation
carve, no early stopping) and reports:

* **train segments/s** — training segments (one 3-s crop each; for ``attention`` a whole track,
  for ``mlp`` a summary vector) per second of training, median over the epochs after the first
  (the first pays for warm-up: memory allocation, cuDNN autotuning);
* **predict tracks/s** — tracks per second of ``predict_proba`` (each track voted from its evenly
  spaced segments), after one warm-up call;
* the number of network parameters.

The data is generated in memory (the store's reading cost is not measured here; see
``extract_speed.py`` and ``benchmark_speed.py`` for the store).

    python benchmarks/neural_speed.py                      # every head, CPU (+ CUDA when present)
    python benchmarks/neural_speed.py --heads cnn1d,crnn --tracks 256 --threads 0
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import numpy as np

HEADS = ("mlp", "cnn1d", "cnn2d", "crnn", "attention")


def make_data(n_tracks: int, seconds: float, n_mels: int, summary_dims: int, frame_rate: float, seed: int = 0):
    """Per-track frame matrices (lengths varying ±10 %), summary vectors and labels (3 classes)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_tracks) % 3
    means = rng.normal(0, 0.5, (3, n_mels)).astype(np.float32)
    frames = []
    for c in y:
        n = int(seconds * frame_rate * rng.uniform(0.9, 1.1))
        frames.append(means[c] + rng.standard_normal((n, n_mels), dtype=np.float32))
    smeans = rng.normal(0, 0.5, (3, summary_dims)).astype(np.float32)
    summary = smeans[y] + rng.standard_normal((n_tracks, summary_dims), dtype=np.float32)
    return frames, summary, y


def time_head(name: str, device: str, frames, summary, y, *, epochs: int, batch_size: int | None,
              threads: int | None, frame_rate: float) -> dict:
    from genrekit.classifiers import make_model

    params = {"max_epochs": epochs, "patience": None, "validation_fraction": 0.0, "device": device,
              "n_threads": threads}
    if batch_size:
        params["batch_size"] = batch_size
    if name != "mlp":
        params["frame_rate"] = frame_rate
    est = make_model(name, params, random_state=0)
    X = summary if name == "mlp" else frames
    t0 = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t0
    if name == "mlp":
        per_epoch = len(y)
    else:
        per_epoch = len(y) * est.crops_per_track
    secs = [h["seconds"] for h in est.history_]
    steady = secs[1:] or secs
    train_rate = per_epoch / statistics.median(steady)
    est.predict_proba(X[:8])  # warm-up
    t0 = time.perf_counter()
    est.predict_proba(X)
    pred_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in est.module_.parameters())
    return {"head": name, "device": est.device_, "train_seg_s": train_rate, "predict_tracks_s": len(y) / pred_s,
            "fit_s": fit_s, "params": n_params, "segments_per_epoch": per_epoch,
            "segment_frames": getattr(est, "segment_frames_", None)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", default=",".join(HEADS), help="comma-separated heads (default: all)")
    ap.add_argument("--devices", default=None,
                    help="comma-separated devices (default: cpu, plus cuda when torch sees a GPU)")
    ap.add_argument("--tracks", type=int, default=96, help="tracks (default: 96)")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per track (default: 10)")
    ap.add_argument("--n-mels", type=int, default=128, help="frame dimensions (default: 128, the log-mel default)")
    ap.add_argument("--summary-dims", type=int, default=518, help="MLP input columns (default: 518)")
    ap.add_argument("--epochs", type=int, default=3, help="training epochs per head (default: 3)")
    ap.add_argument("--batch-size", type=int, default=None, help="batch size (default: each head's own)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads per fit (default: 1, the heads' default; 0: torch's default)")
    args = ap.parse_args(argv)

    import torch

    from genrekit.classifiers.neural import default_frame_rate

    heads = [h.strip() for h in args.heads.split(",") if h.strip()]
    devices = ([d.strip() for d in args.devices.split(",")] if args.devices
               else ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    threads = None if args.threads == 0 else args.threads
    fr = default_frame_rate()
    frames, summary, y = make_data(args.tracks, args.seconds, args.n_mels, args.summary_dims, fr)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print(f"torch {torch.__version__}, python {platform.python_version()}, {platform.machine()}; "
          f"CPU threads per fit: {threads or torch.get_num_threads()}"
          + (f"; GPU: {gpu}" if gpu else "; no CUDA GPU"), file=sys.stderr)
    print(f"{args.tracks} tracks × {args.seconds:g} s × {args.n_mels} dims at {fr:.2f} frames/s; "
          f"{args.epochs} epochs per head", file=sys.stderr)
    rows = []
    for dev in devices:
        for h in heads:
            r = time_head(h, dev, frames, summary, y, epochs=args.epochs, batch_size=args.batch_size,
                          threads=threads, frame_rate=fr)
            rows.append(r)
            print(f"  {h:<9} {r['device']:<6} train {r['train_seg_s']:9.0f} seg/s  predict "
                  f"{r['predict_tracks_s']:8.0f} tracks/s  ({r['fit_s']:.1f} s fit)", file=sys.stderr)
    head = "| head | device | train segments/s | predict tracks/s | parameters | segment |"
    print(head)
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        seg = ("summary vector" if r["head"] == "mlp"
               else ("whole track" if r["head"] == "attention" else f"{r['segment_frames']} frames"))
        print(f"| {r['head']} | {r['device']} | {r['train_seg_s']:,.0f} | {r['predict_tracks_s']:,.0f} | "
              f"{r['params']:,} | {seg} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
