"""Fault-injection suite: bad input, crashes, a full disk, concurrency, bad arguments.

Helpers shared by the modules of this package live here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from genrekit.cache import FeatureStore, load_index

#: A quick feature config for the crash and concurrency tests (the bad-input suite uses them all).
FEATURES = "mfcc,mfcc_delta,chroma,rms,tempo"


def genrekit_cmd(*args: str) -> list[str]:
    """The command line that runs ``genrekit ARGS`` in a fresh interpreter."""
    return [sys.executable, "-m", "genrekit", *map(str, args)]


def extract_cmd(audio, store, *extra: str) -> list[str]:
    return genrekit_cmd("extract", audio, "--store", store, "--workers", "1", "--shard-size", "2",
                        "--features", FEATURES, "--no-progress", *extra)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 180), **kw)


def assert_stores_equal(store, reference: FeatureStore):
    """``store`` holds exactly the reference's tracks, each once, value for value."""
    fs = FeatureStore(store)
    try:
        assert [r.id for r in fs.tracks] == [r.id for r in reference.tracks]
        ids = [i for e in load_index(Path(store))[0]["shards"].values() for i in e["ids"]]
        assert len(ids) == len(set(ids)) == len(reference.tracks), "a track is stored twice"
        np.testing.assert_array_equal(fs.summary()[0], reference.summary()[0])
        for r in fs.tracks:
            a, b = fs.frames(r.id), reference.frames(r.id)
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])
    finally:
        fs.close()


def assert_all_finite(store):
    """Nothing NaN or Inf anywhere a reader can reach: summary table, frames, track features."""
    with FeatureStore(store) as fs:
        X, _ = fs.summary()
        assert np.isfinite(X).all()
        for _, frames in fs.iter_frames():
            for k, v in frames.items():
                assert np.isfinite(v).all(), k
        for k in fs.config.track_features:
            assert np.isfinite(fs.track_features(k)).all(), k
        assert all(np.isfinite(r.duration) and r.duration > 0 for r in fs.tracks)


def one_line_error(stderr: str) -> str:
    """The single line of a usage error (asserting there is exactly one and no traceback)."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


@contextlib.contextmanager
def as_another_user():
    """Act as a user who may read but not write (or not read) root's files: root drops its
    effective uid to ``nobody``; anyone else stays themselves."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def cli_fails(argv, capsys) -> str:
    """Run the CLI in-process; it must exit 2 with exactly one line on stderr. Returns the line."""
    from genrekit.cli import main

    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's usage errors
        rc = e.code
    assert rc == 2, argv
    return one_line_error(capsys.readouterr().err)
