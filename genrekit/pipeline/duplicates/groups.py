"""Tracks joined into groups by pairs (union-find): duplicate groups, and artist groups merged
through duplicates."""

from __future__ import annotations

import numpy as np

from genrekit.roles import is_fill_in


class UnionFind:
    """Disjoint sets over ``0..n-1`` (path halving, union by size)."""

    def __init__(self, n: int):
        self.parent = np.arange(n)
        self.size = np.ones(n, np.int64)

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return int(i)

    def union(self, a: int, b: int) -> bool:
        """Join the sets of ``a`` and ``b``; False when they were one already."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return True

    def labels(self) -> np.ndarray:
        """The root of each element's set."""
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)


def components(n: int, pairs) -> list[list[int]]:
    """The groups of two or more of ``0..n-1`` joined by ``pairs`` (each sorted; by first member)."""
    uf = UnionFind(n)
    for a, b in pairs:
        uf.union(int(a), int(b))
    by_root: dict[int, list[int]] = {}
    for i, r in enumerate(uf.labels().tolist()):
        by_root.setdefault(r, []).append(i)
    return sorted((m for m in by_root.values() if len(m) > 1), key=lambda m: m[0])


def merge_groups(groups, pairs) -> tuple[np.ndarray, int]:
    """Groups joined through duplicate ``pairs``: a duplicate of a track of group A joins A.

    Parameters
    ----------
    groups : array-like of str, shape (n,)
        One group per track (every track has one: fill unknown ones in first).
    pairs : iterable of (int, int)
        Positions of tracks that are the same recording.

    Returns
    -------
    merged : ndarray of object, shape (n,)
        Each track's group: the first (sorted) real name of the groups merged into it, a fill-in
        group's name (:func:`~genrekit.roles.fill_groups`) only when all of them are made up.
    n_merged : int
        How many groups disappeared into others.
    """
    groups = np.asarray(groups, dtype=object)
    names, inverse = np.unique(groups.astype(str), return_inverse=True)
    uf = UnionFind(len(names))
    n_merged = sum(uf.union(int(inverse[a]), int(inverse[b])) for a, b in pairs)
    if not n_merged:
        return groups, 0
    roots = uf.labels()
    first: dict[int, str] = {}
    for k in sorted(range(len(names)), key=lambda k: (is_fill_in(str(names[k])), str(names[k]))):
        first.setdefault(int(roots[k]), str(names[k]))  # a real name before a made-up one, then sorted
    return np.array([first[int(roots[i])] for i in inverse], dtype=object), int(n_merged)
