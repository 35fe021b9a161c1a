"""The executor seam of extraction: one interface, a local and a Dask implementation, chosen by name."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from genrekit.cache.store import FeatureStore
from genrekit.errors import ParameterError
from genrekit.features import FeatureConfig
from genrekit.pipeline.extraction import worker
from genrekit.pipeline.extraction.executor import EXECUTORS, Executor, LocalExecutor, make_executor
from genrekit.pipeline.extraction.plan import DEFAULT_BATCH_SIZE, DEFAULT_SHARD_SECONDS, DEFAULT_SHARD_SIZE
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import scan_folder
from tests.audio_helpers import write_collection

CONFIG = FeatureConfig(features=("mfcc", "rms"))
ROOM = Path(__file__).resolve().parents[2] / "genrekit" / "pipeline" / "extraction"


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    return write_collection(tmp_path_factory.mktemp("audio"), n_per_label=3, seconds=1.0)


def _summary(store):
    with FeatureStore(store) as fs:
        X, names = fs.summary()
        return fs.ids, X, names


def test_make_executor_by_name():
    local = make_executor("local", workers=3, joblib_backend="threading", shard_size=5, shard_seconds=7.0)
    assert isinstance(local, LocalExecutor) and isinstance(local, Executor)
    assert (local.workers, local.joblib_backend, local.shard_size, local.shard_seconds) == (3, "threading", 5, 7.0)
    default = make_executor(workers=1)
    assert (default.joblib_backend, default.shard_size, default.shard_seconds) == (
        None, DEFAULT_SHARD_SIZE, DEFAULT_SHARD_SECONDS)
    assert EXECUTORS == ("local", "dask")
    with pytest.raises(ParameterError, match="executor must be 'local' or 'dask', got 'spark'"):
        make_executor("spark", workers=1)


def test_an_executor_object_is_used_as_it_is():
    mine = LocalExecutor(1)
    assert make_executor(mine, workers=8) is mine


def test_make_dask_executor():
    pytest.importorskip("distributed")
    from genrekit.pipeline.extraction.dask_executor import DaskExecutor

    dask = make_executor("dask", workers=2, scheduler="tcp://nowhere:1", batch_size=4)
    assert isinstance(dask, DaskExecutor) and isinstance(dask, Executor)
    assert (dask.scheduler, dask.workers, dask.batch_size) == ("tcp://nowhere:1", 2, 4)
    assert make_executor("dask", workers=1).batch_size == DEFAULT_BATCH_SIZE
    with pytest.raises(ParameterError, match="--batch-size must be >= 1, got 0"):
        make_executor("dask", workers=1, batch_size=0)


class InProcess:
    """An executor of its own: every task a batch of one, run here, in reverse order."""

    def __init__(self):
        self.seen = []

    def run_batches(self, tasks, store_dir, config, merger, *, progress):
        for task in reversed(tasks):
            self.seen.append(task["id"])
            merger.add(worker.extract_batch([task], str(store_dir), config.to_json()))
        merger.flush(force=True)


def test_extract_runs_any_executor_and_the_store_is_the_same(audio, tmp_path):
    tracks = scan_folder(audio).tracks
    mine = InProcess()
    assert isinstance(mine, Executor)
    rep = extract(tracks, tmp_path / "mine", CONFIG, executor=mine, progress=False)
    assert (rep.n_extracted, rep.shards_written) == (6, 6)
    assert mine.seen == sorted((t.id for t in tracks), reverse=True)
    ref = extract(tracks, tmp_path / "local", CONFIG, executor="local", workers=1, progress=False)
    assert (ref.n_extracted, ref.shards_written) == (6, 1)
    (ids_a, X_a, names_a), (ids_b, X_b, names_b) = _summary(tmp_path / "mine"), _summary(tmp_path / "local")
    assert list(ids_a) == list(ids_b) and names_a == names_b
    np.testing.assert_array_equal(X_a, X_b)
    # and a rerun through the other executor finds everything cached
    again = extract(tracks, tmp_path / "mine", CONFIG, executor="local", workers=1, progress=False)
    assert (again.n_extracted, again.n_cached) == (0, 6)


def test_an_executor_that_is_interrupted_keeps_what_is_finished(audio, tmp_path):
    tracks = scan_folder(audio).tracks

    class StopsAfterTwo(InProcess):
        def run_batches(self, tasks, store_dir, config, merger, *, progress):
            for task in tasks[:2]:
                merger.add(worker.extract_batch([task], str(store_dir), config.to_json()))
            merger.report.interrupted = True
            merger.flush(force=True)

    rep = extract(tracks, tmp_path / "s", CONFIG, executor=StopsAfterTwo(), progress=False)
    assert rep.interrupted and rep.n_extracted == 2 and rep.line().startswith("interrupted: ")
    rest = extract(tracks, tmp_path / "s", CONFIG, workers=1, progress=False)
    assert (rest.n_extracted, rest.n_cached) == (4, 2)


# ------------------------------------------------------------------------------------ the room's shape
def _imports(path: Path) -> set[str]:
    """The genrekit modules ``path`` imports, at any level (lazy imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genrekit"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("genrekit"))
    return out


def _room() -> dict[str, set[str]]:
    mods = {}
    for p in ROOM.rglob("*.py"):
        rel = p.relative_to(ROOM.parents[2]).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        mods[name] = _imports(p)
    return {m: {d for d in deps if d in mods and d != m} for m, deps in mods.items()}


def test_run_and_the_dask_modules_do_not_import_each_other():
    graph = _room()
    run, dask_modules = "genrekit.pipeline.extraction.run", {"genrekit.pipeline.extraction.cluster",
                                                             "genrekit.pipeline.extraction.dask_executor"}
    assert not graph[run] & dask_modules
    assert all(run not in graph[m] for m in dask_modules)


def test_the_extraction_room_has_no_import_cycle():
    graph, state = _room(), {}

    def visit(m, path):
        state[m] = "open"
        for d in graph[m]:
            assert state.get(d) != "open", " -> ".join(path + [d])
            if d not in state:
                visit(d, path + [d])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])
