"""genrekit's command line: parse → build config objects → call one library function.

Each sub-command is a small ``add_<name>(subparsers)`` that declares its arguments and binds a
``run(args) -> int``. Errors a user can cause (:class:`~genrekit.errors.GenrekitError`) print one
line and exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from genrekit import __version__
from genrekit.errors import GenrekitError, ParameterError

EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def add_feature_args(p: argparse.ArgumentParser):
    """The feature-config arguments shared by extract and demo."""
    from genrekit.features.config import ALL_FEATURES

    g = p.add_argument_group("features")
    g.add_argument("--sr", type=_positive_int, default=22050, metavar="HZ",
                   help="resample every file to this rate (default: 22050)")
    g.add_argument("--features", metavar="LIST", default="all",
                   help="comma-separated subset of: " + ", ".join(ALL_FEATURES) + " (default: all)")
    g.add_argument("--offset", type=_nonneg_float, default=0.0, metavar="S",
                   help="skip this many seconds at the start of each file (default: 0)")
    g.add_argument("--duration", type=_positive_float, default=None, metavar="S",
                   help="read at most this many seconds of each file (default: all)")
    g.add_argument("--n-mels", type=_positive_int, default=128, help="mel bands (default: 128)")
    g.add_argument("--n-mfcc", type=_positive_int, default=20, help="MFCCs (default: 20)")


def feature_config_from_args(args):
    from genrekit.features.config import FeatureConfig, parse_feature_list

    return FeatureConfig(sr=args.sr, features=parse_feature_list(args.features), offset=args.offset,
                         duration=args.duration, n_mels=args.n_mels, n_mfcc=args.n_mfcc)


def add_run_args(p: argparse.ArgumentParser):
    g = p.add_argument_group("execution")
    g.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes (default: all cores)")
    g.add_argument("--shard-size", type=_positive_int, default=64, metavar="N",
                   help="close a shard after N files (default: 64); a crash loses at most one shard")
    g.add_argument("--shard-seconds", type=_positive_float, default=60.0, metavar="S",
                   help="…or after S seconds, whichever comes first (default: 60)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


# ------------------------------------------------------------------------------------ extract
def add_extract(sub):
    from genrekit.pipeline.extract import DEFAULT_STORE

    p = sub.add_parser(
        "extract", help="extract features of a folder of music into a feature store",
        description=(
            "Decode every audio file under AUDIO_DIR, compute features from one STFT per file in "
            "parallel, and write them into an HDF5 feature store. Re-running skips what is done; "
            "an interrupted run resumes. Labels come from sub-folder names (AUDIO_DIR/<label>/<file>), "
            "a CSV manifest, or FMA metadata."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("audio_dir", metavar="AUDIO_DIR", help="folder of audio files (searched recursively)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--manifest", metavar="CSV",
                     help="CSV with columns path,label[,artist|group][,split][,...]; paths relative to the CSV")
    src.add_argument("--fma-metadata", metavar="DIR", help="FMA metadata folder holding tracks.csv")
    p.add_argument("--fma-subset", choices=("small", "medium", "large", "full"), default=None,
                   help="with --fma-metadata: keep only this subset")
    p.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                   help="feature store directory")
    p.add_argument("--strict", action="store_true", help="exit with code 1 if any file failed")
    p.add_argument("--retry-failed", action="store_true", help="retry files that failed before")
    add_feature_args(p)
    add_run_args(p)
    p.set_defaults(run=run_extract)


def run_extract(args) -> int:
    from genrekit.pipeline.extract import extract, install_sigterm_as_interrupt
    from genrekit.pipeline.sources import load_source

    config = feature_config_from_args(args)
    if os.path.exists(args.store) and not os.path.isdir(args.store):
        raise ParameterError(f"--store {args.store} is a file; pass a directory path for the feature store")
    scan = load_source(args.audio_dir, manifest=args.manifest, fma_metadata=args.fma_metadata,
                       subset=args.fma_subset)
    if scan.missing:
        print(f"note: {len(scan.missing)} listed files were not found (e.g. {scan.missing[0]})", file=sys.stderr)
    if scan.skipped:
        print(f"note: skipped {len(scan.skipped)} non-audio files", file=sys.stderr)
    install_sigterm_as_interrupt()
    report = extract(scan.tracks, args.store, config, workers=args.workers, shard_size=args.shard_size,
                     shard_seconds=args.shard_seconds, retry_failed=args.retry_failed,
                     progress=not args.no_progress)
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
    from genrekit.pipeline.extract import DEFAULT_STORE

    p = sub.add_parser("info", help="describe a feature store",
                       description="Tracks per label, groups, failures, feature config and size of a store.")
    p.add_argument("store", nargs="?", default=DEFAULT_STORE, metavar="STORE",
                   help=f"feature store directory (default: {DEFAULT_STORE})")
    p.add_argument("--failures", action="store_true", help="list every failed file with the reason")
    p.set_defaults(run=run_info)


def run_info(args) -> int:
    from genrekit.pipeline.report import describe_store

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
                   help="where the demo audio and store live (default: $GENREKIT_CACHE_DIR or ~/.cache/genrekit)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run_demo)


def run_demo(args) -> int:
    from genrekit.pipeline.demo import run_demo as demo

    demo(cache_dir=args.cache_dir, workers=args.workers, progress=not args.no_progress)
    return 0


# ------------------------------------------------------------------------------------ main
COMMANDS = [add_extract, add_info, add_demo]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genrekit",
        description="Feature extraction and fair, reproducible benchmarking for music genre classification.")
    parser.add_argument("--version", action="version", version=f"genrekit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
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
