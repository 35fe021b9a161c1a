"""The tagging benchmark: the genre runner's six steps for multi-hot targets.

1. **input** — the source's tagged tracks as multi-hot rows over the tags on ``min_tag_count``
   tracks or more (:mod:`~genrekit.pipeline.evaluation.tag_targets`), the same summary matrix
   and frame sequences as for genres;
2. **split** — multi-label stratified, artist-grouped when artists are known
   (:mod:`~genrekit.pipeline.evaluation.tag_splits`), once for every model;
3. **jobs** — model × fold (and a refit per model with ``save_models``), each fitted as a
   multi-label model (:mod:`~genrekit.pipeline.evaluation.tag_models`);
4. **run** — through the genre runner's joblib loop (``job["task"] == "tagging"``);
5. **aggregate** — :mod:`~genrekit.pipeline.evaluation.tagging_metrics`, ranked by macro PR-AUC;
6. **write** — ``results.json``, ``leaderboard.csv``, ``per_tag.csv``, ``scores.csv``,
   ``report.md``, ``figures/`` and the saved models (:mod:`~genrekit.pipeline.evaluation.report.tagging`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from genrekit import __version__
from genrekit.errors import GenrekitError, ParameterError
from genrekit.files import no_space
from genrekit.pipeline.evaluation.run_folder import RunFolder
from genrekit.pipeline.evaluation.runner import (BenchmarkResult, _frame_inputs, finished, _plan_models, _refit_indices,
                                                 _run_jobs, _summary_input, _tracks_hash, _versions)
from genrekit.pipeline.evaluation.tag_splits import make_tag_split
from genrekit.pipeline.evaluation.tag_targets import tag_targets
from genrekit.pipeline.evaluation.tagging_metrics import TAG_RANK_METRIC, rank_taggers, summarise_tagger
from genrekit.roles import any_group_known, fill_groups


@dataclass
class _TagData:
    """The tagged tracks in the source's order (what the folds index), named as the genre runner's
    helpers expect (``mask``, ``ids``)."""

    mask: np.ndarray
    ids: np.ndarray
    groups: np.ndarray
    splits: np.ndarray
    targets: object


def run_tagging(source, models, *, split, seed, params, tune, out, save_models, workers, features, progress,
                log, device, on_leaderboard, min_tag_count, t_start, duplicates=True) -> BenchmarkResult:
    """:func:`~genrekit.pipeline.evaluation.runner.run_benchmark` for ``task="tagging"`` (same
    arguments, already checked; ``source`` already open)."""
    say = log or (lambda s: None)
    if tune:
        raise ParameterError("--tune is not available with --task tagging yet; drop --tune")
    plan = _plan_models(source, models, params, seed, save_models)
    if plan.variants:
        raise ParameterError("--task tagging reads a feature store, not joined tables; pass --store")
    RunFolder(out).check()
    targets = tag_targets(source, min_tag_count)
    data = _TagData(targets.mask, source.ids[targets.mask], source.groups[targets.mask],
                    source.splits[targets.mask], targets)
    summary, columns = _summary_input(source, plan, data, features)
    frame_inputs = _frame_inputs(source, plan, data, features)
    the_split = _split(source, split, seed, data, say, duplicates)
    jobs = _make_jobs(plan, data, {n: frame_inputs.get(n, summary) for n in plan.names}, the_split, seed,
                      save_models, source, device)
    n_jobs = min(workers or os.cpu_count() or 1, len(jobs))
    folder = RunFolder(out).claim()
    try:
        say(f"running {len(plan.names)} tagging model{'s' if len(plan.names) > 1 else ''} × {the_split.n_folds} "
            f"fold{'s' if the_split.n_folds > 1 else ''} over {len(targets.tags)} tags on {n_jobs} worker"
            f"{'s' if n_jobs > 1 else ''}")
        results = _run_jobs(jobs, n_jobs, progress)
        per_model = {}
        for n in plan.names:
            fr = [r for r in results if r["kind"] == "fold" and r["model"] == n]
            per_model[n] = summarise_tagger(plan.specs[n], fr, plan.params.get(n, {}), targets.Y, targets.tags)
            if n in frame_inputs and not per_model[n]["error"]:
                per_model[n]["frame_features"] = list(frame_inputs[n].features)
            if per_model[n]["error"]:
                say(f"warning: model {n} failed: {per_model[n]['error']}")
        leaderboard = rank_taggers(per_model, plan.names, {n: plan.specs[n].input for n in plan.names},
                                   the_split.n_folds)
        if on_leaderboard is not None and leaderboard:
            on_leaderboard(leaderboard)
        doc = _results_doc(source, plan, data, the_split, seed, features, columns, per_model, leaderboard,
                           folder.path, n_jobs, device)
        artifacts = _write(folder, doc, results, plan, data, the_split, columns, frame_inputs, save_models, t_start, say)
    finally:
        folder.release()
    return finished(folder, plan, per_model, leaderboard, doc, the_split, artifacts)


def _split(source, spec, seed, data: _TagData, say, duplicates=True):
    from genrekit.pipeline.duplicates.find import duplicate_pairs

    known = data.splits if any(v for v in data.splits) else None
    pairs, notes = duplicate_pairs(source, data.ids) if duplicates else (None, [])
    the_split = make_tag_split(data.targets.Y, data.targets.tags, groups=data.groups, split_column=known,
                               spec=spec, seed=seed, duplicates=pairs)
    the_split.notes.extend(notes)
    say(f"split: {the_split.describe().replace('stratified by label', 'stratified by tag')}")
    the_split.notes.extend(data.targets.notes())
    for n in the_split.notes:
        say(f"note: {n}")
    for w in the_split.warnings:
        say(f"warning: {w}")
    return the_split


def _make_jobs(plan, data: _TagData, inputs, the_split, seed, save_models, source, device) -> list[dict]:
    fit_groups = fill_groups(data.groups) if any_group_known(data.groups) else None
    cfg = source.config
    runtime = {"frame_rate": cfg.sr / cfg.hop_length if cfg is not None else None, "device": device}
    common = {"task": "tagging", "y": data.targets.Y, "seed": seed, "fit_groups": fit_groups, "runtime": runtime}
    jobs = [{**common, "kind": "fold", "model": n, "fold": f.index, "X": inputs[n], "train": f.train, "test": f.test,
             "params": plan.params.get(n, {})} for n in plan.names for f in the_split.folds]
    if save_models:
        refit = _refit_indices(the_split, len(data.ids))
        jobs += [{**common, "kind": "refit", "model": n, "X": inputs[n], "train": refit,
                  "params": plan.params.get(n, {})} for n in plan.names]
    jobs.sort(key=lambda j: -plan.specs[j["model"]].cost)
    return jobs


def _results_doc(source, plan, data: _TagData, sp, seed, features, columns, per_model, leaderboard, out_dir,
                 n_jobs, device) -> dict:
    import shlex

    t = data.targets
    command = ["genrekit", "benchmark", *source.command_args(), "--task", "tagging", "--min-tag-count",
               str(t.min_tag_count), "--models", ",".join(plan.names), "--split", sp.spec, "--seed", str(seed)]
    for m in sorted(plan.params):
        command += [a for k, v in plan.params[m].items() for a in ("--param", f"{m}.{k}={v}")]
    if features:
        command += ["--features", ",".join(features)]
    command += ["--out", str(out_dir)] + (["--device", device] if device else [])
    return {
        "genrekit_version": __version__, "task": "tagging", "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": shlex.join(command),
        "config": {"models": plan.names, "split": sp.spec, "seed": seed, "params": plan.params, "tune": False,
                   "features": list(features) if features else None, "rank_metric": TAG_RANK_METRIC,
                   "min_tag_count": t.min_tag_count, "workers": n_jobs, "device": device},
        "store": {"path": str(source.path), "config_hash": source.config_hash,
                  "tracks_hash": _tracks_hash(data.ids, source.content_hashes(data.ids), source.config_hash),
                  "feature_config": json.loads(source.config_json), "n_tracks": int(len(source)),
                  "n_tagged": int(data.mask.sum()),
                  "n_summary_columns": None if columns is None else len(columns)},
        "tags": list(t.tags), "tag_counts": t.counts(), "dropped_tags": dict(sorted(t.dropped.items())),
        "split": sp.to_dict(data.ids), "versions": _versions(), "seconds": None, "models": per_model,
        "leaderboard": leaderboard,
    }


def _write(folder, doc, results, plan, data: _TagData, sp, columns, frame_inputs, save_models, t_start, say) -> dict:
    """Saved models and every output file; on a failure to write, nothing partial is kept."""
    from genrekit.pipeline.evaluation.report.tagging import save_taggers, write_tagging_outputs

    try:
        artifacts = save_taggers(folder.path, doc, results, plan, data.targets.tags, columns, frame_inputs, say) \
            if save_models else {}
        doc["seconds"] = round(time.monotonic() - t_start, 3)
        write_tagging_outputs(folder.path, doc, results, data.ids, data.targets, say)
    except BaseException as e:
        folder.discard()
        if isinstance(e, OSError) or no_space(e):
            full = no_space(e)
            raise GenrekitError(f"{'disk full' if full else e.strerror or e} while writing the tagging results into "
                                f"{folder.path}: no partial files kept; {'free space' if full else 'fix that'} "
                                "and run again") from e
        raise
    return artifacts


__all__ = ["run_tagging"]
