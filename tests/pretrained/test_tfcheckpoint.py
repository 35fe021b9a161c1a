"""The numpy checkpoint reader on checkpoints written here (tests/pretrained/ckpt_writer.py) and
on musicnn's real files."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.pretrained.tfcheckpoint import CheckpointError, CheckpointReader, masked_crc32c
from tests.pretrained.ckpt_writer import crc32c, mask, write_checkpoint


def _tensors():
    rng = np.random.default_rng(0)
    return {
        "conv2d/kernel": rng.standard_normal((7, 38, 1, 5)).astype(np.float32),
        "conv2d/bias": rng.standard_normal(5).astype(np.float32),
        "conv2d_1/kernel": rng.standard_normal((3, 2)).astype(np.float64),
        "batch_normalization/moving_mean": np.float32(rng.standard_normal(1)),
        "global_step": np.array(123456789012, dtype=np.int64),
        "half": rng.standard_normal((4, 3)).astype(np.float16),
        "mask": np.array([True, False, True]),
        "counts": np.arange(300, dtype=np.int32).reshape(10, 30),
        "empty": np.zeros((0, 4), np.float32),
        "z/long/name/sharing/a/prefix": np.full((2, 2), 7, np.uint8),
    }


def test_reads_every_tensor_by_name_dtype_and_shape(tmp_path):
    t = _tensors()
    write_checkpoint(str(tmp_path / "ck"), t, per_block=3)
    r = CheckpointReader(tmp_path / "ck")
    assert r.names() == sorted(t)
    for name, want in t.items():
        got = r.tensor(name, verify_crc=True)
        assert got.dtype == np.asarray(want).dtype and got.shape == np.shape(want), name
        np.testing.assert_array_equal(got, want)
    assert r.entry("conv2d/kernel").shape == (7, 38, 1, 5)
    assert set(r.tensors()) == set(t)


def test_crc_matches_the_known_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert masked_crc32c(b"123456789") == mask(0xE3069283)


def test_corrupt_data_fails_the_crc_only_when_asked(tmp_path):
    write_checkpoint(str(tmp_path / "ck"), {"w": np.arange(16, dtype=np.float32)})
    data = tmp_path / "ck.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[5] ^= 0xFF
    data.write_bytes(bytes(raw))
    r = CheckpointReader(tmp_path / "ck")
    assert r.tensor("w").shape == (16,)  # read without the check
    with pytest.raises(CheckpointError, match="CRC-32C mismatch"):
        r.tensor("w", verify_crc=True)


def test_truncated_and_missing_files_are_one_line_errors(tmp_path):
    write_checkpoint(str(tmp_path / "ck"), {"w": np.arange(16, dtype=np.float32)})
    data = tmp_path / "ck.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="beyond the end"):
        CheckpointReader(tmp_path / "ck").tensor("w")
    data.unlink()
    with pytest.raises(CheckpointError, match="cannot read checkpoint data"):
        CheckpointReader(tmp_path / "ck").tensor("w")
    with pytest.raises(CheckpointError, match="no tensor 'v'"):
        CheckpointReader(tmp_path / "ck").entry("v")
    with pytest.raises(CheckpointError, match="cannot read checkpoint index"):
        CheckpointReader(tmp_path / "nothing")
    (tmp_path / "bad.index").write_bytes(b"not a table" * 10)
    with pytest.raises(CheckpointError, match="not a TensorFlow checkpoint index"):
        CheckpointReader(tmp_path / "bad")
    idx = (tmp_path / "ck.index").read_bytes()
    (tmp_path / "cut.index").write_bytes(idx[:10] + idx[-48:])
    with pytest.raises(CheckpointError):
        CheckpointReader(tmp_path / "cut")


def test_reads_musicnn_real_checkpoint(mtt_prefix):
    r = CheckpointReader(mtt_prefix)
    assert r.entry("conv2d/kernel").shape == (7, 38, 1, 204)
    assert r.entry("conv2d_1/kernel").shape == (7, 67, 1, 204)
    assert r.entry("dense/kernel").shape == (1506, 200)
    assert r.entry("dense_1/kernel").shape == (200, 50)
    bias = r.tensor("dense_1/bias", verify_crc=True)
    assert bias.dtype == np.float32 and bias.shape == (50,) and np.isfinite(bias).all()
    var = r.tensor("batch_normalization_9/moving_variance", verify_crc=True)
    assert (var > 0).all()
