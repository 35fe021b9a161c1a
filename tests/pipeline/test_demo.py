"""`genrekit demo` end to end, on a smaller generated set."""

import pytest

from genrekit.cache.store import FeatureStore
from genrekit.pipeline.datasets.demo import run_demo
from genrekit.pipeline.datasets.synth import GENRES


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
    tagging = res["tagging"]   # the tagging leaderboard on the clips' tags
    assert tagging.results["task"] == "tagging" and "macro PR-AUC" in text and "drums" in tagging.results["tags"]
    assert tagging.out_dir == bench.out_dir / "tagging" and tagging.leaderboard[0]["roc_auc_macro_mean"] > 0.5
    # a second demo reuses the data set and the store
    lines.clear()
    run_demo(tmp_path, workers=1, progress=False, out=lines.append, dataset=small, models=("logreg",),
             runs_dir=tmp_path / "runs")
    assert f"0 extracted, {n} skipped as cached" in "\n".join(lines)


def test_demo_cache_dir_holds_the_run_folder_too(tmp_path, monkeypatch, capsys):
    """`genrekit demo --cache-dir X` writes its benchmark run under X/demo/runs, not ./runs."""
    import functools

    import genrekit.pipeline.datasets.demo as demo_module
    from genrekit.cli import main

    small = dict(genres=("rock", "jazz", "techno"), artists_per_genre=2, clips_per_artist=1, duration=2.0)
    # The CLI's own call, on a smaller set: cache_dir comes from --cache-dir, runs_dir is left out.
    monkeypatch.setattr(demo_module, "run_demo",
                        functools.partial(demo_module.run_demo, dataset=small, models=("logreg",)))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    cache = tmp_path / "cache"
    assert main(["demo", "--cache-dir", str(cache), "--workers", "1", "--no-progress"]) == 0
    assert list(cwd.iterdir()) == []  # nothing in the working folder
    runs = list((cache / "demo" / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("demo-")
    assert (runs[0] / "report.md").is_file() and (runs[0] / "leaderboard.csv").is_file()
    assert f"report: {runs[0] / 'report.md'}" in capsys.readouterr().out
