"""`genrekit demo`: the whole path on a generated, deterministic data set."""

from __future__ import annotations

import os
import time
from pathlib import Path

from genrekit.features.config import FeatureConfig


def default_cache_dir() -> Path:
    """``$GENREKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/genrekit``, else ``~/.cache/genrekit``."""
    env = os.environ.get("GENREKIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "genrekit"


#: Models the demo compares: classic baselines and CPU-sized neural heads (when registered).
DEMO_MODELS = ("svm", "knn", "gmm", "rf", "logreg", "mlp", "cnn1d")
#: Models of the demo's tagging benchmark (the clips' layers, tempo class and mood as tags).
DEMO_TAG_MODELS = ("logreg", "knn", "rf")


def run_demo(cache_dir=None, *, workers=None, progress=True, out=print, dataset: dict | None = None,
             models=DEMO_MODELS, runs_dir=None, tag_models=DEMO_TAG_MODELS) -> dict:
    """Generate the demo data set (once), extract it (resumably), benchmark, and report.

    ``dataset`` overrides :func:`~genrekit.pipeline.datasets.synth.make_dataset` arguments (tests use a
    smaller set). Audio, store and runs all live under ``cache_dir/demo`` (``cache_dir`` defaults to
    :func:`default_cache_dir`). The benchmark uses an artist-grouped 5-fold split and writes its
    report under ``runs_dir/demo-<timestamp>``; ``runs_dir`` defaults to ``cache_dir/demo/runs``.
    Then ``tag_models`` (none: skipped) run the tagging benchmark on the clips' tags (layers, tempo
    class, mood; :mod:`~genrekit.pipeline.datasets.synth.tags`) into ``<that run>/tagging``.
    Returns a dict with the paths and the reports (``tagging``: None when skipped).
    """
    from genrekit.pipeline.extraction.run import extract
    from genrekit.cache.describe import describe_store
    from genrekit.pipeline.extraction.sources import read_manifest
    from genrekit.pipeline.datasets.synth import GENRES, make_dataset

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    audio_dir = root / "demo" / "audio"
    store = root / "demo" / "store"
    t0 = time.monotonic()
    out(f"[1/3] generating the demo data set ({len(GENRES)} synthetic genres) in {audio_dir}")
    manifest = make_dataset(audio_dir, **(dataset or {}))
    scan = read_manifest(manifest)
    out(f"      {len(scan.tracks)} clips, {len({t.group for t in scan.tracks})} artists "
        f"({time.monotonic() - t0:.1f} s)")
    out(f"[2/3] extracting features with {workers or os.cpu_count()} workers into {store}")
    report = extract(scan.tracks, store, FeatureConfig(), workers=workers, progress=progress)
    out("      " + report.line())
    out("")
    out(describe_store(store))
    out("")

    from genrekit.classifiers.registry import available_models
    from genrekit.pipeline.evaluation.runner import run_benchmark

    from genrekit.classifiers.neural import DEMO_PARAMS

    names = [m for m in models if m in available_models()]
    runs = Path(runs_dir) if runs_dir is not None else root / "demo" / "runs"
    run_dir = runs / time.strftime("demo-%Y%m%d-%H%M%S")
    out(f"[3/3] benchmarking {', '.join(names)} on artist-grouped folds")
    bench = run_benchmark(store, names, split="group-kfold:5", seed=0, out=run_dir, workers=workers,
                          params={m: dict(DEMO_PARAMS[m]) for m in names if m in DEMO_PARAMS},  # CPU-sized heads
                          progress=progress, log=lambda m: out("      " + m))
    out("")
    out(bench.table())
    out("")
    out(f"report: {bench.report_path}")
    tagging = _tagging(store, tag_models, bench.out_dir / "tagging", workers, progress, len(scan.tracks), out)
    out(f"done in {time.monotonic() - t0:.0f} s")
    return {"audio_dir": audio_dir, "manifest": manifest, "store": store, "extract": report,
            "benchmark": bench, "tagging": tagging}


def _tagging(store, models, run_dir, workers, progress, n_tracks, out):
    """The demo's tagging benchmark (a smaller data set keeps rarer tags)."""
    from genrekit.classifiers.registry import available_models
    from genrekit.pipeline.evaluation.runner import run_benchmark
    from genrekit.tags import DEFAULT_MIN_TAG_COUNT

    names = [m for m in models if m in available_models()]
    if not names:
        return None
    out("")
    out(f"[+] tagging: {', '.join(names)} on the clips' tags (layers, tempo class, mood), artist-grouped folds")
    bench = run_benchmark(store, names, task="tagging", split="group-kfold:5", seed=0, out=run_dir, workers=workers,
                          min_tag_count=min(DEFAULT_MIN_TAG_COUNT, max(2, n_tracks // 10)), progress=progress,
                          log=lambda m: out("      " + m))
    out("")
    out(bench.table())
    out("")
    out(f"tagging report: {bench.report_path}")
    return bench
