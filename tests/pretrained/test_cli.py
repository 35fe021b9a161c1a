"""`genrekit weights`, `genrekit tag` and `extract --features …,musicnn` on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from genrekit.cli import main
from genrekit.pretrained import weights
from tests.audio_helpers import tone
from tests.pretrained.conftest import real_prefix
from tests.reliability import cli_fails


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREKIT_WEIGHTS_DIR", str(tmp_path / "empty"))
    weights.verified_prefix.cache_clear()
    yield
    weights.verified_prefix.cache_clear()


def test_missing_weights_are_one_line_naming_the_fix(tmp_path, capsys, no_weights):
    wav = tmp_path / "a" / "x.wav"
    wav.parent.mkdir()
    sf.write(wav, tone(440, 4.0, 22050, seed=0), 22050)
    line = cli_fails(["tag", str(wav)], capsys)
    assert "model.index is missing" in line and "genrekit weights fetch" in line
    line = cli_fails(["extract", str(tmp_path / "a"), "--store", str(tmp_path / "st"), "--features", "mfcc,musicnn",
                      "--workers", "1", "--no-progress"], capsys)
    assert "genrekit weights fetch" in line
    assert not (tmp_path / "st").exists()
    assert main(["weights", "check"]) == 1
    out = capsys.readouterr()
    assert "MTT_musicnn: model.index is missing" in out.out and "genrekit weights fetch" in out.err
    assert "unknown musicnn model 'nope'" in cli_fails(["weights", "check", "--models", "nope"], capsys)


def test_tag_prints_top_tags_per_file_and_patch(tmp_path, capsys):
    real_prefix("MTT_musicnn")
    sf.write(tmp_path / "x.wav", np.stack([tone(440, 7.0, 44100, seed=1)] * 2, axis=1), 44100)  # stereo, 44.1 kHz
    sf.write(tmp_path / "short.wav", tone(440, 0.5, 8000, seed=2), 8000)
    (tmp_path / "bad.wav").write_bytes(b"RIFF????WAVEnope")
    rc = main(["tag", str(tmp_path), "--top-k", "2", "--segments", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1  # bad.wav failed, the others were tagged
    by = {p["path"].rsplit("/", 1)[-1]: p for p in doc["predictions"]}
    assert not by["bad.wav"]["ok"]
    assert len(by["x.wav"]["top"]) == 2 and len(by["x.wav"]["segments"]) == 2
    assert len(by["short.wav"]["segments"]) == 1  # shorter than a patch: one repeated patch
    p = [t["probability"] for t in by["x.wav"]["top"]]
    assert 0 < p[1] <= p[0] < 1
