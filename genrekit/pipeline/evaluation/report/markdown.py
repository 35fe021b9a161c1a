"""``report.md``: the run in words — setup, warnings, leaderboard, per-class scores, each model."""

from __future__ import annotations

from genrekit.classifiers.naming import grid_text
from genrekit.pipeline.evaluation.metrics import METRICS, RANK_METRIC, RANK_TEXT


def _pm(stat: dict, digits=3) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _ci(pooled: dict, k: str) -> str:
    return f"{pooled[k]['value']:.3f} [{pooled[k]['ci_low']:.3f}, {pooled[k]['ci_high']:.3f}]"


def render_report(doc: dict) -> str:
    """``report.md``: setup, warnings, leaderboard, per-class table, per-model details, figures."""
    ok = [r["model"] for r in doc["leaderboard"]]
    failed = [n for n, m in doc["models"].items() if m.get("error")]
    L = _setup(doc) + _warnings(doc["split"]) + _leaderboard(doc, failed) + _comparisons(doc) + _per_class(doc, ok)
    L.append("## Models\n")
    for n in ok + failed:
        L += _model(doc, n)
    L.append("Files: [results.json](results.json), [leaderboard.csv](leaderboard.csv), "
             "[predictions.csv](predictions.csv) (out-of-fold predictions per track).\n")
    return "\n".join(L)


def _setup(doc: dict) -> list[str]:
    st, sp, cfg = doc["store"], doc["split"], doc["config"]
    L = ["# genrekit benchmark\n", f"- command: `{doc['command']}`"]
    blocks = (doc.get("dataset") or {}).get("blocks") or []
    if blocks and all(b["format"] != "store" for b in blocks):  # tables alone: no store, no feature config
        L.append(f"- table{'s' if len(blocks) > 1 else ''}: `{st['path']}` — {st['n_labelled']} labelled tracks, "
                 f"{len(doc['classes'])} labels, tracks hash `{st['tracks_hash']}`"
                 + (f", {st['n_summary_columns']} feature columns" if st["n_summary_columns"] else ""))
    else:
        L.append(f"- {'data' if blocks else 'store'}: `{st['path']}` — {st['n_labelled']} labelled tracks, "
                 f"{len(doc['classes'])} labels, feature config `{st['config_hash']}`, tracks hash "
                 f"`{st['tracks_hash']}`"
                 + (f", {st['n_summary_columns']} summary columns" if st["n_summary_columns"] else ""))
    L.append(f"- split: `{sp['spec']}`, seed {sp['seed']}, {sp['n_folds']} fold{'s' if sp['n_folds'] > 1 else ''}"
             f" ({'grouped by artist' if sp['grouped'] else 'not grouped by artist'}); "
             f"test tracks per fold: {', '.join(str(f['n_test']) for f in sp['folds'])}")
    if cfg["tune"]:
        L.append(f"- tuning: nested grid search in each training fold ({cfg['inner_folds']} inner folds, "
                 f"scored by {cfg['tune_scoring']})")
        L += [f"  - {n}: {grid_text(_base(n), g)}" for n, g in (cfg.get("grids") or {}).items()]
    unc = doc.get("uncertainty")
    if unc:
        b = unc["bootstrap"]
        L.append(f"- ranked by {RANK_TEXT}; 95 % intervals from "
                 f"{b['resamples']} bootstrap resamples of the {b['n_tracks']} tested tracks, "
                 f"{'by artist (cluster bootstrap)' if b['unit'] == 'artist' else 'by track'}, seed {b['seed']}; "
                 "± is the standard deviation of the fold scores")
    else:
        L.append(f"- ranked by mean {METRICS[cfg['rank_metric']]}; ± is the standard deviation over folds")
    L.append(f"- genrekit {doc['genrekit_version']}, scikit-learn {doc['versions'].get('scikit-learn', '?')}, "
             f"python {doc['versions']['python']}; {doc['created']}; {doc['seconds']:.1f} s\n")
    return L


def _warnings(sp: dict) -> list[str]:
    if not (sp["warnings"] or sp["notes"]):
        return []
    return ["## Warnings\n", *(f"- **warning:** {w}" for w in sp["warnings"]), *(f"- {n}" for n in sp["notes"]), ""]


def _leaderboard(doc: dict, failed: list[str]) -> list[str]:
    pooled = [k for k in (RANK_METRIC, "accuracy", "f1_macro")]
    L = ["## Leaderboard\n",
         "| rank | model | input | " + " | ".join(f"{METRICS[k]} pooled [95 % CI]" for k in pooled) + " | "
         + " | ".join(f"{v} fold mean ± std" for v in METRICS.values()) + " | fit s | predict s |",
         "|---:|---|---|" + "---:|" * (len(pooled) + len(METRICS)) + "---:|---:|"]
    for r in doc["leaderboard"]:
        m = doc["models"][r["model"]]
        cells = [_ci(m["pooled"], k) if m.get("pooled") else "–" for k in pooled]
        L.append(f"| {r['rank']} | {r['model']} | {r['input']} | " + " | ".join(cells) + " | "
                 + " | ".join(_pm(m[k]) for k in METRICS)
                 + f" | {m['fit_seconds']['mean']:.2f} | {m['predict_seconds']['mean']:.3f} |")
    for n in failed:
        m = doc["models"][n]
        L.append(f"| – | {n} | {m['input']} | failed: {m['error']} |" + " |" * (len(pooled) + len(METRICS) + 1))
    L.append("")
    if "leaderboard" in doc.get("figures", {}):
        L.append(f"![leaderboard]({doc['figures']['leaderboard']})\n")
    return L


def _comparisons(doc: dict) -> list[str]:
    """The best model against each other one, on the same tracks: the tests, their p-values, the verdict."""
    comps = (doc.get("uncertainty") or {}).get("comparisons") or []
    if not comps:
        return []
    b = doc["uncertainty"]["bootstrap"]
    best = comps[0]["best"]
    L = ["## Is the best model better? (paired comparisons)\n",
         f"{best} against each other model on the same {b['n_tracks']} tracks. Verdict: paired bootstrap of the "
         f"{METRICS[RANK_METRIC]} difference ({b['resamples']} resamples "
         f"{'by artist' if b['unit'] == 'artist' else 'by track'}, two-sided, α = {b['alpha']}); also McNemar's "
         "exact test on the tracks only one of the two gets right.\n",
         f"| model | {METRICS[RANK_METRIC]} difference [95 % CI] | paired bootstrap p | "
         f"only {best} right | only model right | McNemar exact p | verdict |",
         "|---|---:|---:|---:|---:|---:|---|"]
    for c in comps:
        pb, mc = c["paired_bootstrap"], c["mcnemar"]
        L.append(f"| {c['other']} | {pb['difference']:+.3f} [{pb['ci_low']:+.3f}, {pb['ci_high']:+.3f}] | "
                 f"{pb['p_value']:.3g} | {mc['only_first_right']} | {mc['only_second_right']} | {mc['p_value']:.3g} | "
                 f"{c['verdict']} |")
    return L + [""]


def _per_class(doc: dict, ok: list[str]) -> list[str]:
    if not ok:
        return []
    L = ["## Per-class F1 (pooled over folds)\n", "| label | tracks | " + " | ".join(ok) + " |",
         "|---|---:|" + "---:|" * len(ok)]
    for i, c in enumerate(doc["classes"]):
        L.append(f"| {c} | {doc['class_counts'][c]} | "
                 + " | ".join(f"{doc['models'][n]['per_class_pooled']['f1'][i]:.2f}" for n in ok) + " |")
    L.append("")
    return L


def _model(doc: dict, n: str) -> list[str]:
    m = doc["models"][n]
    L = [f"### {n}\n", f"{m['description']} (input: {m['input']}"
         + (f", frame features: {', '.join(m['frame_features'])}" if m.get("frame_features") else "") + ")\n"]
    if m["params"]:
        L.append("parameters: " + ", ".join(f"`{_base(n)}.{k}={v}`" for k, v in m["params"].items()) + "\n")
    if m.get("error"):
        return L + [f"**failed**: `{m['error']}`\n"]
    if m.get("artifact"):
        saved = m.get("saved_params") or {}
        L.append(f"saved model: [{m['artifact']}]({m['artifact']})"
                 + (" with " + ", ".join(f"`{_base(n)}.{k}={v}`" for k, v in saved.items()) if saved else "")
                 + "\n")
    figures = doc.get("figures", {})
    if figures.get(f"confusion:{n}"):
        L.append(f"![confusion matrix of {n}]({figures[f'confusion:{n}']})\n")
    if m.get("learning_curve"):
        stops = [len(f.get("history") or []) for f in m["folds"]]
        L.append(f"learning curve: {', '.join(map(str, stops))} epochs per fold (early stopping on a "
                 "validation carve of each training fold); per-epoch values in results.json\n")
        if figures.get(f"learning_curve:{n}"):
            L.append(f"![learning curve of {n}]({figures[f'learning_curve:{n}']})\n")
    L += _class_table(doc["classes"], m["per_class_pooled"]) + _fold_table(m["folds"], _base(n))
    if m["warnings"]:
        L.append("warnings while fitting: " + "; ".join(f"`{w}`" for w in m["warnings"][:5]) + "\n")
    return L


def _class_table(classes, pc: dict) -> list[str]:
    L = ["| label | precision | recall | F1 | tracks |", "|---|---:|---:|---:|---:|"]
    for i, c in enumerate(classes):
        L.append(f"| {c} | {pc['precision'][i]:.2f} | {pc['recall'][i]:.2f} | {pc['f1'][i]:.2f} "
                 f"| {pc['support'][i]} |")
    return L + [""]


def _base(name: str) -> str:
    """The registry model of a run's model name (``svm[early]`` → ``svm``): what ``--param`` names."""
    return name.split("[", 1)[0]


def _fold_table(folds: list[dict], model: str) -> list[str]:
    tuned = any("best_params" in f for f in folds)
    L = ["| fold | " + " | ".join(METRICS.values()) + " | fit s | predict s |" + (" best parameters |" if tuned else ""),
         "|---:|" + "---:|" * (len(METRICS) + 2) + ("---|" if tuned else "")]
    for f in folds:
        bp = f.get("best_params")
        L.append(f"| {f['fold'] + 1} | " + " | ".join(f"{f[k]:.3f}" for k in METRICS)
                 + f" | {f['fit_seconds']:.2f} | {f['predict_seconds']:.3f} |"
                 + (f" {', '.join(f'{model}.{k}={v}' for k, v in bp.items())} |" if bp else ""))
    return L + [""]
