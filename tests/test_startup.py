"""Start-up: the command line imports what a command needs when it needs it (issue 16)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from genrekit.cli import build_parser, main

HEAVY = ("numpy", "torch", "sklearn", "librosa", "h5py", "scipy", "joblib", "numba", "soundfile")


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint('MODULES:', ' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return {m.split(".")[0] for m in out.split("MODULES:")[-1].split()}


@pytest.mark.parametrize("code", [
    "import genrekit.cli",
    "import genrekit, genrekit.cache, genrekit.features, genrekit.cache.layout",
    "from genrekit.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
    "from genrekit.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
])
def test_the_command_line_and_package_roots_import_no_heavy_library(code):
    assert not (_imported_after(code) & set(HEAVY))


def test_extract_help_needs_no_feature_computation_libraries():
    code = "from genrekit.cli import main\ntry:\n    main(['extract', '--help'])\nexcept SystemExit:\n    pass"
    assert not (_imported_after(code) & {"torch", "sklearn", "librosa", "h5py", "scipy", "joblib", "numba"})


def test_lazy_package_names_resolve_to_the_module_objects():
    import genrekit.cache as cache
    import genrekit.features as features
    from genrekit.cache.store import FeatureStore
    from genrekit.features.config import FeatureConfig

    assert cache.FeatureStore is FeatureStore and features.FeatureConfig is FeatureConfig
    assert {"FeatureStore", "load_index"} <= set(dir(cache))
    with pytest.raises(AttributeError):
        cache.no_such_name  # noqa: B018


def test_top_level_help_lists_every_command_and_a_command_gets_its_own_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in ("extract", "info", "demo", "benchmark", "export", "predict", "models", "verify"):
        assert name in text
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "--level" in capsys.readouterr().out
    full = build_parser()  # every command declared in full (the default)
    args = full.parse_args(["export", "--out", "x.csv"])
    assert args.level == "summary" and args.run.__name__ == "run_export"
    with pytest.raises(SystemExit) as e:
        main(["bogus"])
    assert e.value.code == 2 and "invalid choice: 'bogus'" in capsys.readouterr().err
