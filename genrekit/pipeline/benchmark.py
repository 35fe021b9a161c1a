"""The benchmark runner: one split, every model, the same folds → leaderboard, reports, figures.

:func:`run_benchmark` opens a feature store, computes the split once (see
:mod:`genrekit.pipeline.splits`), and evaluates every requested model on every fold — in
parallel over models × folds through joblib. Each model is built fresh per fold from the
registry (:mod:`genrekit.classifiers`), so its scaler and every other fitted transform sees the
training fold only; ``tune=True`` wraps it in a ``GridSearchCV`` whose inner folds are drawn from
the training fold (grouped by artist when the split is), never from the test fold.

Inputs follow each model's declared ``input``: ``"summary"`` models get rows of the store's
summary table; ``"frames"`` models get a :class:`FrameSequence`, a lazy sequence of per-track
frame matrices read from the store. A model whose parameters include ``frame_rate`` or
``device`` gets the store's frames per second and ``device=`` (``--device``) unless ``--param``
set them; one whose ``fit`` takes ``groups=`` gets the training tracks' artists (when known),
so that the validation tracks a neural head carves for early stopping share no artist with
those it trains on. A fitted model's ``history_`` (per-epoch losses) goes to ``results.json``
and a learning-curve figure.

Everything random is seeded from ``seed`` and every job runs with one BLAS/OpenMP thread, so the
same command gives identical metrics, whatever ``workers`` is.

Outputs in ``out`` (default ``runs/<timestamp>``): ``results.json``, ``leaderboard.csv``,
``predictions.csv``, ``report.md``, ``figures/*.png`` and, with ``save_models``,
``models/<model>.joblib``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import shlex
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit import __version__
from genrekit.errors import GenrekitError, ParameterError, StoreError

DEFAULT_STORE = "genrekit_store"
DEFAULT_RUNS = "runs"

#: Fold metrics, in leaderboard order, with their display names.
METRICS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced acc.",
    "f1_macro": "macro-F1",
    "precision_macro": "macro precision",
    "recall_macro": "macro recall",
}
#: The metric the leaderboard is ranked by (robust to label imbalance and to folds that miss labels).
RANK_METRIC = "balanced_accuracy"
TUNE_SCORING = "balanced_accuracy"
INNER_FOLDS = 3


# ============================================================================ frame-model input
class FrameSequence(Sequence):
    """Per-track frame matrices of a store, read lazily: what ``input="frames"`` models receive.

    ``X[i]`` is a float32 array ``[shape=(n_frames_i, n_dims)]``: the frame features
    ``features`` of track ``ids[i]`` side by side, in that order. Picklable (each process opens
    its own file handles), so it travels to joblib workers without copying frames.

    Parameters
    ----------
    store : FeatureStore
    ids : sequence of str
        Track ids, in the order of the benchmark's ``y``.
    features : sequence of str
        Frame features to stack.
    """

    def __init__(self, store, ids, features):
        self.store = store
        self.ids = np.asarray(ids, dtype=object)
        self.features = tuple(features)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        if isinstance(i, (int, np.integer)):
            return np.asarray(self.store.frame_matrix(self.ids[int(i)], self.features), dtype=np.float32)
        return self.take(i)

    def take(self, indices) -> "FrameSequence":
        """A lazy view of the tracks at ``indices`` (ints or a boolean mask)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return FrameSequence(self.store, self.ids[idx], self.features)

    @property
    def n_dims(self) -> int:
        dims = self.store.config.feature_dims()
        return int(sum(dims[f] for f in self.features))

    def __repr__(self) -> str:
        return f"FrameSequence({len(self)} tracks, features={list(self.features)})"


def _take(X, idx):
    return X.take(idx) if isinstance(X, FrameSequence) else X[idx]


# ============================================================================ parameters
def parse_value(text: str):
    """``--param`` value: int, float, bool (true/false/yes/no), None (none/null) or the string."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_params(items: list[str] | None) -> dict[str, dict]:
    """Parse repeated ``--param MODEL.KEY=VALUE`` into ``{model: {key: value}}``.

    Raises
    ------
    ParameterError
        For an item without ``MODEL.`` or ``=VALUE``, or a key given twice.
    """
    out: dict[str, dict] = {}
    for item in items or []:
        lhs, eq, value = item.partition("=")
        model, dot, key = lhs.strip().partition(".")
        if not eq or not dot or not model or not key.strip():
            raise ParameterError(f"--param {item!r} is not MODEL.KEY=VALUE (e.g. --param svm.C=10)")
        key = key.strip()
        if key in out.setdefault(model, {}):
            raise ParameterError(f"--param {model}.{key} is given twice")
        out[model][key] = parse_value(value)
    return out


# ============================================================================ one fold
def _inner_cv(y, groups, seed):
    """Inner folds for --tune, drawn from the training fold only (grouped when ``groups``)."""
    from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

    zeros = np.zeros(len(y))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        if groups is not None:
            k = min(INNER_FOLDS, len(set(groups)))
            if k >= 2:
                return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(zeros, y, groups))
            return None
        _, counts = np.unique(y, return_counts=True)
        k = min(INNER_FOLDS, len(y))
        if k < 2:
            return None
        if counts.max() >= k:
            return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(zeros, y))
        return list(KFold(k, shuffle=True, random_state=seed).split(zeros))


def _apply_runtime(est, runtime, user_params):
    """Set what the run knows (``frame_rate`` of the store's frames, ``device`` of ``--device``) on an
    estimator that has such a parameter, unless the user set it with ``--param``."""
    if not runtime:
        return est
    own = est.get_params()
    given = set(user_params or {})
    todo = {k: v for k, v in runtime.items() if v is not None and k in own and k not in given}
    return est.set_params(**todo) if todo else est


def _fit_takes_groups(est) -> bool:
    """Whether ``est.fit`` accepts ``groups=`` (neural heads: validation tracks carved by artist)."""
    import inspect

    try:
        return "groups" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


def _build(name, params, seed, tune, y_train, groups_train, runtime=None, variant=None):
    """The estimator to fit on one training set: the registry model, or its nested grid search.

    ``variant`` (a :class:`~genrekit.classifiers.fusion.ModelVariant`, for table inputs) wraps the
    model: one feature block alone, early or late fusion, imputation of missing values."""
    from sklearn.model_selection import GridSearchCV

    from genrekit.classifiers import make_model, tuning_grid

    base = _apply_runtime(make_model(name, params, random_state=seed), runtime, params)
    est = variant.wrap(base) if variant is not None else base
    if not tune:
        return est, None
    grid = tuning_grid(name, params, base)
    if variant is not None:
        grid = variant.wrap_grid(grid)
    if not grid:
        return est, "no tuning grid for this model: defaults used"
    cv = _inner_cv(y_train, groups_train, seed)
    if cv is None:
        return est, "training set too small for inner folds: defaults used"
    return GridSearchCV(est, grid, cv=cv, scoring=TUNE_SCORING, n_jobs=1, refit=True, error_score=np.nan), None


def _fold_metrics(y_true, y_pred, n_classes) -> dict:
    from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                                 precision_recall_fscore_support)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels absent from a fold's test set are expected
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
        pc, rc, fc, sc = precision_recall_fscore_support(y_true, y_pred, labels=np.arange(n_classes),
                                                         average=None, zero_division=0)
        m = {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "f1_macro": float(f), "precision_macro": float(p), "recall_macro": float(r),
        }
    m["per_class"] = {"precision": pc.round(6).tolist(), "recall": rc.round(6).tolist(),
                      "f1": fc.round(6).tolist(), "support": sc.astype(int).tolist()}
    m["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes)).tolist()
    return m


def _run_job(job: dict) -> dict:
    """Fit one model on one training set; evaluate it on the test set (``kind="fold"``) or keep
    it for saving (``kind="refit"``). Never raises: an error is returned as text."""
    from threadpoolctl import threadpool_limits

    res = {"kind": job["kind"], "model": job["model"], "fold": job.get("fold"), "error": None,
           "warnings": []}
    X, y, groups = job["X"], job["y"], job.get("groups")
    tr = job["train"]
    Xtr, ytr = _take(X, tr), y[tr]
    gtr = groups[tr] if groups is not None else None
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
        warnings.simplefilter("always")
        try:
            est, note = _build(job.get("base", job["model"]), job["params"], job["seed"], job["tune"], ytr, gtr,
                               job.get("runtime"), job.get("variant"))
            if note:
                res["warnings"].append(note)
            fit_groups = job.get("fit_groups")
            t0, c0 = time.perf_counter(), time.process_time()
            if fit_groups is not None and _fit_takes_groups(est):
                est.fit(Xtr, ytr, groups=fit_groups[tr])
            else:
                est.fit(Xtr, ytr)
            res["fit_seconds"] = time.perf_counter() - t0
            res["fit_cpu_seconds"] = time.process_time() - c0
            if hasattr(est, "best_params_"):
                res["best_params"] = {k: _jsonable(v) for k, v in est.best_params_.items()}
                est = est.best_estimator_
            if getattr(est, "history_", None):  # per-epoch learning curve of a neural head
                res["history"] = [{k: _jsonable(v) for k, v in h.items()} for h in est.history_]
            if job["kind"] == "fold":
                te = job["test"]
                Xte = _take(X, te)
                t0 = time.perf_counter()
                pred = np.asarray(est.predict(Xte), dtype=np.int64)
                res["predict_seconds"] = time.perf_counter() - t0
                res["predictions"] = pred.tolist()
                res.update(_fold_metrics(y[te], pred, job["n_classes"]))
            else:
                res["estimator"] = est
        except GenrekitError:
            raise
        except Exception as e:  # one model failing must not sink the others
            res["error"] = f"{type(e).__name__}: {e}"
    seen = set()
    for w in caught:
        msg = f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"
        if msg not in seen:
            seen.add(msg)
            res["warnings"].append(msg)
    return res


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return repr(v)


# ============================================================================ the result
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
        One row per model that ran, best first (ranked by mean balanced accuracy).
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
        return leaderboard_table(self.leaderboard)


def leaderboard_table(rows: list[dict]) -> str:
    """Fixed-width text table of leaderboard rows (as in :attr:`BenchmarkResult.leaderboard`)."""
    shown = ("accuracy", "balanced_accuracy", "f1_macro")
    head = ["rank", "model"] + [METRICS[m] for m in shown] + ["fit s", "predict s"]
    body = []
    for r in rows:
        body.append([str(r["rank"]), r["model"]]
                    + [f"{r[m + '_mean']:.3f} ± {r[m + '_std']:.3f}" for m in shown]
                    + [f"{r['fit_seconds_mean']:.2f}", f"{r['predict_seconds_mean']:.3f}"])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 1 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    for b in body:
        lines.append("  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths))))
    return "\n".join(lines)


# ============================================================================ helpers
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


def _default_out() -> Path:
    base = Path(DEFAULT_RUNS) / time.strftime("%Y%m%d-%H%M%S")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _canonical_command(store, names, split, seed, params, tune, features, out, save_models) -> str:
    # ``store``: a path, or the argument list of a table Dataset (--store/--table/--fusion …)
    source = list(store) if isinstance(store, list) else ["--store", str(store)]
    parts = ["genrekit", "benchmark", *source, "--models", ",".join(names),
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


def _summarise_model(spec, fold_results, user_params) -> dict:
    """Mean ± std over folds, pooled confusion matrix and per-class scores."""
    folds = sorted(fold_results, key=lambda r: r["fold"])
    errors = [r["error"] for r in folds if r["error"]]
    warns = sorted({w for r in folds for w in r["warnings"]})
    entry = {"description": spec.description, "input": spec.input, "params": user_params,
             "warnings": warns, "error": None}
    if errors:
        entry["error"] = errors[0]
        return entry
    keep = ("fold", "fit_seconds", "fit_cpu_seconds", "predict_seconds", *METRICS, "per_class", "confusion_matrix", "best_params",
            "history")
    entry["folds"] = [{k: r[k] for k in keep if k in r} for r in folds]
    for k in (*METRICS, "fit_seconds", "predict_seconds"):
        vals = np.array([r[k] for r in folds], dtype=float)
        entry[k] = {"mean": float(vals.mean()), "std": float(vals.std()), "folds": vals.round(6).tolist()}
    cm = np.sum([np.array(r["confusion_matrix"]) for r in folds], axis=0)
    entry["confusion_matrix"] = cm.tolist()
    from sklearn.metrics import precision_recall_fscore_support

    true, pred = np.divmod(np.arange(cm.size), len(cm))  # each cell of the pooled matrix, weighted by its count
    prec, rec, f1, _ = precision_recall_fscore_support(true, pred, labels=np.arange(len(cm)),
                                                       sample_weight=cm.ravel(), zero_division=0)
    entry["per_class_pooled"] = {"precision": prec.round(6).tolist(), "recall": rec.round(6).tolist(),
                                 "f1": f1.round(6).tolist(), "support": cm.sum(1).astype(int).tolist()}
    if any(r.get("history") for r in folds):
        entry["learning_curve"] = learning_curve([r.get("history") or [] for r in folds])
    return entry


#: Per-epoch values of a neural head's ``history_`` that learning curves show.
CURVE_KEYS = ("train_loss", "valid_loss", "train_accuracy", "valid_accuracy")


def learning_curve(histories: list[list[dict]]) -> dict:
    """Mean per-epoch curves over folds (``history_`` of each fold's fitted model).

    Folds may stop early at different epochs: epoch ``e`` averages the folds that reached it
    (``n_folds`` says how many). Returns ``{"epoch": [...], "n_folds": [...], key: [...]}`` for
    every key of :data:`CURVE_KEYS` (None where no fold has a value).
    """
    n = max((len(h) for h in histories), default=0)
    out = {"epoch": list(range(1, n + 1)), "n_folds": [sum(len(h) > e for h in histories) for e in range(n)]}
    for k in CURVE_KEYS:
        vals = []
        for e in range(n):
            v = [h[e][k] for h in histories if len(h) > e and h[e].get(k) is not None]
            vals.append(round(float(np.mean(v)), 6) if v else None)
        out[k] = vals
    return out


# ============================================================================ the runner
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
) -> BenchmarkResult:
    """Benchmark models on a feature store with one shared split.

    Parameters
    ----------
    store : path-like, FeatureStore or Dataset
        The feature store (``genrekit extract`` output), or feature tables joined with or without
        a store (:func:`genrekit.pipeline.tables.build_dataset`): summary models only; with two or
        more blocks each model runs per block and fused (``svm[block=…]``, ``svm[early]``,
        ``svm[late]``).
    models : str or list of str, optional
        Registry names (comma-separated string or list); None: the default set
        (:func:`genrekit.classifiers.default_models`).
    split : str, optional
        ``kfold:K``, ``group-kfold:K``, ``predefined`` or ``holdout:FRACTION``; None: grouped by
        artist when the store knows artists, stratified otherwise (see
        :func:`genrekit.pipeline.splits.make_split`).
    seed : int
        Seeds the split, the models, the inner tuning folds.
    params : dict, optional
        ``{model: {param: value}}`` (see :func:`parse_params`); short names like ``C`` work.
    tune : bool
        Nested grid search (each model's small registry grid) inside every training fold.
    out : path-like, optional
        Run folder (default ``runs/<timestamp>``); created, files in it overwritten.
    save_models : bool
        Refit every model on all the benchmark's tracks (``predefined``: train + validation) and
        save one artifact per model under ``out/models``.
    workers : int, optional
        Parallel jobs over models × folds (default: all cores; 1 runs in this process).
    features : list of str, optional
        Restrict summary models to the summary columns of these features.
    progress : bool
        Show a tqdm bar on stderr.
    log : callable, optional
        Called with each line of information (split, warnings) as the run goes.
    device : str, optional
        Torch device of every neural head (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``;
        ``--param MODEL.device=...`` still wins); None: each head's own (``auto``).

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    StoreError
        Missing or unusable store.
    ParameterError
        Unknown model, bad ``--param``, impossible split, a frame model whose features the store
        lacks.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from genrekit.cache.store import FeatureStore
    from genrekit.classifiers import get_spec, make_model, parse_model_list
    from genrekit.pipeline.splits import split_for_store

    say = log or (lambda s: None)
    t_start = time.monotonic()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"--seed must be a whole number >= 0, got {seed!r}")
    seed = int(seed)
    if workers is not None and workers < 1:
        raise ParameterError(f"--workers must be >= 1, got {workers}")
    from genrekit.pipeline.tables import Dataset  # external tables joined (or not) with a store

    fs = store if isinstance(store, (FeatureStore, Dataset)) else FeatureStore(store)
    store_path = fs.path

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
    # table inputs: leaderboard name -> ModelVariant (per block, early/late fusion, imputation)
    base_names, variants = list(names), {}
    if isinstance(fs, Dataset):
        variants = fs.plan_models(names, specs, save_models=save_models)
        names, specs = list(variants), {n: specs[v.model] for n, v in variants.items()}
    base_of = {n: (variants[n].model if n in variants else n) for n in names}
    if device is not None:
        from genrekit.classifiers.torch_heads import resolve_device

        try:
            resolve_device(device)
        except ValueError as e:
            raise ParameterError(f"--device: {e}") from None

    labels_all = fs.labels
    mask = np.array([v is not None for v in labels_all])
    if not mask.any():
        raise StoreError(f"store {store_path} has no labelled tracks; extract a folder per genre "
                         "(AUDIO_DIR/<genre>/<file>) or a manifest with a label column")
    n_unlabelled = int((~mask).sum())
    ids = fs.ids[mask]
    labels = labels_all[mask].astype(str)
    classes = sorted(set(labels))
    y = np.searchsorted(np.array(classes, dtype=object), labels).astype(np.int64)
    groups_raw = fs.groups[mask]

    # ---- inputs per model
    inputs: dict[str, object] = {}
    columns = None
    if any(spec.input == "summary" for spec in specs.values()):
        X, columns = fs.summary(features)
        X = X[mask]
        if X.shape[1] == 0:
            raise StoreError(f"store {store_path} has no summary columns for features {features}")
        bad = np.isinf(X) if isinstance(fs, Dataset) else ~np.isfinite(X)  # tables: NaN = missing, imputed
        if bad.any():
            raise StoreError(f"store {store_path}: the summary table holds {int(bad.sum())} non-finite values "
                             f"(e.g. column {columns[int(np.argwhere(bad)[0][1])]}); re-extract the store")
        inputs["summary"] = X
    frame_inputs = {}
    for n, spec in specs.items():
        if spec.input != "frames":
            continue
        # a head may read other frame features than its registry default (--param cnn1d.frame_features=mfcc)
        chosen = make_model(n, params.get(n)).get_params().get("frame_features")
        if isinstance(chosen, str):
            chosen = [f.strip() for f in chosen.split(",") if f.strip()]
        feats = tuple(chosen or spec.frame_features or fs.frame_features)
        lacking = [f for f in feats if f not in fs.frame_features]
        if lacking:
            raise ParameterError(
                f"model {n} needs frame feature{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}, which store "
                f"{store_path} lacks (it has: {', '.join(fs.frame_features) or 'none'}); re-extract with "
                f"--features including {', '.join(lacking)}, or drop {n} from --models")
        frame_inputs[n] = FrameSequence(fs, ids, feats)

    the_split = split_for_store(fs, split, seed, mask)
    say(f"split: {the_split.describe()}")
    if isinstance(fs, Dataset):  # what the table readers and the join found
        the_split.notes.extend(fs.notes)
        the_split.warnings.extend(fs.warnings)
    if n_unlabelled:
        the_split.notes.append(f"{n_unlabelled} unlabelled tracks left out")
    for n in the_split.notes:
        say(f"note: {n}")
    for w in the_split.warnings:
        say(f"warning: {w}")
    # the groups inner tuning folds must respect: only when the outer split is grouped
    groups_for_inner = None
    if the_split.grouped:
        g = np.array([str(v) if v else f"\x00track-{i}" for i, v in enumerate(groups_raw)], dtype=object)
        groups_for_inner = g
    # the groups a model's own validation carve respects (neural heads' early stopping): whenever known
    fit_groups = None
    if any(bool(v) for v in groups_raw):
        fit_groups = np.array([str(v) if v else f"\x00track-{i}" for i, v in enumerate(groups_raw)], dtype=object)
    cfg = fs.config  # None for tables without a store
    runtime = {"frame_rate": cfg.sr / cfg.hop_length if cfg is not None else None, "device": device}

    def model_input(n):
        return frame_inputs[n] if specs[n].input == "frames" else inputs["summary"]

    # ---- jobs
    jobs = []
    for n in names:
        for f in the_split.folds:
            jobs.append({"kind": "fold", "model": n, "fold": f.index, "X": model_input(n), "y": y,
                         "groups": groups_for_inner, "train": f.train, "test": f.test,
                         "params": params.get(base_of[n], {}), "seed": seed, "tune": tune, "n_classes": len(classes),
                         "fit_groups": fit_groups, "runtime": runtime, "base": base_of[n], "variant": variants.get(n)})
    if save_models:
        if the_split.kind == "predefined":
            f0 = the_split.folds[0]
            refit_idx = np.sort(np.concatenate([f0.train, f0.validation]))
        else:
            refit_idx = np.arange(len(y))
        for n in names:
            jobs.append({"kind": "refit", "model": n, "X": model_input(n), "y": y,
                         "groups": groups_for_inner, "train": refit_idx, "params": params.get(n, {}),
                         "seed": seed, "tune": tune, "n_classes": len(classes),
                         "fit_groups": fit_groups, "runtime": runtime})

    # costly fits first, so that parallel workers finish together (order never changes results)
    jobs.sort(key=lambda j: -specs[j["model"]].cost)
    n_jobs = min(workers or os.cpu_count() or 1, len(jobs))
    say(f"running {len(names)} model{'s' if len(names) > 1 else ''} × {the_split.n_folds} "
        f"fold{'s' if the_split.n_folds > 1 else ''}{' with nested tuning' if tune else ''} "
        f"on {n_jobs} worker{'s' if n_jobs > 1 else ''}")
    results = []
    bar = tqdm(total=len(jobs), desc="benchmark", unit="fit", disable=not progress, dynamic_ncols=True)
    try:
        if n_jobs == 1:
            stream = (_run_job(j) for j in jobs)
        else:
            # loky restarts a reused worker whose memory grew (torch loads ~250 MB) and warns
            # about it; the jobs are resubmitted, results are unaffected.
            warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given",
                                    category=UserWarning)
            stream = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(_run_job)(j) for j in jobs)
        for r in stream:
            results.append(r)
            bar.set_postfix_str(f"{r['model']}" + (f" fold {r['fold'] + 1}" if r["fold"] is not None else " refit"))
            bar.update(1)
    finally:
        bar.close()

    # ---- aggregate
    out_dir = Path(out) if out is not None else _default_out()
    out_dir.mkdir(parents=True, exist_ok=True)
    per_model = {}
    for n in names:
        fr = [r for r in results if r["kind"] == "fold" and r["model"] == n]
        per_model[n] = _summarise_model(specs[n], fr, params.get(base_of[n], {}))
        if n in variants and variants[n].describe():
            per_model[n]["description"] += f"; {variants[n].describe()}"
        if specs[n].input == "frames":
            per_model[n]["frame_features"] = list(frame_inputs[n].features)
        if per_model[n]["error"]:
            say(f"warning: model {n} failed: {per_model[n]['error']}")

    ok = [n for n in names if not per_model[n]["error"]]
    ranked = sorted(ok, key=lambda n: (-per_model[n][RANK_METRIC]["mean"], -per_model[n]["accuracy"]["mean"], n))
    leaderboard = []
    for rank, n in enumerate(ranked, 1):
        row = {"rank": rank, "model": n, "input": specs[n].input, "n_folds": the_split.n_folds}
        for k in (*METRICS, "fit_seconds", "predict_seconds"):
            row[f"{k}_mean"] = per_model[n][k]["mean"]
            row[f"{k}_std"] = per_model[n][k]["std"]
        leaderboard.append(row)

    # ---- artifacts
    artifacts = {}
    if save_models:
        from genrekit.pipeline.artifacts import ModelArtifact, save_artifact

        for r in sorted(results, key=lambda r: names.index(r["model"])):
            if r["kind"] != "refit":
                continue
            n = r["model"]
            if r["error"]:
                per_model[n].setdefault("artifact_error", r["error"])
                say(f"warning: could not refit {n} for saving: {r['error']}")
                continue
            chosen = dict(params.get(n, {}))
            chosen.update(r.get("best_params", {}))
            art = ModelArtifact(
                model=n, estimator=r["estimator"], config_json=fs.config_json, classes=list(classes),
                input=specs[n].input, columns=list(columns) if specs[n].input == "summary" else None,
                frame_features=list(frame_inputs[n].features) if specs[n].input == "frames" else None,
                params=chosen, trained_on={
                    "store": str(store_path), "config_hash": fs.config_hash, "n_tracks": int(len(refit_idx)),
                    "split": the_split.spec, "seed": seed, "tune": tune,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
            artifacts[n] = save_artifact(art, out_dir / "models" / f"{n}.joblib")
            per_model[n]["artifact"] = str(artifacts[n].relative_to(out_dir))

    class_counts = {c: int((y == i).sum()) for i, c in enumerate(classes)}
    doc = {
        "genrekit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": _canonical_command(fs.command_args() if isinstance(fs, Dataset) else store_path, base_names,
                                      the_split, seed, params, tune, features, out_dir, save_models)
        + (f" --device {shlex.quote(device)}" if device else ""),
        "config": {"models": names, "split": the_split.spec, "seed": seed, "params": params, "tune": tune,
                   "tune_scoring": TUNE_SCORING if tune else None, "inner_folds": INNER_FOLDS if tune else None,
                   "features": list(features) if features else None, "rank_metric": RANK_METRIC,
                   "workers": n_jobs, "device": device},
        "store": {"path": str(store_path), "config_hash": fs.config_hash,
                  "tracks_hash": _tracks_hash(ids, [fs.track(i).content_hash for i in ids], fs.config_hash),
                  "feature_config": json.loads(fs.config_json), "n_tracks": int(len(fs)),
                  "n_labelled": int(mask.sum()), "n_summary_columns": None if columns is None else len(columns)},
        "dataset": fs.describe() if isinstance(fs, Dataset) else None,  # tables: blocks, join, fusion
        "classes": classes,
        "class_counts": class_counts,
        "split": the_split.to_dict(ids),
        "versions": _versions(),
        "seconds": None,
        "models": per_model,
        "leaderboard": leaderboard,
    }
    doc["seconds"] = round(time.monotonic() - t_start, 3)

    _write_predictions(out_dir / "predictions.csv", results, ids, labels, classes, the_split)
    _write_leaderboard_csv(out_dir / "leaderboard.csv", leaderboard, per_model, names)
    figures = {}
    try:
        figures = write_figures(out_dir / "figures", doc)
    except Exception as e:  # a plotting problem must not lose the results
        say(f"warning: could not draw figures: {type(e).__name__}: {e}")
    doc["figures"] = {k: str(Path(v).relative_to(out_dir)) for k, v in figures.items()}
    _atomic_write(out_dir / "results.json", json.dumps(doc, indent=1, default=_jsonable))
    _atomic_write(out_dir / "report.md", render_report(doc))
    res = BenchmarkResult(out_dir=out_dir, results=doc, leaderboard=leaderboard, split=the_split,
                          artifacts=artifacts)
    if not ok:
        raise GenrekitError(f"every model failed (first: {names[0]}: {per_model[names[0]]['error']}); "
                            f"details in {out_dir / 'results.json'}")
    return res


def _atomic_write(path: Path, text: str):
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_predictions(path, results, ids, labels, classes, the_split):
    rows = []
    for r in results:
        if r["kind"] != "fold" or r["error"]:
            continue
        test = the_split.folds[r["fold"]].test
        for i, p in zip(test, r["predictions"]):
            rows.append((r["model"], r["fold"] + 1, ids[i], labels[i], classes[p]))
    rows.sort()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["model", "fold", "id", "label", "predicted"])
        w.writerows(rows)
    os.replace(tmp, path)


def _write_leaderboard_csv(path, leaderboard, per_model, names):
    cols = ["rank", "model", "input", "n_folds"]
    for k in (*METRICS, "fit_seconds", "predict_seconds"):
        cols += [f"{k}_mean", f"{k}_std"]
    cols.append("status")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for row in leaderboard:
            w.writerow({**{k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()}, "status": "ok"})
        for n in names:
            if per_model[n]["error"]:
                w.writerow({"model": n, "input": per_model[n]["input"], "status": f"failed: {per_model[n]['error']}"})
    os.replace(tmp, path)


# ============================================================================ figures
def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def write_figures(fig_dir: Path, doc: dict) -> dict:
    """Draw the leaderboard bar chart and one confusion matrix per model (PNG, Agg backend).

    Returns
    -------
    dict
        ``"leaderboard"``, ``"confusion:<model>"`` and, for neural heads, ``"learning_curve:<model>"`` → path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    rows = doc["leaderboard"]
    split = doc["split"]
    if rows:
        shown = ("accuracy", "balanced_accuracy", "f1_macro")
        n = len(rows)
        fig, ax = plt.subplots(figsize=(8, 1.2 + 0.55 * n * 1.0 + 0.6), dpi=110)
        h = 0.8 / len(shown)
        ypos = np.arange(n)
        colors = ("#4C72B0", "#DD8452", "#55A868")
        for j, (m, col) in enumerate(zip(shown, colors)):
            means = [r[f"{m}_mean"] for r in rows]
            stds = [r[f"{m}_std"] for r in rows]
            ax.barh(ypos + (j - 1) * h, means, height=h, xerr=stds, color=col, label=METRICS[m],
                    error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#333333"})
        ax.set_yticks(ypos, [r["model"] for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("score (mean ± std over folds)")
        chance = 1 / max(1, len(doc["classes"]))
        ax.axvline(chance, color="#999999", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
        ax.set_title(f"genrekit leaderboard — {split['spec']}, seed {split['seed']}, "
                     f"{doc['store']['n_labelled']} tracks, {len(doc['classes'])} labels", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
        fig.tight_layout()
        p = fig_dir / "leaderboard.png"
        fig.savefig(p)
        plt.close(fig)
        out["leaderboard"] = p
    classes = doc["classes"]
    k = len(classes)
    for name, m in doc["models"].items():
        if m.get("error"):
            continue
        cm = np.array(m["confusion_matrix"], dtype=float)
        rows_sum = cm.sum(axis=1, keepdims=True)
        norm = np.divide(cm, rows_sum, out=np.zeros_like(cm), where=rows_sum > 0)
        size = max(4.5, 0.5 * k + 2.5)
        fig, ax = plt.subplots(figsize=(size + 1, size), dpi=110)
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), classes, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
        ba = m["balanced_accuracy"]
        ax.set_title(f"{name}: balanced acc. {ba['mean']:.3f} ± {ba['std']:.3f}\n"
                     f"pooled over {split['n_folds']} fold{'s' if split['n_folds'] > 1 else ''} "
                     f"({split['spec']}); colour = row share", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        p = fig_dir / f"confusion_{_safe_name(name)}.png"
        fig.savefig(p)
        plt.close(fig)
        out[f"confusion:{name}"] = p
    for name, m in doc["models"].items():
        if not m.get("error") and m.get("learning_curve"):
            out[f"learning_curve:{name}"] = _learning_curve_figure(plt, fig_dir, name, m["learning_curve"], split)
    return out


def _learning_curve_figure(plt, fig_dir: Path, name: str, curve: dict, split: dict) -> Path:
    """``learning_curve_<model>.png``: loss and accuracy per epoch (mean over folds), train and validation."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110)
    ep = curve["epoch"]
    for ax, what in zip(axes, ("loss", "accuracy")):
        for part, style in (("train", "-"), ("valid", "--")):
            vals = [np.nan if v is None else v for v in curve[f"{part}_{what}"]]
            if not np.all(np.isnan(vals)):
                ax.plot(ep, vals, style, marker="o", markersize=3,
                        label="training" if part == "train" else "validation (early stopping)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        if what == "accuracy":
            ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    n = split["n_folds"]
    fig.suptitle(f"{name}: learning curve, mean over {n} fold{'s' if n > 1 else ''} ({split['spec']})", fontsize=10)
    fig.tight_layout()
    p = fig_dir / f"learning_curve_{_safe_name(name)}.png"
    fig.savefig(p)
    plt.close(fig)
    return p


# ============================================================================ report
def _pm(stat: dict, digits=3) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def render_report(doc: dict) -> str:
    """``report.md``: setup, warnings, leaderboard, per-class table, per-model details, figures."""
    L = []
    st, sp = doc["store"], doc["split"]
    L.append("# genrekit benchmark\n")
    L.append(f"- command: `{doc['command']}`")
    L.append(f"- store: `{st['path']}` — {st['n_labelled']} labelled tracks, {len(doc['classes'])} labels, "
             f"feature config `{st['config_hash']}`, tracks hash `{st['tracks_hash']}`"
             + (f", {st['n_summary_columns']} summary columns" if st["n_summary_columns"] else ""))
    L.append(f"- split: `{sp['spec']}`, seed {sp['seed']}, {sp['n_folds']} fold{'s' if sp['n_folds'] > 1 else ''}"
             f" ({'grouped by artist' if sp['grouped'] else 'not grouped by artist'}); "
             f"test tracks per fold: {', '.join(str(f['n_test']) for f in sp['folds'])}")
    cfg = doc["config"]
    if cfg["tune"]:
        L.append(f"- tuning: nested grid search in each training fold ({cfg['inner_folds']} inner folds, "
                 f"scored by {cfg['tune_scoring']})")
    L.append(f"- ranked by mean {METRICS[cfg['rank_metric']]}; ± is the standard deviation over folds")
    L.append(f"- genrekit {doc['genrekit_version']}, scikit-learn {doc['versions'].get('scikit-learn', '?')}, "
             f"python {doc['versions']['python']}; {doc['created']}; {doc['seconds']:.1f} s\n")
    if sp["warnings"] or sp["notes"]:
        L.append("## Warnings\n")
        L += [f"- **warning:** {w}" for w in sp["warnings"]]
        L += [f"- {n}" for n in sp["notes"]]
        L.append("")
    L.append("## Leaderboard\n")
    L.append("| rank | model | input | " + " | ".join(METRICS.values()) + " | fit s | predict s |")
    L.append("|---:|---|---|" + "---:|" * len(METRICS) + "---:|---:|")
    for r in doc["leaderboard"]:
        m = doc["models"][r["model"]]
        L.append(f"| {r['rank']} | {r['model']} | {r['input']} | "
                 + " | ".join(_pm(m[k]) for k in METRICS)
                 + f" | {m['fit_seconds']['mean']:.2f} | {m['predict_seconds']['mean']:.3f} |")
    failed = {n: m for n, m in doc["models"].items() if m.get("error")}
    for n, m in failed.items():
        L.append(f"| – | {n} | {m['input']} | failed: {m['error']} |" + " |" * (len(METRICS) + 1))
    L.append("")
    if "leaderboard" in doc.get("figures", {}):
        L.append(f"![leaderboard]({doc['figures']['leaderboard']})\n")

    ok = [r["model"] for r in doc["leaderboard"]]
    if ok:
        L.append("## Per-class F1 (pooled over folds)\n")
        L.append("| label | tracks | " + " | ".join(ok) + " |")
        L.append("|---|---:|" + "---:|" * len(ok))
        for i, c in enumerate(doc["classes"]):
            L.append(f"| {c} | {doc['class_counts'][c]} | "
                     + " | ".join(f"{doc['models'][n]['per_class_pooled']['f1'][i]:.2f}" for n in ok) + " |")
        L.append("")
    L.append("## Models\n")
    for n in ok + list(failed):
        m = doc["models"][n]
        L.append(f"### {n}\n")
        L.append(f"{m['description']} (input: {m['input']}"
                 + (f", frame features: {', '.join(m['frame_features'])}" if m.get("frame_features") else "") + ")\n")
        if m["params"]:
            L.append("parameters: " + ", ".join(f"`{k}={v}`" for k, v in m["params"].items()) + "\n")
        if m.get("error"):
            L.append(f"**failed**: `{m['error']}`\n")
            continue
        if m.get("artifact"):
            L.append(f"saved model: [{m['artifact']}]({m['artifact']})\n")
        fig = doc.get("figures", {}).get(f"confusion:{n}")
        if fig:
            L.append(f"![confusion matrix of {n}]({fig})\n")
        curve = m.get("learning_curve")
        if curve:
            stops = [len(f.get("history") or []) for f in m["folds"]]
            L.append(f"learning curve: {', '.join(map(str, stops))} epochs per fold (early stopping on a "
                     "validation carve of each training fold); per-epoch values in results.json\n")
            fig = doc.get("figures", {}).get(f"learning_curve:{n}")
            if fig:
                L.append(f"![learning curve of {n}]({fig})\n")
        pc = m["per_class_pooled"]
        L.append("| label | precision | recall | F1 | tracks |")
        L.append("|---|---:|---:|---:|---:|")
        for i, c in enumerate(doc["classes"]):
            L.append(f"| {c} | {pc['precision'][i]:.2f} | {pc['recall'][i]:.2f} | {pc['f1'][i]:.2f} "
                     f"| {pc['support'][i]} |")
        L.append("")
        L.append("| fold | " + " | ".join(METRICS.values()) + " | fit s | predict s |"
                 + (" best parameters |" if any("best_params" in f for f in m["folds"]) else ""))
        L.append("|---:|" + "---:|" * (len(METRICS) + 2)
                 + ("---|" if any("best_params" in f for f in m["folds"]) else ""))
        for f in m["folds"]:
            bp = f.get("best_params")
            L.append(f"| {f['fold'] + 1} | " + " | ".join(f"{f[k]:.3f}" for k in METRICS)
                     + f" | {f['fit_seconds']:.2f} | {f['predict_seconds']:.3f} |"
                     + (f" {', '.join(f'{k}={v}' for k, v in bp.items())} |" if bp else ""))
        L.append("")
        if m["warnings"]:
            L.append("warnings while fitting: " + "; ".join(f"`{w}`" for w in m["warnings"][:5]) + "\n")
    L.append("Files: [results.json](results.json), [leaderboard.csv](leaderboard.csv), "
             "[predictions.csv](predictions.csv) (out-of-fold predictions per track).\n")
    return "\n".join(L)
