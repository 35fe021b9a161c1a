#!/usr/bin/env python
"""How fast are musicnn embeddings in genrekit, against the original TensorFlow package?

One run, on the same 30-s clips (default: ../shared/data/gtzan-mini, one per genre), one thread:

1. **genrekit's port** — musicnn's input (16 kHz log-mel, float16 round trip) and the torch
   network (:mod:`genrekit.pretrained.musicnn`), per 30-s clip: the fastest of ``--repeats`` runs,
   median over clips, after a warm-up clip.
2. **the original** — musicnn 0.1.0's own graph (``musicnn.models.define_model``, TensorFlow 2 in
   graph mode with tf-keras, weights restored from the same checkpoint) on the same clips, with the
   input computed as musicnn computes it (librosa's melspectrogram): once with one patch per
   ``sess.run`` (as ``musicnn.extractor`` does, its BATCH_SIZE is 1) and once with every patch in
   one run. TensorFlow cannot be a genrekit dependency, so this part runs in another interpreter
   that has it (``--tf-python PATH``, e.g. a scratch venv: ``pip install tensorflow-cpu tf-keras
   librosa`` and ``pip install --no-deps musicnn==0.1.0``), as a subprocess during the same run;
   skipped (and said so) without it.
3. **extraction** — ``analyse_file`` (decode, every feature, summary) with the default features
   and with the default features plus ``musicnn,musicnn_tags``: ms per clip and the ratio.

    python benchmarks/musicnn_speed.py [--tf-python ../tfref/bin/python] [--clips N]

Ratios are against references measured in the same run on the same machine.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_USE_LEGACY_KERAS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "gtzan-mini"


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def clips(n: int) -> list[str]:
    if not DATA.is_dir():
        sys.exit(f"no clips: {DATA} is missing (this benchmark reads gtzan-mini's 30-s clips)")
    genres = sorted(p for p in DATA.iterdir() if p.is_dir())
    return [str(sorted(g.glob("*.mp3"))[0]) for g in genres][:n]


# ------------------------------------------------------------------------------------ TF side
def tf_main(args) -> None:
    """Run in the TensorFlow interpreter: print JSON timings of the original graph."""
    import librosa
    import numpy as np
    import tensorflow as tf
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    out = {"tf": tf.__version__, "batch1": [], "batched": []}
    tf.compat.v1.reset_default_graph()
    x = tf.compat.v1.placeholder(tf.float32, [None, 187, 96])
    is_training = tf.compat.v1.placeholder(tf.bool)
    logits, *_, pen = models.define_model(x, is_training, args.model, 50)
    prob = tf.nn.sigmoid(logits)
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    sess = tf.compat.v1.Session(config=cfg)
    tf.compat.v1.train.Saver().restore(sess, args.prefix)  # raises if the prefix is wrong

    def inp(y):
        mel = librosa.feature.melspectrogram(y=y, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
        rep = np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)
        k = rep.shape[0] // 187
        return rep[:k * 187].reshape(k, 187, 96)

    def batch1(y):
        b = inp(y)
        for i in range(len(b)):
            sess.run([prob, pen], feed_dict={x: b[i:i + 1], is_training: False})

    def batched(y):
        sess.run([prob, pen], feed_dict={x: inp(y), is_training: False})

    signals = [librosa.load(c, sr=16000)[0] for c in args.clip]
    batch1(signals[0])  # warm-up
    for y in signals:
        out["batch1"].append(best_of(lambda: batch1(y), args.repeats))
        out["batched"].append(best_of(lambda: batched(y), args.repeats))
    print(json.dumps(out))


# ------------------------------------------------------------------------------------ genrekit side
def port_times(paths, model: str, repeats: int) -> list[float]:
    import librosa
    import torch

    from genrekit.pretrained import musicnn

    torch.set_num_threads(1)
    net = musicnn.load(model)
    signals = [librosa.load(c, sr=16000)[0] for c in paths]
    net.run(signals[0])  # warm-up
    return [best_of(lambda: net.run(y), repeats) for y in signals]


def extraction_times(paths, repeats: int) -> tuple[list[float], list[float]]:
    from genrekit.features import FeatureConfig
    from genrekit.features.config import ALL_FEATURES
    from genrekit.pipeline.extraction.analysis import analyse_file

    base = FeatureConfig()
    plus = FeatureConfig(features=ALL_FEATURES + ("musicnn", "musicnn_tags"))
    analyse_file(paths[0], plus, summary=True)  # warm-up: model, filterbanks, numba
    a, b = [], []
    for p in paths:  # interleaved, so a load change hits both alike
        a.append(best_of(lambda: analyse_file(p, base, summary=True), repeats))
        b.append(best_of(lambda: analyse_file(p, plus, summary=True), repeats))
    return a, b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=5, help="30-s clips, one per genre (default: 5)")
    ap.add_argument("--repeats", type=int, default=7,
                    help="runs per clip; the fastest counts (default: 7: a shared VM drifts)")
    ap.add_argument("--model", default="MTT_musicnn")
    ap.add_argument("--tf-python", default=None, metavar="PATH",
                    help="an interpreter with tensorflow, tf-keras and musicnn 0.1.0 (--no-deps) for the reference")
    ap.add_argument("--tf-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--clip", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tf_only:
        return tf_main(args)

    sys.path.insert(0, str(ROOT))
    from genrekit.pretrained import weights

    prefix = weights.verify(args.model)
    paths = clips(args.clips)
    ms = statistics.median
    port = port_times(paths, args.model, args.repeats)
    print(f"port ({args.model}, torch, 1 thread): {1000 * ms(port):.0f} ms per 30-s clip "
          f"(median of {len(paths)} clips; input + network)")
    if args.tf_python:
        cmd = [args.tf_python, __file__, "--tf-only", "--prefix", prefix, "--model", args.model,
               "--repeats", str(args.repeats)] + [a for p in paths for a in ("--clip", p)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(f"original TF: failed ({res.stderr.strip().splitlines()[-1:]})")
        else:
            tf = json.loads(res.stdout.strip().splitlines()[-1])
            for kind, label in (("batch1", "one patch per sess.run, as musicnn.extractor"),
                                ("batched", "all patches in one sess.run")):
                t = ms(tf[kind])
                print(f"original TF {tf['tf']} ({label}): {1000 * t:.0f} ms per clip; "
                      f"port / original = {ms(port) / t:.2f}")
    else:
        print("original TF: not measured (give --tf-python PATH of an interpreter with tensorflow + musicnn)")
    base, plus = extraction_times(paths, args.repeats)
    print(f"extraction, default features: {1000 * ms(base):.0f} ms per clip; default + musicnn,musicnn_tags: "
          f"{1000 * ms(plus):.0f} ms; ratio {ms(plus) / ms(base):.2f}")


if __name__ == "__main__":
    main()
