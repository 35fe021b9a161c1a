"""A collection of N distinct real clips made from a smaller one (benchmarks/workers.py uses it).

Each source file is linked as it is, then written again as FLAC with a tiny gain change
(x 0.999, 0.998, ...), so every copy has its own content hash (genrekit caches by content: an
identical copy would be skipped, not extracted) yet is the same music at the same rate.

    python benchmarks/collection.py SRC_DIR OUT_DIR [--n 101]
"""

from __future__ import annotations

import argparse
import os

AUDIO = (".mp3", ".wav", ".flac", ".ogg", ".au")


def make_collection(src: str, out: str, n: int = 101) -> list[str]:
    """``n`` files under ``out/<label>/``: the sources as links, then FLAC re-encodings with a gain."""
    import soundfile as sf

    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.lower().endswith(AUDIO))
    if not files:
        raise SystemExit(f"no audio files under {src}")
    made = []
    for i in range(n):
        s = files[i % len(files)]
        label = os.path.basename(os.path.dirname(s))
        os.makedirs(os.path.join(out, label), exist_ok=True)
        stem, ext = os.path.splitext(os.path.basename(s))
        k = i // len(files)
        if k == 0:
            dst = os.path.join(out, label, stem + ext)
            if not os.path.exists(dst):
                os.symlink(os.path.abspath(s), dst)
        else:
            dst = os.path.join(out, label, f"{stem}-copy{k}.flac")
            if not os.path.exists(dst):
                y, sr = sf.read(s, dtype="float32", always_2d=True)
                sf.write(dst, y * (1 - 0.001 * k), sr, subtype="PCM_16")
        made.append(dst)
    return made


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=101)
    a = ap.parse_args()
    print(len(make_collection(a.src, a.out, a.n)), "files in", a.out)
