"""``genrekit duplicates``: the tracks of a store that hold the same recording, from the
fingerprints extraction stored (no audio is read), grouped, each with a score and time offset.

A store whose tracks have no fingerprint (extracted by a genrekit that did not store them) is not
an error for the tracks that have one; the report says how many were not checked and how to add
theirs (:data:`ADD_FINGERPRINTS`). A track with fewer than
:data:`~genrekit.pipeline.duplicates.index.MIN_HASHES` hashes (a few seconds of audio, or silence)
is too short to fingerprint: listed, never paired.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from genrekit.errors import StoreError
from genrekit.features.fingerprint import FINGERPRINT_VERSION, FRAMES_PER_SECOND
from genrekit.pipeline.duplicates.groups import components
from genrekit.pipeline.duplicates.index import MIN_HASHES, MIN_MATCHES, MIN_SCORE, FingerprintIndex, Match

#: How to give the tracks of a store fingerprints (the tracks lacking one are extracted again).
ADD_FINGERPRINTS = "genrekit extract AUDIO_DIR --store {store} --add-fingerprints"


@dataclass
class DuplicateReport:
    """What :func:`find_duplicates` found.

    Attributes
    ----------
    ids, paths : list of str
        The tracks checked or not, by position (``pairs`` and ``groups`` index them).
    pairs : list of Match
        Every pair of tracks found to hold the same recording.
    groups : list of list of int
        Tracks joined by pairs (a copy of a copy is in the same group), two or more each.
    missing : list of int
        Tracks without a fingerprint (not checked).
    too_short : list of int
        Tracks with too few hashes to be compared.
    """

    store: str
    ids: list[str]
    paths: list[str]
    pairs: list[Match] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    too_short: list[int] = field(default_factory=list)
    min_score: float = MIN_SCORE
    min_matches: int = MIN_MATCHES

    @property
    def n_checked(self) -> int:
        return len(self.ids) - len(self.missing) - len(self.too_short)

    def group_offsets(self, members: list[int]) -> dict[int, float]:
        """Seconds from the group's first track to each member (what is at 0 s there is at x s here)."""
        edges: dict[int, list[tuple[int, int]]] = {}
        for m in self.pairs:
            edges.setdefault(m.a, []).append((m.b, m.offset))
            edges.setdefault(m.b, []).append((m.a, -m.offset))
        out = {members[0]: 0}
        todo = deque([members[0]])
        while todo:
            i = todo.popleft()
            for j, off in edges.get(i, []):
                if j not in out:
                    out[j] = out[i] + off
                    todo.append(j)
        return {i: out.get(i, 0) / FRAMES_PER_SECOND for i in members}

    def lines(self) -> list[str]:
        """The report in words: one block per group, then what was not checked."""
        out = [f"{len(self.groups)} duplicate group{'s' if len(self.groups) != 1 else ''} "
               f"({sum(len(g) for g in self.groups)} tracks) among {self.n_checked} fingerprinted tracks of "
               f"{self.store} (score >= {self.min_score:g}, >= {self.min_matches} matching hashes)"]
        by_pair = {(m.a, m.b): m for m in self.pairs}
        for k, members in enumerate(self.groups, 1):
            scores = [m.score for (a, b), m in by_pair.items() if a in members]
            out.append(f"group {k}: {len(members)} tracks, score {min(scores):.2f}"
                       + (f"-{max(scores):.2f}" if max(scores) > min(scores) else ""))
            offsets = self.group_offsets(members)
            for i in members:
                out.append(f"  {offsets[i]:+8.2f} s  {self.ids[i]}  ({self.paths[i]})")
        if self.too_short:
            out.append(f"{_n(len(self.too_short), 'track')} too short or quiet to fingerprint (fewer than {MIN_HASHES} "
                       f"hashes), not checked: {_some(self.ids, self.too_short)}")
        if self.missing:
            out.append(f"{_n(len(self.missing), 'track')} without a fingerprint (extracted before genrekit stored them), "
                       f"not checked: {_some(self.ids, self.missing)}; add them with "
                       + ADD_FINGERPRINTS.format(store=self.store))
        return out

    def to_dict(self) -> dict:
        return {"store": self.store, "min_score": self.min_score, "min_matches": self.min_matches,
                "groups": [[{"id": self.ids[i], "path": self.paths[i], "offset_s": round(o, 3)}
                            for i, o in self.group_offsets(g).items()] for g in self.groups],
                "pairs": [{"a": self.ids[m.a], "b": self.ids[m.b], "score": round(m.score, 4), "matches": m.matches,
                           "offset_s": round(m.offset / FRAMES_PER_SECOND, 3),
                           "overlap_s": round(m.overlap / FRAMES_PER_SECOND, 3)} for m in self.pairs],
                "missing": [self.ids[i] for i in self.missing], "too_short": [self.ids[i] for i in self.too_short]}


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _some(ids, positions, n=3) -> str:
    shown = ", ".join(ids[i] for i in positions[:n])
    return shown + (", …" if len(positions) > n else "")


def read_fingerprints(store, rows=None) -> tuple[list, list[int]]:
    """``([(hashes, times) per row], [positions without a usable fingerprint])`` of a FeatureStore."""
    rows = store.tracks if rows is None else list(rows)
    order = sorted(range(len(rows)), key=lambda i: (rows[i].shard, rows[i].row))  # each shard read once
    versions = {s: store.fingerprint_version(s) for s in {r.shard for r in rows}}
    fps: list = [None] * len(rows)
    missing = []
    for i, (r, h, t) in zip(order, store.iter_fingerprints([rows[i] for i in order])):
        if h is None or versions[r.shard] != FINGERPRINT_VERSION:
            missing.append(i)
            h, t = np.zeros(0, np.uint32), np.zeros(0, np.int32)
        fps[i] = (h, t)
    return fps, sorted(missing)


def find_duplicates(store, *, rows=None, min_score: float = MIN_SCORE, min_matches: int = MIN_MATCHES,
                    progress: bool = False) -> DuplicateReport:
    """The groups of tracks of ``store`` (a FeatureStore; ``rows`` of it) that hold one recording.

    Raises
    ------
    StoreError
        When no track has a fingerprint: the message says how to add them.
    """
    rows = store.tracks if rows is None else list(rows)
    fps, missing = read_fingerprints(store, rows)
    report = DuplicateReport(store=str(store.path), ids=[r.id for r in rows], paths=[r.path for r in rows],
                             missing=missing, min_score=min_score, min_matches=min_matches)
    if rows and len(missing) == len(rows):
        raise StoreError(f"no track of store {store.path} has a fingerprint (it was extracted by a genrekit that "
                         f"did not store them); add them with {ADD_FINGERPRINTS.format(store=store.path)}")
    absent = set(missing)
    report.too_short = [i for i, (h, _) in enumerate(fps) if i not in absent and len(h) < MIN_HASHES]
    index = FingerprintIndex(fps)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc="duplicates", unit="track")
    try:
        report.pairs = index.matches(min_matches=min_matches, min_score=min_score,
                                     progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    report.groups = components(len(rows), [(m.a, m.b) for m in report.pairs])
    return report


def store_rows(source, ids) -> tuple[object, list]:
    """The FeatureStore behind a benchmark's source (a store, a StoreSource, tables joined with a
    store) and its row for each of ``ids`` (None where it has none); ``(None, [])`` without one."""
    from genrekit.cache.store import FeatureStore

    store = source if isinstance(source, FeatureStore) else getattr(source, "store", None)
    if not isinstance(store, FeatureStore):
        return None, []
    by_id = {r.id: r for r in store.tracks}
    return store, [by_id.get(str(i)) for i in ids]


def duplicate_pairs(source, ids) -> tuple[list[tuple[int, int]], list[str]]:
    """Duplicate pairs among a benchmark's tracks ``ids`` (positions in ``ids``), and notes on
    what could not be checked. A source without a feature store (tables alone) has no
    fingerprints: no pairs, no note."""
    store, rows = store_rows(source, ids)
    at = [k for k, r in enumerate(rows) if r is not None]
    if store is None or not at:
        return [], []
    try:
        report = find_duplicates(store, rows=[rows[k] for k in at])
    except StoreError:  # no fingerprint at all
        return [], [f"duplicates not checked: the store's tracks have no fingerprint; add them with "
                    f"{ADD_FINGERPRINTS.format(store=store.path)}, or check with `genrekit duplicates`"]
    notes = []
    if report.missing:
        notes.append(f"duplicates not checked for {len(report.missing)} tracks without a fingerprint; add them "
                     f"with {ADD_FINGERPRINTS.format(store=store.path)}")
    return [(at[m.a], at[m.b]) for m in report.pairs], notes
