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
    for name, m in doc["models"].items():
        if not m.get("error"):
            out[f"confusion:{name}"] = _confusion_figure(plt, fig_dir, name, m, doc["classes"], doc["split"])
    for name, m in doc["models"].items():
        if not m.get("error") and m.get("learning_curve"):
            out[f"learning_curve:{name}"] = _learning_curve_figure(plt, fig_dir, name, m["learning_curve"], doc["split"])
    return out


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
            stds = [[v - r[f"{m}_ci_low"] for v, r in zip(means, rows)],
                    [r[f"{m}_ci_high"] - v for v, r in zip(means, rows)]]
        else:
            means = [r[f"{m}_mean"] for r in rows]
            stds = [r[f"{m}_std"] for r in rows]
        ax.barh(ypos + (j - 1) * h, means, height=h, xerr=stds, color=col, label=METRICS[m],
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#333333"})
    ax.set_yticks(ypos, [r["model"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("score (pooled out-of-fold, 95 % bootstrap interval)" if "accuracy_pooled" in rows[0]
                  else "score (mean ± std over folds)")
    chance = 1 / max(1, len(doc["classes"]))
    ax.axvline(chance, color="#999999", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
    ax.set_title(f"genrekit leaderboard — {split['spec']}, seed {split['seed']}, "
                 f"{doc['store']['n_labelled']} tracks, {len(doc['classes'])} labels", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    p = fig_dir / "leaderboard.png"
    _save_png(plt, fig, p)
    return p


def _confusion_figure(plt, fig_dir: Path, name: str, m: dict, classes: list, split: dict) -> Path:
    """``confusion_<model>.png``: the confusion matrix pooled over folds, coloured by row share."""
    k = len(classes)
    cm = np.array(m["confusion_matrix"], dtype=float)
    rows_sum = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows_sum, out=np.zeros_like(cm), where=rows_sum > 0)
    size = max(4.5, 0.5 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=110)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
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
                 f"({split['spec']}); colour = row share", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    p = fig_dir / f"confusion_{_safe_name(name)}.png"
    _save_png(plt, fig, p)
    return p


def _learning_curve_figure(plt, fig_dir: Path, name: str, curve: dict, split: dict) -> Path:
    """``learning_curve_<model>.png``: loss and accuracy per epoch (mean over folds), train and validation."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110)
    ep = curve["epoch"]
    for ax, what in zip(axes, ("loss", "accuracy")):
        for part, style in (("train", "-"), ("valid", "--")):
            vals = [np.nan if v is None else v for v in curve[f"{part}_{what}"]]
            if not np.all(np.isnan(vals)):
                ax.plot(ep, vals, style, marker="o", markersize=3,
                        label="training" if part == "train" else "validation (early stopping)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        if what == "accuracy":
            ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    n = split["n_folds"]
    fig.suptitle(f"{name}: learning curve, mean over {n} fold{'s' if n > 1 else ''} ({split['spec']})", fontsize=10)
    fig.tight_layout()
    p = fig_dir / f"learning_curve_{_safe_name(name)}.png"
    _save_png(plt, fig, p)
    return p
