"""The run's figures (PNG, Agg backend): leaderboard, confusion matrices, learning curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genrekit.files import atomic_write
from genrekit.pipeline.evaluation.metrics import METRICS


def _save_png(plt, fig, path: Path):
    """``fig`` as a PNG at ``path``, complete or not at all; the figure is closed either way."""
    try:
        with atomic_write(path, "wb", fsync=False) as f:
            fig.savefig(f, format="png")
    finally:
        plt.close(fig)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def write_figures(fig_dir: Path, doc: dict) -> dict:
    """Draw the leaderboard bar chart and one confusion matrix per model (PNG, Agg backend).

    Returns
    -------
    dict
        ``"leaderboard"``, ``"confusion:<model>"`` and, for neural heads, ``"learning_curve:<model>"`` → path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    if doc["leaderboard"]:
        out["leaderboard"] = _leaderboard_figure(plt, fig_dir, doc)
    tuned = _tuned(doc)
    for name, m in doc["models"].items():
        if not m.get("error"):
            out[f"confusion:{name}"] = _confusion_figure(plt, fig_dir, name, m, doc["classes"], doc["split"], tuned)
    for name, m in doc["models"].items():
        if not m.get("error") and m.get("learning_curve"):
            out[f"learning_curve:{name}"] = _learning_curve_figure(plt, fig_dir, name, m, doc["split"], tuned)
    return out


def _tuned(doc: dict) -> str:
    """What a figure's title adds for a tuned run."""
    return ", tuned by nested grid search" if doc.get("config", {}).get("tune") else ""


def _leaderboard_figure(plt, fig_dir: Path, doc: dict) -> Path:
    """``leaderboard.png``: accuracy, balanced accuracy and macro-F1 per model (pooled, 95 % interval;
    without pooled scores: mean ± std over folds)."""
    rows, split = doc["leaderboard"], doc["split"]
    shown = ("accuracy", "balanced_accuracy", "f1_macro")
    n = len(rows)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.55 * n * 1.0 + 0.6), dpi=110)
    h = 0.8 / len(shown)
    ypos = np.arange(n)
    colors = ("#4C72B0", "#DD8452", "#55A868")
    for j, (m, col) in enumerate(zip(shown, colors)):
        if f"{m}_pooled" in rows[0]:
            means = [r[f"{m}_pooled"] for r in rows]
            err = np.array([[v - r[f"{m}_ci_low"] for v, r in zip(means, rows)],
                            [r[f"{m}_ci_high"] - v for v, r in zip(means, rows)]]).clip(min=0)
        else:
            means = [r[f"{m}_mean"] for r in rows]
            stds = [r[f"{m}_std"] for r in rows]
            err = _bounded_errors(means, stds)
        ax.barh(ypos + (j - 1) * h, means, height=h, xerr=err, color=col, label=METRICS[m],
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#333333"})
    ax.set_yticks(ypos, [r["model"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (pooled out-of-fold, 95 % bootstrap interval)" if "accuracy_pooled" in rows[0]
                  else "score (mean ± std over folds)")
    chance = 1 / max(1, len(doc["classes"]))
    ax.axvline(chance, color="#999999", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
    ax.set_title(f"genrekit leaderboard — {split['spec']}, seed {split['seed']}, "
                 f"{doc['store']['n_labelled']} tracks, {len(doc['classes'])} labels{_tuned(doc)}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    # under the axes: a legend inside them would hide some model's bars
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.45 / fig.get_figheight(), 1, 1))
    p = fig_dir / "leaderboard.png"
    _save_png(plt, fig, p)
    return p


def _bounded_errors(means, stds) -> np.ndarray:
    """``(2, n)`` lower and upper error-bar lengths: mean ± std, clipped to the scores' range [0, 1]."""
    means, stds = np.asarray(means, float), np.asarray(stds, float)
    return np.vstack([np.minimum(stds, means), np.minimum(stds, 1.0 - means)]).clip(min=0)


def _confusion_figure(plt, fig_dir: Path, name: str, m: dict, classes: list, split: dict, tuned: str = "") -> Path:
    """``confusion_<model>.png``: the confusion matrix pooled over folds, coloured by row share."""
    k = len(classes)
    cm = np.array(m["confusion_matrix"], dtype=float)
    rows_sum = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows_sum, out=np.zeros_like(cm), where=rows_sum > 0)
    size = max(4.5, 0.5 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=110)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    missing = _untrained_folds(split, classes)
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), [f"{c} *" if c in missing else c for c in classes], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ba = m["balanced_accuracy"]
    pooled = (m.get("pooled") or {}).get("balanced_accuracy")
    score = (f"pooled balanced acc. {pooled['value']:.3f} [{pooled['ci_low']:.3f}, {pooled['ci_high']:.3f}]"
             if pooled else f"balanced acc. {ba['mean']:.3f} ± {ba['std']:.3f}")
    ax.set_title(f"{name}: {score}\n"
                 f"pooled over {split['n_folds']} fold{'s' if split['n_folds'] > 1 else ''} "
                 f"({split['spec']}{tuned}); colour = row share", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if missing:
        note = "; ".join(f"{c}: fold {', '.join(map(str, f))}" for c, f in missing.items())
        fig.text(0.01, 0.01, f"* no training track in {note} (never predictable there)", fontsize=7,
                 wrap=True)
    fig.tight_layout(rect=(0, 0.04 if missing else 0, 1, 1))
    p = fig_dir / f"confusion_{_safe_name(name)}.png"
    _save_png(plt, fig, p)
    return p


def _untrained_folds(split: dict, classes: list) -> dict:
    """``label -> [fold numbers (1-based)]`` where the label had no training track."""
    out: dict = {}
    for i, labels in enumerate(split.get("untrained") or []):
        for c in labels:
            out.setdefault(c, []).append(i + 1)
    return out


def _learning_curve_figure(plt, fig_dir: Path, name: str, m: dict, split: dict, tuned: str = "") -> Path:
    """``learning_curve_<model>.png``: loss and accuracy per epoch (mean over the folds still
    training at that epoch), train and validation; dotted lines mark the epochs whose weights the
    folds kept (best validation loss)."""
    curve = m["learning_curve"]
    kept = sorted({h["epoch"] for f in m.get("folds", []) for h in (f.get("history") or []) if h.get("kept")})
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=110)
    ep = curve["epoch"]
    for ax, what in zip(axes, ("loss", "accuracy")):
        for part, style in (("train", "-"), ("valid", "--")):
            vals = [np.nan if v is None else v for v in curve[f"{part}_{what}"]]
            if not np.all(np.isnan(vals)):
                ax.plot(ep, vals, style, marker="o", markersize=3,
                        label="training" if part == "train" else "validation (early stopping)")
        for i, e in enumerate(kept):
            ax.axvline(e, color="#555555", linestyle=":", linewidth=1,
                       label="weights kept (best validation loss)" if i == 0 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        if what == "accuracy":
            ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{name}: learning curve, {curve_averaging(curve)} ({split['spec']}{tuned})", fontsize=10)
    fig.tight_layout()
    p = fig_dir / f"learning_curve_{_safe_name(name)}.png"
    _save_png(plt, fig, p)
    return p


def curve_averaging(curve: dict) -> str:
    """How a learning curve's points are averaged, said honestly when folds stop at different epochs."""
    counts = curve.get("n_folds") or [0]
    top = max(counts)
    if min(counts) == top:
        return f"mean over {top} fold{'s' if top > 1 else ''}"
    last_full = max(e for e, c in zip(curve["epoch"], counts) if c == top)
    return (f"mean over the folds still training: {top} to epoch {last_full}, "
            f"then fewer ({min(counts)} at epoch {curve['epoch'][-1]})")
