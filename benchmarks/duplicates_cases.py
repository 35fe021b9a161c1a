#!/usr/bin/env python
"""How well does the fingerprint tell copies of one recording from other songs? The thresholds' trade-off.

Generated cases (genrekit's synthetic genres, real files written and decoded as `extract` does):

* **same recording** — for each of ``--recordings`` 60-s recordings, the first 30 s (the
  original) and: an exact copy, gain −10 dB, gain +6 dB, resampled to 44.1 kHz and to 16 kHz (WAV),
  MP3 at 64 kbit/s, Ogg Vorbis, and excerpts 30 s long starting at 10.013 s (20 s overlap, cut off
  the frame grid) and at 20.007 s (10 s overlap); also an excerpt at 25 s (5 s overlap: below
  what is required, reported, not counted);
* **different songs** — takes of the same synthetic artist (same key, tempo, timbre, drum kit),
  other artists of the same genre, other genres: every pair of ``--artists`` artists ×
  ``--takes`` takes of every genre.

Every pair is scored as `genrekit duplicates` scores it (the best offset's matching hashes and
their share of the hashes over the overlap); the table gives, per ``min_score``, the share of
same-recording pairs found (per kind) and the different-song pairs wrongly paired.

    python benchmarks/duplicates_cases.py            # ~1-2 min on one core
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from genrekit.features.config import FeatureConfig  # noqa: E402
from genrekit.features.extract import compute_features  # noqa: E402
from genrekit.features.fingerprint import FRAMES_PER_SECOND, fingerprint  # noqa: E402
from genrekit.pipeline.datasets.synth import GENRES, synth_clip  # noqa: E402
from genrekit.pipeline.duplicates.index import MIN_MATCHES, MIN_SCORE, FingerprintIndex  # noqa: E402
from genrekit.pipeline.extraction.decode import decode  # noqa: E402

SR = 22050
#: soundfile's compression level that gives a constant 64 kbit/s MP3 at 22.05 kHz (libsndfile maps
#: 0..1 to 320..8 kbit/s in steps; measured: 0.6 -> 64.5 kbit/s).
MP3_64K = 0.6


def variants(long: np.ndarray, folder: Path, tag: str) -> dict[str, Path]:
    """The files of one recording: name -> path (the original is ``orig``)."""
    base = long[:30 * SR]
    files = {}

    def write(name, y, sr=SR, **kw):
        path = folder / f"{tag}-{name}.{kw.pop('ext', 'wav')}"
        sf.write(path, y, sr, **kw)
        files[name] = path

    import soxr

    write("orig", base)
    write("copy", base)
    write("gain-10dB", base * 10 ** (-10 / 20))
    write("gain+6dB", np.clip(base * 2.0, -1, 1))
    write("resample-44k", soxr.resample(base, SR, 44100), 44100)
    write("resample-16k", soxr.resample(base, SR, 16000), 16000)
    write("mp3-64k", base, ext="mp3", format="MP3", compression_level=MP3_64K, bitrate_mode="CONSTANT")
    write("ogg", base, ext="ogg", format="OGG")
    for name, start in (("excerpt-20s-overlap", 10.013), ("excerpt-10s-overlap", 20.007),
                        ("excerpt-5s-overlap", 25.0)):
        a = int(round(start * SR))
        write(name, long[a:a + 30 * SR])
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recordings", type=int, default=3)
    ap.add_argument("--artists", type=int, default=3)
    ap.add_argument("--takes", type=int, default=3)
    args = ap.parse_args(argv)
    genres = list(GENRES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths, kinds, owner = [], [], []  # per file: its kind and (recording | (genre, artist, take))
        for r in range(args.recordings):
            long = synth_clip(genres[r % len(genres)], 10 + r, 0, duration=60, sr=SR)
            for name, path in variants(long, folder, f"rec{r}").items():
                paths.append(path), kinds.append(name), owner.append(("rec", r))
        for g, a, t in itertools.product(genres, range(args.artists), range(args.takes)):
            path = folder / f"{g}-{a}-{t}.wav"
            sf.write(path, synth_clip(g, a, t, duration=30, sr=SR), SR)
            paths.append(path), kinds.append("song"), owner.append((g, a, t))
        signals = [decode(p, SR)[0] for p in paths]
        t0 = time.process_time()  # CPU time: the machine may be shared
        fps = [fingerprint(y, SR) for y in signals]
        per_track = (time.process_time() - t0) / len(paths)
        t0 = time.process_time()  # the reference: every default feature of the same signals
        for y in signals[:20]:
            compute_features(y, FeatureConfig())
        features = (time.process_time() - t0) / 20
    index = FingerprintIndex(fps)
    found = {(m.a, m.b): m for m in index.matches(min_matches=1, min_score=1e-9)}
    same, diff = [], []  # (kind, score)
    for i, j in itertools.combinations(range(len(paths)), 2):
        m = found.get((i, j))
        score = m.score if m is not None and m.matches >= MIN_MATCHES else 0.0
        if owner[i][0] == "rec" and owner[i] == owner[j] and kinds[i] == "orig":
            same.append((kinds[j], score, m))
        elif owner[i][0] != "rec" and owner[j][0] != "rec":
            rel = ("same artist" if owner[i][:2] == owner[j][:2] else
                   "same genre" if owner[i][0] == owner[j][0] else "other genre")
            diff.append((rel, score))
    print(f"{len(paths)} files; fingerprint {per_track * 1000:.0f} ms per 30-s file, every default feature "
          f"{features * 1000:.0f} ms (the fingerprint adds {per_track / features:.0%} to extraction's compute; "
          f"CPU time, one thread); {len(same)} same-recording pairs vs the original, {len(diff)} different-song pairs")
    print("\nsame recording vs the original: score (offset found, overlap)")
    for kind in dict.fromkeys(k for k, _, _ in same):
        rows = [(s, m) for k, s, m in same if k == kind]
        lo = min(s for s, _ in rows)
        m = rows[0][1]
        where = f"offset {m.offset / FRAMES_PER_SECOND:+.2f} s, overlap {m.overlap / FRAMES_PER_SECOND:.1f} s" if m else "-"
        print(f"  {kind:<22} min {lo:.3f}  ({where})")
    worst = sorted(((m.score, i, j) for (i, j), m in found.items()
                    if m.matches >= MIN_MATCHES and owner[i][0] != "rec" and owner[j][0] != "rec"), reverse=True)[:3]
    for score, i, j in worst:
        m = found[(i, j)]
        print(f"  closest different songs: {owner[i]} ~ {owner[j]}: score {score:.3f}, {m.matches} matches, "
              f"offset {m.offset / FRAMES_PER_SECOND:+.2f} s, overlap {m.overlap / FRAMES_PER_SECOND:.1f} s")
    print("\ndifferent songs: highest score")
    for rel in ("same artist", "same genre", "other genre"):
        scores = [s for r, s in diff if r == rel]
        print(f"  {rel:<12} {max(scores):.3f}  ({len(scores)} pairs, {sum(s > 0 for s in scores)} with >= {MIN_MATCHES} matches)")
    counted = [(k, s) for k, s, _ in same if k != "excerpt-5s-overlap"]
    print(f"\n| min_score | same recording found (of {len(counted)}) | 5-s overlap found | "
          f"same-artist songs paired | other songs paired |")
    print("|---|---|---|---|---|")
    for thr in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7):
        hit = sum(s >= thr for _, s in counted)
        five = sum(s >= thr for k, s, _ in same if k == "excerpt-5s-overlap")
        fa = sum(s >= thr for r, s in diff if r == "same artist")
        fo = sum(s >= thr for r, s in diff if r != "same artist")
        mark = " (default)" if abs(thr - MIN_SCORE) < 1e-9 else ""
        print(f"| {thr:g}{mark} | {hit} | {five} of {args.recordings} | {fa} | {fo} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
