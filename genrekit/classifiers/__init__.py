"""WHAT learns: every model is a scikit-learn estimator, looked up by name in one registry.

>>> from genrekit.classifiers import available_models, make_model
>>> "svm" in available_models()
True
>>> model = make_model("svm", {"C": 1.0}, random_state=0)   # an unfitted Pipeline

Models read arrays, never the store's files: the runner (:mod:`genrekit.pipeline.evaluation.runner`)
feeds summary vectors or per-track frame matrices according to each model's ``input``.
"""

from genrekit.classifiers.registry import (
    INPUTS,
    ModelSpec,
    available_models,
    default_models,
    get_spec,
    make_model,
    model_specs,
    parse_model_list,
    register,
    resolve_params,
    tuning_grid,
)

__all__ = [
    "INPUTS",
    "ModelSpec",
    "available_models",
    "default_models",
    "get_spec",
    "make_model",
    "model_specs",
    "parse_model_list",
    "register",
    "resolve_params",
    "tuning_grid",
]
