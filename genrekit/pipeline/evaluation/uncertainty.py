"""How sure a benchmark is: pooled out-of-fold scores, bootstrap intervals, paired comparisons.

- **Pooled** scores are computed once over every test prediction of every fold: each tested track
  counts once (a segment model's track prediction is the vote of its segments). Unlike the mean
  over folds, a pooled balanced accuracy does not average folds in which most labels have no test
  track. The leaderboard ranks by the pooled :data:`~genrekit.pipeline.evaluation.metrics.RANK_METRIC`.
- **95 % intervals** come from a seeded bootstrap over the tested tracks: :data:`RESAMPLES` times,
  draw as many *units* as there are, with replacement, and score the tracks drawn. A unit is an
  artist when artists are known (a cluster bootstrap: an artist's tracks are not independent
  draws) and a track otherwise; tracks without an artist are units of their own. The interval is
  the 2.5th and 97.5th percentile of the resampled scores.
- **Paired comparisons** of the best model against each other model on the same tracks:
  McNemar's exact test on the tracks one model gets right and the other wrong (a two-sided binomial
  test, p = 0.5, of ``b`` out of ``b + c`` discordant tracks), and a paired bootstrap of the
  difference in the ranking metric over the same resamples (two-sided p =
  ``2 · (min(#diff ≤ 0, #diff ≥ 0) + 1) / (RESAMPLES + 1)``, capped at 1). The verdict follows the
  paired bootstrap (it tests the metric the leaderboard ranks by, and respects artists); a p-value
  of :data:`ALPHA` or more reads "not distinguishable".

Scores from a confusion matrix match scikit-learn's: balanced accuracy averages the recall of the
labels that have true tracks; macro precision, recall and F1 average over the labels that occur
as truth or prediction, with 0 for an undefined ratio (``zero_division=0``).
"""

from __future__ import annotations

import numpy as np

from genrekit.pipeline.evaluation.metrics import METRICS, RANK_METRIC
from genrekit.roles import any_group_known, fill_groups

#: Bootstrap resamples for intervals and paired comparisons.
RESAMPLES = 1000
#: Coverage of the intervals.
CONFIDENCE = 0.95
#: Significance level of the paired comparisons.
ALPHA = 0.05


# ============================================================================ scores
def scores_from_confusion(cm) -> dict:
    """Every metric of :data:`METRICS` from confusion matrices ``cm [shape=(..., k, k)]`` (rows: truth).

    Returns ``{metric: array [shape=(...)]}`` (0-d arrays for one matrix).
    """
    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true, pred = cm.sum(-1), cm.sum(-2)
    total = true.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(true > 0, tp / true, 0.0)
        precision = np.where(pred > 0, tp / pred, 0.0)
        f1 = np.where(true + pred > 0, 2 * tp / (true + pred), 0.0)
        present = (true > 0) | (pred > 0)
        n_true, n_present = (true > 0).sum(-1), present.sum(-1)
        return {
            "accuracy": np.where(total > 0, tp.sum(-1) / total, 0.0),
            "balanced_accuracy": np.where(n_true > 0, recall.sum(-1) / n_true, 0.0),
            "f1_macro": np.where(n_present > 0, (f1 * present).sum(-1) / n_present, 0.0),
            "precision_macro": np.where(n_present > 0, (precision * present).sum(-1) / n_present, 0.0),
            "recall_macro": np.where(n_present > 0, (recall * present).sum(-1) / n_present, 0.0),
        }


def _confusions(y, pred, k: int, weights=None) -> np.ndarray:
    """Confusion matrices of ``(y, pred)``: one ``(k, k)``, or one per row of ``weights (B, n)``."""
    code = np.asarray(y, dtype=np.int64) * k + np.asarray(pred, dtype=np.int64)
    if weights is None:
        return np.bincount(code, minlength=k * k).reshape(k, k).astype(float)
    from scipy.sparse import csr_matrix

    onehot = csr_matrix((np.ones(len(code)), (np.arange(len(code)), code)), shape=(len(code), k * k))
    return np.asarray((onehot.T @ np.asarray(weights, dtype=float).T).T).reshape(len(weights), k, k)


def pooled_scores(y, pred, k: int) -> dict:
    """Every metric of :data:`METRICS` over all tracks at once (floats)."""
    return {m: float(v) for m, v in scores_from_confusion(_confusions(y, pred, k)).items()}


# ============================================================================ resampling
class Resampling:
    """Seeded bootstrap resamples of tracks by unit, replayed identically for every model (paired).

    Each resample draws as many units as there are, with replacement; a track counts as often as
    its unit was drawn (a cluster bootstrap when units are artists). Draws are made in chunks of
    :attr:`CHUNK` resamples from a fresh generator seeded with ``seed``, so memory stays at
    ``CHUNK × n_units`` counts whatever the number of tracks, and two calls see the same draws.
    """

    CHUNK = 64

    def __init__(self, units, seed: int, resamples: int = RESAMPLES):
        _, self.unit_of = np.unique(np.asarray(units, dtype=str), return_inverse=True)
        self.unit_of = self.unit_of.astype(np.int64)
        self.n_units = int(self.unit_of.max()) + 1 if len(self.unit_of) else 0
        self.seed, self.resamples = int(seed), int(resamples)

    def __len__(self) -> int:
        return self.resamples

    def counts(self):
        """Chunks ``int [shape=(c, n_units)]``: how often each unit is drawn in each resample."""
        rng = np.random.default_rng(self.seed)
        g = self.n_units
        for start in range(0, self.resamples, self.CHUNK):
            c = min(self.CHUNK, self.resamples - start)
            draws = rng.integers(0, g, size=(c, g)) + np.arange(c)[:, None] * g
            yield np.bincount(draws.ravel(), minlength=c * g).reshape(c, g)

    def weights(self) -> np.ndarray:
        """How often each track is drawn in each resample, ``[shape=(resamples, n_tracks)]`` (small inputs)."""
        return np.concatenate([c[:, self.unit_of] for c in self.counts()]) if self.resamples else np.zeros((0, 0))

    def confusions(self, y, pred, k: int) -> np.ndarray:
        """The confusion matrix of every resample, ``[shape=(resamples, k, k)]``."""
        return self.confusions_of(y, {None: pred}, k)[None]

    def confusions_of(self, y, preds: dict, k: int) -> dict:
        """``{name: confusions [shape=(resamples, k, k)]}`` of several predictions, from one pass of draws."""
        from scipy.sparse import csr_matrix

        y = np.asarray(y, dtype=np.int64)
        per_unit = {n: csr_matrix((np.ones(len(y)), (self.unit_of, y * k + np.asarray(p, dtype=np.int64))),
                                  shape=(self.n_units, k * k)).T.tocsr() for n, p in preds.items()}
        out = {n: [] for n in preds}
        for c in self.counts():
            dense = np.ascontiguousarray(c.T, dtype=float)
            for n, u in per_unit.items():
                out[n].append(np.asarray(u @ dense).T)
        return {n: np.concatenate(v).reshape(self.resamples, k, k) for n, v in out.items()}


def bootstrap_weights(units, seed: int, resamples: int = RESAMPLES) -> np.ndarray:
    """How often each track is drawn in each resample (see :class:`Resampling`): ``[shape=(resamples, n_tracks)]``."""
    return Resampling(units, seed, resamples).weights()


def _boot_confusions(y, pred, k: int, resampling) -> np.ndarray:
    """Confusion matrices of every resample: ``resampling`` is a :class:`Resampling` or a weights array."""
    if isinstance(resampling, Resampling):
        return resampling.confusions(y, pred, k)
    return _confusions(y, pred, k, resampling)


def interval(values) -> tuple[float, float]:
    """The central :data:`CONFIDENCE` percentile interval of resampled ``values``."""
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(np.asarray(values, dtype=float), [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_intervals(y, pred, k: int, resampling) -> dict:
    """``{metric: (low, high)}``: percentile intervals of every metric over ``resampling`` (a
    :class:`Resampling` or per-track weights ``[shape=(resamples, n_tracks)]``)."""
    boot = scores_from_confusion(_boot_confusions(y, pred, k, resampling))
    return {m: interval(v) for m, v in boot.items()}


# ============================================================================ paired tests
def mcnemar_exact(correct_a, correct_b) -> dict:
    """McNemar's exact test: ``b`` tracks only A gets right, ``c`` only B; two-sided binomial p."""
    from scipy.stats import binomtest

    a, bb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b, c = int((a & ~bb).sum()), int((~a & bb).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return {"test": "McNemar exact (two-sided binomial on discordant tracks)", "only_first_right": b,
            "only_second_right": c, "p_value": min(1.0, p)}


def paired_bootstrap(y, pred_a, pred_b, k: int, resampling, metric: str = RANK_METRIC) -> dict:
    """Difference A − B in ``metric`` over the same resamples; its interval and two-sided p."""
    diff = float(pooled_scores(y, pred_a, k)[metric] - pooled_scores(y, pred_b, k)[metric])
    d = (scores_from_confusion(_boot_confusions(y, pred_a, k, resampling))[metric]
         - scores_from_confusion(_boot_confusions(y, pred_b, k, resampling))[metric])
    return paired_from_resamples(diff, d, metric)


def paired_from_resamples(diff: float, d, metric: str = RANK_METRIC) -> dict:
    """:func:`paired_bootstrap` from the observed difference and the resampled differences ``d``."""
    n = len(d)
    p = min(1.0, 2 * (min(int((d <= 0).sum()), int((d >= 0).sum())) + 1) / (n + 1))
    lo, hi = interval(d)
    return {"test": f"paired bootstrap of the {METRICS[metric]} difference ({n} resamples)", "metric": metric,
            "difference": diff, "ci_low": lo, "ci_high": hi, "p_value": p}


# ============================================================================ a run
def bootstrap_units(groups, tested) -> tuple[np.ndarray, str]:
    """The resampling unit of each tested track (artist when any is known) and its name."""
    if groups is not None and any_group_known(groups):
        return fill_groups(groups)[tested], "artist"
    return np.array([str(i) for i in tested], dtype=object), "track"


def pooled_predictions(fold_results: list[dict], folds, n: int) -> np.ndarray:
    """Each track's out-of-fold prediction (−1 where no fold tests it); a track tested twice is an error."""
    pred = np.full(n, -1, dtype=np.int64)
    for r in fold_results:
        test = folds[r["fold"]].test
        if (pred[test] >= 0).any():
            raise ValueError(f"fold {r['fold'] + 1} tests a track another fold already tested")
        pred[test] = r["predictions"]
    return pred


def add_pooled(per_model: dict, results: list[dict], the_split, y, groups, seed: int) -> dict:
    """Put ``pooled`` (score and interval of every metric) into each model's entry; return the resampling.

    Returns ``{"tested", "resampling", "unit", "predictions": {model: pred of the tested tracks}}``, what
    :func:`compare` needs.
    """
    y = np.asarray(y)
    k = int(y.max()) + 1 if len(y) else 0
    tested = np.unique(np.concatenate([f.test for f in the_split.folds]))
    units, unit = bootstrap_units(groups, tested)
    resampling = Resampling(units, seed)
    preds = {}
    for n, entry in per_model.items():
        if not entry["error"]:
            fr = [r for r in results if r["kind"] == "fold" and r["model"] == n]
            preds[n] = pooled_predictions(fr, the_split.folds, len(y))[tested]
    boot_scores = {}
    for n, cms in resampling.confusions_of(y[tested], preds, k).items():  # one pass of draws for all models
        point, boot_scores[n] = pooled_scores(y[tested], preds[n], k), scores_from_confusion(cms)
        ci = {m: interval(v) for m, v in boot_scores[n].items()}
        per_model[n]["pooled"] = {m: {"value": point[m], "ci_low": ci[m][0], "ci_high": ci[m][1]} for m in METRICS}
        per_model[n]["pooled"]["n_tracks"] = int(len(tested))
    return {"tested": tested, "resampling": resampling, "unit": unit, "predictions": preds, "k": k, "y": y[tested],
            "seed": seed, "scores": boot_scores}


def describe_bootstrap(boot: dict) -> dict:
    """What ``results.json`` says about the resampling."""
    return {"resamples": int(len(boot["resampling"])), "confidence": CONFIDENCE, "unit": boot["unit"],
            "seed": boot["seed"], "n_tracks": int(len(boot["tested"])), "alpha": ALPHA}


def uncertainty_doc(leaderboard: list[dict], boot: dict | None) -> dict | None:
    """``results.json``'s ``uncertainty``: how the leaderboard is ranked, the resampling, the comparisons."""
    if boot is None:
        return None
    return {"rank_by": f"pooled {RANK_METRIC}", "bootstrap": describe_bootstrap(boot),
            "comparisons": compare(leaderboard, boot)}


def compare(leaderboard: list[dict], boot: dict) -> list[dict]:
    """The best model against each other model of the leaderboard, on the same tracks."""
    if len(leaderboard) < 2:
        return []
    best = leaderboard[0]["model"]
    y, k, preds, scores = boot["y"], boot["k"], boot["predictions"], boot["scores"]
    out = []
    for row in leaderboard[1:]:
        other = row["model"]
        diff = pooled_scores(y, preds[best], k)[RANK_METRIC] - pooled_scores(y, preds[other], k)[RANK_METRIC]
        paired = paired_from_resamples(float(diff), scores[best][RANK_METRIC] - scores[other][RANK_METRIC])
        mc = mcnemar_exact(preds[best] == y, preds[other] == y)
        better = paired["p_value"] < ALPHA
        verdict = (f"{best} better (p = {paired['p_value']:.3g})" if better
                   else f"not distinguishable (p = {paired['p_value']:.3g})")
        out.append({"best": best, "other": other, "paired_bootstrap": paired, "mcnemar": mc,
                    "distinguishable": bool(better), "verdict": verdict})
    return out
