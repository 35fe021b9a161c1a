"""Evaluation splits: computed once, handed to every model, so a leaderboard compares like with like.

Four protocols (``--split``):

``kfold:K``
    Stratified K-fold over tracks (shuffled with the seed).
``group-kfold:K``
    Stratified by label, grouped by artist (or whatever the store's ``group`` column holds):
    scikit-learn's ``StratifiedGroupKFold``; no group is ever in both train and test.
``predefined``
    The store's ``split`` column: ``train`` → training, ``test`` → test, ``validation`` →
    held aside (classic models do not use it).
``holdout:FRACTION``
    One train/test split with about ``FRACTION`` of the tracks in test; stratified, and grouped
    whenever the store knows groups.
``gtzan-ff``
    GTZAN's fault-filtered split (Kereliuk, Sturm & Larsen 2015), matched by clip name
    (:mod:`genrekit.pipeline.evaluation.gtzan`): a predefined split that ships with genrekit.

Every split but a predefined one keeps each group of duplicates (tracks holding the same
recording, found from the fingerprints extraction stores) on one side of every fold.

The default is ``group-kfold:5`` when the store knows groups (artists) and ``kfold:5`` otherwise.
Problems that make a protocol imperfect — a label with fewer tracks or artists than folds, an
ungrouped split on data with artists — never raise: they become plain-language ``warnings`` on
the :class:`Split`, which the benchmark prints and writes into its report.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np

from genrekit.errors import ParameterError
from genrekit.roles import fill_groups, is_fill_in, split_name, unknown_group

KINDS = ("kfold", "group-kfold", "predefined", "holdout", "gtzan-ff")
DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class SplitSpec:
    """A parsed ``--split`` value."""

    kind: str
    k: int | None = None
    fraction: float | None = None

    def __str__(self) -> str:
        if self.kind in ("kfold", "group-kfold"):
            return f"{self.kind}:{self.k}"
        if self.kind == "holdout":
            return f"holdout:{self.fraction:g}"
        return self.kind


def parse_split(text: str | None) -> SplitSpec | None:
    """Parse ``--split`` (``kfold:K``, ``group-kfold:K``, ``predefined``, ``holdout:FRACTION``).

    ``kfold`` and ``group-kfold`` without ``:K`` mean 5 folds; ``holdout`` without a fraction
    means 0.2. Empty or None means "the default" and returns None.

    Raises
    ------
    ParameterError
        For an unknown protocol or a bad number, echoing the value.
    """
    if text is None or not str(text).strip():
        return None
    text = str(text).strip().lower()
    kind, _, arg = text.partition(":")
    kind = {"stratified": "kfold", "groupkfold": "group-kfold", "group": "group-kfold",
            "grouped": "group-kfold"}.get(kind, kind)
    if kind not in KINDS:
        raise ParameterError(
            f"unknown split {text!r}; use kfold:K, group-kfold:K, predefined or holdout:FRACTION (GTZAN: gtzan-ff)")
    if kind in ("kfold", "group-kfold"):
        if not arg:
            return SplitSpec(kind, k=DEFAULT_FOLDS)
        try:
            k = int(arg)
        except ValueError:
            raise ParameterError(f"--split {text}: the number of folds must be a whole number, got {arg!r}") from None
        if k < 2:
            raise ParameterError(f"--split {text}: need at least 2 folds, got {k}")
        return SplitSpec(kind, k=k)
    if kind == "holdout":
        try:
            f = float(arg) if arg else 0.2
        except ValueError:
            raise ParameterError(f"--split {text}: the test fraction must be a number, e.g. holdout:0.2") from None
        if not 0 < f < 1:
            raise ParameterError(f"--split {text}: the test fraction must be between 0 and 1, got {f:g}")
        return SplitSpec(kind, fraction=f)
    if arg:
        raise ParameterError(f"--split {text}: {kind} takes no argument")
    return SplitSpec(kind)


@dataclass
class Fold:
    """One train/test partition, as indices into the benchmark's track arrays."""

    index: int
    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class Split:
    """The folds every model is evaluated on, and what the protocol could not guarantee.

    Attributes
    ----------
    spec : str
        Canonical protocol, e.g. ``group-kfold:5``.
    kind : str
    seed : int
    grouped : bool
        True when no group straddles train and test.
    folds : list of Fold
    warnings : list of str
        Things that weaken the evaluation (ungrouped split on data with artists, labels that
        cannot be stratified, folds that lack a label in training); printed and reported.
    notes : list of str
        Neutral facts (tracks without a group, a fold count lowered by the default).
    """

    spec: str
    kind: str
    seed: int
    grouped: bool
    folds: list[Fold]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def describe(self) -> str:
        """One line: the protocol and its shape."""
        how = {
            "gtzan-ff": "Kereliuk, Sturm & Larsen (2015) fault-filtered GTZAN split",
            "kfold": "stratified by label",
            "group-kfold": "stratified by label, grouped by artist",
            "predefined": "the predefined train/test split column",
            "holdout": "stratified by label" + (", grouped by artist" if self.grouped else ""),
        }[self.spec if self.spec == "gtzan-ff" else self.kind]
        if self.n_folds == 1:
            f = self.folds[0]
            return f"{self.spec} ({how}; seed {self.seed}): {len(f.train)} training and {len(f.test)} test tracks"
        n_test = [len(f.test) for f in self.folds]
        size = f"{n_test[0]}" if len(set(n_test)) == 1 else f"{min(n_test)}-{max(n_test)}"
        return f"{self.spec} ({how}; seed {self.seed}): {self.n_folds} folds, {size} test tracks each"

    def to_dict(self, ids=None) -> dict:
        """JSON-ready description; with ``ids``, each fold lists its test track ids."""
        folds = []
        for f in self.folds:
            d = {"index": f.index, "n_train": int(len(f.train)), "n_test": int(len(f.test)),
                 "n_validation": int(len(f.validation))}
            if ids is not None:
                d["test_ids"] = [str(ids[i]) for i in f.test]
            folds.append(d)
        return {"spec": self.spec, "kind": self.kind, "seed": self.seed, "grouped": self.grouped,
                "n_folds": self.n_folds, "folds": folds, "warnings": list(self.warnings),
                "notes": list(self.notes)}


# ============================================================================================
def _fill_groups(groups, n: int) -> tuple[np.ndarray | None, int]:
    """Groups as strings (:func:`~genrekit.roles.fill_groups`) and how many were unknown; None if
    nobody has one."""
    if groups is None:
        return None, n
    groups = list(groups)
    n_unknown = sum(unknown_group(v) for v in groups)
    if n_unknown == len(groups):
        return None, n
    return fill_groups(groups), n_unknown


def _verb(source: str, verb: str) -> str:
    """``verb`` agreeing with ``source`` (``the tables a.csv + b.csv have``, ``the store has``)."""
    if not source.startswith("the tables"):
        return verb
    return "have" if verb == "has" else verb[:-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _label_warnings(folds: list[Fold], y: np.ndarray, classes, why: dict) -> list[str]:
    """One line per label that a protocol could not treat fairly: why, and what it means per fold."""
    out = []
    for c in classes:
        parts = [why[c]] if c in why else []
        no_train = [f.index + 1 for f in folds if not np.any(y[f.train] == c)]
        no_test = [f.index + 1 for f in folds if not np.any(y[f.test] == c)]
        if no_train:
            parts.append(f"no training track in fold{'s' if len(no_train) > 1 else ''} "
                         f"{', '.join(map(str, no_train))} (models cannot predict it there)")
        if no_test:
            parts.append(f"no test track in fold{'s' if len(no_test) > 1 else ''} {', '.join(map(str, no_test))}")
        if parts:
            out.append(f"label {c!r}: " + "; ".join(parts))
    return out


def _fewer_folds_hint(kind: str, per_label: list[int], k: int, what: str) -> list[str]:
    """What to do when some label has fewer ``what`` (artists, tracks) than folds: the most folds
    every label of two or more can fill; a label of one no split can both train on and test."""
    if min(per_label, default=k) >= k:
        return []
    n = sum(v < k for v in per_label)
    one = what[:-1]
    parts = [f"{_plural(n, 'label')} ha{'ve' if n > 1 else 's'} fewer {what} than the {k} folds"]
    fewest = min((v for v in per_label if v >= 2), default=None)
    if fewest is not None and fewest < k:
        logo = (" or leave-one-artist-out (scikit-learn's LeaveOneGroupOut with genrekit.api.load_store's groups)"
                if what == "artists" else "")
        parts.append(f"use --split {kind}:{fewest} (every fold then trains on every label with two or more "
                     f"{what}){logo}")
    singles = sum(v == 1 for v in per_label)
    if singles:
        parts.append(f"{_plural(singles, 'label')} ha{'ve' if singles > 1 else 's'} a single {one}: whichever fold "
                     f"tests {'them' if singles > 1 else 'it'} has none to train on, whatever the split; add "
                     f"{what} or leave {'them' if singles > 1 else 'it'} out")
    return [": ".join(parts[:2]) + ("; " + parts[2] if len(parts) > 2 else "")]


def _kfold(y, k, seed, classes, counts, warn, why):
    from sklearn.model_selection import KFold, StratifiedKFold

    small = [(c, n) for c, n in zip(classes, counts) if n < k]
    for c, n in small:
        why[c] = f"{_plural(int(n), 'track')}, fewer than {k} folds, so it cannot be stratified"
    warn.extend(_fewer_folds_hint("kfold", [int(n) for n in counts], k, "tracks"))
    if len(small) == len(classes):
        warn.append(f"no label has {k} tracks: folds are shuffled but not stratified")
        splitter, args = KFold(k, shuffle=True, random_state=seed), (np.zeros(len(y)),)
    else:
        splitter, args = StratifiedKFold(k, shuffle=True, random_state=seed), (np.zeros(len(y)), y)
    with _warnings.catch_warnings():
        _warnings.filterwarnings("ignore", message=".*least populated class.*")
        return [Fold(i, np.sort(tr), np.sort(te)) for i, (tr, te) in enumerate(splitter.split(*args))]


def _group_kfold(y, g, k, seed, classes, counts, warn, why):
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    for c in classes:
        artists = len(set(g[y == c]))
        if artists < k:
            named = sorted({a for a in g[y == c] if not is_fill_in(a)})
            who = f" ({', '.join(named[:3])}{', …' if len(named) > 3 else ''})" if named else ""
            why[c] = f"{_plural(artists, 'artist')}{who}, fewer than {k} folds, so it cannot be stratified by artist"
    warn.extend(_fewer_folds_hint("group-kfold", [len(set(g[y == c])) for c in classes], k, "artists"))
    with _warnings.catch_warnings():
        _warnings.filterwarnings("ignore", message=".*least populated class.*")
        if (counts < k).all():
            warn.append(f"no label has {k} tracks: folds are grouped by artist but not stratified")
            splitter = GroupKFold(k, shuffle=True, random_state=seed)
        else:
            splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
        return [Fold(i, np.sort(tr), np.sort(te))
                for i, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y, g))]


def _holdout(y, g, fraction, seed, classes, why, notes):
    rng = np.random.RandomState(seed)
    if g is not None:
        from sklearn.model_selection import StratifiedGroupKFold

        n_groups = len(set(g))
        k = int(min(max(2, round(1 / fraction)), n_groups))
        with _warnings.catch_warnings():
            _warnings.filterwarnings("ignore", message=".*least populated class.*")
            tr, te = next(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, g))
        notes.append(f"grouped holdout: {len(te)} of {len(y)} tracks ({len(te) / len(y):.0%}) in test, "
                     f"whole artists kept on one side (asked for {fraction:.0%})")
        return [Fold(0, np.sort(tr), np.sort(te))]
    test = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n = len(idx)
        n_test = 0 if n < 2 else int(min(n - 1, max(1, round(fraction * n))))
        if n < 2:
            why[c] = "only 1 track, kept for training and never tested"
        test.extend(idx[:n_test])
    test = np.sort(np.asarray(test, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(y)), test)
    return [Fold(0, train, test)]


def _predefined(y, split_column, classes, warn, notes, source="the store"):
    if split_column is None:
        raise ParameterError(f"{source} {_verb(source, 'has')} no predefined split (no track has a split value); "
                             "use --split kfold:5 or group-kfold:5")
    s = np.array([split_name(v) for v in split_column], dtype=object)
    train, test, val = (np.flatnonzero(s == name) for name in ("train", "test", "validation"))
    if len(train) == 0 or len(test) == 0:
        have = sorted({v for v in s if v is not None})
        raise ParameterError(
            f"the split column of {source} needs 'train' and 'test' tracks for --split predefined "
            f"(it has: {', '.join(have) or 'no split values'}); use --split kfold:5 or group-kfold:5")
    other = len(s) - len(train) - len(test) - len(val)
    if other:
        notes.append(f"{_plural(other, 'track')} with no train/validation/test split value left out")
    if len(val):
        notes.append(f"{_plural(len(val), 'validation track')} held aside (not used for training or testing)")
    return [Fold(0, train, test, val)]


def make_split(labels, groups=None, split_column=None, spec: str | SplitSpec | None = None,
               seed: int = 0, source: str = "the store", duplicates=None) -> Split:
    """Compute the evaluation split once.

    Parameters
    ----------
    labels : array-like of shape (n_tracks,)
        One label per track (no None).
    groups : array-like of shape (n_tracks,), optional
        Artist (or album) per track; None or blank where unknown. Tracks without a group count
        as a group of their own.
    split_column : array-like of shape (n_tracks,), optional
        The predefined split per track (``train``/``validation``/``test``) for ``predefined``.
    spec : str or SplitSpec, optional
        The protocol (see :func:`parse_split`). Default: ``group-kfold:5`` when groups are known,
        ``kfold:5`` otherwise; the default lowers the fold count when there are fewer groups or
        tracks than that.
    seed : int
        Seeds the shuffling; the same inputs and seed give the same folds.
    source : str
        What messages call the data (``the store``, ``the table``, ``the tables``).
    duplicates : sequence of (int, int), optional
        Positions of tracks that hold the same recording (:mod:`genrekit.pipeline.duplicates`):
        each group of duplicates stays on one side of every fold, and an artist group that holds
        a duplicate of another's track is merged with it (see :func:`keep_duplicates_together`);
        a predefined split is kept as it is (:func:`split_for_store` warns about the duplicates
        it separates, naming them).

    Returns
    -------
    Split

    Raises
    ------
    ParameterError
        When the protocol cannot run at all: more folds than tracks or groups, no groups for
        ``group-kfold``, no predefined train/test split. Labels too small to stratify only
        warn.
    """
    y = np.asarray([str(v) for v in labels], dtype=object)
    n = len(y)
    if n == 0:
        raise ParameterError("no labelled tracks to split; extract a labelled collection first")
    if any(v is None for v in labels):
        raise ParameterError("every track needs a label to be split; drop unlabelled tracks first")
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"--seed must be a whole number >= 0, got {seed!r}")
    seed = int(seed)
    g, n_without = _fill_groups(groups, n)
    parsed = parse_split(spec) if not isinstance(spec, SplitSpec) else spec
    warn: list[str] = []
    notes: list[str] = []
    why: dict = {}
    is_default = parsed is None
    if is_default:
        parsed = SplitSpec("group-kfold" if g is not None else "kfold", k=DEFAULT_FOLDS)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ParameterError(f"need at least 2 labels to benchmark, {source} {_verb(source, 'has')} 1 ({classes[0]!r})")
    if g is not None and n_without and parsed.kind != "kfold":
        notes.append(f"{_plural(n_without, 'track')} without an artist: each counts as its own group")

    kind, k = ("predefined" if parsed.kind == "gtzan-ff" else parsed.kind), parsed.k  # gtzan-ff: a given column
    merged = keep_duplicates_together(g, n, duplicates, kind, notes)  # None: no duplicates to keep together
    g_split = g if merged is None else merged  # the groups folds keep whole
    if kind == "group-kfold" and g is None:
        raise ParameterError(f"--split group-kfold needs artists (a group column) in {source}, and it has none; "
                             "use --split kfold:K, or re-extract with a manifest that has an artist column")
    if kind in ("kfold", "group-kfold"):
        units = len(set(g_split)) if kind == "group-kfold" else n
        what = "artists (groups)" if kind == "group-kfold" else "labelled tracks"
        if k > units:
            if is_default and units >= 2:
                notes.append(f"only {units} {what}: using {kind}:{units} instead of {kind}:{k}")
                k = units
            else:
                fix = f"use --split {kind}:{units}" if units >= 2 else "use --split holdout:0.2"
                raise ParameterError(f"--split {kind}:{k} needs at least {k} {what}, {source} "
                                     f"{_verb(source, 'has')} {units}; {fix}")
        parsed = SplitSpec(kind, k=k)

    if kind == "kfold" and merged is None:
        folds = _kfold(y, k, seed, classes, counts, warn, why)
    elif kind in ("kfold", "group-kfold"):
        folds = _group_kfold(y, g_split, k, seed, classes, counts, warn, why)
    elif kind == "holdout":
        folds = _holdout(y, g_split, parsed.fraction, seed, classes, why, notes)
    else:
        folds = _predefined(y, split_column, classes, warn, notes, source)

    grouped = kind == "group-kfold" or (kind == "holdout" and g is not None)
    if g is not None:
        leaks = [f.index for f in folds if set(g[f.train]) & set(g[f.test])]
        if leaks and kind in ("kfold", "predefined"):
            shared = len(set.union(*[set(g[folds[i].train]) & set(g[folds[i].test]) for i in leaks]))
            warn.insert(0, f"{source} {_verb(source, 'knows')} artists but --split {parsed} is not grouped: "
                           f"{_plural(shared, 'artist')} have tracks on both sides of a fold, so results are "
                           f"likely inflated; use --split group-kfold:{parsed.k or DEFAULT_FOLDS} for a fair estimate")
        grouped = not leaks
    for f in folds:
        if len(f.test) == 0 or len(f.train) == 0:
            raise ParameterError(f"--split {parsed}: fold {f.index + 1} has no "
                                 f"{'test' if len(f.test) == 0 else 'training'} tracks; use fewer folds")
    warn.extend(_label_warnings(folds, y, classes, why))
    return Split(spec=str(parsed), kind=kind, seed=seed, grouped=grouped, folds=folds,
                 warnings=warn, notes=notes)


def split_for_store(store, spec: str | SplitSpec | None = None, seed: int = 0, mask=None,
                    duplicates: bool = True) -> Split:
    """:func:`make_split` on a :class:`~genrekit.cache.store.FeatureStore` (rows where ``mask``);
    with ``duplicates``, the duplicates its fingerprints show are kept together
    (:func:`genrekit.pipeline.duplicates.find.duplicate_pairs`)."""
    from genrekit.pipeline.evaluation import gtzan

    labels, groups, splits, ids = store.labels, store.groups, store.splits, store.ids
    if mask is not None:
        labels, groups, splits, ids = labels[mask], groups[mask], splits[mask], ids[mask]
    known_split = splits if any(v for v in splits) else None
    parsed = parse_split(spec) if not isinstance(spec, SplitSpec) else spec
    if parsed is not None and parsed.kind == gtzan.SPLIT_NAME:
        from genrekit.pipeline.duplicates.find import store_rows

        _, rows = store_rows(store, ids)
        paths = [r.path if r is not None else None for r in rows] if rows else None
        known_split, notes = gtzan.gtzan_split_column(ids, paths)
        if not {"train", "test"} <= set(known_split):
            raise ParameterError(f"--split {gtzan.SPLIT_NAME}: no track matches the split's "
                                 f"{'train' if 'train' not in set(known_split) else 'test'} clips by name "
                                 f"(<genre>.000NN.<ext>, e.g. blues.00012.wav, in the track id or file name); "
                                 f"use --split kfold:5 or group-kfold:5")
    else:
        notes = gtzan.gtzan_hint(ids)
    pairs = None
    if duplicates:
        from genrekit.pipeline.duplicates.find import duplicate_pairs

        pairs, more = duplicate_pairs(store, ids)
        notes += more
    out = make_split(labels, groups=groups, split_column=known_split, spec=parsed, seed=seed, duplicates=pairs,
                     source=getattr(store, "what", "the store"))
    out.notes.extend(notes)
    if out.kind == "predefined" and pairs:
        out.warnings.extend(_separated_duplicates(out.folds[0], pairs, ids))
    return out


def keep_duplicates_together(groups, n: int, duplicates, kind: str, notes: list) -> np.ndarray | None:
    """The groups a split keeps whole: ``groups`` (artists; None: unknown, each track its own)
    merged through ``duplicates`` (pairs of positions), with a note saying how many were merged.
    None when there are no duplicates (or the split is predefined: it is not made here)."""
    if not duplicates or kind == "predefined":
        return None
    from genrekit.pipeline.duplicates.groups import components, merge_groups

    by_artist = groups is not None and kind != "kfold"  # kfold keeps duplicates together, not artists
    base = groups if by_artist else fill_groups([None] * n)
    merged, n_merged = merge_groups(base, duplicates)
    dup = components(n, duplicates)
    notes.append(f"duplicates: {_plural(len(dup), 'group')} of the same recording ({sum(map(len, dup))} tracks) "
                 f"kept on one side of every fold; {_plural(n_merged, 'group')} merged"
                 + (" (artists joined through a shared recording)" if by_artist else ""))
    return merged


def _separated_duplicates(fold: Fold, duplicates, ids) -> list[str]:
    """A warning naming the duplicates (pairs of positions in ``ids``) a predefined split puts on both sides."""
    side = {int(i): name for name, part in (("train", fold.train), ("test", fold.test),
                                            ("validation", fold.validation)) for i in part}
    apart = [(a, b) for a, b in duplicates or () if a in side and b in side and side[a] != side[b]]
    if not apart:
        return []
    shown = ", ".join(f"{ids[a]} ({side[a]}) = {ids[b]} ({side[b]})" for a, b in apart[:5])
    return [f"the predefined split puts {_plural(len(apart), 'pair')} of duplicates on both sides: {shown}"
            f"{', …' if len(apart) > 5 else ''}; results are likely inflated (see `genrekit duplicates`)"]
