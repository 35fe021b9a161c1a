"""GTZAN built in: its clip names recognised, and its fault-filtered split (``--split gtzan-ff``).

GTZAN (Tzanetakis & Cook 2002) names its 1000 clips ``<genre>.000NN.<ext>`` (``blues.00012.wav``).
Sturm (2012, 2013) found exact and recording repetitions, artist repetition, mislabelings and
distortions in it; a clip and its replica on both sides of a split inflate accuracy. Kereliuk,
Sturm & Larsen (2015) published a *fault-filtered* split that leaves those clips out and keeps
every artist in one part: 443 train / 197 validation / 290 test. It ships with genrekit as
``data/gtzan_ff.txt`` (the source is named in the file). A track is matched to it by the GTZAN
name in its id, else in its path's file name; tracks the split does not list are left out and
reported, never an error.
"""

from __future__ import annotations

import functools
import os
import re
from importlib import resources

import numpy as np

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
_NAME = re.compile(r"^(" + "|".join(GENRES) + r")\.(\d{5})(?:\.[A-Za-z0-9]+)?$")
SPLIT_NAME = "gtzan-ff"
SOURCE = "Kereliuk, Sturm & Larsen (2015) fault-filtered GTZAN split"


def clip_id(value) -> str | None:
    """``"blues.00012"`` for a GTZAN name (an id or a path ending in ``blues.00012.wav``), else None."""
    if value is None:
        return None
    m = _NAME.match(os.path.basename(str(value).replace("\\", "/")))
    return f"{m.group(1)}.{m.group(2)}" if m else None


def looks_like_gtzan(ids) -> bool:
    """Whether most of ``ids`` (at least half, and at least 10) carry GTZAN's clip names."""
    ids = list(ids)
    hits = sum(clip_id(v) is not None for v in ids)
    return hits >= 10 and hits * 2 >= len(ids)


@functools.cache
def fault_filtered() -> dict[str, str]:
    """The fault-filtered split: clip id -> ``train`` / ``validation`` / ``test`` (930 clips)."""
    text = resources.files("genrekit.pipeline.evaluation").joinpath("data/gtzan_ff.txt").read_text("utf-8")
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        part, genre, *numbers = line.split()
        for n in numbers:
            first, _, last = n.partition("-")
            for k in range(int(first), int(last or first) + 1):
                out[f"{genre}.{k:05d}"] = part
    return out


def gtzan_split_column(ids, paths=None) -> tuple[np.ndarray, list[str]]:
    """The fault-filtered split value of each track (None where the split does not list it), and
    notes on the tracks left out and the split's clips that are missing."""
    split = fault_filtered()
    clips = [clip_id(i) or (clip_id(p) if paths is not None else None)
             for i, p in zip(ids, paths if paths is not None else [None] * len(ids))]
    column = np.array([split.get(c) if c else None for c in clips], dtype=object)
    notes = [f"--split {SPLIT_NAME}: the {SOURCE} (443 train / 197 validation / 290 test clips)"]
    unnamed = [str(i) for i, c in zip(ids, clips) if c is None]
    faulty = [str(i) for i, c in zip(ids, clips) if c is not None and c not in split]
    if unnamed:
        notes.append(f"{_n(len(unnamed), 'track')} without a GTZAN name left out (e.g. {', '.join(unnamed[:3])})")
    if faulty:
        notes.append(f"{_n(len(faulty), 'GTZAN clip')} the fault-filtered split excludes (repeated, mislabelled or "
                     f"distorted) left out: {', '.join(faulty[:5])}{', …' if len(faulty) > 5 else ''}")
    have = {c for c in clips if c}
    for part in ("train", "validation", "test"):
        missing = sum(1 for c, p in split.items() if p == part and c not in have)
        if missing:
            notes.append(f"{_n(missing, part + ' clip')} of the split {'is' if missing == 1 else 'are'} not in this "
                         "collection")
    return column, notes


def gtzan_hint(ids) -> list[str]:
    """The one note a benchmark on GTZAN-named tracks gets when it does not use ``--split gtzan-ff``."""
    if not looks_like_gtzan(ids):
        return []
    return [f"these tracks carry GTZAN's names: GTZAN holds repeated, mislabelled and distorted clips "
            f"(Sturm 2013) that inflate random splits; --split {SPLIT_NAME} uses the {SOURCE}"]


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
