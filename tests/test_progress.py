"""Progress without tqdm's carriage returns when stderr is not a terminal; warnings once (issue 17.5)."""

import warnings

import pytest

from genrekit import progress
from genrekit.cli import main
from genrekit.console import one_line_warnings
from tests.audio_helpers import write_collection


def test_mode_follows_the_terminal_and_the_environment(monkeypatch):
    monkeypatch.delenv("GENREKIT_PROGRESS", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert progress.progress_mode() == "lines"
    assert isinstance(progress.progress_bar(total=3), progress.LineProgress)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert progress.progress_mode() == "bar"
    from tqdm.auto import tqdm

    bar = progress.progress_bar(total=3, disable=True)
    assert isinstance(bar, progress.LineProgress) and bar.silent
    tty_bar = progress.progress_bar(total=3)
    assert isinstance(tty_bar, tqdm)
    tty_bar.close()
    monkeypatch.setenv("GENREKIT_PROGRESS", "none")
    assert progress.progress_mode() == "none"


def test_line_progress_prints_a_line_every_interval_and_a_total(capsys):
    bar = progress.LineProgress(total=4, desc="extract", unit="file", every=0.0)
    for _ in range(4):
        bar.update(1)
    bar.set_postfix_str("svm fold 1")
    bar.close()
    bar.close()  # once
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("extract: 1/4 file (25 %)") and "s left" in lines[0]
    assert lines[-1].startswith("extract: 4/4 file (100 %)") and "[svm fold 1]" in lines[-1]
    assert len(lines) == 5
    quiet = progress.LineProgress(range(3), desc="x", every=0.0, silent=True)
    assert list(quiet) == [0, 1, 2] and quiet.n == 3
    assert capsys.readouterr().err == ""


def test_extract_to_a_file_writes_lines_not_bars(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GENREKIT_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)  # a line per update
    audio = write_collection(tmp_path / "audio", n_per_label=2)
    assert main(["extract", str(audio), "--store", str(tmp_path / "s"), "--features", "rms", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "extract: 4/4 file (100 %)" in err


def test_cli_prints_a_repeated_warning_once(capsys):
    with one_line_warnings():
        for _ in range(3):
            warnings.warn("the same thing", UserWarning)
        warnings.warn("another thing", RuntimeWarning)
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: the same thing", "warning: another thing"]


def test_a_library_deprecation_notice_is_not_a_user_warning(capsys):
    """A deprecation raised inside another library (dask's joblib backend on an older joblib) is
    nothing a user can act on; genrekit's own deprecations and every other warning are printed."""
    with one_line_warnings():
        warnings.warn_explicit("`apply_async` is deprecated", FutureWarning, "site-packages/joblib/parallel.py", 1)
        warnings.warn_explicit("old option", DeprecationWarning, "genrekit/cli.py", 1)
        warnings.warn_explicit("a track is silent", UserWarning, "site-packages/sklearn/base.py", 1)
    assert capsys.readouterr().err.splitlines() == ["warning: old option", "warning: a track is silent"]
