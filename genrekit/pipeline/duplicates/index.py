"""Which tracks share a recording: an inverted index over landmark hashes, never all pairs.

Every (hash, track, time) of every track is sorted once by hash (the *index*: a hash's postings
are one contiguous run). A track is checked by looking its hashes up: each hit with another
track gives that track and a time offset (``time there - time here``); a recording shared by the
two gives many hits at one offset, chance gives a few scattered ones. Cost: sorting the
postings, plus for every track the postings of its hashes (hashes in more than
``max_postings`` tracks say nothing and are skipped, like stop words) — linear in the
collection for a fixed bucket size, instead of the square of all pairs.

A pair is kept when its best offset (±1 frame, the hop grid of two excerpts differs by up to
half a frame) has at least ``min_matches`` hits, and those hits are at least ``min_score`` of
the hashes the two tracks hold over the time they overlap at that offset (so a 10-s overlap of
two 30-s excerpts scores as high as a whole copy), over at least :data:`MIN_OVERLAP_SECONDS`. The defaults and the trade-off they make are
measured in README "Duplicates".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genrekit.features.fingerprint import FRAMES_PER_SECOND, HASH_BITS

HASH_SPACE = 1 << HASH_BITS
#: The defaults of a match (see the module docstring and README "Duplicates").
MIN_MATCHES = 20
MIN_SCORE = 0.4
#: A match must cover this many seconds, or 80 % of the shorter track: a few seconds of shared
#: material (a sample, a loop, a jingle) can agree well without being the same recording.
MIN_OVERLAP_SECONDS = 5.0
#: A hash with more postings than this (and than MAX_POSTINGS_SHARE of the tracks) is skipped.
MAX_POSTINGS = 2000
#: Offsets scored per candidate track (those with the most matching hashes): music that repeats
#: itself (a loop, a chorus) also matches at the offsets of its repeats, with a lower score.
TOP_OFFSETS = 8
#: A track with fewer hashes than this (about a second of music) is too short or quiet to fingerprint.
MIN_HASHES = 100


@dataclass(frozen=True)
class Match:
    """Two tracks (positions ``a < b``) that hold the same recording.

    ``offset`` is in frames: what is at time ``t`` in ``a`` is at ``t + offset`` in ``b``.
    ``matches`` hashes agree at that offset; ``score`` is their share of the hashes over the
    overlap (``overlap`` frames long). Of the offsets tried, the one with the best score.
    """

    a: int
    b: int
    matches: int
    score: float
    offset: int
    overlap: int


class FingerprintIndex:
    """An inverted index over the fingerprints of ``n`` tracks.

    Parameters
    ----------
    fingerprints : sequence of (hashes, times)
        One pair of equal-length arrays per track (uint32 hashes, int frame times sorted
        ascending, as :func:`~genrekit.features.fingerprint.fingerprint` returns them); empty for
        a track without a fingerprint.
    """

    def __init__(self, fingerprints):
        counts = np.array([len(h) for h, _ in fingerprints], dtype=np.int64)
        self.n = len(counts)
        self.starts = np.concatenate([[0], np.cumsum(counts)])
        self.hashes = np.concatenate([np.asarray(h, np.uint32) for h, _ in fingerprints] or [np.zeros(0, np.uint32)])
        self.times = np.concatenate([np.asarray(t, np.int32) for _, t in fingerprints] or [np.zeros(0, np.int32)])
        self.length = np.array([int(t[-1]) + 1 if len(t) else 0 for _, t in fingerprints], dtype=np.int64)
        # The postings of hash h are post_track/post_time[bucket[h]:bucket[h + 1]]: 8 bytes a hash.
        order = np.argsort(self.hashes, kind="stable")
        self.post_track = np.searchsorted(self.starts, order, side="right").astype(np.int32) - 1
        self.post_time = self.times[order]
        del order
        self.bucket = np.zeros(HASH_SPACE + 1, np.int64)
        np.cumsum(np.bincount(self.hashes, minlength=HASH_SPACE), out=self.bucket[1:])

    def fingerprint(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.starts[i], self.starts[i + 1]
        return self.hashes[a:b], self.times[a:b]

    def query(self, i: int, *, min_matches: int = MIN_MATCHES, min_score: float = MIN_SCORE,
              max_postings: int = MAX_POSTINGS) -> list[Match]:
        """Every track after ``i`` that holds the same recording as track ``i``."""
        h, t = self.fingerprint(i)
        if len(h) < MIN_HASHES:
            return []
        lo = self.bucket[h]
        n = self.bucket[h + 1] - lo
        use = (n > 1) & (n <= max_postings)
        lo, n, t = lo[use], n[use], t[use]
        total = int(n.sum())
        if total == 0:
            return []
        ends = np.cumsum(n)
        idx = np.arange(total) - np.repeat(ends - n, n) + np.repeat(lo, n)
        tracks = self.post_track[idx]
        later = tracks > i
        dt = (self.post_time[idx] - np.repeat(t, n))[later].astype(np.int64)
        tracks = tracks[later].astype(np.int64)
        if tracks.size < min_matches:
            return []
        span = 2 * (int(self.length.max()) + 2)
        keys, counts = np.unique(tracks * span + dt + span // 2, return_counts=True)
        # hits within ±1 frame of each (track, offset)
        smooth = counts.copy()
        for d in (-1, 1):
            j = np.searchsorted(keys, keys + d)
            j = np.minimum(j, len(keys) - 1)
            smooth += np.where(keys[j] == keys + d, counts[j], 0)
        good = smooth >= min_matches
        return self._verify(i, keys[good], smooth[good], span, min_matches, min_score)

    def _verify(self, i, keys, hits, span, min_matches, min_score) -> list[Match]:
        """Score each track's candidate offsets (its :data:`TOP_OFFSETS` with most hits); keep the best."""
        tracks, offsets = np.divmod(keys, span)
        offsets -= span // 2
        order = np.lexsort((-hits, tracks))  # per track, most hits first
        tracks, offsets, hits = tracks[order], offsets[order], hits[order]
        first = np.r_[True, tracks[1:] != tracks[:-1]]
        rank = np.arange(len(tracks)) - np.maximum.accumulate(np.where(first, np.arange(len(tracks)), 0))
        _, ti = self.fingerprint(i)
        best: dict[int, Match] = {}
        for j, off, m in zip(*(a[rank < TOP_OFFSETS].tolist() for a in (tracks, offsets, hits))):
            _, tj = self.fingerprint(j)
            lo, hi = max(0, -off), min(int(self.length[i]), int(self.length[j]) - off)
            if hi - lo < min(MIN_OVERLAP_SECONDS * FRAMES_PER_SECOND, 0.8 * min(self.length[i], self.length[j])):
                continue
            n_i = int(np.searchsorted(ti, hi) - np.searchsorted(ti, lo))  # times are sorted
            n_j = int(np.searchsorted(tj, hi + off) - np.searchsorted(tj, lo + off))
            score = min(1.0, m / max(1, min(n_i, n_j)))
            if m >= min_matches and score >= min_score and (j not in best or score > best[j].score):
                best[j] = Match(a=i, b=j, matches=int(m), score=float(score), offset=int(off), overlap=int(hi - lo))
        return [best[j] for j in sorted(best)]

    def matches(self, *, min_matches: int = MIN_MATCHES, min_score: float = MIN_SCORE,
                max_postings: int | None = None, progress=None) -> list[Match]:
        """Every pair of tracks that hold the same recording (each pair once, ``a < b``)."""
        cap = max_postings or MAX_POSTINGS
        out = []
        for i in range(self.n):
            out.extend(self.query(i, min_matches=min_matches, min_score=min_score, max_postings=cap))
            if progress is not None:
                progress(1)
        return out
