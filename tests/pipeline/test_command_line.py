"""One command line: the store the same way everywhere, each default said once, no needless
AUDIO_DIR, and exports whose row order does not depend on how the store happens to be sharded."""

from __future__ import annotations

import re

import pytest

from genrekit.cli import build_parser, main
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from genrekit.features import FeatureConfig
from tests.audio_helpers import write_collection

CONFIG = FeatureConfig(features=("mfcc", "rms"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return write_collection(tmp_path_factory.mktemp("cli") / "audio", n_per_label=4, seconds=1.0)


@pytest.fixture(scope="module")
def stores(audio, tmp_path_factory):
    """The same audio as one shard (1 worker) and as one shard per file from 2 workers."""
    base = tmp_path_factory.mktemp("stores")
    tracks = scan_folder(audio).tracks
    one, many = base / "one" / "store", base / "many" / "store"  # same name: headers name the store
    extract(tracks, one, CONFIG, workers=1, shard_size=64, progress=False)
    extract(list(reversed(tracks)), many, CONFIG, workers=2, shard_size=1, progress=False)
    return one, many


@pytest.mark.parametrize("command", ["info", "verify"])
def test_reading_commands_take_the_store_positionally_or_as_an_option(command, stores, capsys):
    store = stores[0]
    assert main([command, str(store)]) == 0
    positional = capsys.readouterr().out
    assert main([command, "--store", str(store)]) == 0
    assert capsys.readouterr().out == positional and str(store) in positional
    assert main([command, str(store), "--store", str(stores[1])]) == 2
    assert "two stores given" in capsys.readouterr().err


def test_every_default_is_said_once_in_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name, p in sub.items():
        text = " ".join(p.format_help().split())
        assert not re.search(r"\(default: [^)]*\)\s*\(default:", text), f"{name}: default said twice"
    extract_help = " ".join(sub["extract"].format_help().split())
    assert "(default: 22050)" in extract_help and "not needed with --manifest" in extract_help


def test_extract_with_a_manifest_needs_no_audio_dir(audio, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["extract", "--manifest", str(audio / "manifest.csv"), "--store", str(store),
                 "--features", "mfcc,rms", "--workers", "1", "--no-progress"]) == 0
    assert "8 extracted" in capsys.readouterr().out
    assert main(["extract", "--store", str(store), "--no-progress"]) == 2
    assert "required: AUDIO_DIR" in capsys.readouterr().err


@pytest.mark.parametrize("fmt, level", [("csv", "summary"), ("arff", "summary"), ("csv", "frames")])
def test_export_rows_are_in_track_id_order_whatever_the_sharding(fmt, level, stores, tmp_path):
    outs = []
    for store in stores:
        out = tmp_path / f"{store.parent.name}.{fmt}"
        assert main(["export", "--store", str(store), "--out", str(out), "--level", level, "--no-progress"]) == 0
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    ids = [line.split(",")[0] for line in outs[0].splitlines()[1:]] if fmt == "csv" else None
    if ids is not None:
        assert ids == sorted(ids)
