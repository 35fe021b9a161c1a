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


def run_demo(cache_dir=None, *, workers=None, progress=True, out=print, dataset: dict | None = None) -> dict:
    """Generate the demo data set (once), extract it (resumably), and report.

    ``dataset`` overrides :func:`~genrekit.pipeline.synth.make_dataset` arguments (tests use a
    smaller set). Returns a dict with the paths and the extraction report.
    """
    from genrekit.pipeline.extract import extract
    from genrekit.pipeline.report import describe_store
    from genrekit.pipeline.sources import read_manifest
    from genrekit.pipeline.synth import GENRES, make_dataset

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    audio_dir = root / "demo" / "audio"
    store = root / "demo" / "store"
    t0 = time.monotonic()
    out(f"[1/2] generating the demo data set ({len(GENRES)} synthetic genres) in {audio_dir}")
    manifest = make_dataset(audio_dir, **(dataset or {}))
    scan = read_manifest(manifest)
    out(f"      {len(scan.tracks)} clips, {len({t.group for t in scan.tracks})} artists "
        f"({time.monotonic() - t0:.1f} s)")
    out(f"[2/2] extracting features with {workers or os.cpu_count()} workers into {store}")
    report = extract(scan.tracks, store, FeatureConfig(), workers=workers, progress=progress)
    out("      " + report.line())
    out("")
    out(describe_store(store))
    return {"audio_dir": audio_dir, "manifest": manifest, "store": store, "extract": report}
