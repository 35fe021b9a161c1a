"""What a tagging run writes: ``results.json``, ``leaderboard.csv`` (ranked by macro PR-AUC),
``per_tag.csv`` (pooled per-tag ROC-AUC, PR-AUC, F1 and support of every model), ``scores.csv``
(out-of-fold score of every model, test track and tag, with the fold's threshold), ``report.md``,
``figures/per_tag_auc.png`` and, with ``--save-models``, one artifact per model."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from genrekit.files import atomic_write, atomic_write_text, no_space
from genrekit.pipeline.evaluation.jobs import jsonable
from genrekit.pipeline.evaluation.tagging_metrics import TAG_METRICS, tag_leaderboard_table


def save_taggers(out_dir: Path, doc, results, plan, tags, columns, frame_inputs, say) -> dict:
    """One artifact per refit model under ``out/models`` (its tags, their thresholds); ``model -> path``."""
    from genrekit.pipeline.prediction.artifacts import ModelArtifact, save_artifact

    artifacts = {}
    for r in sorted((r for r in results if r["kind"] == "refit"), key=lambda r: plan.names.index(r["model"])):
        n = r["model"]
        if r["error"]:
            doc["models"][n].setdefault("artifact_error", r["error"])
            say(f"warning: could not refit {n} for saving: {r['error']}")
            continue
        summary = plan.specs[n].input == "summary"
        art = ModelArtifact(
            model=n, estimator=r["estimator"], config_json=json.dumps(doc["store"]["feature_config"]),
            classes=list(tags), input=plan.specs[n].input, columns=list(columns) if summary else None,
            frame_features=None if summary else list(frame_inputs[n].features), params=dict(plan.params.get(n, {})),
            task="tagging", thresholds=list(r["thresholds"]),
            trained_on={"store": doc["store"]["path"], "config_hash": doc["store"]["config_hash"],
                        "n_tracks": int(r["n_train"]), "split": doc["split"]["spec"],
                        "seed": doc["config"]["seed"], "task": "tagging", "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
        artifacts[n] = save_artifact(art, Path(out_dir) / "models" / f"{n}.joblib")
        doc["models"][n]["artifact"] = str(artifacts[n].relative_to(out_dir))
    return artifacts


def write_tagging_outputs(out_dir: Path, doc, results, ids, targets, say):
    """Every file of a tagging run but the artifacts (``doc`` gains ``figures``)."""
    out_dir = Path(out_dir)
    _write_leaderboard(out_dir / "leaderboard.csv", doc)
    _write_per_tag(out_dir / "per_tag.csv", doc)
    _write_scores(out_dir / "scores.csv", results, ids, targets)
    figures = {}
    try:
        figures = {"per_tag_auc": per_tag_figure(out_dir / "figures", doc)} if doc["leaderboard"] else {}
    except Exception as e:  # a plotting problem must not lose the results (a full disk stops the run)
        if no_space(e):
            raise
        say(f"warning: could not draw figures: {type(e).__name__}: {e}")
    doc["figures"] = {k: str(Path(v).relative_to(out_dir)) for k, v in figures.items()}
    atomic_write_text(out_dir / "results.json", json.dumps(doc, indent=1, default=jsonable), fsync=False)
    atomic_write_text(out_dir / "report.md", render_tagging_report(doc), fsync=False)


def _fmt(v):
    return "" if v is None else (f"{v:.6f}" if isinstance(v, float) else v)


def _write_leaderboard(path, doc):
    cols = ["rank", "model", "input", "n_folds"]
    for k in (*TAG_METRICS, "fit_seconds", "predict_seconds"):
        cols += [f"{k}_mean", f"{k}_std"]
    cols += ["pooled_pr_auc_macro", "status"]
    with atomic_write(path, newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for row in doc["leaderboard"]:
            w.writerow({**{k: _fmt(v) for k, v in row.items()}, "status": "ok"})
        for n, m in doc["models"].items():
            if m["error"]:
                w.writerow({"model": n, "input": m["input"], "status": f"failed: {m['error']}"})


def _write_per_tag(path, doc):
    with atomic_write(path, newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "tag", "tracks", "roc_auc", "pr_auc", "f1"])
        for row in doc["leaderboard"]:
            pt = doc["models"][row["model"]]["per_tag"]
            for j, t in enumerate(pt["tag"]):
                w.writerow([row["model"], t, pt["support"][j], _fmt(pt["roc_auc"][j]), _fmt(pt["pr_auc"][j]),
                            _fmt(pt["f1"][j])])


def _write_scores(path, results, ids, targets):
    rows = []
    for r in results:
        if r["kind"] != "fold" or r["error"]:
            continue
        for i, s in zip(r["test"], r["scores"]):
            rows.extend((r["model"], r["fold"] + 1, ids[i], t, int(targets.Y[i, j]), s[j], r["thresholds"][j])
                        for j, t in enumerate(targets.tags))
    rows.sort()
    with atomic_write(path, newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "fold", "id", "tag", "true", "score", "threshold"])
        w.writerows(rows)


def per_tag_figure(fig_dir: Path, doc) -> Path:
    """``per_tag_auc.png``: pooled ROC-AUC and PR-AUC of every tag for the best model."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from genrekit.pipeline.evaluation.report.figures import _save_png

    best = doc["leaderboard"][0]["model"]
    pt = doc["models"][best]["per_tag"]
    tags = pt["tag"]
    roc = [np.nan if v is None else v for v in pt["roc_auc"]]
    ap = [np.nan if v is None else v for v in pt["pr_auc"]]
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.3 * len(tags)), dpi=110)
    y = np.arange(len(tags))
    ax.barh(y - 0.2, roc, 0.4, label="ROC-AUC")
    ax.barh(y + 0.2, ap, 0.4, label="PR-AUC")
    ax.set_yticks(y, tags)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title(f"per-tag AUC of {best} (pooled out-of-fold, {doc['split']['spec']})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    fig.tight_layout()
    Path(fig_dir).mkdir(parents=True, exist_ok=True)
    path = Path(fig_dir) / "per_tag_auc.png"
    _save_png(plt, fig, path)
    return path


def render_tagging_report(doc) -> str:
    """``report.md`` of a tagging run: setup, leaderboard, per-tag table of the best model, warnings."""
    sp = doc["split"]
    lines = ["# genrekit tagging benchmark", "", f"`{doc['command']}`", "",
             f"- store: {doc['store']['path']} ({doc['store']['n_tagged']} tagged tracks of {doc['store']['n_tracks']})",
             f"- tags: {len(doc['tags'])} kept (--min-tag-count {doc['config']['min_tag_count']}), "
             f"{len(doc['dropped_tags'])} dropped",
             f"- split: {sp['spec']} (seed {sp['seed']}{', grouped by artist' if sp['grouped'] else ''})",
             f"- ranked by {TAG_METRICS[doc['config']['rank_metric']]} (mean over folds); per-tag thresholds "
             "chosen on each training fold only", "", "## Leaderboard", "", "```",
             tag_leaderboard_table(doc["leaderboard"]), "```", ""]
    left_out = {n: m["n_tags_left_out"] for n, m in doc["models"].items() if not m["error"]}
    if any(any(v) for v in left_out.values()):
        first = next(iter(left_out.values()))
        lines += [f"Tags left out of a fold's macro averages (no positive or no negative test track), per fold: "
                  f"{first}", ""]
    for n, m in doc["models"].items():
        if m["error"]:
            lines += [f"- **{n} failed**: {m['error']}"]
    if doc["leaderboard"]:
        best = doc["leaderboard"][0]["model"]
        pt = doc["models"][best]["per_tag"]
        lines += ["", f"## Per tag ({best}, pooled out-of-fold)", "", "| tag | tracks | ROC-AUC | PR-AUC | F1 |",
                  "|---|---:|---:|---:|---:|"]
        cell = (lambda v: "n/a" if v is None else f"{v:.3f}")
        lines += [f"| {t} | {pt['support'][j]} | {cell(pt['roc_auc'][j])} | {cell(pt['pr_auc'][j])} | {cell(pt['f1'][j])} |"
                  for j, t in enumerate(pt["tag"])]
    notes = sp["notes"] + [f"warning: {w}" for w in sp["warnings"]]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
