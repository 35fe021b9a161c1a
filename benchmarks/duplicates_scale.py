#!/usr/bin/env python
"""What does near-duplicate detection cost for 1k, 10k and 100k tracks? (`genrekit duplicates`)

Detection never compares all pairs: it sorts every (hash, track, time) once into an inverted
index and looks each track's hashes up (:class:`genrekit.pipeline.duplicates.index.FingerprintIndex`).
This script measures that, on:

* **real fingerprints** (``--real`` tracks, default 1,000): 30-s clips of genrekit's synthetic
  genres (``--real / 4`` songs of their own; each song also as a copy at -10 dB, an MP3 at
  64 kbit/s and an excerpt overlapping it by 15 s), fingerprinted as extraction does;
* **simulated fingerprints** for the larger sizes (``--sizes``, default 10,000 and 100,000): per
  track as many hashes as the real ones have on average, hashes drawn from the real hashes'
  own distribution (so buckets are as uneven as real ones), times uniform over 30 s; 1 % of
  the tracks are noisy copies of others (70 % of the hashes kept at a random offset, the rest
  redrawn) so the pairs found can be checked.

It prints, per size: hashes indexed, the index's memory, the seconds to build it and to check
every track, and the pairs found against those planted. The reference measured in the same run
is the cost per track of one all-pairs comparison (every pair's hashes matched with
``np.intersect1d``, timed on 200 pairs), from which the time all pairs would take is
extrapolated.

    python benchmarks/duplicates_scale.py                       # ~10 min on one shared core, ~6 GB at 100k
    python benchmarks/duplicates_scale.py --real 200 --sizes 10000
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import io  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from genrekit.features.fingerprint import FRAMES_PER_SECOND, fingerprint  # noqa: E402
from genrekit.pipeline.datasets.synth import GENRES, synth_clip  # noqa: E402
from genrekit.pipeline.duplicates.groups import components  # noqa: E402
from genrekit.pipeline.duplicates.index import FingerprintIndex  # noqa: E402

SR = 22050


def real_fingerprints(n: int) -> tuple[list, set]:
    """``n`` real fingerprints: n/4 songs, each with three duplicates; and the planted pairs."""
    genres = list(GENRES)
    fps, planted = [], set()
    n_songs = max(1, n // 4)
    for s in range(n_songs):
        long = synth_clip(genres[s % len(genres)], s // len(genres), s, duration=45, sr=SR)
        orig = long[:30 * SR]
        buf = io.BytesIO()
        sf.write(buf, orig, SR, format="MP3", compression_level=0.6, bitrate_mode="CONSTANT")
        buf.seek(0)
        mp3 = sf.read(buf, dtype="float32")[0]
        first = len(fps)
        for y in (orig, orig * 0.316, mp3, long[int(15.01 * SR):int(45.01 * SR)]):
            fps.append(fingerprint(y, SR))
        planted |= {(first, first + k) for k in (1, 2, 3)}
    return fps[:n], {p for p in planted if p[1] < n}


def simulated_fingerprints(n: int, real: list, rng: np.random.Generator) -> tuple[list, set]:
    """``n`` simulated fingerprints drawn like ``real`` ones; 1 % are noisy copies of another.

    A hash is (anchor bin, bin difference, frame difference): each part is drawn from its own
    distribution in the real hashes, so common bins are as common as in real music while the
    hashes spread over the whole space as a large collection's do.
    """
    pool = np.concatenate([h for h, _ in real]).astype(np.int64)
    parts = [(pool >> 13) & 0xFF, (pool >> 6) & 0x7F, pool & 0x3F]
    values = [np.unique(p, return_counts=True) for p in parts]
    per_track = int(np.mean([len(h) for h, _ in real]))
    frames = int(30 * FRAMES_PER_SECOND)

    def draw(size):
        f1, df, dt = (v[rng.choice(len(v), size=size, p=c / c.sum())] for v, c in values)
        return ((f1 << 13) | (df << 6) | dt).astype(np.uint32)

    fps, planted = [], set()
    for i in range(n):
        if i > 0 and rng.random() < 0.01:
            j = int(rng.integers(i))
            h, t = fps[j]
            keep = rng.random(len(h)) < 0.7
            h = np.where(keep, h, draw(len(h))).astype(np.uint32)
            t = t + int(rng.integers(-200, 200))
            ok = (t >= 0) & (t < frames)
            fps.append((h[ok], t[ok].astype(np.int32)))
            planted.add((j, i))
            continue
        t = np.sort(rng.integers(frames, size=per_track)).astype(np.int32)
        fps.append((draw(per_track), t))
    return fps, planted


def all_pairs_seconds_per_pair(fps: list, rng: np.random.Generator, n_pairs: int = 200) -> float:
    """The reference: matching one pair's hashes directly (what comparing all pairs repeats n²/2 times)."""
    pairs = rng.integers(len(fps), size=(n_pairs, 2))
    t0 = time.perf_counter()
    for a, b in pairs:
        np.intersect1d(fps[a][0], fps[b][0])
    return (time.perf_counter() - t0) / n_pairs


def measure(name: str, fps: list, planted: set, per_pair: float) -> None:
    t0 = time.perf_counter()
    index = FingerprintIndex(fps)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = index.matches()
    check = time.perf_counter() - t0
    pairs = {(m.a, m.b) for m in found}
    groups = components(len(fps), pairs)
    n = len(fps)
    same = {}  # planted group of each track: a pair inside one planted group is right
    for k, members in enumerate(components(n, planted)):
        same.update({i: k for i in members})
    wrong = {p for p in pairs if p[0] not in same or same[p[0]] != same.get(p[1])}
    mem = (index.hashes.nbytes + index.times.nbytes + index.post_track.nbytes + index.post_time.nbytes
           + index.bucket.nbytes) / 2**20
    all_pairs = per_pair * n * (n - 1) / 2
    print(f"| {name} | {n:,} | {len(index.hashes):,} | {mem:,.0f} MB | {build:.1f} s | {check:.1f} s "
          f"({check / n * 1000:.2f} ms/track) | {len(planted & pairs)} of {len(planted)} | "
          f"{len(wrong)} | {len(groups)} | {all_pairs / 60:,.0f} min ({all_pairs / (build + check):,.0f}×) |",
          flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", type=int, default=1000, help="tracks with real fingerprints (default: 1000)")
    ap.add_argument("--sizes", default="10000,100000", help="sizes with simulated fingerprints")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    real, planted = real_fingerprints(args.real)
    made = time.perf_counter() - t0
    print(f"{len(real)} real fingerprints in {made:.0f} s (synthesis + MP3 + fingerprint; "
          f"{np.mean([len(h) for h, _ in real]):.0f} hashes per 30-s track); one core, shared machine\n")
    per_pair = all_pairs_seconds_per_pair(real, rng)
    print("| fingerprints | tracks | hashes | index memory | build | check every track | planted pairs found | "
          "pairs across planted groups | groups | all pairs would take (× slower) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    measure("real", real, planted, per_pair)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        fps, sim_planted = simulated_fingerprints(size, real, rng)
        measure("simulated", fps, sim_planted, per_pair)
        del fps
    print(f"\npeak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
