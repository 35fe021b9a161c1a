"""The commands of pretrained networks: `genrekit weights fetch|check` and `genrekit tag`.

Kept apart from :mod:`genrekit.cli` (which lists them in its COMMANDS); imports nothing heavy
until a command runs.
"""

from __future__ import annotations

import sys

MODELS = ("MTT_musicnn", "MSD_musicnn")


def add_weights(sub):
    p = sub.add_parser(
        "weights", help="fetch and check pretrained weights (musicnn) for the opt-in features and `tag`",
        description=("Fetch musicnn's pretrained checkpoints from the musicnn 0.1.0 wheel on PyPI "
                     "(`pip download --no-deps`: its code is not installed) or from a wheel or folder you "
                     "have (--from), check every file's SHA-256 and keep them in the weights folder "
                     "($GENREKIT_WEIGHTS_DIR, else $GENREKIT_CACHE_DIR/weights, else ~/.cache/genrekit/weights). "
                     "`check` verifies what is there (exit 1 if anything is missing or corrupt)."))
    p.add_argument("action", choices=("fetch", "check", "path"), help="fetch, check, or print the weights folder")
    p.add_argument("--from", dest="source", default=None, metavar="WHEEL_OR_DIR",
                   help="a musicnn-0.1.0 wheel or the musicnn package folder, instead of downloading")
    p.add_argument("--models", default=",".join(MODELS), metavar="LIST",
                   help=f"which models (default: {','.join(MODELS)})")
    p.set_defaults(run=run_weights)


def run_weights(args) -> int:
    from genrekit.pretrained import weights

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        weights.model_files(m)  # unknown names: one line
    if args.action == "path":
        print(weights.weights_dir())
        return 0
    if args.action == "fetch":
        weights.fetch(models, source=args.source)
        return 0
    bad = 0
    for m in models:
        wrong = weights.problems(m)
        print(f"{m}: {'ok' if not wrong else '; '.join(wrong)} ({weights.model_dir(m)})")
        bad += bool(wrong)
    if bad:
        print(f"fix: {weights.FETCH_HINT}", file=sys.stderr)
    return 1 if bad else 0


def add_tag(sub):
    p = sub.add_parser(
        "tag", help="print musicnn's top tags of audio files (per file, or per 3-s patch with --segments)",
        description=("Run the pretrained musicnn tagger (after `genrekit weights fetch`) on each file: 16 kHz, "
                     "3-s patches, the mean of the patches' tag probabilities per file. A file that cannot be "
                     "read is reported and the rest are tagged (exit code 1 if any failed)."))
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="audio files, or folders searched recursively")
    p.add_argument("--musicnn-model", default="MTT_musicnn", choices=MODELS,
                   help="MagnaTagATune or Million Song Dataset tags (default: MTT_musicnn)")
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="tags to show (default: 5)")
    p.add_argument("--segments", action="store_true", help="also print each 3-s patch's tags")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.set_defaults(run=run_tag)


def run_tag(args) -> int:
    import json

    from genrekit.pipeline.prediction.predict import format_prediction
    from genrekit.pipeline.prediction.tags import tag_files

    preds = []
    for pred in tag_files(args.inputs, model=args.musicnn_model, top_k=args.top_k, segments=args.segments):
        preds.append(pred)
        if not args.json:
            print(format_prediction(pred), file=sys.stdout if pred.ok else sys.stderr)
    if args.json:
        print(json.dumps({"model": args.musicnn_model, "predictions": [p.to_dict() for p in preds]}, indent=1))
    return 0 if all(p.ok for p in preds) else 1


__all__ = ["add_weights", "add_tag"]
