"""Fetching and verifying musicnn's weights: from a wheel or folder, checksums, one-line errors."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from genrekit.pretrained import weights
from genrekit.pretrained.weights import WeightsError


def test_weights_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENREKIT_WEIGHTS_DIR", str(tmp_path / "w"))
    assert weights.weights_dir() == tmp_path / "w"
    monkeypatch.delenv("GENREKIT_WEIGHTS_DIR")
    monkeypatch.setenv("GENREKIT_CACHE_DIR", str(tmp_path / "c"))
    assert weights.weights_dir() == tmp_path / "c" / "weights"
    monkeypatch.delenv("GENREKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert weights.weights_dir() == tmp_path / "x" / "genrekit" / "weights"
    assert weights.checkpoint_prefix("MSD_musicnn").endswith("musicnn-0.1.0/MSD_musicnn/model")


def test_missing_weights_name_the_fix(tmp_path):
    with pytest.raises(WeightsError, match=r"model.index is missing; run `genrekit weights fetch`") as e:
        weights.verify("MTT_musicnn", tmp_path)
    assert "\n" not in str(e.value)
    with pytest.raises(WeightsError, match="unknown musicnn model 'MTT_vgg'; choose one of MTT_musicnn, MSD_musicnn"):
        weights.verify("MTT_vgg", tmp_path)


def test_a_wheel_that_is_not_the_release_is_refused_and_leaves_nothing(tmp_path):
    wheel = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for m in weights.MODELS:
            z.writestr(f"musicnn/{m}/.index", b"x" * 100)
            z.writestr(f"musicnn/{m}/.data-00000-of-00001", b"y" * 100)
    root = tmp_path / "root"
    with pytest.raises(WeightsError, match="is corrupt .* not the musicnn 0.1.0 release"):
        weights.fetch(["MTT_musicnn"], source=wheel, root=root, out=lambda s: None)
    assert not any(p.is_file() for p in root.rglob("*"))
    (tmp_path / "notzip.whl").write_bytes(b"PK?")
    with pytest.raises(WeightsError, match="is not a wheel"):
        weights.fetch(["MTT_musicnn"], source=tmp_path / "notzip.whl", root=root, out=lambda s: None)
    with pytest.raises(WeightsError, match="does not exist"):
        weights.fetch(["MTT_musicnn"], source=tmp_path / "nope.whl", root=root, out=lambda s: None)


def test_fetch_from_a_folder_verifies_and_detects_corruption(mtt_prefix, tmp_path):
    pkg = tmp_path / "musicnn" / "MTT_musicnn"
    pkg.mkdir(parents=True)
    shutil.copy(mtt_prefix + ".index", pkg / ".index")
    shutil.copy(mtt_prefix + ".data-00000-of-00001", pkg / ".data-00000-of-00001")
    root = tmp_path / "root"
    lines = []
    prefixes = weights.fetch(["MTT_musicnn"], source=tmp_path, root=root, out=lines.append)
    assert prefixes == [weights.checkpoint_prefix("MTT_musicnn", root)]
    assert weights.verify("MTT_musicnn", root) == prefixes[0]
    assert "verified" in lines[-1]
    weights.fetch(["MTT_musicnn"], source=tmp_path / "nothing-needed", root=root, out=lines.append)
    assert "present and verified" in lines[-1]  # intact: the source is not even looked at
    data = root / "musicnn-0.1.0" / "MTT_musicnn" / "model.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 1
    data.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match=r"model.data-00000-of-00001 is corrupt .*genrekit weights fetch"):
        weights.verify("MTT_musicnn", root)
    data.write_bytes(bytes(raw[:5000]))  # partial
    with pytest.raises(WeightsError, match="is corrupt"):
        weights.verify("MTT_musicnn", root)
