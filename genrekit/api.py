"""genrekit for scikit-learn users: a store as ``X, y, groups``, genrekit's folds as ``cv=``, any
registered model as an estimator, and your own model or feature registered by name.

    from sklearn.model_selection import cross_val_score
    from genrekit import api

    X, y, groups = api.load_store("genrekit_store")
    cv = api.folds("genrekit_store", "group-kfold:5", seed=0)   # the benchmark's own folds
    est = api.model("logreg", random_state=0)                   # the registered model, unfitted
    scores = cross_val_score(est, X, y, groups=groups, cv=cv, scoring="balanced_accuracy")

``scores.mean()`` is the ``balanced_accuracy_mean`` of ``genrekit benchmark --models logreg
--split group-kfold:5 --seed 0`` on that store. Rows are the store's labelled tracks in track-id
order, the order the benchmark uses, so ``folds`` indexes ``load_store``'s arrays. Importing this
module imports numpy only; the store, scikit-learn and the models load when called.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_store", "folds", "model", "models", "register_model", "register_feature"]


def _open(store, config_hash=None):
    from genrekit.cache.store import FeatureStore

    return store if hasattr(store, "summary") else FeatureStore(store, config_hash=config_hash)


def load_store(store="genrekit_store", *, features=None, labelled: bool = True, config_hash: str | None = None,
               ids: bool = False):
    """A feature store's summary table as scikit-learn arrays.

    Parameters
    ----------
    store : path-like or FeatureStore
    features : list of str, optional
        Only the summary columns of these features (``["mfcc", "chroma"]``; default: all).
    labelled : bool
        Only the tracks that have a label (what the benchmark evaluates); False: every track,
        ``y`` None where unlabelled.
    config_hash : str, optional
        Which feature config, when the store holds several (default: the latest extract's).
    ids : bool
        Also return the track ids.

    Returns
    -------
    X : ndarray [shape=(n_tracks, n_columns)], float32
        One summary vector per track (column names: ``FeatureStore.summary_columns``).
    y : ndarray [shape=(n_tracks,)], object
        Label names.
    groups : ndarray [shape=(n_tracks,)], object
        Artist (or album) per track, never None: a track without one is a group of its own
        (:func:`genrekit.roles.fill_groups`), as the benchmark treats it.
    track_ids : ndarray, only with ``ids=True``
    """
    fs = _open(store, config_hash)
    X, _ = fs.summary(features)
    keep = np.array([v is not None for v in fs.labels]) if labelled else np.ones(len(fs), bool)
    from genrekit.roles import fill_groups

    out = (X[keep], fs.labels[keep], fill_groups(fs.raw_groups[keep]))
    return (*out, fs.ids[keep]) if ids else out


def folds(store="genrekit_store", split: str | None = None, *, seed: int = 0, config_hash: str | None = None):
    """genrekit's split of a store's labelled tracks as a scikit-learn ``cv=`` iterable.

    Parameters
    ----------
    store : path-like or FeatureStore
    split : str, optional
        ``kfold:K``, ``group-kfold:K``, ``predefined`` or ``holdout:FRACTION`` (default: as
        ``genrekit benchmark``: ``group-kfold:5`` when artists are known, else ``kfold:5``).
    seed : int

    Returns
    -------
    list of (train, test)
        Index arrays into the rows of :func:`load_store` (``labelled=True``); the same folds
        ``genrekit benchmark --split SPLIT --seed SEED`` gives every model. Each warning the
        split has (a label with fewer artists than folds, …) is issued as a ``UserWarning``.
    """
    import warnings

    from genrekit.pipeline.evaluation.splits import split_for_store

    fs = _open(store, config_hash)
    mask = np.array([v is not None for v in fs.labels])
    sp = split_for_store(fs, split, seed=seed, mask=mask)
    for w in sp.warnings:
        warnings.warn(w, UserWarning, stacklevel=2)
    return [(f.train, f.test) for f in sp.folds]


def model(name: str, *, random_state: int | None = None, **params):
    """A new, unfitted scikit-learn estimator of a registered model (``genrekit models``).

    ``params`` are named as ``--param`` takes them (``model("svm", C=10)``); the estimator's
    full names work too. Summary models read ``load_store``'s ``X``; frame models read a list
    of ``(n_frames, n_dims)`` matrices and integer labels.
    """
    from genrekit.classifiers.registry import make_model

    return make_model(name, params or None, random_state=random_state)


def models() -> list[str]:
    """Every registered model name."""
    from genrekit.classifiers.registry import available_models

    return available_models()


def register_model(name: str, description: str, **kw):
    """Decorator: register a factory of an unfitted estimator under ``name`` (then ``--models NAME``,
    :func:`model`, the benchmark and ``--tune`` know it). Keywords: ``input="summary"|"frames"``,
    ``grid={...}``, ``frame_features``, ``default``, ``cost`` (see
    :func:`genrekit.classifiers.registry.register`)::

        @api.register_model("ridge", "ridge classifier on standardised summaries", grid={"alpha": [0.1, 1]})
        def ridge(random_state=None):
            return make_pipeline(StandardScaler(), RidgeClassifierCV())
    """
    from genrekit.classifiers.registry import register

    return register(name, description, **kw)


def register_feature(name: str, *, inputs: tuple[str, ...], width, level: str = "frame", **kw):
    """Decorator: register a feature computed from registered nodes (``signal``, ``power_stft``,
    ``mel``, ``logmel``, ``onset_env``, …; see :mod:`genrekit.features.catalog`). It is not part
    of ``all``: ask for it by name (``FeatureConfig(features=("mfcc", NAME))``). Worker processes
    do not see a registration made in your script: extract with ``workers=1``, or register it in a
    module your workers import::

        @api.register_feature("flux", inputs=("power_stft",), width=1)
        def flux(config, *, power_stft):
            d = np.diff(np.sqrt(power_stft), axis=1, prepend=0)
            return np.sqrt((np.maximum(d, 0) ** 2).sum(axis=0, keepdims=True)).astype(np.float32)
    """
    from genrekit.features.catalog import FEATURES

    return FEATURES.feature(name, inputs=inputs, width=width, level=level, default=kw.pop("default", False), **kw)
