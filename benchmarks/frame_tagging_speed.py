"""Frame-head tagging: one sigmoid/BCE network against one network per tag (one-vs-rest).

Generates demo-sized frame data in memory (by default 240 tracks of 10 s at the default frame rate,
60 frame dimensions, 10 tags, each tag lifting a few dimensions; 4/5 of the tracks train, the rest
test), then fits the registry's cnn1d with the demo's settings (``DEMO_PARAMS``) twice on the same
training tracks: as :class:`~genrekit.classifiers.tagging_frames.FrameHeadTagger` (what
``--task tagging`` now uses) and as scikit-learn's ``OneVsRestClassifier`` over the genre head (what
it used before). Prints both fit times, their ratio and both macro ROC-AUCs on the test tracks.

    OMP_NUM_THREADS=1 python benchmarks/frame_tagging_speed.py
    python benchmarks/frame_tagging_speed.py --tags 20 --model crnn
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def frames(n, n_tags, n_frames, dims, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, n_tags)) < 0.3).astype(np.uint8)
    shifts = rng.normal(0, 0.6, (n_tags, dims)) * (rng.random((n_tags, dims)) < 0.15)
    X = [(rng.normal(0, 1, (n_frames, dims)) + Y[i] @ shifts).astype(np.float32) for i in range(n)]
    return X, Y


def main(argv=None):
    from sklearn.metrics import roc_auc_score
    from sklearn.multiclass import OneVsRestClassifier

    from genrekit.classifiers import make_model
    from genrekit.classifiers.neural import DEMO_PARAMS
    from genrekit.classifiers.tagging_frames import FrameHeadTagger
    from genrekit.classifiers.torch_base import default_frame_rate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=240)
    ap.add_argument("--tags", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--dims", type=int, default=60)
    ap.add_argument("--model", default="cnn1d")
    a = ap.parse_args(argv)
    X, Y = frames(a.tracks, a.tags, int(a.seconds * default_frame_rate()), a.dims)
    cut = a.tracks * 4 // 5
    params = {k: v for k, v in DEMO_PARAMS.get(a.model, {}).items() if k != "frame_features"}
    params["device"] = "cpu"
    rows = []
    for how in ("one network", "one-vs-rest"):
        base = make_model(a.model, params, random_state=0)
        est = FrameHeadTagger(base) if how == "one network" else OneVsRestClassifier(base, n_jobs=1)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X[:cut], Y[:cut])
        sec = time.perf_counter() - t0
        S = np.asarray(est.predict_proba(X[cut:]))
        auc = np.mean([roc_auc_score(Y[cut:, j], S[:, j]) for j in range(a.tags) if 0 < Y[cut:, j].sum() < len(S)])
        rows.append((how, sec, auc))
        print(f"{a.model} {how:12s} fit {sec:7.1f} s   macro ROC-AUC {auc:.3f}", flush=True)
    print(f"one-vs-rest / one network fit time: {rows[1][1] / rows[0][1]:.1f}x "
          f"({a.tracks} tracks x {a.tags} tags, {cut} trained on)")


if __name__ == "__main__":
    main()
