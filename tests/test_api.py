"""The Python API for scikit-learn users (issue 17.6): the README's example reproduces a leaderboard row."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sklearn.model_selection import GroupKFold, cross_val_score

from genrekit import api
from genrekit.cache import FeatureStore
from genrekit.features import FeatureConfig
from genrekit.features.catalog import FEATURES
from genrekit.pipeline.evaluation.runner import run_benchmark
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.tracks import Track
from tests.audio_helpers import tone
from tests.conftest import make_synthetic_store

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_example() -> str:
    text = README.read_text()
    return re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S).group(1)


def test_the_readme_example_reproduces_the_leaderboard_row(synthetic_store, tmp_path, monkeypatch, capsys):
    run = run_benchmark(synthetic_store, "logreg", split="group-kfold:5", seed=0, out=tmp_path / "run",
                        workers=1, progress=False)
    row = run.results["leaderboard"][0]
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "genrekit_store").symlink_to(synthetic_store)
    monkeypatch.chdir(tmp_path / "work")
    ns = {}
    exec(compile(_readme_example(), "README.md", "exec"), ns)
    assert ns["scores"].mean() == pytest.approx(row["balanced_accuracy_mean"], abs=1e-9)
    assert ns["scores"].std() == pytest.approx(row["balanced_accuracy_std"], abs=1e-9)
    assert f"{row['balanced_accuracy_mean']:.3f}" in capsys.readouterr().out


def test_groups_are_never_none_and_work_with_group_kfold(tmp_path):
    store = make_synthetic_store(tmp_path / "s", n_per_class=6, n_classes=2, with_groups=False)
    with FeatureStore(store) as fs:
        assert None not in set(fs.groups) and len(set(fs.groups)) == len(fs)
        assert set(fs.raw_groups) == {None}
    X, y, groups = api.load_store(store)
    assert X.shape[0] == len(y) == len(groups) == 12 and X.dtype == np.float32
    scores = cross_val_score(api.model("logreg", random_state=0), X, y, groups=groups, cv=GroupKFold(3))
    assert scores.shape == (3,)
    # unknown groups stay unknown to the split: no grouped split is claimed
    assert run_benchmark(store, "logreg", out=tmp_path / "r", workers=1, progress=False).results["split"]["spec"] == "kfold:5"


def test_folds_are_the_benchmarks_and_index_load_store(synthetic_store, tmp_path):
    X, y, groups, ids = api.load_store(synthetic_store, features=["mfcc"], ids=True)
    assert X.shape[1] == 20 * 7 or X.shape[1] > 0
    cv = api.folds(synthetic_store, "group-kfold:5", seed=3)
    assert len(cv) == 5 and sorted(np.concatenate([te for _, te in cv]).tolist()) == list(range(len(y)))
    for tr, te in cv:
        assert not set(groups[tr]) & set(groups[te])
    run = run_benchmark(synthetic_store, "logreg", split="group-kfold:5", seed=3, out=tmp_path / "r",
                        workers=1, progress=False)
    assert [sorted(ids[te].tolist()) for _, te in cv] == [sorted(f["test_ids"]) for f in run.results["split"]["folds"]]


def test_model_takes_param_names_and_register_model_joins_the_registry(synthetic_store, tmp_path, monkeypatch):
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from genrekit.classifiers import registry

    assert api.model("svm", C=3).get_params()["svc__estimator__C"] == 3
    assert "svm" in api.models()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @api.register_model("ridge-test", "ridge on standardised summaries", grid={"ridgeclassifier__alpha": [0.1, 1.0]})
    def ridge(random_state=None):
        return make_pipeline(StandardScaler(), RidgeClassifier())

    r = run_benchmark(synthetic_store, "ridge-test", split="kfold:2", out=tmp_path / "r", workers=1, progress=False)
    assert r.results["leaderboard"][0]["model"] == "ridge-test"


def test_register_feature_is_extracted_by_name(tmp_path):
    @api.register_feature("api_test_peak", inputs=("signal",), width=1)
    def peak(config, *, signal):
        n = 1 + len(signal) // config.hop_length
        return np.full((1, n), np.abs(signal).max(), np.float32)

    try:
        sf.write(tmp_path / "a.wav", tone(220, 1.0), 22050)
        config = FeatureConfig(features=("rms", "api_test_peak"))
        rep = extract([Track(id="a", path=str(tmp_path / "a.wav"))], tmp_path / "s", config, workers=1, progress=False)
        assert rep.n_extracted == 1
        with FeatureStore(tmp_path / "s") as fs:
            X, names = fs.summary(["api_test_peak"])
            assert names[0].startswith("api_test_peak_") and X[0, 0] == pytest.approx(np.abs(tone(220, 1.0)).max(), rel=1e-3)  # 16-bit WAV
    finally:
        FEATURES._nodes.pop("api_test_peak", None)


def test_import_genrekit_stays_cheap():
    code = "import sys, genrekit, genrekit.api; print(sorted(m for m in ('sklearn', 'torch', 'h5py', 'librosa', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
