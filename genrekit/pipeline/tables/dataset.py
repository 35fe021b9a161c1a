"""Feature tables and a store joined on track id: the :class:`Dataset` a benchmark of tables reads.

:func:`build_dataset` joins a store's summary table and any number of tables on track id (inner
join) into a :class:`Dataset`. Rows are ordered by track id, as a store's are, so the same data
gives the same folds whatever the order of the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrekit.errors import ParameterError
from genrekit.pipeline.tables.readers import Table, read_table


@dataclass
class Block:
    """The columns one source contributes to a :class:`Dataset`."""

    name: str
    source: str
    format: str
    names: list
    X: np.ndarray

    @property
    def width(self) -> int:
        return self.X.shape[1]


class Dataset:
    """Tracks joined across sources: a :class:`~genrekit.pipeline.evaluation.inputs.FeatureSource`
    that :func:`~genrekit.pipeline.evaluation.runner.run_benchmark` takes instead of a store (see
    :func:`build_dataset`).

    Rows are ordered by id; ``summary()`` puts the blocks side by side; NaN is a missing value
    (imputed inside each model's pipeline); :meth:`model_variants` names the leaderboard entries
    (per block, fused). A table holds one vector per track: no frame features.

    Attributes
    ----------
    blocks : list of Block
    fusion : tuple of str
        ``("early",)``, ``("late",)`` or both (only used with two or more blocks).
    notes, warnings : list of str
        What the join and the readers found; the runner puts them into the report.
    """

    frame_features: tuple = ()
    missing_allowed = True

    def __init__(self, ids, labels, groups, splits, blocks, *, fusion=("early",), notes=(), warnings=(),
                 store=None, options=None, sources=None):
        self._ids = np.asarray(ids, dtype=object)
        self._labels = np.asarray(labels, dtype=object)
        self._groups = np.asarray(groups, dtype=object)
        self._splits = np.asarray(splits, dtype=object)
        self.blocks = list(blocks)
        self.fusion = tuple(fusion)
        self.notes = list(notes)
        self.warnings = list(warnings)
        self.store = store
        self.options = dict(options or {})
        self.sources = list(sources or [])
        n = len(self._ids)
        for b in self.blocks:
            if b.X.shape[0] != n:
                raise ParameterError(f"block {b.name} has {b.X.shape[0]} rows, the dataset {n}")
        self._hashes = None

    # ---- the store-like interface
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    @property
    def labels(self) -> np.ndarray:
        return self._labels.copy()

    @property
    def groups(self) -> np.ndarray:
        return self._groups.copy()

    @property
    def splits(self) -> np.ndarray:
        return self._splits.copy()

    @property
    def path(self) -> str:
        """What the data is, in a few words: ``store genrekit_store + lyrics.csv``."""
        return " + ".join((f"store {b.name}" if b.format == "store" else b.name) for b in self.blocks)

    @property
    def what(self) -> str:
        """What messages call this data: ``the table a.csv``, ``the tables a.csv + b.csv`` (plural: messages
        agree with it), or ``store s + a.csv`` when a store is joined."""
        tables = [b for b in self.blocks if b.format != "store"]
        if len(tables) == len(self.blocks):
            return f"the table{'s' if len(tables) > 1 else ''} {self.path}"
        return self.path

    @property
    def config_hash(self) -> str:
        return self.store.config_hash if self.store is not None else "none"

    @property
    def config_json(self) -> str:
        return self.store.config_json if self.store is not None else "null"

    @property
    def config(self):
        """The store's :class:`~genrekit.features.FeatureConfig`; None without a store."""
        return self.store.config if self.store is not None else None

    @property
    def n_missing(self) -> int:
        return int(sum(np.isnan(b.X).sum() for b in self.blocks))

    def summary(self, features=None) -> tuple[np.ndarray, list[str]]:
        """Every block side by side: ``X`` float32 ``[shape=(n_tracks, sum of widths)]`` and names.

        Column names that occur in two blocks are prefixed with their block: ``lyrics.csv:mean``.
        """
        if features is not None:
            raise ParameterError("--features selects store columns before the join: pass it to "
                                 "build_dataset(..., features=...), not to the benchmark of a dataset")
        X = np.concatenate([b.X for b in self.blocks], axis=1) if self.blocks else np.zeros((len(self), 0), np.float32)
        all_names = [n for b in self.blocks for n in b.names]
        seen = {n for n in all_names if all_names.count(n) > 1}
        names = [(f"{b.name}:{n}" if n in seen else n) for b in self.blocks for n in b.names]
        return X, names

    def content_hashes(self, ids) -> list[str]:
        """Per track: a hash of its values in every block and its label (the results' provenance)."""
        if self._hashes is None:
            self._hashes = {}
            for i, tid in enumerate(self._ids):
                h = hashlib.blake2b(digest_size=16)
                for b in self.blocks:
                    h.update(np.ascontiguousarray(b.X[i]).tobytes())
                h.update(str(self._labels[i]).encode())
                self._hashes[tid] = h.hexdigest()
        try:
            return [self._hashes[i] for i in ids]
        except KeyError as e:
            raise ParameterError(f"track {e.args[0]!r} is not in the dataset") from None

    def frame_matrix(self, track_id: str, features) -> np.ndarray:
        raise ParameterError("a feature table holds one summary vector per track, no frames")

    # ---- what the runner asks
    def model_variants(self, names, specs, *, save_models: bool = False) -> dict:
        """Leaderboard name → :class:`~genrekit.classifiers.fusion.ModelVariant` for ``names``.

        Raises
        ------
        ParameterError
            For a frame-sequence model (tables hold one vector per track) or ``save_models``.
        """
        from genrekit.classifiers.fusion import plan_variants

        frames = [n for n in names if specs[n].input != "summary"]
        if frames:
            s = "s" if len(frames) > 1 else ""
            raise ParameterError(
                f"model{s} {', '.join(frames)} read{'' if s else 's'} frame sequences, and a feature table holds "
                "one summary vector per track: benchmark tables with summary models (see `genrekit models`), "
                f"or run {', '.join(frames)} on the store alone (--store without --table)")
        if save_models:
            raise ParameterError("--save-models needs a store alone: a model trained on external tables "
                                 "cannot extract those features from audio for `genrekit predict`")
        return plan_variants(names, [(b.name, b.width) for b in self.blocks], self.fusion,
                             impute=self.n_missing > 0)

    def command_args(self) -> list[str]:
        """The ``genrekit benchmark`` arguments that rebuild this dataset."""
        out = []
        for b in self.blocks:
            out += ["--store" if b.format == "store" else "--table", b.source]
        for k in ("label", "group", "id", "split"):
            v = self.options.get(f"{k}_column")
            if v:
                out += [f"--{k}-column", v]
        if self.options.get("features"):
            out += ["--features", ",".join(self.options["features"])]
        if len(self.blocks) > 1:
            out += ["--fusion", "both" if len(self.fusion) == 2 else self.fusion[0]]
        return out

    def describe(self) -> dict:
        """JSON-ready description for ``results.json``."""
        return {
            "blocks": [{"name": b.name, "source": b.source, "format": b.format, "n_columns": b.width,
                        "n_missing": int(np.isnan(b.X).sum())} for b in self.blocks],
            "n_tracks": len(self),
            "fusion": list(self.fusion) if len(self.blocks) > 1 else None,
            "sources": self.sources,
            "options": self.options,
            "notes": self.notes,
            "warnings": self.warnings,
        }

    def __repr__(self) -> str:
        return f"Dataset({len(self)} tracks, blocks={[f'{b.name} ({b.width})' for b in self.blocks]})"


def _block_names(sources: list[Table]) -> list[str]:
    names = []
    for t in sources:
        p = Path(t.source)
        name = p.name if t.format != "store" else (p.name or str(p))
        if name in names:
            name = f"{p.parent.name}/{p.name}" if p.parent.name else name
        base, k = name, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        names.append(name)
    return names


def _coalesce(sources, values, ids_sorted, what, strict):
    """One value per track: the first source's, else the next's… Conflicts: error or count."""
    out = np.array([None] * len(ids_sorted), dtype=object)
    origin = [None] * len(ids_sorted)
    conflicts = []
    for t, vals in zip(sources, values):
        for i, v in enumerate(vals):
            if v is None:
                continue
            if out[i] is None:
                out[i], origin[i] = v, t
            elif out[i] != v:
                conflicts.append((ids_sorted[i], out[i], origin[i].name, v, t.name))
    if conflicts and strict:
        tid, a, sa, b, sb = conflicts[0]
        raise ParameterError(f"{len(conflicts)} tracks have different {what}s in different sources, e.g. {tid!r}: "
                             f"{a!r} in {sa} but {b!r} in {sb}; fix the tables or name the column of one "
                             f"source only")
    note = None
    if conflicts:
        tid, a, sa, b, sb = conflicts[0]
        note = (f"{len(conflicts)} tracks have different {what}s in different sources (e.g. {tid!r}: {a!r} in {sa}, "
                f"{b!r} in {sb}); the first source's is used")
    return out, note


def build_dataset(store=None, tables=(), *, features=None, label_column: str | None = None,
                  group_column: str | None = None, id_column: str | None = None,
                  split_column: str | None = None, fusion="early") -> Dataset:
    """Join a store's summary table and feature tables on track id, for the benchmark.

    Parameters
    ----------
    store : path-like or FeatureStore, optional
        Its summary table is the first block (restricted to ``features``); its labels, artists and
        splits come first.
    tables : sequence of path-like
        CSV, Parquet or ARFF files (see :func:`read_table`), one block each, named by file name.
    features : list of str, optional
        Store features to keep (``--features``).
    label_column, group_column, id_column, split_column : str, optional
        Role columns of the tables (defaults as in :func:`read_table`). A named id column must be
        in every table; a named label, group or split column in at least one.
    fusion : str or sequence
        ``early``, ``late`` or ``both``: how models use two or more blocks.

    Returns
    -------
    Dataset
        Rows = the track ids every source has (inner join), ordered by id; labels, groups and
        splits from the first source that has one for a track (labels that disagree between
        sources are an error).

    Raises
    ------
    ParameterError
        No source, no labels anywhere (naming the columns), ids that match nowhere (with examples
        from each side), duplicate ids, an unknown fusion.
    """
    from genrekit.classifiers.fusion import parse_fusion

    try:
        modes = parse_fusion(fusion)
    except ValueError as e:
        raise ParameterError(f"--fusion: {e}") from None
    tables = [tables] if isinstance(tables, (str, Path)) else list(tables or [])
    if store is None and not tables:
        raise ParameterError("nothing to benchmark: give a store, one or more tables, or both")
    if features is not None and store is None:
        raise ParameterError("--features selects columns of a store; the tables are used whole")
    roles = {"label_column": label_column, "group_column": group_column, "id_column": id_column,
             "split_column": split_column}
    sources = _read_sources(store, tables, features, roles)
    _check_roles(sources, roles, has_store=store is not None)
    names = _block_names(sources)
    notes = [n for t in sources for n in t.notes]
    warns = [w for t in sources for w in t.warnings]
    order, rows = _inner_join(sources, names, notes)
    labels, _ = _coalesce(sources, [t.labels[r] for t, r in zip(sources, rows)], order, "label", strict=True)
    groups, note_g = _coalesce(sources, [t.groups[r] for t, r in zip(sources, rows)], order, "group", strict=True)
    splits, note_s = _coalesce(sources, [t.splits[r] for t, r in zip(sources, rows)], order, "split", strict=False)
    notes += [n for n in (note_g, note_s) if n]
    blocks = [Block(name=n, source=t.source, format=t.format, names=list(t.names), X=t.X[r])
              for n, t, r in zip(names, sources, rows)]
    notes += _missing_notes(blocks)
    options = {**roles, "features": list(features) if features else None}
    described = [{"name": n, "source": t.source, "format": t.format, "rows": len(t), "columns": t.columns,
                  "left_out": t.left_out} for n, t in zip(names, sources)]
    fs = sources[0].store if sources[0].format == "store" else None
    return Dataset(np.array(order, dtype=object), labels, groups, splits, blocks, fusion=modes, notes=notes,
                   warnings=warns, store=fs, options=options, sources=described)


def _read_sources(store, tables, features, roles) -> list[Table]:
    """The store's summary table (first, when given), then each table read with the role columns."""
    sources: list[Table] = []
    if store is not None:
        sources.append(Table.from_store(store, features))
    lone = store is None and len(tables) == 1
    for p in tables:
        sources.append(read_table(p, **roles, require_label=lone, strict=lone))
    return sources


def _check_roles(sources: list[Table], roles: dict, *, has_store: bool):
    """Named role columns exist where they must, and some source has labels."""
    table_sources = [t for t in sources if t.format != "store"]
    for t in table_sources:
        if "id" in t.missing_roles:
            raise ParameterError(f"{t.name} has no id column {t.missing_roles['id']!r} (--id-column); "
                                 f"its columns: {', '.join(t.all_columns[:25])}")
    used = {t.columns.get("group") for t in table_sources} - {None}
    if len(used) > 1:  # a fusion run groups its folds by one column: a second one would disagree unseen
        raise ParameterError("the tables name their groups in different columns ("
                             + ", ".join(f"{t.name}: {t.columns['group']!r}" for t in table_sources
                                         if t.columns.get("group")) + "); every table of a run uses the same "
                             "group column: name it with --group-column (a table without it takes the others')")
    for key in ("label", "group", "split"):
        given = roles[f"{key}_column"]
        if given and table_sources and all(key in t.missing_roles for t in table_sources):
            raise ParameterError(f"no table has the {key} column {given!r} (--{key}-column); columns of "
                                 + "; ".join(f"{t.name}: {', '.join(t.all_columns[:25])}" for t in table_sources))
    if any(any(v is not None for v in t.labels) for t in sources):
        return
    label_column = roles["label_column"]
    if has_store:
        raise ParameterError(f"no labels: store {sources[0].source} has no labelled tracks and no table has a "
                             f"label column {label_column or 'label'!r} (columns of {table_sources[0].name}: "
                             f"{', '.join(table_sources[0].all_columns[:25])}); name it with --label-column")
    raise ParameterError("no table has a label column " + repr(label_column or "label") + "; columns of "
                         + "; ".join(f"{t.name}: {', '.join(t.all_columns[:25])}" for t in table_sources)
                         + ". Name it with --label-column")


def _inner_join(sources: list[Table], names: list[str], notes: list[str]) -> tuple[list, list[np.ndarray]]:
    """The ids every source has (sorted) and, per source, the row of each; notes what was left out."""
    id_sets = [set(t.ids.tolist()) for t in sources]
    common = set.intersection(*id_sets)
    if not common:
        ex = "; ".join(f"{n}: {', '.join(repr(v) for v in sorted(s)[:3])}" for n, s in zip(names, id_sets))
        numbered = [n for n, t in zip(names, sources) if t.columns.get("id") is None]
        hint = (f" ({', '.join(numbered)} ha{'ve' if len(numbered) > 1 else 's'} no id column, so rows are "
                "numbered 0, 1, …; name the id column with --id-column)") if numbered else \
            " (name the id column with --id-column)"
        raise ParameterError(f"no track id is in every source, so the join is empty; ids look like — {ex}{hint}")
    if len(sources) > 1:
        for n, s in zip(names, id_sets):
            left = len(s) - len(common)
            if left:
                ex = sorted(s - common)[:2]
                notes.append(f"{n}: {left} of {len(s)} tracks have no match in the other source"
                             f"{'s' if len(sources) > 2 else ''} and are left out (e.g. {', '.join(map(repr, ex))})")
        notes.append(f"joined on track id: {len(common)} tracks in all {len(sources)} sources")
    order = sorted(common)
    rows = []
    for t in sources:
        where = {v: i for i, v in enumerate(t.ids.tolist())}
        rows.append(np.array([where[v] for v in order], dtype=np.int64))
    return order, rows


def _missing_notes(blocks: list[Block]) -> list[str]:
    notes = []
    for b in blocks:
        miss = np.isnan(b.X)
        if miss.any():
            cols = [b.names[j] for j in np.flatnonzero(miss.any(axis=0))]
            shown = f"{', '.join(cols[:5])}{', …' if len(cols) > 5 else ''}"
            plural = "s" if len(cols) > 1 else ""
            notes.append(f"{b.name}: {int(miss.sum())} missing values in {len(cols)} column{plural} "
                         f"({shown}): mean-imputed inside each model's pipeline, fitted on the training fold only")
    return notes
