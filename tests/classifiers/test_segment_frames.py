"""cnn1d.segment_frames: a segment length in frames (1,024-frame tracks, 128x128 pieces), not seconds."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.classifiers import make_model
from genrekit.classifiers.torch_heads import window_offsets


def _tracks(n=12, dims=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b"], n // 2)
    X = [rng.normal(size=(int(rng.integers(20, 70)), dims)).astype(np.float32) + (lab == "b") for lab in y]
    return X, y


def test_segment_frames_overrides_seconds_and_pads_or_cuts():
    X, y = _tracks()
    est = make_model("cnn1d", {"segment_frames": 32, "segment_seconds": 9.0, "max_segments": 1, "augment": False,
                               "max_epochs": 2, "channels": 4, "n_blocks": 1}, random_state=0)
    est.fit(X, y)
    assert est.segment_frames_ == 32  # not 9 s x the frame rate
    assert est.predict(X).shape == (len(X),)
    # one central window of 32 frames for a longer track, the whole (padded) track for a shorter one
    assert window_offsets(70, 32, 1) == [19] and window_offsets(20, 32, 1) == [0]
    default = make_model("cnn1d", {"max_epochs": 1, "channels": 4, "n_blocks": 1, "frame_rate": 10.0},
                         random_state=0).fit(X, y)
    assert default.segment_frames_ == 30  # 3 s x 10 frames/s when segment_frames is unset


def test_segment_frames_must_be_a_positive_whole_number():
    X, y = _tracks()
    with pytest.raises(ValueError, match="segment_frames"):
        make_model("cnn1d", {"segment_frames": 0}).fit(X, y)
