"""Which tracks share a recording: an inverted index over landmark hashes, never all pairs.

Two stages, as audio search engines do:

1. **Candidates.** A fixed 1-in-:data:`SAMPLE` share of the hash *values* is indexed (chosen by
   the value, so every copy of a recording keeps the same ones): every (hash, track, time) of
   those, sorted once by hash into buckets. A track is checked by looking its sampled hashes
   up; each hit with another track gives that track and a time offset (``time there - time
   here``). A recording shared by the two gives many hits at one offset, chance a few scattered
   ones: a (track, offset) with :data:`MIN_CANDIDATE_HITS` hits within ±1 frame is a candidate.
   The commonest hashes say little and are skipped, like stop words (:data:`STOP_SHARE`).
2. **Verification** on the full fingerprints of the two tracks, for each candidate offset:
   ``matches`` = the first track's hashes over the overlap found in the second at that offset
   (±1 frame: two excerpts' frame grids differ); ``score`` = ``matches`` over the smaller of the
   two tracks' hash counts over the overlap, so a 10-s overlap of two 30-s excerpts scores as
   high as a whole copy. A pair is kept at its best-scoring offset when ``matches >=
   min_matches``, ``score >= min_score`` and the overlap lasts :data:`MIN_OVERLAP_SECONDS` (or
   80 % of the shorter track).

Cost: one sort of the sampled postings, and per track its sampled hashes' postings plus a few
verifications — linear in the collection for a given bucket size, instead of the square of all
pairs (benchmarks/duplicates_scale.py). The defaults and the trade-off they make are measured in
README "Duplicates" (benchmarks/duplicates_cases.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genrekit.features.fingerprint import FRAMES_PER_SECOND, HASH_BITS

HASH_SPACE = 1 << HASH_BITS
_BIAS = 1 << 31  # keeps a time (and time + offset) positive in the low 32 bits of a key
#: The defaults of a match (see the module docstring and README "Duplicates").
MIN_MATCHES = 20
MIN_SCORE = 0.3
#: A match must cover this many seconds, or 80 % of the shorter track: a few seconds of shared
#: material (a sample, a loop, a jingle) can agree well without being the same recording.
MIN_OVERLAP_SECONDS = 5.0
#: One hash value in SAMPLE is indexed for the candidate search (memory and time / SAMPLE).
SAMPLE = 16
#: Sampled hits within ±1 frame of one offset that make a candidate.
MIN_CANDIDATE_HITS = 4
#: The commonest hashes, which hold this share of all postings, are skipped in the candidate search
#: (stop words: a hash in many tracks tells little, and the hits of a lookup grow with its bucket,
#: so they cost most of the time); a duplicate keeps the rest of its hits.
STOP_SHARE = 0.5
#: ... but a bucket of up to this many postings is always looked up, and so are the MIN_LOOKUPS
#: rarest sampled hashes of every track (a repetitive track can have nothing but common hashes).
MIN_STOP = 32
MIN_LOOKUPS = 32
#: Offsets verified per candidate track (those with the most hits): music that repeats itself
#: (a loop, a chorus) also matches at the offsets of its repeats, with a lower score.
TOP_OFFSETS = 8
#: A track with fewer hashes than this (about a second of music) is too short or quiet to fingerprint.
MIN_HASHES = 100


@dataclass(frozen=True)
class Match:
    """Two tracks (positions ``a < b``) that hold the same recording.

    ``offset`` is in frames: what is at time ``t`` in ``a`` is at ``t + offset`` in ``b``.
    ``matches`` hashes of ``a`` over the overlap (``overlap`` frames long) are found in ``b``
    at that offset; ``score`` is their share of the hashes there. Of the offsets tried, the
    one with the best score.
    """

    a: int
    b: int
    matches: int
    score: float
    offset: int
    overlap: int


def sampled(hashes: np.ndarray) -> np.ndarray:
    """Which hashes the candidate search indexes: 1 in :data:`SAMPLE`, chosen by value (mixed bits)."""
    mixed = (hashes.astype(np.uint64) * np.uint64(2654435761)) >> np.uint64(16)
    return (mixed % np.uint64(SAMPLE)) == 0


class FingerprintIndex:
    """An inverted index over the fingerprints of ``n`` tracks.

    Parameters
    ----------
    fingerprints : sequence of (hashes, times)
        One pair of equal-length arrays per track (uint32 hashes below 2 ** HASH_BITS, int frame
        times sorted ascending, as :func:`~genrekit.features.fingerprint.fingerprint` returns
        them); empty for a track without a fingerprint.
    """

    def __init__(self, fingerprints):
        counts = np.array([len(h) for h, _ in fingerprints], dtype=np.int64)
        self.n = len(counts)
        self.starts = np.concatenate([[0], np.cumsum(counts)])
        self.hashes = np.concatenate([np.asarray(h, np.uint32) for h, _ in fingerprints] or [np.zeros(0, np.uint32)])
        self.times = np.concatenate([np.asarray(t, np.int32) for _, t in fingerprints] or [np.zeros(0, np.int32)])
        self.length = np.array([int(t[-1]) + 1 if len(t) else 0 for _, t in fingerprints], dtype=np.int64)
        # The postings of sampled hash h: post_track/post_time[bucket[h]:bucket[h + 1]], 8 bytes each.
        where = np.flatnonzero(sampled(self.hashes))
        order = where[np.argsort(self.hashes[where], kind="stable")]
        del where
        self.post_track = (np.searchsorted(self.starts, order, side="right") - 1).astype(np.int32)
        self.post_time = self.times[order]
        self.bucket = np.zeros(HASH_SPACE + 1, np.int64)
        np.cumsum(np.bincount(self.hashes[order], minlength=HASH_SPACE), out=self.bucket[1:])
        self.max_postings = self._stop_size()

    def _stop_size(self) -> int:
        """The largest bucket looked up: larger ones hold :data:`STOP_SHARE` of the postings."""
        sizes = np.sort(np.diff(self.bucket))[::-1]
        mass = np.cumsum(sizes)
        if not len(mass) or mass[-1] == 0:
            return MIN_STOP
        k = int(np.searchsorted(mass, STOP_SHARE * mass[-1], side="right"))
        return max(MIN_STOP, int(sizes[min(k, len(sizes) - 1)]))

    def fingerprint(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.starts[i], self.starts[i + 1]
        return self.hashes[a:b], self.times[a:b]

    def candidates(self, i: int, max_postings: int | None = None) -> list[tuple[int, int]]:
        """``(track, offset)`` after ``i`` worth verifying: most sampled hits first per track."""
        h, t = self.fingerprint(i)
        keep = sampled(h)
        h, t = h[keep], t[keep]
        lo = self.bucket[h]
        n = self.bucket[h + 1] - lo
        cap = max_postings or self.max_postings
        if len(n) > MIN_LOOKUPS:  # a repetitive track's hashes may all be common: its rarest are looked up anyway
            cap = max(cap, int(np.partition(n, MIN_LOOKUPS)[MIN_LOOKUPS]))
        use = (n > 1) & (n <= cap)
        lo, n, t = lo[use], n[use], t[use]
        total = int(n.sum())
        if total < MIN_CANDIDATE_HITS:
            return []
        ends = np.cumsum(n)
        idx = np.arange(total) - np.repeat(ends - n, n) + np.repeat(lo, n)
        tracks = self.post_track[idx]
        # only later tracks with enough hits in all (most tracks of a large index have one or two)
        later = (tracks > i) & (np.bincount(tracks, minlength=self.n)[tracks] >= MIN_CANDIDATE_HITS)
        if np.count_nonzero(later) < MIN_CANDIDATE_HITS:
            return []
        dt = (self.post_time[idx[later]] - np.repeat(t, n)[later]).astype(np.int64)
        tracks = tracks[later].astype(np.int64)
        span = 2 * (int(self.length.max()) + 2)
        keys = tracks * span + dt + span // 2
        keys.sort()
        edge = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
        keys, counts = keys[edge[:-1]], np.diff(edge)
        smooth = counts.copy()  # hits within ±1 frame of each (track, offset): neighbours in sorted order
        step = keys[1:] == keys[:-1] + 1
        smooth[:-1] += np.where(step, counts[1:], 0)
        smooth[1:] += np.where(step, counts[:-1], 0)
        good = smooth >= MIN_CANDIDATE_HITS
        keys, smooth = keys[good], smooth[good]
        tracks, offsets = np.divmod(keys, span)
        offsets -= span // 2
        order = np.lexsort((-smooth, tracks))  # per track, most hits first
        tracks, offsets = tracks[order], offsets[order]
        first = np.r_[True, tracks[1:] != tracks[:-1]]
        rank = np.arange(len(tracks)) - np.maximum.accumulate(np.where(first, np.arange(len(tracks)), 0))
        top = rank < TOP_OFFSETS
        return list(zip(tracks[top].tolist(), offsets[top].tolist()))

    def keys(self, i: int) -> np.ndarray:
        """Track ``i``'s ``hash << 32 | (time + 2 ** 31)``, sorted: what :meth:`verify` searches."""
        h, t = self.fingerprint(i)
        k = (h.astype(np.int64) << 32) | (t.astype(np.int64) + _BIAS)
        k.sort()
        return k

    def verify(self, i: int, j: int, offset: int, keys_i=None, keys_j=None) -> tuple[int, float, int]:
        """``(matches, score, overlap)`` of tracks ``i`` and ``j`` at ``offset`` (frames), on their full
        fingerprints (``keys_i``, ``keys_j``: their :meth:`keys`, when the caller has them)."""
        ki = self.keys(i) if keys_i is None else keys_i
        kj = self.keys(j) if keys_j is None else keys_j
        lo, hi = max(0, -offset), min(int(self.length[i]), int(self.length[j]) - offset)
        if hi <= lo or not len(ki) or not len(kj):
            return 0, 0.0, max(0, hi - lo)
        ti = (ki & 0xFFFFFFFF) - _BIAS
        tj = (kj & 0xFFFFFFFF) - _BIAS
        inside = (ti >= lo) & (ti < hi)
        n_i, n_j = int(inside.sum()), int(np.count_nonzero((tj >= lo + offset) & (tj < hi + offset)))
        if not n_i or not n_j:
            return 0, 0.0, hi - lo
        found = np.zeros(len(ki), bool)
        for step in (-1, 0, 1):  # the same hash within ±1 frame of where the offset puts it
            want = ki + (offset + step)
            at = np.minimum(np.searchsorted(kj, want), len(kj) - 1)
            found |= kj[at] == want
        m = int(np.count_nonzero(found & inside))
        return m, min(1.0, m / min(n_i, n_j)), hi - lo

    def query(self, i: int, *, min_matches: int = MIN_MATCHES, min_score: float = MIN_SCORE,
              max_postings: int | None = None) -> list[Match]:
        """Every track after ``i`` that holds the same recording as track ``i``."""
        if len(self.fingerprint(i)[0]) < MIN_HASHES:
            return []
        best: dict[int, Match] = {}
        keys_i, keys_j, last = None, None, None
        for j, off in self.candidates(i, max_postings):
            if self.starts[j + 1] - self.starts[j] < MIN_HASHES:
                continue
            if keys_i is None:
                keys_i = self.keys(i)
            if j != last:
                keys_j, last = self.keys(j), j
            m, score, overlap = self.verify(i, j, off, keys_i, keys_j)
            shorter = min(self.length[i], self.length[j])
            if (m >= min_matches and score >= min_score
                    and overlap >= min(MIN_OVERLAP_SECONDS * FRAMES_PER_SECOND, 0.8 * shorter)
                    and (j not in best or (score, m) > (best[j].score, best[j].matches))):
                best[j] = Match(a=i, b=j, matches=m, score=score, offset=off, overlap=overlap)
        return [best[j] for j in sorted(best)]

    def matches(self, *, min_matches: int = MIN_MATCHES, min_score: float = MIN_SCORE,
                max_postings: int | None = None, progress=None) -> list[Match]:
        """Every pair of tracks that hold the same recording (each pair once, ``a < b``)."""
        out = []
        for i in range(self.n):
            out.extend(self.query(i, min_matches=min_matches, min_score=min_score, max_postings=max_postings))
            if progress is not None:
                progress(1)
        return out
