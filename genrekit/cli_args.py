"""The command line's shared pieces: argument types that refuse bad values with one line, the
one-line usage-error parser, and the argument groups several sub-commands declare (features,
execution, cluster). :mod:`genrekit.cli` builds the sub-commands from them."""

from __future__ import annotations

import argparse
import os

from genrekit.errors import ParameterError

EXIT_USAGE = 2


class _DefaultsOnce(argparse.ArgumentDefaultsHelpFormatter):
    """Adds ``(default: X)`` to an option's help unless the help already says its default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (what was wrong, and where to read more), exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


#: ``--workers`` above this many per core is refused: each worker process holds its own copy of
#: the libraries and of the file in progress (hundreds of MB), and more than a few per core
#: only adds memory and switching, never speed.
WORKERS_PER_CORE = 4


def _max_workers() -> int:
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def _workers(text: str) -> int:
    v = _positive_int(text)
    if v > _max_workers():
        raise argparse.ArgumentTypeError(
            f"at most {_max_workers()} ({WORKERS_PER_CORE} per core of this machine's {os.cpu_count() or 1}), "
            f"got {v}")
    return v


WORKERS_HELP = f"at most {WORKERS_PER_CORE} per core ({_max_workers()} here)"


def _name_list(text: str | None, option: str, valid) -> str | None:
    """``text`` of a comma-separated ``option``, refused when given but naming nothing (``""``)."""
    if text is not None and not any(t.strip() for t in text.split(",")):
        raise ParameterError(f"{option} {text!r} names nothing; give one or more of: {', '.join(valid())}")
    return text


def _feature_names():
    from genrekit.features.config import ALL_FEATURES

    return ALL_FEATURES


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


def _seed(text: str) -> int:
    """A random seed numpy and scikit-learn accept: a whole number from 0 to 2**32 - 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= v <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 4294967295 (2**32 - 1), got {v}")
    return v


def add_feature_args(p: argparse.ArgumentParser):
    """The feature-config arguments shared by extract and demo."""
    from genrekit.features.config import ALL_FEATURES

    g = p.add_argument_group("features")
    g.add_argument("--sr", type=_positive_int, default=22050, metavar="HZ",
                   help="resample every file to this rate (default: 22050)")
    g.add_argument("--features", metavar="LIST", default="all",
                   help="comma-separated subset of: " + ", ".join(ALL_FEATURES) + " (default: all); opt-in, "
                        "after `genrekit weights fetch`: musicnn, musicnn_tags (e.g. all,musicnn)")
    g.add_argument("--offset", type=_nonneg_float, default=0.0, metavar="S",
                   help="skip this many seconds at the start of each file (default: 0)")
    g.add_argument("--duration", type=_positive_float, default=None, metavar="S",
                   help="read at most this many seconds of each file (default: all)")
    g.add_argument("--n-mels", type=_positive_int, default=128, help="mel bands (default: 128)")
    g.add_argument("--n-mfcc", type=_positive_int, default=20, help="MFCCs (default: 20)")
    g.add_argument("--musicnn-model", default="MTT_musicnn", choices=("MTT_musicnn", "MSD_musicnn"),
                   help="pretrained model of the opt-in features musicnn, musicnn_tags (default: MTT_musicnn)")


def feature_config_from_args(args):
    from genrekit.features.config import FeatureConfig, parse_feature_list

    return FeatureConfig(sr=args.sr, features=parse_feature_list(args.features), offset=args.offset,
                         duration=args.duration, n_mels=args.n_mels, n_mfcc=args.n_mfcc,
                         musicnn_model=args.musicnn_model)


def add_run_args(p: argparse.ArgumentParser):
    from genrekit.pipeline.extraction.plan import DEFAULT_MAX_SECONDS, DEFAULT_SHARD_SECONDS, DEFAULT_SHARD_SIZE

    g = p.add_argument_group("execution")
    g.add_argument("--workers", type=_workers, default=None, metavar="N",
                   help=f"worker processes, {WORKERS_HELP} (default: all cores)")
    g.add_argument("--max-minutes", type=_positive_float, default=DEFAULT_MAX_SECONDS / 60, metavar="M",
                   help="refuse (record as failed) files with more than M minutes of audio to analyse; "
                        f"memory grows ~0.12 MB per second of audio per worker (default: {DEFAULT_MAX_SECONDS / 60:g})")
    g.add_argument("--shard-size", type=_positive_int, default=DEFAULT_SHARD_SIZE, metavar="N",
                   help=f"close a shard after N files (default: {DEFAULT_SHARD_SIZE}); a crash loses at most "
                        "one shard")
    g.add_argument("--shard-seconds", type=_positive_float, default=DEFAULT_SHARD_SECONDS, metavar="S",
                   help=f"…or after S seconds, whichever comes first (default: {DEFAULT_SHARD_SECONDS:g})")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_cluster_args(p: argparse.ArgumentParser, *, batches: bool = True):
    """--backend local|dask, --scheduler, --batch-size (extract and benchmark)."""
    from genrekit.pipeline.extraction.executor import EXECUTORS
    from genrekit.pipeline.extraction.plan import DEFAULT_BATCH_SIZE

    g = p.add_argument_group("cluster (pip install 'genrekit[distributed]')")
    g.add_argument("--backend", choices=EXECUTORS, default="local",
                   help="local: processes on this machine; dask: a Dask cluster (a local one of --workers "
                        "processes, or --scheduler's). The store and the audio must be on storage every "
                        "worker sees at the same path")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="with --backend dask: connect to this scheduler (tcp://HOST:8786) instead of "
                        "starting a local cluster; its workers are used and --workers is ignored")
    if batches:
        g.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
                       help="with --backend dask: files per task; each batch is written as one shard")


def cluster_kwargs(args) -> dict:
    if args.scheduler and args.backend != "dask":
        raise ParameterError(f"--scheduler {args.scheduler} needs --backend dask")
    if args.backend == "dask":
        from genrekit.pipeline.extraction.cluster import require_distributed

        require_distributed()  # before scanning a large collection
    return {"executor": args.backend, "scheduler": args.scheduler,
            **({"batch_size": args.batch_size} if hasattr(args, "batch_size") else {})}
