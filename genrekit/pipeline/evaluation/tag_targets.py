"""Tagging targets: which task a benchmark runs, and the tracks' tag sets as multi-hot rows.

A track with an empty tag set is unlabelled for tagging (left out, like a track without a label
for genres). Tags on fewer than ``min_tag_count`` of the tagged tracks are dropped (too rare to
train and to score on every fold) and reported; a tagged track whose tags were all dropped stays
in as a negative of every kept tag.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from genrekit.errors import ParameterError, StoreError
from genrekit.tags import DEFAULT_MIN_TAG_COUNT

#: The tasks ``genrekit benchmark --task`` runs.
TASKS = ("genre", "tagging")

_NO_TAGS = ("has no tagged tracks; extract with a manifest 'tags' column, --fma-metadata (genres_all) "
            "or --jamendo-split, or run --task genre")


def source_tags(source) -> list[tuple[str, ...]]:
    """Each track's tag set (``()`` for a source that holds no tags, e.g. feature tables)."""
    tags = getattr(source, "tags", None)
    return list(tags) if tags is not None else [()] * len(source)


def choose_task(task: str | None, source) -> str:
    """The task to run: ``task`` when given; otherwise ``genre`` when any track has a label,
    ``tagging`` when none has a label but some have tags, ``genre`` else (whose error says why).

    Raises
    ------
    ParameterError
        For a task not in :data:`TASKS`.
    """
    if task is not None:
        name = str(task).strip().lower()
        if name not in TASKS:
            raise ParameterError(f"unknown --task {task!r}; use {' or '.join(TASKS)}")
        return name
    if any(v is not None for v in source.labels):
        return "genre"
    return "tagging" if any(source_tags(source)) else "genre"


@dataclass
class TagTargets:
    """The tagged tracks of a source as multi-hot rows over the kept tags."""

    mask: np.ndarray              # (n_tracks,) bool: the track has at least one tag
    tags: list                    # kept tags, sorted
    Y: np.ndarray                 # (n_tagged, n_tags) uint8
    dropped: dict = field(default_factory=dict)   # tag -> its count, for tags under min_tag_count
    n_untagged: int = 0
    n_emptied: int = 0            # tagged tracks none of whose tags was kept
    min_tag_count: int = DEFAULT_MIN_TAG_COUNT

    def counts(self) -> dict:
        """``tag -> number of tagged tracks that carry it`` (kept tags)."""
        return {t: int(c) for t, c in zip(self.tags, self.Y.sum(axis=0))}

    def notes(self) -> list[str]:
        """What the reports say about the targets (dropped tags, untagged tracks)."""
        out = []
        if self.n_untagged:
            out.append(f"{self.n_untagged} tracks without tags left out")
        if self.dropped:
            shown = ", ".join(f"{t} ({c})" for t, c in sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0]))[:8])
            more = f", … ({len(self.dropped)} in all)" if len(self.dropped) > 8 else ""
            out.append(f"{len(self.dropped)} tag{'s' if len(self.dropped) > 1 else ''} on fewer than "
                       f"{self.min_tag_count} tracks dropped "
                       f"(--min-tag-count): {shown}{more}")
        if self.n_emptied:
            out.append(f"{self.n_emptied} tagged tracks have none of the kept tags: negatives of every tag")
        return out


def tag_targets(source, min_tag_count: int = DEFAULT_MIN_TAG_COUNT) -> TagTargets:
    """Multi-hot targets of ``source``'s tagged tracks over the tags with ``min_tag_count`` tracks.

    Raises
    ------
    ParameterError
        ``min_tag_count`` below 1.
    StoreError
        No track has a tag, or no tag reaches ``min_tag_count`` (the message gives the largest count).
    """
    if isinstance(min_tag_count, bool) or not isinstance(min_tag_count, (int, np.integer)) or min_tag_count < 1:
        raise ParameterError(f"--min-tag-count must be a whole number >= 1, got {min_tag_count!r}")
    sets = source_tags(source)
    mask = np.array([bool(s) for s in sets], dtype=bool)
    where = getattr(source, "path", "the input")
    if not mask.any():
        raise StoreError(f"store {where} {_NO_TAGS}")
    counts = Counter(t for s, m in zip(sets, mask) if m for t in s)
    kept = sorted(t for t, c in counts.items() if c >= min_tag_count)
    if not kept:
        top, n = counts.most_common(1)[0]
        raise StoreError(f"store {where}: no tag is on {min_tag_count} tracks or more (the most common, {top!r}, "
                         f"is on {n}); lower --min-tag-count to {n} or fewer")
    column = {t: j for j, t in enumerate(kept)}
    tagged = [s for s, m in zip(sets, mask) if m]
    Y = np.zeros((len(tagged), len(kept)), dtype=np.uint8)
    for i, s in enumerate(tagged):
        for t in s:
            if t in column:
                Y[i, column[t]] = 1
    dropped = {t: int(c) for t, c in counts.items() if c < min_tag_count}
    return TagTargets(mask=mask, tags=kept, Y=Y, dropped=dropped, n_untagged=int((~mask).sum()),
                      n_emptied=int((Y.sum(axis=1) == 0).sum()), min_tag_count=int(min_tag_count))
