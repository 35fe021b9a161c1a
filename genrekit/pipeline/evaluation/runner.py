"""The benchmark runner: one split, every model, the same folds → leaderboard, reports, figures.

:func:`run_benchmark` reads like the protocol in README:

1. **input** — open the features as a :class:`~genrekit.pipeline.evaluation.inputs.FeatureSource`
   (a store, tables, or both joined) and keep its labelled tracks;
2. **split** — computed once (:mod:`genrekit.pipeline.evaluation.splits`) and handed to every model;
3. **jobs** — one per model × fold (and one refit per model with ``save_models``);
4. **run** — in parallel through joblib (:func:`~genrekit.pipeline.evaluation.jobs.run_job`);
5. **aggregate** — mean ± std over folds, pooled scores with bootstrap intervals
   (:mod:`~genrekit.pipeline.evaluation.uncertainty`), the leaderboard ranked by a pooled score;
6. **write** — ``results.json``, ``leaderboard.csv``, ``predictions.csv``, ``report.md``,
   ``figures/*.png`` and, with ``save_models``, ``models/<model>.joblib`` in ``out``.

Inputs follow each model's declared ``input``: ``"summary"`` models get rows of the summary
table; ``"frames"`` models get a :class:`~genrekit.pipeline.evaluation.inputs.FrameSequence`.
A model whose parameters include ``frame_rate`` or ``device`` gets the store's frames per
second and ``device=`` (``--device``) unless ``--param`` set them; one whose ``fit`` takes
``groups=`` gets the training tracks' artists (when known), so that the validation tracks a
neural head carves for early stopping share no artist with those it trains on.

Everything random is seeded from ``seed`` and every job runs with one BLAS/OpenMP thread, so the
same command gives identical metrics, whatever ``workers`` is.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit import __version__
from genrekit.cache.layout import DEFAULT_STORE
from genrekit.errors import GenrekitError, ParameterError, StoreError
from genrekit.files import atomic_write_text, no_space
from genrekit.pipeline.evaluation.inputs import FrameSequence, open_source
from genrekit.pipeline.evaluation.jobs import INNER_FOLDS, TUNE_SCORING, frame_rate_of, jsonable, run_job
from genrekit.pipeline.evaluation.metrics import RANK_METRIC, rank, summarise_model
from genrekit.pipeline.evaluation.report.tables import untrained_labels

from genrekit.pipeline.evaluation.run_folder import DEFAULT_RUNS, RunFolder
from genrekit.pipeline.evaluation.uncertainty import add_pooled, uncertainty_doc
from genrekit.pipeline.evaluation.tag_targets import DEFAULT_MIN_TAG_COUNT, choose_task
from genrekit.roles import any_group_known, fill_groups

#: The largest seed numpy's and scikit-learn's random states accept.
MAX_SEED = 2**32 - 1

__all__ = ["BenchmarkResult", "DEFAULT_RUNS", "DEFAULT_STORE", "run_benchmark"]


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` produced.

    Attributes
    ----------
    out_dir : Path
        The run folder.
    results : dict
        Everything in ``results.json``.
    leaderboard : list of dict
        One row per model that ran, best first (ranked by pooled balanced accuracy).
    split : Split
    artifacts : dict
        ``model -> path`` of saved artifacts (``save_models=True``).
    """

    out_dir: Path
    results: dict
    leaderboard: list
    split: object
    artifacts: dict = field(default_factory=dict)

    @property
    def report_path(self) -> Path:
        return self.out_dir / "report.md"

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.json"

    @property
    def failed(self) -> dict:
        """``model -> error`` of models that failed."""
        return {n: m["error"] for n, m in self.results["models"].items() if m.get("error")}

    def table(self) -> str:
        """The leaderboard as a fixed-width text table."""
        from genrekit.pipeline.evaluation.tagging_metrics import any_leaderboard_table
        return any_leaderboard_table(self.leaderboard)



def run_benchmark(
    store=DEFAULT_STORE,
    models: str | list[str] | None = None,
    *,
    split: str | None = None,
    seed: int = 0,
    params: dict | None = None,
    tune: bool = False,
    out=None,
    save_models: bool = False,
    workers: int | None = None,
    features: list[str] | None = None,
    progress: bool = True,
    log=None,
    device: str | None = None,
    on_leaderboard=None,
    ablation: bool = False,
    task: str | None = None,
    min_tag_count: int = DEFAULT_MIN_TAG_COUNT,
    duplicates: bool = True,
) -> BenchmarkResult:
    """Benchmark models on a feature store with one shared split.

    Parameters
    ----------
    store : path-like, FeatureStore or FeatureSource
        The feature store (``genrekit extract`` output), or feature tables joined with or without
        a store (:func:`genrekit.pipeline.tables.dataset.build_dataset`): summary models only; with two or
        more blocks each model runs per block and fused (``svm[block=…]``, ``svm[early]``,
        ``svm[late]``).
    models : str or list of str, optional
        Registry names (comma-separated string or list); None: the default set
        (:func:`genrekit.classifiers.default_models`).
    split : str, optional
        ``kfold:K``, ``group-kfold:K``, ``predefined`` or ``holdout:FRACTION``; None: grouped by
        artist when the store knows artists, stratified otherwise (see
        :func:`genrekit.pipeline.evaluation.splits.make_split`).
    seed : int
        Seeds the split, the models, the inner tuning folds.
    params : dict, optional
        ``{model: {param: value}}`` (see :func:`parse_params`); short names like ``C`` work.
    tune : bool
        Nested grid search (each model's small registry grid) inside every training fold.
    out : path-like, optional
        Run folder (default: a new ``runs/<timestamp>``). It must be new or empty, and is claimed
        for this run before anything is fitted (see
        :class:`~genrekit.pipeline.evaluation.run_folder.RunFolder`): a folder another run is
        using, a folder with files in it, a file, or a folder that cannot be written is refused
        at once. When writing fails (a full disk), everything this run wrote there is removed.
    save_models : bool
        Refit every model on all the benchmark's tracks (``predefined``: train + validation) and
        save one artifact per model under ``out/models``.
    workers : int, optional
        Parallel jobs over models × folds (default: all cores; 1 runs in this process).
    features : list of str, optional
        Restrict summary models to the summary columns of these features; frame models read the
        frame-level ones among them (:mod:`~genrekit.pipeline.evaluation.frame_choice`).
    progress : bool
        Show a tqdm bar on stderr.
    log : callable, optional
        Called with each line of information (split, warnings) as the run goes.
    device : str, optional
        Torch device of every neural head (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``;
        ``--param MODEL.device=...`` still wins); None: each head's own (``auto``).
    on_leaderboard : callable, optional
        Called with the leaderboard rows (see
        :func:`~genrekit.pipeline.evaluation.metrics.leaderboard_table`) as soon as the folds are
        scored, before anything is written into ``out``: the result is shown even when the disk
        is full.
    ablation : bool
        Also run every summary model on each feature (of ``features``, default all) alone, on
        the same folds: ``svm[block=mfcc]``, ``svm[block=chroma]``, … next to ``svm``
        (:mod:`~genrekit.pipeline.evaluation.ablation`).
    task : {"genre", "tagging"}, optional
        None: ``genre`` when any track has a label, else ``tagging`` when tracks have tags
        (:func:`~genrekit.pipeline.evaluation.tag_targets.choose_task`); ``tagging`` runs
        :func:`~genrekit.pipeline.evaluation.tagging_runner.run_tagging` (multi-hot targets).
    min_tag_count : int
        Tagging: tags on fewer tracks are dropped (and reported).
    duplicates : bool
        Keep tracks that hold the same recording (the store's fingerprints) on one side of every fold.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    StoreError
        Missing or unusable store.
    ParameterError
        Unknown model, bad ``--param``, impossible split, a frame model whose features the store
        lacks, a seed outside 0 … 2**32 - 1, an ``out`` that is in use, not empty or not writable.
    GenrekitError
        The disk filled up while writing the results (nothing partial is left in ``out``).
    """
    say = log or (lambda s: None)
    t_start = time.monotonic()
    seed = _check_run_args(seed, workers, device)
    source = open_source(store)
    if choose_task(task, source) == "tagging":
        from genrekit.pipeline.evaluation.tagging_runner import run_tagging
        return run_tagging(source, models, split=split, seed=seed, params=params, tune=tune, out=out,
                           save_models=save_models, workers=workers, features=features, progress=progress, log=log,
                           device=device, on_leaderboard=on_leaderboard, min_tag_count=min_tag_count, t_start=t_start,
                           duplicates=duplicates)
    if ablation:
        from genrekit.pipeline.evaluation.ablation import FeatureAblation

        source = FeatureAblation(source, features)
    plan = _plan_models(source, models, params, seed, save_models)
    RunFolder(out).check()  # an --out that cannot be used is refused now, before any work
    data = _labelled(source)
    summary, columns = _summary_input(source, plan, data, features)
    frame_inputs = _frame_inputs(source, plan, data, features)
    the_split = _split(source, split, seed, data, say, duplicates)
    inputs = {n: frame_inputs.get(n, summary) for n in plan.names}
    jobs = _make_jobs(plan, data, inputs, the_split, seed, tune, save_models, source, device)
    n_jobs = min(workers or os.cpu_count() or 1, len(jobs))
    folder = RunFolder(out).claim()  # before any fit: refused now, not after every fold ran
    try:
        say(f"running {len(plan.names)} model{'s' if len(plan.names) > 1 else ''} × {the_split.n_folds} "
            f"fold{'s' if the_split.n_folds > 1 else ''}{' with nested tuning' if tune else ''} "
            f"on {n_jobs} worker{'s' if n_jobs > 1 else ''}")
        results = _run_jobs(jobs, n_jobs, progress)
        per_model = _aggregate(plan, results, frame_inputs, say)
        boot = add_pooled(per_model, results, the_split, data.y, data.groups, seed)  # pooled scores, intervals
        leaderboard = rank(per_model, plan.names, {n: plan.specs[n].input for n in plan.names}, the_split.n_folds)
        if on_leaderboard is not None and leaderboard:
            on_leaderboard(leaderboard)  # before anything is written: shown even when the disk is full
        run = _Run(source, plan, data, the_split, seed, tune, features, columns, frame_inputs, folder.path,
                   save_models, device, n_jobs, boot)
        artifacts, doc = _write_run(folder, run, results, per_model, leaderboard, t_start, say)
    finally:
        folder.release()
    return finished(folder, plan, per_model, leaderboard, doc, the_split, artifacts)


def finished(folder, plan, per_model, leaderboard, doc, the_split, artifacts) -> BenchmarkResult:
    """The run's result, or the one-line error when every model failed (genre and tagging runs)."""
    if not leaderboard:
        first = plan.names[0]
        raise GenrekitError(f"every model failed (first: {first}: {per_model[first]['error']}); "
                            f"details in {folder.path / 'results.json'}")
    return BenchmarkResult(out_dir=folder.path, results=doc, leaderboard=leaderboard, split=the_split,
                           artifacts=artifacts)

# ============================================================================ 1. input
@dataclass
class _Plan:
    """The models of a run. ``names`` are leaderboard entries (a table of several blocks turns one
    requested model into several: per block, early and late fusion); ``base_of`` maps each back."""

    requested: list
    names: list
    specs: dict
    base_of: dict
    variants: dict
    params: dict


@dataclass
class _Data:
    """The labelled tracks of the source, in its order: what every fold indexes into."""

    mask: np.ndarray
    ids: np.ndarray
    labels: np.ndarray
    classes: list
    y: np.ndarray
    groups: np.ndarray
    n_unlabelled: int


@dataclass
class _Run:
    """Everything the outputs describe, gathered once the jobs have run."""

    source: object
    plan: _Plan
    data: _Data
    split: object
    seed: int
    tune: bool
    features: list | None
    columns: list | None
    frame_inputs: dict
    out_dir: Path
    save_models: bool
    device: str | None
    n_jobs: int
    boot: dict | None = None


def _check_run_args(seed, workers, device) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"--seed must be a whole number from 0 to {MAX_SEED} (2**32 - 1), got {seed!r}")
    if workers is not None and workers < 1:
        raise ParameterError(f"--workers must be >= 1, got {workers}")
    if device is not None:
        from genrekit.classifiers.torch_heads import resolve_device

        try:
            resolve_device(device)
        except ValueError as e:
            raise ParameterError(f"--device: {e}") from None
    return int(seed)


def _plan_models(source, models, params, seed, save_models) -> _Plan:
    """Resolve model names and ``--param``s (failing fast on bad ones) and the source's variants."""
    from genrekit.classifiers import get_spec, make_model, parse_model_list

    names = parse_model_list(models)
    specs = {n: get_spec(n) for n in names}
    params = {m: dict(p) for m, p in (params or {}).items()}
    for m in params:
        if m not in specs:
            get_spec(m)  # unknown model name → lists the available ones
            raise ParameterError(f"--param {m}.… is for model {m}, which is not in --models "
                                 f"({', '.join(names)}); add it to --models or drop the --param")
    for n in names:
        make_model(n, params.get(n), random_state=seed)  # fail fast on bad parameters
    variants = source.model_variants(names, specs, save_models=save_models)
    if not variants:
        return _Plan(list(names), list(names), specs, {n: n for n in names}, {}, params)
    return _Plan(list(names), list(variants), {n: specs[v.model] for n, v in variants.items()},
                 {n: v.model for n, v in variants.items()}, variants, params)


def _labelled(source) -> _Data:
    labels_all = source.labels
    mask = np.array([v is not None for v in labels_all])
    if not mask.any():
        raise StoreError(f"{getattr(source, 'what', 'store ' + str(source.path))} has no labelled tracks; extract a "
                         "folder per genre (AUDIO_DIR/<genre>/<file>) or a manifest with a label column")
    labels = labels_all[mask].astype(str)
    classes = sorted(set(labels))
    y = np.searchsorted(np.array(classes, dtype=object), labels).astype(np.int64)
    return _Data(mask, source.ids[mask], labels, classes, y, source.groups[mask], int((~mask).sum()))


def _summary_input(source, plan: _Plan, data: _Data, features):
    """The summary matrix of the labelled tracks (None when no summary model runs) and its names."""
    if not any(spec.input == "summary" for spec in plan.specs.values()):
        return None, None
    X, columns = source.summary(features)
    X = X[data.mask]
    if X.shape[1] == 0:
        raise StoreError(f"store {source.path} has no summary columns for features {features}")
    bad = np.isinf(X) if source.missing_allowed else ~np.isfinite(X)  # tables: NaN = missing, imputed
    if bad.any():
        raise StoreError(f"{getattr(source, 'what', 'store ' + str(source.path))}: the summary table holds "
                         f"{int(bad.sum())} non-finite values "
                         f"(e.g. column {columns[int(np.argwhere(bad)[0][1])]}); re-extract the store")
    return X, columns


def _frame_inputs(source, plan: _Plan, data: _Data, features) -> dict:
    """``model -> FrameSequence`` for every frame model, over the frame features it reads
    (:mod:`~genrekit.pipeline.evaluation.frame_choice`: ``--param``, else ``--features``, else its own)."""
    from genrekit.classifiers import make_model
    from genrekit.pipeline.evaluation.frame_choice import choose_frame_features

    out = {}
    for n, spec in plan.specs.items():
        if spec.input != "frames":
            continue
        chosen = make_model(n, plan.params.get(n)).get_params().get("frame_features")
        feats, notes = choose_frame_features(n, spec, chosen, features, source)
        source.warnings.extend(w for w in notes if w not in source.warnings)  # → the run's warnings
        out[n] = FrameSequence(source, data.ids, feats)
    return out


# ============================================================================ 2. split
def _split(source, spec, seed, data: _Data, say, duplicates=True):
    from genrekit.pipeline.evaluation.splits import split_for_store

    the_split = split_for_store(source, spec, seed, data.mask, duplicates=duplicates)
    say(f"split: {the_split.describe()}")
    the_split.notes.extend(source.notes)   # what the table readers and the join found
    the_split.warnings.extend(source.warnings)
    if data.n_unlabelled:
        the_split.notes.append(f"{data.n_unlabelled} unlabelled tracks left out")
    for n in the_split.notes:
        say(f"note: {n}")
    for w in the_split.warnings:
        say(f"warning: {w}")
    return the_split


# ============================================================================ 3. jobs
def _refit_indices(the_split, n: int) -> np.ndarray:
    """The tracks a saved model is refit on: all of them (``predefined``: train + validation)."""
    if the_split.kind == "predefined":
        f0 = the_split.folds[0]
        return np.sort(np.concatenate([f0.train, f0.validation]))
    return np.arange(n)


def _make_jobs(plan: _Plan, data: _Data, inputs, the_split, seed, tune, save_models, source, device) -> list[dict]:
    # inner tuning folds respect groups only when the outer split is grouped; a neural head's own
    # validation carve (early stopping) respects them whenever they are known
    inner_groups = fill_groups(data.groups) if the_split.grouped else None
    fit_groups = fill_groups(data.groups) if any_group_known(data.groups) else None
    cfg = source.config  # None for tables without a store
    runtime = {"frame_rate": frame_rate_of(cfg) if cfg is not None else None, "device": device}
    common = {"y": data.y, "groups": inner_groups, "seed": seed, "tune": tune, "n_classes": len(data.classes),
              "fit_groups": fit_groups, "runtime": runtime}
    jobs = []
    for n in plan.names:
        for f in the_split.folds:
            jobs.append({**common, "kind": "fold", "model": n, "fold": f.index, "X": inputs[n], "train": f.train,
                         "test": f.test, "params": plan.params.get(plan.base_of[n], {}), "base": plan.base_of[n],
                         "variant": plan.variants.get(n)})
    if save_models:
        refit = _refit_indices(the_split, len(data.y))
        for n in plan.names:
            jobs.append({**common, "kind": "refit", "model": n, "X": inputs[n], "train": refit,
                         "params": plan.params.get(n, {})})
    # costly fits first, so that parallel workers finish together (order never changes results)
    jobs.sort(key=lambda j: -plan.specs[j["model"]].cost)
    return jobs


# ============================================================================ 4. run
def _run_jobs(jobs: list[dict], n_jobs: int, progress: bool) -> list[dict]:
    from joblib import Parallel, delayed
    from genrekit.progress import progress_bar

    results = []
    bar = progress_bar(total=len(jobs), desc="benchmark", unit="fit", disable=not progress)
    try:
        if n_jobs == 1:
            stream = (run_job(j) for j in jobs)
        else:
            # loky restarts a reused worker whose memory grew (torch loads ~250 MB) and warns
            # about it; the jobs are resubmitted, results are unaffected.
            warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given",
                                    category=UserWarning)
            stream = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(run_job)(j) for j in jobs)
        for r in stream:
            results.append(r)
            bar.set_postfix_str(f"{r['model']}" + (f" fold {r['fold'] + 1}" if r["fold"] is not None else " refit"))
            bar.update(1)
    finally:
        bar.close()
    return results


# ============================================================================ 5. aggregate
def _aggregate(plan: _Plan, results, frame_inputs, say) -> dict:
    per_model = {}
    for n in plan.names:
        fr = [r for r in results if r["kind"] == "fold" and r["model"] == n]
        per_model[n] = summarise_model(plan.specs[n], fr, plan.params.get(plan.base_of[n], {}))
        if n in plan.variants and plan.variants[n].describe():
            per_model[n]["description"] += f"; {plan.variants[n].describe()}"
        if n in frame_inputs:
            per_model[n]["frame_features"] = list(frame_inputs[n].features)
        if per_model[n]["error"]:
            say(f"warning: model {n} failed: {per_model[n]['error']}")
    return per_model


# ============================================================================ 6. write
def _save_models(run: _Run, results, per_model, say) -> dict:
    """Save each refit model as an artifact under ``out/models``; ``model -> path``."""
    from genrekit.pipeline.prediction.artifacts import ModelArtifact, save_artifact

    names, artifacts = run.plan.names, {}
    n_refit = len(_refit_indices(run.split, len(run.data.y)))
    for r in sorted(results, key=lambda r: names.index(r["model"])):
        if r["kind"] != "refit":
            continue
        n = r["model"]
        if r["error"]:
            per_model[n].setdefault("artifact_error", r["error"])
            say(f"warning: could not refit {n} for saving: {r['error']}")
            continue
        chosen = dict(run.plan.params.get(n, {}))
        chosen.update(r.get("best_params", {}))
        summary = run.plan.specs[n].input == "summary"
        art = ModelArtifact(
            model=n, estimator=r["estimator"], config_json=run.source.config_json, classes=list(run.data.classes),
            input=run.plan.specs[n].input, columns=list(run.columns) if summary else None,
            frame_features=None if summary else list(run.frame_inputs[n].features),
            params=chosen, trained_on={
                "store": str(run.source.path), "config_hash": run.source.config_hash, "n_tracks": int(n_refit),
                "split": run.split.spec, "seed": run.seed, "tune": run.tune,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
        artifacts[n] = save_artifact(art, run.out_dir / "models" / f"{n}.joblib")
        per_model[n]["artifact"] = str(artifacts[n].relative_to(run.out_dir))
        per_model[n]["saved_params"] = {k: jsonable(v) for k, v in chosen.items()}  # --param names
    return artifacts


def _results_doc(run: _Run, per_model, leaderboard) -> dict:
    """Everything ``results.json`` holds (``seconds`` and ``figures`` are filled in by the caller)."""
    src, data, sp = run.source, run.data, run.split
    command = _canonical_command(src.command_args(), run.plan.requested, sp, run.seed, run.plan.params, run.tune,
                                 run.features, run.out_dir, run.save_models)
    return {
        "genrekit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": command + (f" --device {shlex.quote(run.device)}" if run.device else ""),
        "config": {"models": run.plan.names, "split": sp.spec, "seed": run.seed, "params": run.plan.params,
                   "tune": run.tune, "tune_scoring": TUNE_SCORING if run.tune else None,
                   "inner_folds": INNER_FOLDS if run.tune else None, "grids": _grids(run) if run.tune else None,
                   "features": list(run.features) if run.features else None, "rank_metric": RANK_METRIC,
                   "workers": run.n_jobs, "device": run.device},
        "store": {"path": str(src.path), "config_hash": src.config_hash,
                  "tracks_hash": _tracks_hash(data.ids, src.content_hashes(data.ids), src.config_hash),
                  "feature_config": json.loads(src.config_json), "n_tracks": int(len(src)),
                  "n_labelled": int(data.mask.sum()),
                  "n_summary_columns": None if run.columns is None else len(run.columns)},
        "dataset": src.describe(),  # tables: blocks, join, fusion
        "classes": data.classes,
        "class_counts": {c: int((data.y == i).sum()) for i, c in enumerate(data.classes)},
        "split": {**sp.to_dict(data.ids), "untrained": untrained_labels(sp, data.y, data.classes)},
        "versions": _versions(),
        "seconds": None,
        "models": per_model,
        "leaderboard": leaderboard,
        "uncertainty": uncertainty_doc(leaderboard, run.boot),  # bootstrap and paired comparisons
    }


def _grids(run: _Run) -> dict:
    """Each model's ``--tune`` grid as searched (``--param`` names, fixed parameters left out)."""
    from genrekit.classifiers.naming import model_grid

    return {n: model_grid(run.plan.base_of[n], run.plan.params.get(run.plan.base_of[n])) for n in run.plan.names}


def _write_run(folder: RunFolder, run: _Run, results, per_model, leaderboard, t_start, say):
    """Saved models, then every output file; on a failure to write, nothing partial is kept."""
    try:
        artifacts = _save_models(run, results, per_model, say) if run.save_models else {}
        doc = _results_doc(run, per_model, leaderboard)
        doc["seconds"] = round(time.monotonic() - t_start, 3)
        _write_outputs(run.out_dir, doc, results, run.data, run.split, leaderboard, per_model, run.plan.names, say)
    except BaseException as e:
        folder.discard()
        if isinstance(e, OSError) or no_space(e):
            full = no_space(e)
            what = "disk full" if full else f"{e.strerror or e}"
            raise GenrekitError(f"{what} while writing the benchmark results into {run.out_dir}: no partial files "
                                f"kept; {'free space' if full else 'fix that'} and run again") from e
        raise
    return artifacts, doc


def _write_outputs(out_dir: Path, doc, results, data: _Data, the_split, leaderboard, per_model, names, say):
    from genrekit.pipeline.evaluation.report import (render_report, write_figures, write_leaderboard_csv,
                                                     write_predictions)

    write_predictions(out_dir / "predictions.csv", results, data.ids, data.labels, data.classes, the_split)
    write_leaderboard_csv(out_dir / "leaderboard.csv", leaderboard, per_model, names)
    figures = {}
    try:
        figures = write_figures(out_dir / "figures", doc)
    except Exception as e:  # a plotting problem must not lose the results (a full disk stops the run)
        if no_space(e):
            raise
        say(f"warning: could not draw figures: {type(e).__name__}: {e}")
    doc["figures"] = {k: str(Path(v).relative_to(out_dir)) for k, v in figures.items()}
    atomic_write_text(out_dir / "results.json", json.dumps(doc, indent=1, default=jsonable), fsync=False)
    atomic_write_text(out_dir / "report.md", render_report(doc), fsync=False)


# ============================================================================ provenance
def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform(), "genrekit": __version__}
    for pkg in ("numpy", "scipy", "scikit-learn", "joblib", "h5py", "librosa", "soundfile", "matplotlib", "torch"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _tracks_hash(ids, content_hashes, config_hash) -> str:
    h = hashlib.sha256(config_hash.encode())
    for i, c in zip(ids, content_hashes):
        h.update(f"{i}\0{c}\n".encode())
    return h.hexdigest()[:16]


def _canonical_command(source_args, names, split, seed, params, tune, features, out, save_models) -> str:
    """The ``genrekit benchmark`` command that reruns this benchmark (``source_args``: --store/--table …)."""
    parts = ["genrekit", "benchmark", *source_args, "--models", ",".join(names),
             "--split", split.spec, "--seed", str(seed)]
    for m in sorted(params):
        for k, v in params[m].items():
            parts += ["--param", f"{m}.{k}={v}"]
    if features:
        parts += ["--features", ",".join(features)]
    if tune:
        parts.append("--tune")
    parts += ["--out", str(out)]
    if save_models:
        parts.append("--save-models")
    return shlex.join(parts)
