"""docs/recipes.md is run as written: its ``sh`` blocks are parsed here, so the doc and the test cannot drift.

Fast tests: every command parses with genrekit's own command line, every ``--param`` is one the model
takes, every recipe names its published figure and what genrekit measured. Slow tests: every command
runs on generated data laid out as the recipes expect (``gtzan/`` with a manifest, ``covers.csv``,
``lyrics.csv``, an FMA-style ``fma_metadata/`` + ``fma_small/``) and writes its report.
"""

from __future__ import annotations

import csv
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from genrekit.cli import build_parser, main

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"


def parse_recipes(text: str) -> dict[str, list[list[str]]]:
    """``section title → commands (argv after 'genrekit')`` of every ```sh block, in order."""
    out: dict[str, list[list[str]]] = {}
    title = None
    in_block = False
    pending = ""
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
        elif line.strip() == "```sh":
            in_block = True
        elif line.strip() == "```" and in_block:
            in_block = False
        elif in_block and line.strip() and not line.lstrip().startswith("#"):
            pending += line.rstrip().rstrip("\\") + " "
            if not line.rstrip().endswith("\\"):
                argv = shlex.split(pending)
                pending = ""
                assert argv[0] == "genrekit", f"recipes.md: a command that is not genrekit's: {argv}"
                out.setdefault(title, []).append(argv[1:])
    return out


def sections() -> dict[str, list[list[str]]]:
    return parse_recipes(RECIPES.read_text(encoding="utf-8"))


def recipe_titles() -> list[str]:
    return [t for t in sections() if t[0].isdigit()]


# ============================================================================ fast: the doc itself
def test_every_command_parses_and_every_param_is_the_models():
    from genrekit.classifiers import make_model
    from genrekit.pipeline.evaluation.params import parse_params

    parser = build_parser()
    found = sections()
    assert "Setup" in found and len(recipe_titles()) == 5
    for title, commands in found.items():
        for argv in commands:
            args = parser.parse_args(argv)
            for model, params in parse_params(getattr(args, "param", None) or []).items():
                make_model(model, params)  # raises on a parameter the model does not have


def test_every_recipe_states_its_published_figure_and_what_genrekit_measured():
    text = RECIPES.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)
    recipes = [p for p in parts if p[:1].isdigit()]
    assert len(recipes) == 5
    for r in recipes:
        assert "**Published:**" in r and "**Measured here:**" in r, r.splitlines()[0]


# ============================================================================ slow: run them
GENRES = ("ambient", "rock", "techno", "hiphop")


def _table(path: Path, ids, labels, width: int, seed: int, strength: float):
    """A feature table keyed by track id whose columns carry some label signal (covers, lyrics)."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *(f"{path.stem}_{j}" for j in range(width))])
        for tid, lab in zip(ids, labels):
            v = rng.normal(size=width)
            v[classes.index(lab) % width] += strength
            w.writerow([tid, *np.round(v, 5)])


def _fma_layout(root: Path):
    """``fma_metadata/tracks.csv`` (FMA's three header rows) and ``fma_small/NNN/NNNNNN.mp3`` from synthetic clips."""
    from genrekit.pipeline.datasets.synth import make_dataset

    src = make_dataset(root / "fma_src", genres=GENRES, artists_per_genre=4, clips_per_artist=2, duration=3.0,
                       fmt="mp3")
    with open(src, newline="") as f:  # make_dataset returns the manifest
        clips = list(csv.DictReader(f))
    top = ["", "artist", "artist", "set", "set", "track"]
    sub = ["", "id", "name", "split", "subset", "genre_top"]
    rows = [top, sub, ["track_id", "", "", "", "", ""]]
    for i, c in enumerate(clips):
        tid = 100 + i
        name = f"{tid:06d}"
        dest = root / "fma_small" / name[:3] / f"{name}.mp3"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src.parent / c["path"], dest)
        take = int(c["path"].rsplit("_", 1)[1].split(".")[0])
        artist = int(c["artist"].rsplit("-", 1)[1])
        split = "test" if artist == 3 else ("validation" if artist == 2 and take == 1 else "training")
        rows.append([str(tid), c["artist"], c["artist"], split, "small", c["label"]])
    (root / "fma_metadata").mkdir()
    with open(root / "fma_metadata" / "tracks.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    shutil.rmtree(root / "fma_src")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Generated data where the recipes expect it, and the Setup block run once."""
    from genrekit.cache.store import FeatureStore
    from genrekit.pipeline.datasets.synth import make_dataset

    root = tmp_path_factory.mktemp("recipes")
    make_dataset(root / "gtzan", genres=GENRES, artists_per_genre=3, clips_per_artist=3, duration=3.0, fmt="wav")
    _fma_layout(root)
    here = Path.cwd()
    import os

    os.chdir(root)
    try:
        for argv in sections()["Setup"]:
            assert main([*argv, "--no-progress"]) == 0, argv
    finally:
        os.chdir(here)
    fs = FeatureStore(root / "gtzan_store")
    _table(root / "covers.csv", fs.ids, fs.labels, 8, seed=1, strength=1.0)
    _table(root / "lyrics.csv", fs.ids, fs.labels, 16, seed=2, strength=1.0)
    return root


def _run_recipe(title: str, root: Path, monkeypatch) -> list[dict]:
    monkeypatch.chdir(root)
    results = []
    for argv in sections()[title]:
        assert main([*argv, "--no-progress"]) == 0, argv
        if argv[0] == "benchmark":
            out = root / argv[argv.index("--out") + 1]
            doc = json.loads((out / "results.json").read_text())
            assert (out / "report.md").is_file()
            for name, m in doc["models"].items():
                assert m.get("error") is None, (name, m.get("error"))
                assert 0 <= m["pooled"]["balanced_accuracy"]["value"] <= 1
                assert m["pooled"]["balanced_accuracy"]["ci_low"] <= m["pooled"]["balanced_accuracy"]["ci_high"]
            results.append(doc)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("index", range(5))
def test_recipe_runs_as_written(index, workdir, monkeypatch):
    title = recipe_titles()[index]
    docs = _run_recipe(title, workdir, monkeypatch)
    assert docs, f"recipe {title!r} runs no benchmark"
    for doc in docs:
        models = doc["models"]
        if doc["split"]["spec"] == "predefined":  # FMA: train on training, test on test, validation aside
            assert doc["store"]["n_labelled"] == len(GENRES) * 8
        else:
            assert doc["split"]["grouped"] and doc["uncertainty"]["bootstrap"]["unit"] == "artist"
        if len(doc["leaderboard"]) > 1:
            assert len(doc["uncertainty"]["comparisons"]) == len(doc["leaderboard"]) - 1
