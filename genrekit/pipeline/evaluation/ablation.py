"""``--ablation``: every summary model on each feature alone and on all of them, on the same folds.

:class:`FeatureAblation` wraps a store's :class:`~genrekit.pipeline.evaluation.inputs.FeatureSource`
and answers ``model_variants`` with one leaderboard entry per model and feature
(``svm[block=mfcc]``: a :class:`~genrekit.classifiers.fusion.ModelVariant` that selects that
feature's summary columns inside the estimator) plus the model on every selected feature
(``svm``). The runner needs nothing else: the split is computed once, so every entry is scored
on the same folds. Frame models run once, as registered.
"""

from __future__ import annotations

from genrekit.errors import ParameterError


def feature_blocks(source, features) -> list[tuple[str, int]]:
    """``(feature, n_columns)`` in the order of ``source.summary(features)``'s columns."""
    names = source.summary_columns(features)
    chosen = list(features) if features else [f for f in (*source.frame_features, *source.config.track_features)]
    owner = {}
    for f in chosen:
        for c in source.summary_columns([f]):
            owner[c] = f
    blocks: list[list] = []
    for c in names:
        f = owner.get(c)
        if blocks and blocks[-1][0] == f:
            blocks[-1][1] += 1
        elif f in {b for b, _ in blocks}:
            raise ParameterError(f"the summary columns of feature {f} are not contiguous in store "
                                 f"{source.path}; --ablation cannot select them")
        else:
            blocks.append([f, 1])
    return [(f, n) for f, n in blocks if f is not None]


class FeatureAblation:
    """A store source whose summary models run on each feature block alone and on all of them."""

    def __init__(self, source, features=None):
        if not hasattr(source, "summary_columns"):
            raise ParameterError("--ablation compares the features of a store; with --table, every block "
                                 "is already run alone and fused")
        self.source = source
        self.blocks = feature_blocks(source, features)
        if len(self.blocks) < 2:
            raise ParameterError(f"--ablation needs two or more features with summary columns, got "
                                 f"{', '.join(b for b, _ in self.blocks) or 'none'}; name them with --features")

    def __getattr__(self, name):
        if name.startswith("__") or name == "source":
            raise AttributeError(name)
        return getattr(self.source, name)

    def __len__(self) -> int:
        return len(self.source)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)

    def model_variants(self, names, specs, *, save_models: bool = False) -> dict:
        """Leaderboard name → ModelVariant: each summary model on all features, then on each alone."""
        from genrekit.classifiers.fusion import ModelVariant

        if save_models:
            raise ParameterError("--ablation compares features and saves no model; run again without "
                                 "--ablation (and --features of your choice) to --save-models")
        out = {}
        for m in names:
            out[m] = ModelVariant(m, "plain", tuple(self.blocks))
            if specs[m].input != "summary":
                continue
            for b, _ in self.blocks:
                v = ModelVariant(m, "block", tuple(self.blocks), block=b)
                out[v.name] = v
        return out

    def command_args(self) -> list[str]:
        return [*self.source.command_args(), "--ablation"]

    def describe(self) -> dict:
        return {"ablation": [{"feature": b, "columns": n} for b, n in self.blocks]}
