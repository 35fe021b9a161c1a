"""genrekit's command line: parse → build config objects → call one library function.

Each sub-command is a small ``add_<name>(subparsers)`` that declares its arguments and binds a
``run(args) -> int``. Errors a user can cause (:class:`~genrekit.errors.GenrekitError`) print one
line and exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from genrekit import __version__
from genrekit.cli_args import (  # noqa: F401 (WORKERS_PER_CORE: part of the module's face)
    EXIT_USAGE,
    _DefaultsOnce,
    _OneLineParser,
    _positive_int,
    WORKERS_PER_CORE,
    _workers,
    WORKERS_HELP,
    _name_list,
    _feature_names,
    _positive_float,
    _seed,
    add_feature_args,
    feature_config_from_args,
    add_run_args,
    add_cluster_args,
    cluster_kwargs,
)
from genrekit.cli_lazy import command_of, declare_commands
from genrekit.cli_pretrained import add_tag, add_weights
from genrekit.errors import GenrekitError, ParameterError

# ------------------------------------------------------------------------------------ extract
def add_extract(sub):
    from genrekit.cache.layout import DEFAULT_STORE

    p = sub.add_parser(
        "extract", help="extract features of a folder of music into a feature store",
        description=(
            "Decode every audio file under AUDIO_DIR, compute features from one STFT per file in "
            "parallel, and write them into an HDF5 feature store. Re-running skips what is done; "
            "an interrupted run resumes. Labels come from sub-folder names (AUDIO_DIR/<label>/<file>), "
            "a CSV manifest, or FMA metadata."),
        formatter_class=_DefaultsOnce)
    p.add_argument("audio_dir", metavar="AUDIO_DIR", nargs="?", default=None,
                   help="folder of audio files, searched recursively (not needed with --manifest, whose paths "
                        "are relative to the CSV)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--manifest", metavar="CSV",
                     help="CSV with columns path,label[,artist|group][,split][,tags][,...]; paths relative to the CSV")
    src.add_argument("--fma-metadata", metavar="DIR", help="FMA metadata folder holding tracks.csv")
    src.add_argument("--no-manifest", action="store_true",
                     help="ignore a CSV manifest lying in AUDIO_DIR (by default one that lists every audio file is used)")
    p.add_argument("--fma-subset", choices=("small", "medium", "large", "full"), default=None,
                   help="with --fma-metadata: keep only this subset")
    src.add_argument("--jamendo-split", metavar="PATH", help="MTG-Jamendo split file, prefix or folder (audio: AUDIO_DIR/PATH)")
    p.add_argument("--jamendo-categories", metavar="LIST", help="with --jamendo-split: keep these tag categories only")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                   help="feature store directory")
    p.add_argument("--strict", action="store_true", help="exit with code 1 if any file failed")
    p.add_argument("--retry-failed", action="store_true", help="retry files that failed before")
    p.add_argument("--rehash", action="store_true",
                   help="hash every file's content instead of skipping files whose size and mtime are "
                        "unchanged; finds files rewritten in place with the same size and a restored "
                        "mtime (cp -p, rsync -t, tar), at the cost of reading every file")
    p.add_argument("--add-fingerprints", action="store_true",
                   help="extract again the tracks a store holds without a fingerprint (`genrekit duplicates`)")
    add_feature_args(p)
    add_run_args(p)
    add_cluster_args(p)
    p.set_defaults(run=run_extract)


def run_extract(args) -> int:
    from genrekit.pipeline.extraction.run import extract, install_sigterm_as_interrupt
    from genrekit.pipeline.extraction.worker import keep_freed_memory
    from genrekit.pipeline.extraction.sources import load_source

    config = feature_config_from_args(args)
    cluster = cluster_kwargs(args)
    if os.path.exists(args.store) and not os.path.isdir(args.store):
        raise ParameterError(f"--store {args.store} is a file; pass a directory path for the feature store")
    if args.audio_dir is None and not args.manifest:
        raise ParameterError("the following arguments are required: AUDIO_DIR, the folder of audio files "
                             "(or --manifest CSV, whose paths are relative to the CSV) (see: genrekit extract --help)")
    scan = load_source(args.audio_dir, manifest=args.manifest, fma_metadata=args.fma_metadata, subset=args.fma_subset,
                       find_manifest=not args.no_manifest, jamendo=args.jamendo_split,
                       jamendo_categories=args.jamendo_categories and tuple(args.jamendo_categories.split(",")) or None)
    for note in scan.notes:
        print(f"note: {note}", file=sys.stderr)
    if scan.missing and not args.manifest:  # a manifest's missing files are tracks: recorded failures
        print(f"note: {len(scan.missing)} listed files were not found (e.g. {scan.missing[0]})", file=sys.stderr)
    if scan.skipped:
        what = f"malformed lines (first: {scan.skipped[0]})" if args.jamendo_split else "non-audio files"
        print(f"note: skipped {len(scan.skipped)} {what}", file=sys.stderr)
    install_sigterm_as_interrupt()
    keep_freed_memory()  # this process only extracts from here on
    report = extract(scan.tracks, args.store, config, workers=args.workers, shard_size=args.shard_size,
                     shard_seconds=args.shard_seconds, retry_failed=args.retry_failed,
                     progress=not args.no_progress, max_seconds=args.max_minutes * 60, rehash=args.rehash,
                     add_fingerprints=args.add_fingerprints,
                     **cluster)
    for f in report.failures[:10]:
        print(f"failed: {f.path}: {f.error_type}: {f.message}", file=sys.stderr)
    if len(report.failures) > 10:
        print(f"… and {len(report.failures) - 10} more failures", file=sys.stderr)
    print(report.line())
    if report.interrupted:
        return 130
    if args.strict and (report.n_failed or report.n_failed_cached):
        return 1
    return 0


# ------------------------------------------------------------------------------------ info
def add_info(sub):
    from genrekit.cache.layout import DEFAULT_STORE

    p = sub.add_parser("info", help="describe a feature store",
                       description="Tracks per label, groups, failures, feature config and size of a store.")
    add_store_arg(p, DEFAULT_STORE)
    p.add_argument("--failures", action="store_true", help="list every failed file with the reason")
    p.set_defaults(run=run_info)


def add_store_arg(p: argparse.ArgumentParser, default: str):
    """The store of a reading command: ``STORE`` positionally or ``--store STORE`` (as every command takes it)."""
    p.add_argument("store_pos", nargs="?", default=None, metavar="STORE",
                   help=f"feature store directory (default: {default}); --store STORE works too")
    p.add_argument("--store", default=None, metavar="STORE", help=argparse.SUPPRESS)
    p.set_defaults(store_default=default)


def store_of(args) -> str:
    if args.store_pos and args.store and os.path.abspath(args.store_pos) != os.path.abspath(args.store):
        raise ParameterError(f"two stores given: {args.store_pos} and --store {args.store}; pass one")
    return args.store or args.store_pos or args.store_default


def run_info(args) -> int:
    from genrekit.cache.describe import describe_store

    args.store = store_of(args)
    print(describe_store(args.store, failures=args.failures))
    return 0


# ------------------------------------------------------------------------------------ demo
def add_demo(sub):
    p = sub.add_parser(
        "demo", help="the whole path on a generated data set",
        description=("Generate a small deterministic music-like data set (synthetic genres that "
                     "differ in tempo, rhythm, timbre and harmony) into a cache folder, extract it "
                     "into a feature store, and report what was done."))
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="where the demo's audio, store and runs live, under DIR/demo "
                        "(default: $GENREKIT_CACHE_DIR or ~/.cache/genrekit)")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help=f"worker processes, {WORKERS_HELP} (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run_demo)


def run_demo(args) -> int:
    from genrekit.pipeline.datasets.demo import run_demo as demo

    demo(cache_dir=args.cache_dir, workers=args.workers, progress=not args.no_progress)
    return 0


# ------------------------------------------------------------------------------------ benchmark
def add_benchmark(sub):
    from genrekit.cache.layout import DEFAULT_STORE
    from genrekit.tags import DEFAULT_MIN_TAG_COUNT

    p = sub.add_parser(
        "benchmark", help="compare genre classifiers on a feature store with one shared split",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Evaluate models on a feature store. The split is computed once and every model gets the\n"
            "same folds; scaling and every fitted transform live inside each model, fitted on the\n"
            "training fold only. Writes results.json, leaderboard.csv, predictions.csv, report.md and\n"
            "PNG figures (confusion matrices, leaderboard) into --out, and prints the leaderboard.\n"
            "The same command twice (with a new --out) gives identical metrics.\n\n"
            "--out must be new or empty and is claimed before any model is fitted, so two runs never\n"
            "mix their files. The leaderboard is printed before anything is written; if the disk fills\n"
            "up while writing, the run stops with one line (exit code 2) and removes what it wrote."),
        epilog=(
            "splits:\n"
            "  kfold:K            stratified K-fold over tracks\n"
            "  group-kfold:K      stratified by label, grouped by artist (no artist in train and test)\n"
            "  predefined         the store's split column (train / validation / test)\n"
            "  holdout:FRACTION   one split with FRACTION of the tracks in test (grouped when artists are known)\n"
            "  gtzan-ff           GTZAN's fault-filtered split (Kereliuk, Sturm & Larsen 2015), by clip name\n"
            "  default: group-kfold:5 with artists, else kfold:5 (tagging: stratified over all tags);\n"
            "  duplicates kept on one side (--ignore-duplicates)\n\n"
            "examples:\n"
            "  genrekit benchmark --models svm,knn,rf\n"
            "  genrekit benchmark --split kfold:10 --param svm.C=10 --param rf.n_estimators=500\n"
            "  genrekit benchmark --tune --save-models --out runs/tuned\n"
            "  genrekit models    # every model name, with a one-line description"))
    p.add_argument("--store", default=None, metavar="PATH",
                   help=f"feature store directory (default: {DEFAULT_STORE}; with --table: only when given)")
    p.add_argument("--models", default=None, metavar="LIST",
                   help="comma-separated model names, or 'all' (default: those marked * by `genrekit models`)")
    p.add_argument("--task", metavar="TASK", help="genre (one label per track) or tagging (tag sets, ranked by macro "
                   "PR-AUC) (default: genre when any track has a label, else tagging when tracks have tags)")
    p.add_argument("--min-tag-count", type=_positive_int, default=DEFAULT_MIN_TAG_COUNT, metavar="N",
                   help=f"--task tagging: drop tags on fewer than N tracks, and say which (default: {DEFAULT_MIN_TAG_COUNT})")
    p.add_argument("--split", default=None, metavar="SPEC",
                   help="kfold:K, group-kfold:K, predefined, holdout:FRACTION or gtzan-ff (default: see below)")
    p.add_argument("--ignore-duplicates", action="store_true",
                   help="let tracks that hold the same recording (`genrekit duplicates`) fall on both sides of a fold")
    p.add_argument("--seed", type=_seed, default=0, metavar="N",
                   help="seed of the split, the models and the tuning folds: 0 to 4294967295 (default: 0)")
    p.add_argument("--param", action="append", default=[], metavar="MODEL.KEY=VALUE",
                   help="set a hyper-parameter, e.g. svm.C=10 (repeatable; value read as int, float, "
                        "true/false, none or text)")
    p.add_argument("--tune", action="store_true",
                   help="grid-search each model's small grid inside every training fold (nested; never sees the test fold)")
    p.add_argument("--features", default=None, metavar="LIST",
                   help="restrict summary models to the columns of these features; frame models read the "
                        "frame-level ones among them (default: all in the store; frame models: their own)")
    p.add_argument("--ablation", action="store_true", help="also run summary models on each of --features alone")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="run folder for results, report and figures: a new or empty folder, checked before "
                        "anything is fitted; one in use by another benchmark or holding files is refused "
                        "(default: a new runs/<timestamp>)")
    p.add_argument("--save-models", action="store_true",
                   help="refit every model on all the benchmark's tracks and save OUT/models/<model>.joblib "
                        "for `genrekit predict`")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help=f"parallel fits over models x folds, {WORKERS_HELP} (default: all cores; results do not "
                        "depend on it)")
    p.add_argument("--device", default=None, metavar="DEV",
                   help="torch device of the neural heads: auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N "
                        "or mps (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_cluster_args(p, batches=False)
    add_table_args(p)
    p.set_defaults(run=run_benchmark)


def run_benchmark(args) -> int:
    from genrekit.classifiers import available_models
    from genrekit.pipeline.evaluation.params import parse_params
    from genrekit.pipeline.evaluation.tagging_metrics import any_leaderboard_table as leaderboard_table
    from genrekit.pipeline.evaluation.runner import run_benchmark as bench

    _name_list(args.models, "--models", available_models)
    _name_list(args.features, "--features", _feature_names)
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    cluster, store, workers = cluster_kwargs(args), args.store, args.workers
    store, features = benchmark_input(args, features)  # with --table: a Dataset (arrays travel with the jobs)
    with contextlib.ExitStack() as stack:
        if cluster["executor"] == "dask":  # folds x models through joblib's Dask backend
            from genrekit.pipeline.extraction.cluster import joblib_on_dask

            if isinstance(store, str):
                store = os.path.abspath(store)  # the workers open the store too
            workers = stack.enter_context(joblib_on_dask(cluster["scheduler"], workers,
                                                         store=store if isinstance(store, str) else None,
                                                         progress=not args.no_progress))
        result = bench(store, args.models, split=args.split, seed=args.seed, params=parse_params(args.param),
                       tune=args.tune, out=args.out, save_models=args.save_models, workers=workers,
                       features=features, progress=not args.no_progress,
                       log=lambda line: print(line, file=sys.stderr), device=args.device,
                       on_leaderboard=lambda rows: print(leaderboard_table(rows), flush=True), ablation=args.ablation,
                       task=args.task, min_tag_count=args.min_tag_count, duplicates=not args.ignore_duplicates)
    for name, path in result.artifacts.items():
        print(f"saved model {name}: {path}")
    print(f"report: {result.report_path}")
    return 1 if result.failed else 0


def add_table_args(p: argparse.ArgumentParser):
    """--table FILE (repeatable), the role columns and --fusion (benchmark)."""
    g = p.add_argument_group(
        "external feature tables",
        "benchmark CSV, Parquet or ARFF feature tables (summary models only), alone or joined with --store "
        "on track id; with two or more blocks every model also runs on each block alone and fused: "
        "MODEL[block=FILE], MODEL[early], MODEL[late]")
    g.add_argument("--table", action="append", default=[], metavar="FILE",
                   help="a feature table, one row per track (repeatable)")
    g.add_argument("--label-column", default=None, metavar="C",
                   help="label column (default: label; ARFF: else the last nominal attribute)")
    g.add_argument("--group-column", default=None, metavar="C",
                   help="artist/group column for grouped splits (default: group, else artist)")
    g.add_argument("--id-column", default=None, metavar="C",
                   help="track id column, the join key (default: id; without one rows are numbered from 0)")
    g.add_argument("--split-column", default=None, metavar="C",
                   help="predefined train/validation/test column (default: split)")
    g.add_argument("--fusion", default=None, metavar="MODE",
                   help="early (default: blocks concatenated, each scaled to an equal share), late (one model "
                        "per block, probabilities averaged) or both")


def benchmark_input(args, features):
    """``(store or Dataset, features)`` for the runner from the benchmark arguments."""
    from genrekit.cache.layout import DEFAULT_STORE

    roles = {"label_column": args.label_column, "group_column": args.group_column,
             "id_column": args.id_column, "split_column": args.split_column}
    if not args.table:
        given = [f"--{k.replace('_', '-')}" for k, v in roles.items() if v] + (["--fusion"] if args.fusion else [])
        if given:
            raise ParameterError(f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to --table; "
                                 "add --table FILE or drop it")
        return args.store or DEFAULT_STORE, features
    import warnings

    from genrekit.pipeline.tables.readers import TableWarning
    from genrekit.pipeline.tables.dataset import build_dataset

    if args.fusion and len(args.table) + (args.store is not None) < 2:
        raise ParameterError("--fusion needs two or more feature blocks: --store with --table, or several --table")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TableWarning)  # the runner prints and reports them
        ds = build_dataset(args.store, args.table, features=features, fusion=args.fusion or "early", **roles)
    return ds, None


# ------------------------------------------------------------------------------------ export
def add_export(sub):
    from genrekit.cache.layout import DEFAULT_STORE

    p = sub.add_parser(
        "export", help="write a store's features as a table for pandas, Weka, Spark, DuckDB, numpy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Write the features of a store as a table with named columns and track metadata (id, path,\n"
            "label, group, split): one row per track (--level summary) or one row per frame (--level\n"
            "frames: id, label, group, split, frame, time, then mfcc_00 …). Streams shard by shard, so\n"
            "memory stays bounded on large stores. The file is written under a temporary name and\n"
            "renamed when complete: on a full disk nothing partial is left and an existing --out stays\n"
            "as it was (one line, exit code 2)."),
        epilog=(
            "formats:\n"
            "  csv       header + rows; opens in pandas and spreadsheets\n"
            "  parquet   typed columns (float32 features) in row groups; pandas, polars, DuckDB, Spark\n"
            "            (pip install 'genrekit[parquet]')\n"
            "  arff      Weka: label last as a nominal class, id/path/group/split as string attributes\n"
            "  npz       numpy: X, y, names, ids, groups, splits, paths (summary only)\n\n"
            "examples:\n"
            "  genrekit export --out features.csv\n"
            "  genrekit export --format parquet --level frames --features mfcc,chroma --out frames.parquet\n"
            "  genrekit export --out gtzan.arff --labels-only"))
    from genrekit.pipeline.tables.export import FORMATS, LEVELS

    p.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                   help=f"feature store directory (default: {DEFAULT_STORE})")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="table format (default: from the extension of --out)")
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    p.add_argument("--level", choices=LEVELS, default="summary",
                   help="summary: one row per track (default); frames: one row per frame (csv, parquet)")
    p.add_argument("--features", default=None, metavar="LIST",
                   help="only the columns of these features (default: all in the store)")
    p.add_argument("--labels-only", action="store_true", help="only tracks that have a label")
    p.add_argument("--tags", metavar="MODE", help="column (one 'tags' column), multi-hot (0/1 tag_<name> columns) or "
                   "none (default: column when any track has tags)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_export)


def run_export(args) -> int:
    from genrekit.pipeline.tables.export import export_table

    _name_list(args.features, "--features", _feature_names)
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    report = export_table(args.store, args.format, args.out, level=args.level, features=features,
                          labels_only=args.labels_only, progress=not args.no_progress, tags=args.tags)
    print(report.line())
    return 0


# ------------------------------------------------------------------------------------ models
def add_models(sub):
    p = sub.add_parser("models", help="list the models `benchmark` can run",
                       description="Every registered model: its name, what it reads (summary vectors or "
                                   "frame sequences) and a one-line description. * marks the default set. "
                                   "With MODEL: its --tune grid and parameters, named as --param takes them.")
    p.add_argument("model", nargs="?", default=None, metavar="MODEL", help="describe this model")
    p.set_defaults(run=run_models)


def run_models(args) -> int:
    from genrekit.classifiers import model_specs

    if args.model:
        from genrekit.classifiers.naming import describe_model

        print(describe_model(args.model))
        return 0
    specs = model_specs()
    width = max(len(s.name) for s in specs)
    for s in specs:
        print(f"{'*' if s.default else ' '} {s.name.ljust(width)}  {s.input:<7}  {s.description}")
    print("\n* = run by `genrekit benchmark` when --models is not given")
    return 0


# ------------------------------------------------------------------------------------ predict
def add_predict(sub):
    p = sub.add_parser(
        "predict", help="predict the genres of audio files with a saved model",
        description=("Extract features of each file with the model's own feature config (the same code "
                     "as `extract`) and print the top genres with probabilities. A file that cannot be "
                     "read is reported and the rest are still predicted (exit code 1 if any failed). "
                     "Models come from `genrekit benchmark --save-models` (OUT/models/<model>.joblib). "
                     "A model artifact is code: loading it runs what its pickle holds. So genrekit checks "
                     "the file's header, its SHA-256 and its signature under your genrekit key "
                     "(made on your first save: $GENREKIT_MODEL_KEY, else ~/.config/genrekit/model-key) "
                     "before unpickling, and loads only artifacts saved with that key; anything else, "
                     "plain pickle/joblib files and models saved by an older genrekit included, is refused "
                     "without being run. The signature is a shared-secret HMAC: anyone who can read your key "
                     "can sign, so keep it private. Load only artifacts you or someone you trust saved."))
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="audio files, or folders searched recursively")
    p.add_argument("--model", required=True, metavar="ARTIFACT",
                   help="a model saved by `genrekit benchmark --save-models` with your key (or a shared one)")
    p.add_argument("--trust", action="store_true",
                   help="also load an intact artifact saved with another genrekit key; it runs that file's code, "
                        "so only for files from someone you trust (or share their key: GENREKIT_MODEL_KEY=FILE)")
    p.add_argument("--top-k", type=_positive_int, default=3, metavar="K", help="genres to show per file (default: 3)")
    p.add_argument("--segments", type=_positive_float, nargs="?", const=3.0, default=None, metavar="S",
                   help="also print a timeline: a prediction every S seconds (default S: 3)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help=f"processes decoding files, {WORKERS_HELP} (default: all cores)")
    p.add_argument("--device", default=None, metavar="DEV",
                   help="torch device of a neural model: auto, cpu, cuda, cuda:N or mps (default: the model's own)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_predict)


def run_predict(args) -> int:
    import warnings

    from genrekit.pipeline.prediction.artifacts import load_artifact
    from genrekit.pipeline.prediction.predict import format_prediction, predict, predictions_json

    preds = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)  # the artifact's and predict's: each printed once (main)
        artifact = load_artifact(args.model, trust=args.trust)
        for pred in predict(artifact, args.inputs, top_k=args.top_k, segments=args.segments, workers=args.workers,
                            progress=not args.no_progress and not args.json, device=args.device):
            preds.append(pred)
            if not args.json:
                print(format_prediction(pred), file=sys.stdout if pred.ok else sys.stderr)
    if args.json:
        print(predictions_json(preds, artifact))
    return 0 if all(p.ok for p in preds) else 1


# ------------------------------------------------------------------------------------ verify
def add_verify(sub):
    from genrekit.cache.layout import DEFAULT_STORE

    p = sub.add_parser(
        "verify", help="check a feature store's shards and index; --repair what cannot be trusted",
        description=("Open every shard, check its structure and values, recompute its SHA-256 against "
                     "the index, and report truncated or unreadable shards, orphan temporary files, index "
                     "entries without shard files and shards the index does not list. Exit code 0: "
                     "sound; 1: problems found (and not repaired)."))
    add_store_arg(p, DEFAULT_STORE)
    p.add_argument("--repair", action="store_true",
                   help="take the writer lock, delete corrupt shards and orphan temporary files, and rewrite "
                        "the index so the next `extract` recomputes what was lost")
    p.set_defaults(run=run_verify)


def run_verify(args) -> int:
    from genrekit.cache.verify import verify_store

    args.store = store_of(args)
    report = verify_store(args.store, repair=args.repair)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


# ------------------------------------------------------------------------------------ main
def add_duplicates(sub):
    from genrekit.pipeline.duplicates.command import add_duplicates as add
    add(sub, add_store_arg)


COMMANDS = [add_extract, add_info, add_demo, add_benchmark, add_export, add_predict, add_models, add_verify,
            add_duplicates, add_weights, add_tag]


def build_parser(command: str | None = None, *, every: bool = True) -> argparse.ArgumentParser:
    """The parser; with ``every=False`` only ``command``'s arguments are declared (start-up: cli_lazy)."""
    parser = _OneLineParser(
        prog="genrekit",
        description="Feature extraction and fair, reproducible benchmarking for music genre classification.")
    parser.add_argument("--version", action="version", version=f"genrekit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    declare_commands(sub, COMMANDS, command, every=every)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_of(argv), every=False)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        from genrekit.console import one_line_warnings

        with one_line_warnings():
            return int(args.run(args) or 0)
    except GenrekitError as e:
        if args.debug:
            raise
        print(f"genrekit {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
