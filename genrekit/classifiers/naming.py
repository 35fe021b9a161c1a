"""One naming of hyper-parameters everywhere: the name ``--param MODEL.KEY=VALUE`` accepts.

scikit-learn names a parameter by its path through the estimator (``svc__estimator__C``);
genrekit's ``--param`` accepts that or its last component when that is unambiguous (``svm.C``,
:func:`~genrekit.classifiers.registry.resolve_params`). :func:`public_name` is the inverse: the
shortest name ``--param`` accepts. Grids (``genrekit models MODEL``, the report), the best
parameters of ``--tune`` and the saved models' parameters are all written with it.
"""

from __future__ import annotations


def public_name(estimator, full: str) -> str:
    """The shortest name of ``estimator``'s parameter ``full`` that ``--param`` resolves back to it."""
    leaf = full.rsplit("__", 1)[-1]
    if leaf == full:
        return full
    own = estimator.get_params(deep=True)
    return leaf if sum(k.rsplit("__", 1)[-1] == leaf for k in own) == 1 else full


def public_params(estimator, params: dict) -> dict:
    """``params`` (full scikit-learn names) keyed by :func:`public_name`."""
    return {public_name(estimator, k): v for k, v in params.items()}


def model_grid(name: str, fixed: dict | None = None) -> dict:
    """The ``--tune`` grid of model ``name`` in ``--param`` names (``{"C": [1, 10, 100], ...}``),
    without the parameters fixed by ``--param`` (``fixed``)."""
    from genrekit.classifiers.registry import make_model, tuning_grid

    est = make_model(name)
    return public_params(est, tuning_grid(name, fixed, est))


def grid_text(model: str, grid: dict) -> str:
    """``svm.C ∈ {1, 10, 100}; svm.gamma ∈ {scale, 0.0005}`` (or ``no grid``)."""
    if not grid:
        return "no grid (defaults used)"
    return "; ".join(f"{model}.{k} ∈ {{{', '.join(map(str, v))}}}" for k, v in grid.items())


def describe_model(name: str) -> str:
    """``genrekit models MODEL``: what it is, what it reads, its tuning grid and its parameters."""
    from genrekit.classifiers.registry import _is_estimator, get_spec, make_model

    spec = get_spec(name)
    est = make_model(name)
    own = est.get_params(deep=True)
    lines = [f"{spec.name}: {spec.description}",
             f"input: {spec.input}" + (f" (frame features: {', '.join(spec.frame_features)})"
                                       if spec.frame_features else ""),
             f"default set: {'yes' if spec.default else 'no'}",
             f"--tune grid: {grid_text(name, model_grid(name))}",
             "parameters (--param " + name + ".KEY=VALUE):"]
    skip = {"steps", "memory", "verbose", "transform_input"}
    for full in sorted(own, key=lambda k: (k.count("__"), k)):
        value = own[full]
        if _is_estimator(value) or full.rsplit("__", 1)[-1] in skip or isinstance(value, (list, tuple)):
            continue
        lines.append(f"  {public_name(est, full)} = {value!r}")
    return "\n".join(lines)
