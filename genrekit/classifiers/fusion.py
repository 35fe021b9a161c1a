"""Several feature blocks (modalities) for one model: early fusion, late fusion, one block alone.

A *block* is a run of consecutive columns that came from one source — the store's summary table,
a table of lyrics embeddings, album-cover features, … The benchmark runner concatenates the blocks
column-wise and tells every model where each block starts and ends.

:class:`BlockScaler`
    Early fusion's scaler: standardises every column on the training data and weights each block
    so that it carries an equal share of the total variance — a 500-column audio block does not
    drown a 10-column lyrics block in distances or penalties, and with equal-width blocks it is
    plain standardisation.
:class:`LateFusionClassifier`
    Trains a clone of one classifier on each block separately and averages their class
    probabilities (scikit-learn's soft ``VotingClassifier`` over one ``ColumnTransformer`` +
    model pipeline per block).
:class:`SelectColumns`
    Keeps one block's columns (a model on that block alone).
:class:`ModelVariant`
    How the runner wraps a registry model for a multi-block input — ``svm[block=lyrics.csv]``,
    ``svm[early]``, ``svm[late]`` — and for missing values (a ``SimpleImputer`` first, fitted on
    the training fold only).

Everything here is a scikit-learn estimator (``clone``, ``get_params``, ``GridSearchCV`` work), and
every fitted transform lives inside the estimator, so nothing is fitted outside a training fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, TransformerMixin, _fit_context, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from genrekit.classifiers.params import at_least

#: The fusion modes the runner knows (``--fusion``).
FUSIONS = ("early", "late")


def parse_fusion(text) -> tuple[str, ...]:
    """Parse ``--fusion``: ``early``, ``late``, ``both`` or ``early,late``.

    Raises
    ------
    ValueError
        For an unknown mode, echoing it.
    """
    if text is None:
        return ("early",)
    items = [text] if isinstance(text, str) else list(text)
    modes: list[str] = []
    for item in items:
        for m in str(item).split(","):
            m = m.strip().lower()
            if not m:
                continue
            expanded = FUSIONS if m == "both" else (m,)
            for e in expanded:
                if e not in FUSIONS:
                    raise ValueError(f"unknown fusion {m!r}; use early, late or both")
                if e not in modes:
                    modes.append(e)
    if not modes:
        raise ValueError("--fusion is empty; use early, late or both")
    return tuple(sorted(modes, key=FUSIONS.index))


def block_slices(blocks, n_features: int | None = None) -> list[tuple[str, np.ndarray]]:
    """``blocks`` as ``(name, column indices)``.

    Parameters
    ----------
    blocks : sequence of (name, columns) or None
        ``columns`` is a width (int: blocks follow each other from column 0), a ``slice`` or a
        sequence of column indices. None: one block ``"all"`` of every column.
    n_features : int, optional
        Checks that the blocks fit (and, for widths, that they add up to it).

    Raises
    ------
    ValueError
        Blocks that overlap the columns badly, are empty, or do not add up.
    """
    if blocks is None:
        if n_features is None:
            raise ValueError("blocks=None needs n_features")
        return [("all", np.arange(n_features))]
    out, start = [], 0
    widths_only = True
    for item in blocks:
        try:
            name, cols = item
        except (TypeError, ValueError):
            raise ValueError(f"each block must be (name, columns), got {item!r}") from None
        if isinstance(cols, (int, np.integer)) and not isinstance(cols, bool):
            if cols < 1:
                raise ValueError(f"block {name!r} has width {cols}; a block needs at least 1 column")
            idx = np.arange(start, start + int(cols))
            start += int(cols)
        elif isinstance(cols, slice):
            widths_only = False
            if n_features is None:
                raise ValueError(f"block {name!r} is a slice; n_features is needed to resolve it")
            idx = np.arange(n_features)[cols]
        else:
            widths_only = False
            idx = np.asarray(cols, dtype=np.int64).ravel()
        if len(idx) == 0:
            raise ValueError(f"block {name!r} has no columns")
        out.append((str(name), idx))
    if not out:
        raise ValueError("blocks is empty")
    if n_features is not None:
        top = max(int(i.max()) for _, i in out)
        low = min(int(i.min()) for _, i in out)
        if low < 0 or top >= n_features:
            raise ValueError(f"blocks reach column {top if top >= n_features else low}, X has {n_features} columns")
        if widths_only and start != n_features:
            raise ValueError(f"block widths add up to {start} columns, X has {n_features}")
    return out


# ============================================================================ transformers
class SelectColumns(TransformerMixin, BaseEstimator):
    """Keep the columns ``start:stop`` (one block of a fused input).

    Not a ``ColumnTransformer``: that hands the model a contiguous copy of the columns where this
    hands it a view of them, and the model's arithmetic (a scaler's sums, libsvm) then rounds
    differently in the last bit of some probabilities (measured: up to 4.4e-16 on ``svm``).

    Parameters
    ----------
    start : int, default=0
    stop : int or None, default=None
    """

    _parameter_constraints: dict = {"start": [at_least(0)], "stop": [at_least(1), None]}

    def __init__(self, start=0, stop=None):
        self.start = start
        self.stop = stop

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        stop = X.shape[1] if self.stop is None else self.stop
        if not 0 <= self.start < stop <= X.shape[1]:
            raise ValueError(f"columns {self.start}:{self.stop} do not fit X with {X.shape[1]} columns")
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return X[:, self.start:self.stop]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class BlockScaler(TransformerMixin, BaseEstimator):
    """Standardise every column, then weight each block to an equal share of the total variance.

    Column ``j`` of block ``b`` becomes ``(x_j - mean_j) / std_j * sqrt(D / (B * d_b))`` with
    ``D`` columns in ``B`` blocks and ``d_b`` columns in block ``b`` (means and standard deviations
    from the training data). Every block then holds a total variance of ``D / B``, and the whole
    of ``D`` as with plain standardisation: blocks of equal width are left as standardised, a
    narrow block is weighted up and a wide one down.

    Parameters
    ----------
    blocks : sequence of (name, columns), optional
        See :func:`block_slices`; None: one block (plain standardisation).
    balance : bool, default=True
        False: plain standardisation of every column (no block weights).

    Attributes
    ----------
    mean_, scale_, weights_ : ndarray of shape (n_features,)
        Column means, standard deviations (1 where constant) and block weights.
    n_features_in_ : int
    """

    _parameter_constraints: dict = {"blocks": [list, tuple, None], "balance": ["boolean"]}

    def __init__(self, blocks=None, balance=True):
        self.blocks = blocks
        self.balance = balance

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        sl = block_slices(self.blocks, X.shape[1])
        scaler = StandardScaler().fit(X)
        self.mean_ = scaler.mean_
        self.scale_ = scaler.scale_
        w = np.ones(X.shape[1])
        if self.balance:
            covered = np.zeros(X.shape[1], bool)
            for _, idx in sl:
                w[idx] = np.sqrt(X.shape[1] / (len(sl) * len(idx)))
                covered[idx] = True
            if not covered.all():
                raise ValueError(f"blocks leave {int((~covered).sum())} columns out of {X.shape[1]}")
        self.weights_ = w
        return self

    def transform(self, X):
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return ((X - self.mean_) / self.scale_ * self.weights_).astype(X.dtype, copy=False)


# ============================================================================ late fusion
class LateFusionClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """One classifier per feature block; the prediction averages their class probabilities.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        Cloned once per block and fitted on that block's columns only (with its own scaling).
    blocks : sequence of (name, columns), optional
        See :func:`block_slices` (e.g. ``[("audio", 518), ("lyrics", 10)]``). None: one block of
        every column (the estimator alone).
    weights : sequence of float, optional
        One weight per block for the average (normalised to sum 1); None: equal weights.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    voting_ : VotingClassifier
        The fitted soft vote: member ``block<i>`` is a pipeline of a ``ColumnTransformer`` that
        keeps block ``i``'s columns and a clone of ``estimator``.
    estimators_ : list of fitted classifiers, one per block
    named_estimators_ : dict
        Block name → fitted classifier.
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "blocks": [list, tuple, None],
        "weights": ["array-like", None],
    }

    def __init__(self, estimator=None, blocks=None, weights=None):
        self.estimator = estimator
        self.blocks = blocks
        self.weights = weights

    def _weights(self, n_blocks):
        if self.weights is None:
            return np.full(n_blocks, 1.0 / n_blocks)
        w = np.asarray(self.weights, dtype=float).ravel()
        if len(w) != n_blocks or (w < 0).any() or not w.sum() > 0:
            raise ValueError(f"weights must be {n_blocks} non-negative numbers, not all 0; got {self.weights!r}")
        return w / w.sum()

    @_fit_context(prefer_skip_nested_validation=False)  # the inner estimator checks its own
    def fit(self, X, y):
        """Fit one clone of ``estimator`` per block.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        sl = block_slices(self.blocks, X.shape[1])
        # members are named by position: block names are file names, which may hold "__"
        members = [(f"block{i}", make_pipeline(_columns(idx), clone(self.estimator)))
                   for i, (_, idx) in enumerate(sl)]
        self.voting_ = VotingClassifier(members, voting="soft", weights=self._weights(len(sl))).fit(X, y)
        self.classes_ = self.voting_.classes_
        self.estimators_ = [pipe[-1] for pipe in self.voting_.estimators_]
        self.named_estimators_ = {name: est for (name, _), est in zip(sl, self.estimators_)}
        return self

    def predict_proba(self, X):
        """Weighted mean of the blocks' class probabilities; columns in the order of ``classes_``."""
        check_is_fitted(self, "voting_")
        X = validate_data(self, X, reset=False)
        proba = self.voting_.predict_proba(X)
        return proba / proba.sum(axis=1, keepdims=True)  # rows sum to 1 to the last bit

    def predict(self, X):
        """The class with the highest averaged probability."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


# ============================================================================ the runner's variants
def _columns(idx):
    """A transformer that keeps the columns ``idx`` of its input, unchanged (NaN passes too)."""
    return ColumnTransformer([("block", "passthrough", [int(i) for i in idx])], remainder="drop")


def _imputer():
    # keep_empty_features: a column with no value in a training fold becomes 0 instead of being
    # dropped, so block boundaries stay where they are
    return SimpleImputer(strategy="mean", keep_empty_features=True)


def _without_own_scaler(estimator):
    """``estimator`` with its top-level ``StandardScaler`` steps made ``passthrough``.

    Early fusion standardises in :class:`BlockScaler`; a second per-column scaler inside the model
    would undo the block weights.
    """
    est = clone(estimator)
    if isinstance(est, Pipeline):
        off = {name: "passthrough" for name, step in est.steps if isinstance(step, StandardScaler)}
        if off:
            est.set_params(**off)
    return est


@dataclass(frozen=True)
class ModelVariant:
    """How the benchmark runner builds one leaderboard entry from a registry model.

    Attributes
    ----------
    model : str
        Registry name (``svm``).
    kind : {"plain", "block", "early", "late"}
        ``plain``: the model as registered; ``block``: on the columns of ``block`` only;
        ``early``: on every block, concatenated and scaled by :class:`BlockScaler`; ``late``:
        :class:`LateFusionClassifier` over the blocks.
    blocks : tuple of (name, width)
        The input's blocks, in column order.
    block : str, optional
        For ``kind="block"``.
    impute : bool
        Put a mean ``SimpleImputer`` first (the input holds missing values); it is fitted on the
        training fold only, like everything else in the estimator.
    """

    model: str
    kind: str = "plain"
    blocks: tuple = ()
    block: str | None = None
    impute: bool = False

    def __post_init__(self):
        if self.kind not in ("plain", "block", "early", "late"):
            raise ValueError(f"unknown variant kind {self.kind!r}")
        if self.kind == "block" and self.block not in [b for b, _ in self.blocks]:
            raise ValueError(f"block {self.block!r} is not one of {[b for b, _ in self.blocks]}")

    @property
    def name(self) -> str:
        """The leaderboard name: ``svm``, ``svm[block=lyrics.csv]``, ``svm[early]``, ``svm[late]``."""
        if self.kind == "plain":
            return self.model
        if self.kind == "block":
            return f"{self.model}[block={self.block}]"
        return f"{self.model}[{self.kind}]"

    def describe(self) -> str:
        """One line for the report."""
        parts = {
            "plain": "",
            "block": f"on block {self.block} alone",
            "early": "early fusion of " + " + ".join(f"{b} ({w} columns)" for b, w in self.blocks)
                     + ": concatenated, each block standardised and weighted to an equal share of the variance",
            "late": "late fusion: one model per block (" + ", ".join(b for b, _ in self.blocks)
                    + "), class probabilities averaged",
        }[self.kind]
        if self.impute:
            parts += ("; " if parts else "") + "missing values mean-imputed (fitted on the training fold)"
        return parts

    def _range(self, block):
        start = 0
        for b, w in self.blocks:
            if b == block:
                return start, start + int(w)
            start += int(w)
        raise ValueError(f"no block {block!r}")  # pragma: no cover - checked in __post_init__

    def wrap(self, estimator):
        """The estimator to fit for this variant, built around an unfitted registry model."""
        steps = []
        if self.kind == "block":
            steps.append(("select", SelectColumns(*self._range(self.block))))
        if self.impute:
            steps.append(("impute", _imputer()))
        if self.kind == "early":
            steps += [("blocks", BlockScaler(blocks=tuple(self.blocks))), ("model", _without_own_scaler(estimator))]
        elif self.kind == "late":
            steps.append(("late", LateFusionClassifier(estimator, blocks=tuple(self.blocks))))
        else:
            steps.append(("model", estimator))
        return steps[0][1] if len(steps) == 1 and self.kind == "plain" else Pipeline(steps)

    def wrap_grid(self, grid: dict) -> dict:
        """A registry tuning grid, renamed for the estimator :meth:`wrap` builds."""
        if self.kind == "plain" and not self.impute:
            return dict(grid)
        prefix = "late__estimator__" if self.kind == "late" else "model__"
        return {prefix + k: v for k, v in grid.items()}


def plan_variants(models, blocks, fusion=("early",), impute=False) -> dict[str, ModelVariant]:
    """The leaderboard entries of ``models`` on an input of ``blocks``.

    One block: each model as registered (plus imputation when needed). Several: each model on
    every block alone, then fused as ``fusion`` asks.

    Parameters
    ----------
    models : list of str
    blocks : sequence of (name, width)
    fusion : sequence of {"early", "late"}
    impute : bool

    Returns
    -------
    dict
        Leaderboard name → :class:`ModelVariant`, in a stable order.
    """
    blocks = tuple((str(b), int(w)) for b, w in blocks)
    out = {}
    for m in models:
        if len(blocks) <= 1:
            v = ModelVariant(m, "plain", blocks, impute=impute)
            out[v.name] = v
            continue
        for b, _ in blocks:
            v = ModelVariant(m, "block", blocks, block=b, impute=impute)
            out[v.name] = v
        for f in fusion:
            v = ModelVariant(m, f, blocks, impute=impute)
            out[v.name] = v
    return out
