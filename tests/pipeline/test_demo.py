"""`genrekit demo` end to end, on a smaller generated set."""

import pytest

from genrekit.cache.store import FeatureStore
from genrekit.pipeline.demo import run_demo
from genrekit.pipeline.synth import GENRES


@pytest.mark.slow
def test_demo_generates_extracts_and_reports(tmp_path):
    lines = []
    small = dict(artists_per_genre=2, clips_per_artist=2, duration=3.0)
    res = run_demo(tmp_path, workers=2, progress=False, out=lines.append, dataset=small,
                   models=("logreg", "knn"), runs_dir=tmp_path / "runs")
    text = "\n".join(lines)
    n = len(GENRES) * 4
    assert f"{n} extracted, 0 skipped as cached, 0 failed" in text
    fs = FeatureStore(res["store"])
    assert len(fs) == n and set(fs.labels) == set(GENRES)
    assert len({r.group for r in fs.tracks}) == len(GENRES) * 2
    bench = res["benchmark"]
    assert bench.report_path.exists() and "logreg" in text and "knn" in text
    assert str(bench.report_path) in text
    # a second demo reuses the data set and the store
    lines.clear()
    run_demo(tmp_path, workers=1, progress=False, out=lines.append, dataset=small, models=("logreg",),
             runs_dir=tmp_path / "runs")
    assert f"0 extracted, {n} skipped as cached" in "\n".join(lines)
