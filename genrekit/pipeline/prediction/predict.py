"""Apply a saved model to new audio: the artifact's feature config, the same feature code.

Each file is decoded and its features computed exactly as ``genrekit extract`` would with the
artifact's :class:`~genrekit.features.FeatureConfig` (:func:`~genrekit.pipeline.extraction.decode.decode`,
:func:`~genrekit.features.compute_features`, :func:`~genrekit.features.summary_vector`); the
model then gives the top-k genres with probabilities. With ``segments=S`` the file is also cut
into S-second pieces, each featurised and predicted on its own, giving a timeline. A file that
cannot be read is reported and the others are still predicted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from genrekit.errors import ParameterError


@dataclass
class Segment:
    """One piece of a file's timeline (seconds from the start of the file)."""

    start: float
    end: float
    top: list[tuple[str, float]]


@dataclass
class Prediction:
    """What the model says about one file.

    Attributes
    ----------
    path : str
    top : list of (label, probability)
        The ``top_k`` most probable labels, best first (empty when ``error``).
    duration : float
        Seconds of audio analysed.
    segments : list of Segment
        The timeline (when asked for).
    error : str or None
        Why the file could not be predicted.
    """

    path: str
    top: list[tuple[str, float]] = field(default_factory=list)
    duration: float = 0.0
    segments: list[Segment] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        d = {"path": self.path, "ok": self.ok}
        if self.ok:
            d["duration"] = round(self.duration, 3)
            d["top"] = [{"label": lab, "probability": round(p, 6)} for lab, p in self.top]
            if self.segments:
                d["segments"] = [{"start": round(s.start, 3), "end": round(s.end, 3),
                                  "top": [{"label": lab, "probability": round(p, 6)} for lab, p in s.top]}
                                 for s in self.segments]
        else:
            d["error"] = self.error
        return d


# ====================================================================================== inputs
def expand_inputs(paths) -> list[str]:
    """Files as given, and the audio files under folders (recursively, sorted).

    Paths that do not exist are kept, so that they are reported as failed predictions.
    """
    from genrekit.pipeline.extraction.sources import scan_folder

    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            out.extend(t.path for t in scan_folder(p, labelled=False).tracks)
        else:
            out.append(p)
    return out


def model_input(features: dict, config, artifact):
    """The model's input for one signal's features (the layout it was trained on).

    Parameters
    ----------
    features : dict
        :func:`~genrekit.features.compute_features` output.
    config : FeatureConfig
    artifact : ModelArtifact

    Returns
    -------
    ndarray of shape (1, n_columns) for summary models, or a one-element list holding the
    ``(n_frames, n_dims)`` frame matrix for frame models.
    """
    from genrekit.features import summary_names, summary_vector

    if artifact.input == "frames":
        return [np.hstack([np.asarray(features[f], np.float32).T for f in artifact.frame_features])]
    vec = summary_vector(features, config)
    names = summary_names(config)
    if artifact.columns is None or list(artifact.columns) == names:
        return vec[None, :]
    pos = {n: i for i, n in enumerate(names)}
    missing = [c for c in artifact.columns if c not in pos]
    if missing:
        raise ParameterError(f"the model reads summary column {missing[0]!r}, which its feature config does not "
                             "produce; the artifact is inconsistent — retrain it")
    return vec[[pos[c] for c in artifact.columns]][None, :]


def _segment_bounds(n_samples: int, sr: int, seconds: float, min_samples: int) -> list[tuple[int, int]]:
    """``[start, stop)`` sample ranges of ``seconds``-long pieces; a tail shorter than half a piece
    (or than one analysis frame) joins the piece before it."""
    step = max(1, int(round(seconds * sr)))
    bounds = [(a, min(a + step, n_samples)) for a in range(0, n_samples, step)]
    if len(bounds) > 1:
        a, b = bounds[-1]
        if b - a < max(step / 2, min_samples):
            bounds[-2] = (bounds[-2][0], b)
            bounds.pop()
    return bounds


def featurise_file(path: str, config_json: str, artifact_layout: dict, segments: float | None) -> dict:
    """Decode one file and build its model inputs (runs in a worker). Never raises for bad audio.

    The file is analysed as ``extract`` analyses it
    (:func:`~genrekit.pipeline.extraction.analysis.analyse_file`); the model inputs, and the
    timeline's when ``segments`` is given, are built under the same error capture.

    Returns
    -------
    dict
        ``{"path", "X", "duration", "segments": [(start_s, end_s, X), ...]}`` or
        ``{"path", "error"}``.
    """
    from types import SimpleNamespace

    from genrekit.features import FeatureConfig, compute_features
    from genrekit.pipeline.extraction.analysis import FileFailure, analyse_file

    config = FeatureConfig.from_json(config_json)
    art = SimpleNamespace(**artifact_layout)
    if not os.path.exists(path):
        return {"path": path, "error": "AudioError: no such file"}

    def model_inputs(y, feats):
        X, pieces = model_input(feats, config, art), []
        for a, b in (_segment_bounds(len(y), config.sr, segments, config.n_fft) if segments else ()):
            Xs = model_input(compute_features(y[a:b], config), config, art)
            pieces.append((config.offset + a / config.sr, config.offset + b / config.sr, Xs))
        return X, pieces

    got = analyse_file(path, config, then=model_inputs, one_thread=False,
                       out_of_memory="out of memory; the file is too long")
    if isinstance(got, FileFailure):
        return {"path": path, "error": got.line()}
    X, pieces = got.derived
    return {"path": path, "X": X, "duration": got.n_samples / config.sr, "segments": pieces}


def _probabilities(estimator, X, n_classes: int) -> np.ndarray:
    """``(n, n_classes)`` probabilities over all artifact classes (0 for classes unseen in training)."""
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    cols = np.asarray(estimator.classes_, dtype=np.int64)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, cols] = proba
    return full


def _top(p: np.ndarray, classes, k: int) -> list[tuple[str, float]]:
    order = np.argsort(-p, kind="stable")[:k]
    return [(classes[i], float(p[i])) for i in order]


def _scores(art, X) -> np.ndarray:
    """Genre artifacts: class probabilities; tagging artifacts: one probability per tag."""
    if art.task == "tagging":
        from genrekit.pipeline.evaluation.tag_models import tag_scores

        return tag_scores(art.estimator, X, len(art.classes))
    return _probabilities(art.estimator, X, len(art.classes))


def _pick(art, p: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The top ``k`` genres; for a tagging artifact every tag at or above its threshold, most probable first."""
    if art.task != "tagging":
        return _top(p, art.classes, k)
    above = [i for i in np.argsort(-p, kind="stable") if p[i] >= art.thresholds[i]]
    return [(art.classes[i], float(p[i])) for i in above]


def predict(artifact, paths, *, top_k: int = 3, segments: float | None = None, workers: int | None = 1,
            progress: bool = False, device: str | None = None, trust: bool = False):
    """Predict the genres of audio files with a saved model.

    Parameters
    ----------
    artifact : ModelArtifact or path-like
        A model saved by ``genrekit benchmark --save-models`` (loaded with
        :func:`~genrekit.pipeline.prediction.artifacts.load_artifact`, which checks it before unpickling).
    paths : iterable of path-like
        Audio files and/or folders (searched recursively for audio).
    top_k : int
        How many labels to give per file (and per segment); a tagging model (``benchmark --task
        tagging --save-models``) gives every tag at or above its threshold instead, with its probability.
    segments : float, optional
        Also predict every ``segments`` seconds (a timeline).
    workers : int, optional
        Processes decoding and featurising files (None: all cores). Prediction itself runs here.
    progress : bool
        Show a tqdm bar on stderr.
    device : str, optional
        Torch device for a neural head (``auto``, ``cpu``, ``cuda``, …); None: the model's own
        (``auto`` unless set when training; a device this machine lacks falls back to the CPU).
    trust : bool
        Load an artifact saved under another genrekit key (a model artifact is code: only for
        files from someone you trust).

    Yields
    ------
    Prediction
        One per file, in input order; failed files carry ``error``.

    Warns
    -----
    PredictionWarning
        (:mod:`~genrekit.pipeline.prediction.checks`) ``segments`` with a summary model trained
        on longer windows; probabilities nearly the same for every file and segment.

    Raises
    ------
    ParameterError
        For an unreadable artifact, ``top_k < 1``, ``segments <= 0`` or no input paths.
    """
    from joblib import Parallel, delayed

    from genrekit.features import FeatureConfig
    from genrekit.features.catalog import FEATURES
    from genrekit.pipeline.prediction.artifacts import load_artifact
    from genrekit.pipeline.prediction.checks import SpreadCheck, segment_mismatch, warn
    from genrekit.progress import progress_bar

    art = artifact if hasattr(artifact, "estimator") else load_artifact(artifact, trust=trust)
    on = next((k for k in ("device", "base__device") if k in art.estimator.get_params()), None)
    if device is not None and on:
        from genrekit.classifiers.torch_heads import resolve_device

        try:
            resolve_device(device)
        except ValueError as e:
            raise ParameterError(f"--device: {e}") from None
        art.estimator.set_params(**{on: device})
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ParameterError(f"--top-k must be a whole number >= 1, got {top_k!r}")
    if segments is not None and not segments > 0:
        raise ParameterError(f"--segments must be > 0 seconds, got {segments}")
    config = FeatureConfig.from_json(art.config_json)
    FEATURES.ready(config, config.features)  # e.g. musicnn's weights, before any file is read
    files = expand_inputs(paths)
    if not files:
        raise ParameterError("no audio files to predict; pass audio files or folders that hold some")
    layout = {"input": art.input, "columns": art.columns, "frame_features": art.frame_features}
    n_jobs = min(workers or os.cpu_count() or 1, len(files))
    tasks = (delayed(featurise_file)(f, art.config_json, layout, segments) for f in files)
    stream = (Parallel(n_jobs=n_jobs, return_as="generator")(tasks) if n_jobs > 1
              else (featurise_file(f, art.config_json, layout, segments) for f in files))
    k = min(top_k, len(art.classes))
    warn(segment_mismatch(art, segments))
    spread = SpreadCheck()
    with progress_bar(total=len(files), desc="predict", unit="file", disable=not progress) as bar:
        for res in stream:
            bar.update(1)
            if "error" in res:
                yield Prediction(path=res["path"], error=res["error"])
                continue
            try:
                p = _scores(art, res["X"])[0]
                spread.add(p)
                pred = Prediction(path=res["path"], top=_pick(art, p, k), duration=res["duration"])
                if res["segments"]:
                    seg_X = [s[2] for s in res["segments"]]
                    X = [x[0] for x in seg_X] if art.input == "frames" else np.vstack(seg_X)
                    P = _scores(art, X)
                    spread.add(P)
                    pred.segments = [Segment(a, b, _pick(art, P[i], k))
                                     for i, (a, b, _) in enumerate(res["segments"])]
            except Exception as e:  # a model that cannot score this file: report, go on
                pred = Prediction(path=res["path"], error=f"{type(e).__name__}: {e}")
            yield pred
    warn(spread.message())


# ====================================================================================== output
def _clock(t: float) -> str:
    """``m:ss`` (``m:ss.s`` when the tenths are not zero)."""
    tenths = int(round(t * 10))
    m, rest = divmod(tenths, 600)
    return f"{m}:{rest // 10:02d}" if rest % 10 == 0 else f"{m}:{rest // 10:02d}.{rest % 10}"


def format_prediction(p: Prediction) -> str:
    """Human-readable lines for one file: top-k, then the timeline if there is one."""
    if not p.ok:
        return f"{p.path}: error: {p.error}"
    def shown(top):  # a tagging model may find no tag above its threshold
        return "  ".join(f"{lab} {prob:.2f}" for lab, prob in top) if top else "(no tag above its threshold)"

    lines = [f"{p.path}  " + shown(p.top)]
    for s in p.segments:
        lines.append(f"    {_clock(s.start):>7}-{_clock(s.end):<7} " + shown(s.top))
    return "\n".join(lines)


def predictions_json(preds, artifact=None) -> str:
    """The predictions as a JSON document (``--json``)."""
    doc = {"predictions": [p.to_dict() for p in preds]}
    if artifact is not None:
        doc = {"model": artifact.model, "classes": list(artifact.classes), **doc}
    return json.dumps(doc, indent=1)
