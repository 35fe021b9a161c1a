"""Fixtures of the pretrained-weights tests: the real musicnn weights when fetched (else skip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrekit.pretrained import weights

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "fixtures"


def real_prefix(model: str = "MTT_musicnn") -> str:
    """The verified checkpoint prefix of ``model``; the test is skipped when it is not fetched."""
    if weights.problems(model):
        pytest.skip(f"musicnn weights {model} not fetched (make weights / genrekit weights fetch)")
    return weights.checkpoint_prefix(model)


@pytest.fixture
def mtt_prefix() -> str:
    return real_prefix("MTT_musicnn")


@pytest.fixture
def shared_data() -> Path:
    if not (DATA / "gtzan-mini").is_dir():
        pytest.skip("../shared/data (gtzan-mini) is not present")
    return DATA
