"""What ``predict`` warns about: a timeline a summary model was not trained for, and outputs that
do not depend on the input.

* A summary model learns from the statistics of whole tracks (or of the first ``--duration``
  seconds). ``--segments S`` hands it the statistics of S-second windows, whose means and spreads
  differ; the model never saw such vectors, so its timeline is unreliable
  (:func:`segment_mismatch`).
* Probabilities that are nearly the same for every file and segment mean the model tells these
  inputs apart no better than a constant would (:class:`SpreadCheck`).
"""

from __future__ import annotations

import warnings

import numpy as np

#: Below this largest range of any class's probability across the inputs, outputs are "constant".
NEAR_CONSTANT_RANGE = 0.1
#: Fewest inputs (files and segments) that the check above needs.
NEAR_CONSTANT_MIN_INPUTS = 3
#: A summary model's training windows may be this much longer than the segments before a warning.
WINDOW_RATIO = 1.5


class PredictionWarning(UserWarning):
    """Something about a prediction the user should know (the CLI prints it once)."""


def segment_mismatch(artifact, segments: float | None) -> str | None:
    """The warning for ``--segments`` with a summary model trained on longer windows, or None."""
    if segments is None or artifact.input != "summary":
        return None
    window = artifact.config.duration
    if window is not None and window <= WINDOW_RATIO * segments:
        return None
    trained = "whole tracks" if window is None else f"the first {window:g} s of each track"
    return (f"{artifact.model} is a summary model trained on summaries of {trained}; --segments "
            f"{segments:g} scores summaries of {segments:g}-s windows, which it never saw, so the "
            "timeline is unreliable (a frame model such as cnn1d or crnn is trained on segments)")


class SpreadCheck:
    """Collects every probability vector ``predict`` gives and says whether they barely vary."""

    def __init__(self):
        self.rows: list[np.ndarray] = []

    def add(self, P: np.ndarray):
        self.rows.append(np.atleast_2d(np.asarray(P, dtype=float)))

    def message(self) -> str | None:
        """The warning when the probabilities are near-constant across the inputs, else None."""
        if not self.rows:
            return None
        P = np.vstack(self.rows)
        if len(P) < NEAR_CONSTANT_MIN_INPUTS:
            return None
        spread = float((P.max(axis=0) - P.min(axis=0)).max())
        if spread >= NEAR_CONSTANT_RANGE:
            return None
        return (f"the predicted probabilities are nearly the same for all {len(P)} inputs (no class's "
                f"probability varies by more than {spread:.3f}): the model does not tell these inputs "
                "apart; check that they resemble its training data")


def warn(message: str | None):
    if message:
        warnings.warn(message, PredictionWarning, stacklevel=3)
