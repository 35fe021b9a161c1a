"""One file per trained model: the estimator and everything needed to apply it to new audio.

An artifact holds the fitted estimator (its whole pipeline, scaler included), the
:class:`~genrekit.features.FeatureConfig` it was trained on (as JSON), the class names, what the
model reads (summary columns or frame features, in order) and the genrekit version. It is one
``joblib`` file written under a temporary name and renamed into place.

Loading runs pickled code: load only artifacts you trust.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from genrekit import __version__
from genrekit.errors import GenrekitError, ParameterError

FORMAT = "genrekit-model"
FORMAT_VERSION = 1
SUFFIX = ".joblib"


class ArtifactVersionWarning(UserWarning):
    """An artifact saved by another genrekit version was loaded (it may behave differently)."""


@dataclass
class ModelArtifact:
    """A trained model ready for :func:`genrekit.pipeline.prediction.predict.predict`.

    Attributes
    ----------
    model : str
        Registry name (``svm``, ``gmm-frames``, …).
    estimator : fitted estimator
        Predicts class indices into ``classes``.
    config_json : str
        The feature config the training features were computed with.
    classes : list of str
        Class names; the estimator's ``classes_`` are indices into this list.
    input : {"summary", "frames"}
    columns : list of str or None
        Summary columns the model reads, in order (``input="summary"``).
    frame_features : list of str or None
        Frame features stacked side by side, in order (``input="frames"``).
    params : dict
        Hyper-parameters given with ``--param`` (and chosen by ``--tune``).
    genrekit_version : str
    trained_on : dict
        Provenance: store path, config hash, number of tracks, split, seed, time.
    """

    model: str
    estimator: object
    config_json: str
    classes: list
    input: str = "summary"
    columns: list | None = None
    frame_features: list | None = None
    params: dict = field(default_factory=dict)
    genrekit_version: str = __version__
    trained_on: dict = field(default_factory=dict)

    @property
    def config(self):
        """The :class:`~genrekit.features.FeatureConfig` to extract new audio with."""
        from genrekit.features.config import FeatureConfig

        return FeatureConfig.from_json(self.config_json)

    def to_payload(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "model": self.model,
            "estimator": self.estimator, "config_json": self.config_json,
            "classes": list(self.classes), "input": self.input,
            "columns": None if self.columns is None else list(self.columns),
            "frame_features": None if self.frame_features is None else list(self.frame_features),
            "params": dict(self.params), "genrekit_version": self.genrekit_version,
            "trained_on": dict(self.trained_on), "saved_unix": time.time(),
        }


def save_artifact(artifact: ModelArtifact, path) -> Path:
    """Write ``artifact`` to ``path`` (atomically: temporary name, then rename).

    Parameters
    ----------
    artifact : ModelArtifact
    path : path-like
        Target file; ``.joblib`` is appended when it has no suffix. Parent folders are created.

    Returns
    -------
    Path
        Where it was written.
    """
    import joblib

    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        joblib.dump(artifact.to_payload(), tmp, compress=3)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_artifact(path) -> ModelArtifact:
    """Read an artifact written by :func:`save_artifact`.

    Warns (:class:`ArtifactVersionWarning`) when it was saved by another genrekit version.

    Raises
    ------
    ParameterError
        When ``path`` does not exist or is not a genrekit model artifact.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"no model artifact at {path}; create one with "
                             "`genrekit benchmark --save-models` (it writes OUT/models/<model>.joblib)")
    try:
        payload = joblib.load(path)
    except GenrekitError:
        raise
    except Exception as e:
        raise ParameterError(f"{path} is not a readable genrekit model artifact ({type(e).__name__}: {e}); "
                             "pass a file written by `genrekit benchmark --save-models`") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ParameterError(f"{path} is not a genrekit model artifact; pass a file written by "
                             "`genrekit benchmark --save-models`")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ParameterError(f"{path} uses artifact format {payload['format_version']}, newer than this "
                             f"genrekit ({__version__}) reads; upgrade genrekit")
    saved = payload.get("genrekit_version", "unknown")
    if saved != __version__:
        warnings.warn(f"{path.name} was saved by genrekit {saved} and is loaded by genrekit {__version__}; "
                      "predictions may differ — retrain with `genrekit benchmark --save-models` to be sure",
                      ArtifactVersionWarning, stacklevel=2)
    return ModelArtifact(
        model=payload["model"], estimator=payload["estimator"], config_json=payload["config_json"],
        classes=list(payload["classes"]), input=payload.get("input", "summary"),
        columns=payload.get("columns"), frame_features=payload.get("frame_features"),
        params=payload.get("params", {}), genrekit_version=saved, trained_on=payload.get("trained_on", {}))
