"""The model registry: one name → one factory of an unfitted scikit-learn estimator.

Every model genrekit can benchmark is registered here under a short name (``svm``, ``gmm``,
``cnn1d``, …) with a one-line description, the input it reads and a small tuning grid::

    @register("svm", "RBF SVM on standardised summary vectors",
              grid={"svc__C": [1, 10, 100]})
    def _svm(random_state=None):
        return Pipeline([("scale", StandardScaler()), ("svc", SVC(random_state=random_state))])

The runner and the command line look models up by name only (no ``if/elif`` on names anywhere).

Inputs
------
A model declares what it reads with ``input=``:

``"summary"``
    ``X`` is a float32 array ``[shape=(n_tracks, n_columns)]``: one summary vector per track
    (the store's summary table, columns in the store's order).
``"frames"``
    ``X`` is a sequence of ``n_tracks`` float32 arrays ``[shape=(n_frames_i, n_dims)]``, one frame
    matrix per track (time-major, the frame features of ``frame_features`` side by side in that
    order). The model may rely only on ``len(X)``, ``X[i]`` with an integer ``i`` and iteration:
    the runner passes a lazy view over the store; ``GridSearchCV`` and friends pass a plain
    ``list``. How a frame model cuts segments and aggregates them into a track prediction is its
    own business; it predicts one label per track.

``y`` is always an integer array of class indices ``0 .. n_classes-1`` (the runner keeps the
class names); a training fold may lack some classes, so models must use ``classes_``.

Optional hooks the runner honours (the neural heads use them): a parameter ``frame_rate``
(set to the store's frames per second), ``device`` (set by ``--device``) and
``frame_features`` (when not None, it replaces the spec's ``frame_features``: names, or one
comma-separated string); ``fit(X, y, groups=None)`` receives the training tracks' artists; a
fitted ``history_`` (list of per-epoch dicts) is kept in ``results.json`` as a learning curve.

Every factory returns an *unfitted* estimator whose own pipeline holds every fitted transform
(scaling, PCA, …), so nothing is ever fitted outside a training fold, and which follows the
scikit-learn contract (``get_params``/``set_params``/``clone``, ``fit``, ``predict``,
``predict_proba``, ``classes_``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from genrekit.errors import ParameterError

#: The inputs a model can declare.
INPUTS = ("summary", "frames")


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model.

    Attributes
    ----------
    name : str
        The name used on the command line (``--models``) and in results.
    description : str
        One line, shown by ``genrekit models``.
    factory : callable
        ``factory(random_state=None) -> estimator``: a new, unfitted estimator.
    input : {"summary", "frames"}
        What the runner feeds it (see the module docstring).
    frame_features : tuple of str or None
        For ``input="frames"``: which stored frame features, in this order, make the columns of
        each frame matrix (None: every frame feature of the store, in the store's order).
    grid : dict
        A small hyper-parameter grid for ``--tune`` (``GridSearchCV`` parameter names, e.g.
        ``"svc__C"``).
    default : bool
        Whether ``genrekit benchmark`` runs it when ``--models`` is not given.
    cost : float
        Rough relative fitting cost (1 = a linear model); the runner starts costly fits first so
        parallel workers finish together. Affects scheduling only, never results.
    """

    name: str
    description: str
    factory: Callable[..., Any]
    input: str = "summary"
    frame_features: tuple[str, ...] | None = None
    grid: dict = field(default_factory=dict)
    default: bool = False
    cost: float = 1.0


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, description: str, *, input: str = "summary",
             frame_features: tuple[str, ...] | list[str] | None = None,
             grid: dict | None = None, default: bool = False, cost: float = 1.0):
    """Decorator: register ``factory`` under ``name``.

    Parameters
    ----------
    name : str
        Short lower-case name (letters, digits, ``-``).
    description : str
        One line for ``genrekit models``.
    input : {"summary", "frames"}
        What the model reads.
    frame_features : sequence of str, optional
        For frame models: the frame features it needs, in column order.
    grid : dict, optional
        Hyper-parameter grid for ``--tune``.
    default : bool
        Part of the default ``--models`` set.
    cost : float
        Rough relative fitting cost, for scheduling (see :class:`ModelSpec`).

    Returns
    -------
    callable
        The decorator; it returns the factory unchanged.

    Raises
    ------
    ParameterError
        If ``name`` is already registered, or ``input`` is not one of :data:`INPUTS`.
    """
    if input not in INPUTS:
        raise ParameterError(f"model {name!r}: input must be one of {', '.join(INPUTS)}, got {input!r}")
    if not name or name != name.strip().lower() or "," in name or "." in name:
        raise ParameterError(f"model name {name!r} must be lower case without ',' or '.'")

    def deco(factory):
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ParameterError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelSpec(
            name=name, description=description, factory=factory, input=input,
            frame_features=tuple(frame_features) if frame_features is not None else None,
            grid=dict(grid or {}), default=default, cost=float(cost))
        return factory

    return deco


def _load_builtin():
    """Import the modules that register the built-in models (once)."""
    import genrekit.classifiers.classic  # noqa: F401
    import genrekit.classifiers.gmm  # noqa: F401
    import genrekit.classifiers.neural  # noqa: F401 -- torch itself is imported only when a head fits


def available_models() -> list[str]:
    """Names of every registered model, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def default_models() -> list[str]:
    """Names of the models ``genrekit benchmark`` runs when ``--models`` is not given."""
    _load_builtin()
    return [n for n in sorted(_REGISTRY) if _REGISTRY[n].default]


def model_specs() -> list[ModelSpec]:
    """Every :class:`ModelSpec`, sorted by name."""
    _load_builtin()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``.

    Raises
    ------
    ParameterError
        If no model has that name; the message lists the available ones.
    """
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(
            f"unknown model {name!r}; available models: {', '.join(sorted(_REGISTRY))} "
            "(see `genrekit models`)"
        ) from None


def parse_model_list(text: str | list[str] | None) -> list[str]:
    """Parse ``--models`` (comma-separated; empty or None means the default set).

    Raises
    ------
    ParameterError
        For an unknown name (listing the available ones) or a name given twice.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return default_models()
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else [str(t).strip() for t in text]
    names = [n for n in names if n]
    if names == ["all"]:
        return available_models()
    for n in names:
        get_spec(n)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"model {dup[0]!r} is listed twice in --models")
    if not names:
        raise ParameterError("--models is empty; name at least one model (see `genrekit models`)")
    return names


def resolve_params(estimator, params: dict, model: str = "model") -> dict:
    """Map user parameter names to the estimator's own (``C`` → ``svc__estimator__C``).

    A name is used as is when the estimator has it (``get_params(deep=True)``); otherwise it must
    be the last ``__`` component of exactly one of the estimator's parameters.

    Raises
    ------
    ParameterError
        For a name that matches no parameter or several; the message lists the valid names.
    """
    own = estimator.get_params(deep=True)
    out = {}
    for key, value in params.items():
        if key in own:
            out[key] = value
            continue
        hits = [k for k in own if k.rsplit("__", 1)[-1] == key]
        if len(hits) == 1:
            out[hits[0]] = value
        elif len(hits) > 1:
            raise ParameterError(
                f"parameter {model}.{key} is ambiguous: it could be {', '.join(sorted(hits))}; "
                f"use the full name, e.g. --param {model}.{sorted(hits)[0]}=..."
            )
        else:
            leaves = sorted({k.rsplit("__", 1)[-1] for k in own if not _is_estimator(own[k])}
                            - {"steps", "memory", "transform_input"})
            raise ParameterError(
                f"model {model} has no parameter {key!r}; valid: {', '.join(leaves)}"
            )
    return out


def _is_estimator(value) -> bool:
    return hasattr(value, "get_params") and hasattr(value, "fit")


def _validate_now(estimator, model: str, params: dict):
    """Run scikit-learn's own parameter validation now, so a bad ``--param`` fails up front."""
    steps = [estimator]
    own = estimator.get_params(deep=True)
    steps += [v for v in own.values() if _is_estimator(v)]
    for est in steps:
        check = getattr(est, "_validate_params", None)
        if check is None:
            continue
        try:
            check()
        except AttributeError:  # an estimator without scikit-learn's parameter constraints
            continue
        except (ValueError, TypeError) as e:
            given = ", ".join(f"{model}.{k}={v!r}" for k, v in params.items())
            raise ParameterError(f"bad --param for {model} ({given}): {e}") from None


def make_model(name: str, params: dict | None = None, random_state: int | None = None):
    """A new, unfitted estimator of model ``name``.

    Parameters
    ----------
    name : str
        A registered model name (see :func:`available_models`).
    params : dict, optional
        Hyper-parameters to set, by short name (``{"C": 10}``) or full name
        (``{"svc__estimator__C": 10}``); see :func:`resolve_params`.
    random_state : int, optional
        Seed for every random part of the model.

    Returns
    -------
    estimator
        A scikit-learn compatible classifier (usually a ``Pipeline``).

    Raises
    ------
    ParameterError
        For an unknown model (listing the available ones), an unknown parameter (listing the
        valid ones), or a value the estimator rejects.
    """
    spec = get_spec(name)
    sig = inspect.signature(spec.factory)
    est = spec.factory(random_state=random_state) if "random_state" in sig.parameters else spec.factory()
    if params:
        resolved = resolve_params(est, params, name)
        est.set_params(**resolved)
        _validate_now(est, name, params)
    return est


def tuning_grid(name: str, fixed: dict | None = None, estimator=None) -> dict:
    """The ``--tune`` grid of ``name`` without the parameters the user fixed with ``--param``.

    Parameters
    ----------
    name : str
    fixed : dict, optional
        User parameters (short or full names).
    estimator : estimator, optional
        Used to resolve short names in ``fixed`` (default: a fresh :func:`make_model`).
    """
    spec = get_spec(name)
    grid = dict(spec.grid)
    if fixed:
        est = estimator if estimator is not None else make_model(name)
        for full in resolve_params(est, fixed, name):
            grid.pop(full, None)
    return grid
