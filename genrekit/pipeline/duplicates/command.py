"""The ``genrekit duplicates`` sub-command (its arguments and what it runs); cli.py lists it."""

from __future__ import annotations

import argparse
import json


def add_duplicates(sub, add_store_arg):
    from genrekit.cache.layout import DEFAULT_STORE

    p = sub.add_parser(
        "duplicates", help="list groups of tracks in a store that are the same recording",
        description=("Compare the audio fingerprints `extract` stored for every track (no audio is read) "
                     "through an index over their hashes, and list the groups of tracks that hold the same "
                     "recording: exact copies, re-encodes, gain changes, resampled copies and excerpts that "
                     "overlap by about 10 s or more, each with a score (the share of fingerprint hashes that "
                     "agree where the tracks overlap) and the time offset between them. Duplicate groups are "
                     "kept on one side of every `benchmark` split."))
    add_store_arg(p, DEFAULT_STORE)
    p.add_argument("--min-score", type=float, default=None, metavar="S",
                   help="the share of hashes that must agree over the overlap (default: 0.3; see README "
                        "'Duplicates' for the trade-off)")
    p.add_argument("--min-matches", type=int, default=None, metavar="N",
                   help="hashes that must agree at one offset (default: 20)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_duplicates)
    return p


def run_duplicates(args: argparse.Namespace) -> int:
    """Print the report; exit code 0 (duplicates found or not)."""
    from genrekit.cache.store import FeatureStore
    from genrekit.cli import store_of
    from genrekit.errors import ParameterError
    from genrekit.pipeline.duplicates.find import find_duplicates
    from genrekit.pipeline.duplicates.index import MIN_MATCHES, MIN_SCORE

    min_score = MIN_SCORE if args.min_score is None else args.min_score
    min_matches = MIN_MATCHES if args.min_matches is None else args.min_matches
    if not 0 < min_score <= 1:
        raise ParameterError(f"--min-score must be in (0, 1], got {min_score:g}")
    if min_matches < 1:
        raise ParameterError(f"--min-matches must be >= 1, got {min_matches}")
    with FeatureStore(store_of(args)) as store:
        report = find_duplicates(store, min_score=min_score, min_matches=min_matches,
                                 progress=not args.no_progress and not args.json)
    print(json.dumps(report.to_dict(), indent=1) if args.json else "\n".join(report.lines()))
    return 0
