"""Parameter constraints that scikit-learn's own constraint objects cannot say.

genrekit's estimators declare their parameters in ``_parameter_constraints`` and validate them with
scikit-learn's machinery (``_fit_context`` runs ``_validate_params`` at the start of ``fit``;
:func:`genrekit.classifiers.registry.make_model` runs it up front for ``--param``). Types,
intervals and fixed sets of strings are scikit-learn's ``Interval``, ``StrOptions``, ``"boolean"``;
a value with inner structure (``"256,128"``, ``"cuda:1"``, ``"mfcc,chroma"``) is a
:class:`Satisfies`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from numbers import Integral

from sklearn.utils._param_validation import Interval, Options

__all__ = ["DEVICE", "FEATURE_NAMES", "INT_LIST", "Satisfies", "at_least", "int_list"]


class Satisfies(Options):
    """A constraint for ``_parameter_constraints``: the values for which ``predicate`` is true.

    scikit-learn accepts only its own constraint classes (``make_constraint``); this is its
    ``Options`` with the membership test replaced by a predicate. A predicate that raises
    ``TypeError`` or ``ValueError`` counts as false.

    Parameters
    ----------
    predicate : callable
        ``predicate(value) -> bool``.
    description : str
        What a valid value is, completing "The 'x' parameter of Model must be ...".
    """

    def __init__(self, predicate: Callable[[object], bool], description: str):
        super().__init__(object, set())
        self.predicate = predicate
        self.description = description

    def is_satisfied_by(self, val) -> bool:
        try:
            return bool(self.predicate(val))
        except (TypeError, ValueError):
            return False

    def __str__(self) -> str:
        return self.description


def at_least(lo: int) -> Interval:
    """Integers ``>= lo``."""
    return Interval(Integral, lo, None, closed="left")


def int_list(value, name: str) -> list[int]:
    """``256``, ``"256,128"``, ``(256, 128)`` → ``[256, 128]``.

    Raises
    ------
    ValueError
        For anything else, or an entry below 1.
    """
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            out = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"{name} must be an int or comma-separated ints, got {value!r}") from None
    elif isinstance(value, Integral) and not isinstance(value, bool):
        out = [int(value)]
    elif isinstance(value, (list, tuple)):
        out = [int(v) for v in value]
    else:
        raise ValueError(f"{name} must be an int or comma-separated ints, got {value!r}")
    if any(v < 1 for v in out):
        raise ValueError(f"{name} must hold ints >= 1, got {value!r}")
    return out


#: Layer widths: an int >= 1, ``"256,128"`` or a sequence of ints >= 1.
INT_LIST = Satisfies(lambda v: int_list(v, "value") is not None,
                     "an int >= 1, comma-separated ints >= 1 (e.g. '256,128') or a list of them")

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

#: A torch device name.
DEVICE = Satisfies(lambda v: isinstance(v, str) and _DEVICE_RE.match(v.strip().lower()) is not None,
                   "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")

#: Frame feature names: one comma-separated string or a list/tuple of strings.
FEATURE_NAMES = Satisfies(lambda v: isinstance(v, str) or (isinstance(v, (list, tuple))
                                                          and all(isinstance(f, str) for f in v)),
                          "feature names (e.g. 'mfcc' or 'mfcc,mfcc_delta')")
