"""`genrekit tag`: musicnn's own 50 tags for audio files, per file and per 3-s patch.

Each file is decoded at 16 kHz (the same decoder as extraction), cut into musicnn's patches
(:func:`genrekit.pretrained.musicnn.patches`) and run through the pretrained network; a file's
tags are the mean of its patches' probabilities. A bad file is reported and the rest are tagged.
Results are :class:`~genrekit.pipeline.prediction.predict.Prediction` records, printed like
``genrekit predict``'s.
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import GenrekitError, ParameterError
from genrekit.pipeline.prediction.predict import Prediction, Segment, expand_inputs


def _top(p: np.ndarray, labels, k: int) -> list[tuple[str, float]]:
    order = np.argsort(-p, kind="stable")[:k]
    return [(labels[i], float(p[i])) for i in order]


def tag_files(paths, *, model: str = "MTT_musicnn", top_k: int = 5, segments: bool = False,
              max_seconds: float | None = None):
    """Yield one :class:`Prediction` of musicnn tags per audio file (input order).

    Parameters
    ----------
    paths : iterable of path-like
        Audio files and/or folders (searched recursively).
    model : {"MTT_musicnn", "MSD_musicnn"}
    top_k : int
        Tags per file (and per patch).
    segments : bool
        Also give each 3-s patch's top tags (the timeline).
    max_seconds : float, optional
        Refuse files with more audio than this.

    Raises
    ------
    WeightsError
        Missing or corrupt weights (before any file is read).
    """
    from genrekit.pipeline.extraction.decode import decode
    from genrekit.pretrained import musicnn

    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ParameterError(f"--top-k must be a whole number >= 1, got {top_k!r}")
    net = musicnn.load(model)
    files = expand_inputs(paths)
    if not files:
        raise ParameterError("no audio files to tag; pass audio files or folders that hold some")
    k = min(top_k, len(net.labels))
    seconds = musicnn.PATCH * musicnn.HOP / musicnn.SR
    for path in files:
        try:
            y, _ = decode(path, musicnn.SR, max_seconds=max_seconds)
            _, prob = net.run(y)
        except (GenrekitError, MemoryError) as e:
            yield Prediction(path=path, error=f"{type(e).__name__}: {e}")
            continue
        except Exception as e:  # an unexpected decoder error: report, go on
            yield Prediction(path=path, error=f"{type(e).__name__}: {e or repr(e)}")
            continue
        pred = Prediction(path=path, top=_top(prob.mean(axis=0), net.labels, k), duration=len(y) / musicnn.SR)
        if segments:
            pred.segments = [Segment(i * seconds, min((i + 1) * seconds, pred.duration), _top(p, net.labels, k))
                             for i, p in enumerate(prob)]
        yield pred
