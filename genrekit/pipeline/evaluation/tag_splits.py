"""Splits for multi-label targets: the protocols of :mod:`~genrekit.pipeline.evaluation.splits`
(``kfold:K``, ``group-kfold:K``, ``predefined``, ``holdout:FRACTION``) over multi-hot rows.

Stratification is iterative stratification (Sechidis et al. 2011; Szymański & Kajdanowicz 2017)
from the ``iterative-stratification`` package: every tag as evenly spread over the folds as it
can be. Grouping is what genrekit adds on top: with artists known, whole artists are stratified
(an artist's row is the union of its tracks' tags) and each artist's tracks follow it, so no
artist is on both sides of a fold. The result is the same :class:`~.splits.Split` the genre
runner uses.
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import ParameterError
from genrekit.pipeline.evaluation.splits import (DEFAULT_FOLDS, Fold, Split, SplitSpec, _fill_groups, _predefined,
                                                  keep_duplicates_together, parse_split)


def _stratified_folds(Y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(Y), 1)), Y))


def _grouped_folds(Y: np.ndarray, g: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds of whole groups: stratify the groups' tag unions, then give each track its group's fold."""
    names, of_track = np.unique(g, return_inverse=True)
    G = np.zeros((len(names), Y.shape[1]), dtype=np.uint8)
    np.maximum.at(G, of_track, Y)
    out = []
    for _, test_groups in _stratified_folds(G, k, seed):
        test = np.flatnonzero(np.isin(of_track, test_groups))
        out.append((np.setdiff1d(np.arange(len(Y)), test), test))
    return out


def _tag_warnings(folds: list[Fold], Y: np.ndarray, tags) -> list[str]:
    """Tags that a fold cannot train or score (no positive in its training or test part)."""
    out = []
    for j, t in enumerate(tags):
        no_train = [f.index + 1 for f in folds if not Y[f.train, j].any()]
        no_test = [f.index + 1 for f in folds if len(np.unique(Y[f.test, j])) < 2]
        parts = []
        if no_train:
            parts.append(f"no training positive in fold{'s' if len(no_train) > 1 else ''} {', '.join(map(str, no_train))}")
        if no_test:
            parts.append(f"no positive or no negative test track in fold{'s' if len(no_test) > 1 else ''} "
                         f"{', '.join(map(str, no_test))} (left out of that fold's macro averages)")
        if parts:
            out.append(f"tag {t!r}: " + "; ".join(parts))
    return out


def make_tag_split(Y, tags, groups=None, split_column=None, spec: str | SplitSpec | None = None,
                   seed: int = 0, duplicates=None) -> Split:
    """Compute the evaluation split of multi-hot targets ``Y`` (n_tracks, n_tags) once.

    The default is ``group-kfold:5`` when groups (artists) are known and ``kfold:5`` otherwise,
    with fewer folds when there are fewer artists or tracks. Tags a fold cannot train or score
    become warnings on the split, never errors.

    Raises
    ------
    ParameterError
        When the protocol cannot run: more folds than tracks or artists, ``group-kfold`` without
        artists, no predefined train/test split, an empty training or test part.

    ``duplicates`` (pairs of positions of tracks holding the same recording) are kept on one side
    of every fold, as :func:`~genrekit.pipeline.evaluation.splits.make_split` keeps them.
    """
    Y = np.asarray(Y, dtype=np.uint8)
    n = len(Y)
    if n < 2:
        raise ParameterError(f"need at least 2 tagged tracks to benchmark tagging, got {n}")
    seed = int(seed)
    g, n_without = _fill_groups(groups, n)
    parsed = parse_split(spec) if not isinstance(spec, SplitSpec) else spec
    notes: list[str] = []
    warn: list[str] = []
    is_default = parsed is None
    if is_default:
        parsed = SplitSpec("group-kfold" if g is not None else "kfold", k=DEFAULT_FOLDS)
    kind = parsed.kind
    if kind == "group-kfold" and g is None:
        raise ParameterError("--split group-kfold needs artists (a group column) in the store, and it has none; "
                             "use --split kfold:K")
    if g is not None and n_without and kind != "kfold":
        notes.append(f"{n_without} tracks without an artist: each counts as its own group")
    merged = keep_duplicates_together(g, n, duplicates, kind, notes)  # None: no duplicates to keep together
    g_split = g if merged is None else merged
    if kind in ("kfold", "group-kfold"):
        units = len(set(g_split)) if kind == "group-kfold" else n
        k = parsed.k
        if k > units:
            if not (is_default and units >= 2):
                raise ParameterError(f"--split {kind}:{k} needs at least {k} {'artists' if kind == 'group-kfold' else 'tagged tracks'}, "
                                     f"there are {units}; use --split {kind}:{max(2, units)}")
            notes.append(f"only {units} {'artists' if kind == 'group-kfold' else 'tracks'}: using {kind}:{units}")
            k = units
        parsed = SplitSpec(kind, k=k)
        pairs = _grouped_folds(Y, g_split, k, seed) if merged is not None or kind == "group-kfold" \
            else _stratified_folds(Y, k, seed)
        folds = [Fold(i, np.sort(tr), np.sort(te)) for i, (tr, te) in enumerate(pairs)]
    elif kind == "holdout":
        k = int(max(2, round(1 / parsed.fraction)))
        k = min(k, len(set(g_split))) if g_split is not None else min(k, n)
        tr, te = (_grouped_folds(Y, g_split, k, seed) if g_split is not None else _stratified_folds(Y, k, seed))[0]
        folds = [Fold(0, np.sort(tr), np.sort(te))]
        notes.append(f"holdout: {len(te)} of {n} tracks ({len(te) / n:.0%}) in test, stratified by tag"
                     + (", whole artists on one side" if g is not None else ""))
    else:
        folds = _predefined(None, split_column, None, warn, notes)
    for f in folds:
        if len(f.test) == 0 or len(f.train) == 0:
            raise ParameterError(f"--split {parsed}: fold {f.index + 1} has no "
                                 f"{'test' if len(f.test) == 0 else 'training'} tracks; use fewer folds")
    leaks = g is not None and any(set(g[f.train]) & set(g[f.test]) for f in folds)
    if leaks and kind in ("kfold", "predefined"):
        warn.append(f"the store knows artists but --split {parsed} is not grouped: artists have tracks on both "
                    f"sides of a fold, so results are likely inflated; use --split group-kfold:{parsed.k or DEFAULT_FOLDS}")
    warn.extend(_tag_warnings(folds, Y, tags))
    return Split(spec=str(parsed), kind=kind, seed=seed, grouped=g is not None and not leaks, folds=folds,
                 warnings=warn, notes=notes)
