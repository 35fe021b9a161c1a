"""Bad arguments and mismatched stores: one line on stderr, exit code 2, no traceback unless --debug."""

import json

import h5py
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.cli import main
from genrekit.errors import GenrekitError, StoreError
from genrekit.features.config import ALL_FEATURES
from tests.audio_helpers import write_collection
from tests.reliability import cli_fails, genrekit_cmd, one_line_error, run


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A labelled collection and a small store of it."""
    base = tmp_path_factory.mktemp("args")
    audio = write_collection(base / "audio", n_per_label=3, seconds=1.0)
    store = base / "store"
    assert main(["extract", str(audio), "--store", str(store), "--workers", "1", "--features", "mfcc,rms",
                 "--no-progress"]) == 0
    return audio, store


@pytest.mark.parametrize("argv, words", [
    (["extract", "{audio}", "--workers", "-1"], "--workers: must be >= 1, got -1"),
    (["extract", "{audio}", "--workers", "0"], "--workers: must be >= 1, got 0"),
    (["extract", "{audio}", "--workers", "many"], "expected a whole number, got 'many'"),
    (["extract", "{audio}", "--shard-size", "0"], "--shard-size: must be >= 1"),
    (["extract", "{audio}", "--shard-seconds", "-5"], "--shard-seconds: must be > 0"),
    (["extract", "{audio}", "--sr", "0"], "--sr: must be >= 1"),
    (["extract", "{audio}", "--duration", "0"], "--duration: must be > 0"),
    (["extract", "{audio}", "--offset", "-1"], "--offset: must be >= 0"),
    (["extract", "{audio}", "--n-mfcc", "1.5"], "--n-mfcc: expected a whole number"),
    (["extract"], "required: AUDIO_DIR"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    (["benchmark", "--store", "{store}", "--workers", "0"], "--workers: must be >= 1"),
    (["predict", "x.wav", "--model", "m.joblib", "--top-k", "0"], "--top-k: must be >= 1"),
])
def test_out_of_range_parameters(argv, words, made, capsys):
    audio, store = made
    line = cli_fails([a.format(audio=audio, store=store) for a in argv], capsys)
    assert words in line and "--help" in line


def test_unknown_feature_lists_the_valid_ones(made, capsys):
    line = cli_fails(["extract", str(made[0]), "--features", "mfcc,timbre", "--no-progress"], capsys)
    assert "unknown feature 'timbre'" in line
    assert all(f in line for f in ALL_FEATURES)


def test_store_path_that_is_a_file(made, tmp_path, capsys):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    for argv in (["extract", str(made[0]), "--store", str(f), "--no-progress"], ["info", str(f)],
                 ["verify", str(f)], ["benchmark", "--store", str(f), "--no-progress"]):
        line = cli_fails(argv, capsys)
        assert "is a file" in line or "not a feature store" in line, line


def test_store_of_another_schema_version_in_the_index(made, tmp_path, capsys):
    import shutil

    store = tmp_path / "old"
    shutil.copytree(made[1], store)
    index = json.loads((store / "index.json").read_text())
    index["schema_version"] = 99
    (store / "index.json").write_text(json.dumps(index))
    for argv in (["info", str(store)], ["verify", str(store)],
                 ["extract", str(made[0]), "--store", str(store), "--features", "mfcc,rms", "--no-progress"]):
        line = cli_fails(argv, capsys)
        assert "schema version 99" in line and "--store NEW_PATH" in line, line


def test_shard_of_another_schema_version(made, tmp_path, capsys):
    import shutil

    store = tmp_path / "old"
    shutil.copytree(made[1], store)
    (store / "index.json").unlink()   # the shard itself tells
    (shard,) = store.glob("shard-*.h5")
    with h5py.File(shard, "a") as f:
        f.attrs["schema_version"] = 7
    line = cli_fails(["info", str(store)], capsys)
    assert "schema version 7" in line and "--store NEW_PATH" in line


def test_features_of_another_config_than_requested(made, capsys):
    with pytest.raises(StoreError) as e:
        FeatureStore(made[1], config_hash="0123456789abcdef")
    assert "no features for config 0123456789abcdef" in str(e.value) and "it has:" in str(e.value)
    line = cli_fails(["benchmark", "--store", str(made[1]), "--features", "chroma", "--models", "knn",
                   "--no-progress"], capsys)
    assert "chroma" in line and "mfcc" in line, line    # names what the store has


def test_unknown_model_lists_the_valid_ones(made, capsys):
    line = cli_fails(["benchmark", "--store", str(made[1]), "--models", "svm,deepfake", "--no-progress"], capsys)
    assert "unknown model 'deepfake'" in line and "svm" in line and "knn" in line


@pytest.mark.parametrize("split, words", [("kfold:0", "at least 2 folds"), ("kfold:x", "whole number"),
                                          ("holdout:1.5", "between 0 and 1"), ("zigzag", "zigzag")])
def test_bad_split_specs(split, words, made, capsys):
    line = cli_fails(["benchmark", "--store", str(made[1]), "--models", "knn", "--split", split, "--no-progress"],
                  capsys)
    assert words in line


def test_bad_model_artifacts(made, tmp_path, capsys):
    song = next(made[0].rglob("*.wav"))
    line = cli_fails(["predict", str(song), "--model", str(tmp_path / "none.joblib")], capsys)
    assert "no model artifact" in line
    junk = tmp_path / "junk.joblib"
    junk.write_text("not a model")
    line = cli_fails(["predict", str(song), "--model", str(junk)], capsys)
    assert "not a" in line and "artifact" in line


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(GenrekitError):
        main(["--debug", "info", str(tmp_path / "nostore")])
    # and from a real process: the same error without --debug is one line, with it a traceback
    p = run(genrekit_cmd("info", tmp_path / "nostore"))
    assert p.returncode == 2 and "no feature store" in one_line_error(p.stderr)
    p = run(genrekit_cmd("--debug", "info", tmp_path / "nostore"))
    assert p.returncode != 0 and "Traceback" in p.stderr and "StoreError" in p.stderr
