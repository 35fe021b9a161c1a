"""The feature registry: what it derives for the built-in features, and how it computes a graph."""

import ast
import weakref
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

from genrekit.errors import AudioError, ParameterError
from genrekit.features import (
    ALL_FEATURES,
    FEATURES,
    FRAME_FEATURES,
    TRACK_FEATURES,
    FeatureConfig,
    compute_features,
    parse_feature_list,
    summary_names,
)
from genrekit.features.registry import Registry
from tests.audio_helpers import tone

SR = 22050


@pytest.fixture(scope="module")
def y():
    return tone(220, 3.0, SR, beat_hz=2, seed=1)


# ------------------------------------------------------------------------------ built-in features
def test_config_names_levels_and_widths_come_from_the_registry():
    assert ALL_FEATURES == FEATURES.names(default_only=True)
    assert FEATURES.names() == ALL_FEATURES + ("musicnn", "musicnn_tags")  # opt-in: weights needed
    assert FRAME_FEATURES == tuple(n for n in ALL_FEATURES if FEATURES[n].level == "frame")
    assert TRACK_FEATURES == tuple(n for n in ALL_FEATURES if FEATURES[n].level == "track") == ("tempo",)
    c = FeatureConfig(n_mels=40, n_mfcc=13, n_chroma=24, n_contrast_bands=4)
    assert c.feature_dims() == {n: FEATURES[n].dim(c) for n in ALL_FEATURES}
    assert c.feature_dims()["logmel"] == 40 and c.feature_dims()["mfcc_delta2"] == 13
    assert c.feature_dims()["chroma"] == 24 and c.feature_dims()["contrast"] == 5


@pytest.mark.parametrize("kwargs", [dict(), dict(n_mels=40, n_mfcc=13, n_chroma=24, n_contrast_bands=4,
                                                 n_fft=1024, hop_length=256)])
def test_computed_shapes_and_frame_rates_agree_with_the_registry(y, kwargs):
    c = FeatureConfig(**kwargs)
    f = compute_features(y, c)
    assert list(f) == list(c.features)
    n_frames = 1 + len(y) // c.hop_length
    for name, dim in c.feature_dims().items():
        spec = FEATURES[name]
        if spec.level == "frame":
            assert f[name].shape == (dim, n_frames), name
            assert spec.frames_per_second(c) == c.sr / c.hop_length
        else:
            assert f[name].shape == (dim,) and spec.frames_per_second(c) is None


def test_unknown_feature_errors_list_every_registered_feature():
    valid = "valid features: " + ", ".join(FEATURES.names())
    for make in (lambda: FeatureConfig(features=("mfcc", "mfcc_dleta")), lambda: parse_feature_list("mfcc_dleta"),
                 lambda: FEATURES["mfcc_dleta"]):
        with pytest.raises(ParameterError, match="unknown feature 'mfcc_dleta'") as e:
            make()
        assert str(e.value).endswith(valid)
    with pytest.raises(ParameterError, match="unknown feature 'mel'"):  # an intermediate is not a feature
        FeatureConfig(features=("mel",))


@pytest.mark.parametrize("features, plan", [
    (("zcr",), ["zcr"]),
    (("rms", "zcr"), ["zcr", "rms"]),
    (("chroma",), ["stft_magnitude", "power_stft", "chroma"]),
    (("tempo",), ["stft_magnitude", "power_stft", "mel", "logmel", "onset_env", "tempogram", "tempo"]),
    (("mfcc_delta2",), ["stft_magnitude", "power_stft", "mel", "logmel", "mfcc", "mfcc_delta2"]),
    (("rolloff", "contrast"), ["stft_magnitude", "contrast_levels", "contrast", "spectral_shape", "rolloff"]),
])
def test_a_subset_computes_only_what_it_needs_in_registration_order(features, plan):
    assert [n.name for n in FEATURES.plan(features)] == plan


def test_a_subset_gives_the_same_values_as_the_full_set(y):
    full = compute_features(y, FeatureConfig())
    for subset in (("tempo", "flatness"), ("flatness", "chroma", "logmel"), ("zcr",), ("mfcc_delta2", "onset")):
        part = compute_features(y, FeatureConfig(features=subset))
        assert list(part) == list(subset)
        for name in subset:
            np.testing.assert_array_equal(part[name], full[name])


def test_contrast_parameters_are_checked_only_when_contrast_is_selected(y):
    with pytest.raises(ParameterError, match="do not fit below Nyquist"):
        FeatureConfig(sr=8000)
    c = FeatureConfig(sr=8000, features=("mfcc", "zcr"))  # no contrast: its bands are never built
    y8 = tone(220, 2.0, 8000, seed=2)
    assert compute_features(y8, c)["mfcc"].shape == (20, 1 + len(y8) // 512)


def test_a_feature_check_refuses_a_signal_only_when_that_feature_is_selected():
    y = tone(220, 0.15, SR, seed=3)  # 3307 samples: one STFT frame, fewer than 9 delta frames
    assert compute_features(y, FeatureConfig(features=("mfcc",)))["mfcc"].shape == (20, 7)
    for feats in (("mfcc_delta",), ("mfcc", "mfcc_delta2")):
        with pytest.raises(AudioError, match=r"less than the 4096 samples \(9 analysis frames\) that MFCC deltas"):
            compute_features(y, FeatureConfig(features=feats))


def test_features_imports_no_other_room_and_has_no_import_cycle():
    """features/ imports only itself, genrekit.errors and the leaf room genrekit.pretrained (learned
    features' networks, which imports nothing of genrekit but errors and files); its own imports
    form no cycle (imports under ``if TYPE_CHECKING`` are for annotations and do not run)."""
    root = Path(__file__).resolve().parents[2] / "genrekit" / "features"
    graph = {}
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
        deps = set()
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, ast.ImportFrom | ast.Import):
                continue
            mods = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            deps.update(m for m in mods if m and m.startswith("genrekit"))
        deps = {d for d in deps if not d.startswith("genrekit.pretrained")}
        assert deps <= {"genrekit.errors"} | {f"genrekit.features.{p.stem}" for p in root.glob("*.py")}, path.name
        graph[path.stem] = {d.rsplit(".", 1)[1] for d in deps if d.startswith("genrekit.features.")}

    for path in (root.parent / "pretrained").glob("*.py"):  # a leaf: errors, files, itself
        tree = ast.parse(path.read_text())
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert {m for m in mods if m.startswith("genrekit")} <= {
            "genrekit.errors", "genrekit.files", "genrekit.pretrained"} | {
            f"genrekit.pretrained.{p.stem}" for p in path.parent.glob("*.py")}, path.name

    def visit(node, trail):
        assert node not in trail, f"import cycle: {' -> '.join(trail + [node])}"
        for dep in graph[node]:
            visit(dep, trail + [node])

    for name in graph:
        visit(name, [])


# ------------------------------------------------------------------------------ the mechanism
def _toy_registry(calls, seen):
    """signal → double → twice, peek (a view), scrub (overwrites ``double``), total (track level)."""
    reg = Registry()

    @reg.intermediate("double", inputs=("signal",))
    def _double(config, *, signal):
        calls.append("double")
        seen["double_made"] = np.stack([signal, signal]) * 2.0
        return seen["double_made"]

    @reg.feature("twice", inputs=("double",), width=2)
    def _twice(config, *, double):
        calls.append("twice")
        return double[:, ::4].copy()

    @reg.feature("peek", inputs=("double",), width=1)
    def _peek(config, *, double):
        return double[:1]  # a view: overwriting ``double`` would change it

    @reg.feature("scrub", inputs=("double",), width=1, scratch=("double",))
    def _scrub(config, *, double):
        calls.append("scrub")
        seen["scrub_got"] = double
        out = double[:1, ::4].copy()
        double[:] = -1.0  # uses its input as scratch space
        return out

    @reg.feature("total", inputs=("double",), width=1, level="track")
    def _total(config, *, double):
        calls.append("total")
        seen["total_saw"] = double.copy()
        return np.array([double.sum()])

    @reg.feature("late", inputs=("signal",), width=1)
    def _late(config, *, signal):
        calls.append("late")
        return signal[np.newaxis, ::4]

    return reg


def test_each_node_runs_once_and_only_when_needed():
    calls, seen = [], {}
    reg = _toy_registry(calls, seen)
    y = np.arange(16, dtype=np.float32)
    out = reg.compute(y, FeatureConfig(), ("total", "twice"))
    assert calls == ["double", "twice", "total"] and list(out) == ["total", "twice"]
    assert out["total"][0] == 4 * y.sum()
    calls.clear()
    reg.compute(y, FeatureConfig(), ("late",))
    assert calls == ["late"]


def test_scratch_input_is_handed_over_only_to_its_last_consumer():
    calls, seen = [], {}
    reg = _toy_registry(calls, seen)
    y = np.arange(16, dtype=np.float32)
    # "total" reads double after "scrub": scrub gets a copy, total sees the true values
    out = reg.compute(y, FeatureConfig(), ("scrub", "total"))
    assert seen["scrub_got"] is not seen["double_made"]
    np.testing.assert_array_equal(seen["total_saw"], np.stack([y, y]) * 2.0)
    np.testing.assert_array_equal(out["scrub"], 2.0 * y[np.newaxis, ::4])
    # "scrub" is the last consumer: it gets the array itself (no copy)
    calls.clear()
    out = reg.compute(y, FeatureConfig(), ("twice", "scrub"))
    assert calls == ["double", "twice", "scrub"]
    assert seen["scrub_got"] is seen["double_made"]
    np.testing.assert_array_equal(out["twice"], 2.0 * np.stack([y, y])[:, ::4])
    # ... unless a value still held is a view of it
    out = reg.compute(y, FeatureConfig(), ("peek", "scrub"))
    assert seen["scrub_got"] is not seen["double_made"]
    np.testing.assert_array_equal(out["peek"], 2.0 * y[np.newaxis])
    # a requested feature or the caller's signal is never handed over as scratch
    reg3 = Registry()
    reg3.feature("keep", inputs=("signal",), width=1)(lambda config, *, signal: signal.reshape(1, -1) + 0)
    reg3.feature("zero", inputs=("signal", "keep"), width=1, scratch=("signal", "keep"))(
        lambda config, *, signal, keep: (signal.fill(0), keep.fill(0), keep)[2])
    y2 = y.copy()
    out = reg3.compute(y2, FeatureConfig(), ("keep", "zero"))
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(out["keep"], y[np.newaxis])


def test_an_intermediate_is_released_after_its_last_consumer():
    seen = {}
    reg = Registry()

    @reg.intermediate("big", inputs=("signal",))
    def _big(config, *, signal):
        arr = np.repeat(signal[np.newaxis], 8, axis=0)
        seen["ref"] = weakref.ref(arr)
        return arr

    @reg.feature("first", inputs=("big",), width=1)
    def _first(config, *, big):
        return big[:1].copy()

    @reg.feature("second", inputs=("signal",), width=1)
    def _second(config, *, signal):
        seen["alive_then"] = seen["ref"]() is not None
        return signal[np.newaxis]

    reg.compute(np.ones(8, np.float32), FeatureConfig(), ("first", "second"))
    assert seen["alive_then"] is False


@pytest.mark.parametrize("register, match", [
    (lambda r: r.feature("a", inputs=("nope",), width=1), "computed from 'nope', which is not registered"),
    (lambda r: r.feature("signal", inputs=(), width=1), "'signal' is registered already"),
    (lambda r: r.feature("a-b", inputs=("signal",), width=1), "not an identifier"),
    (lambda r: r.feature("a", inputs=("signal",), width=1, scratch=("b",)), "may only overwrite its own inputs"),
    (lambda r: r.feature("a", inputs=("signal",), width=1, level="song"), "level must be 'frame' or 'track'"),
    (lambda r: r.intermediate("a", inputs=("signal", "signal")), "lists an input twice"),
    (lambda r: (r.intermediate("whole", inputs=("signal",))(lambda c, **kw: None),
                r.intermediate("a", inputs=("whole",), framewise=True))[1],
     "framewise 'a' may only be computed from framewise nodes or the signal"),
    (lambda r: r.feature("a", inputs=("signal",), width=1, level="track", framewise=True),
     "framewise feature 'a' must be a frame feature"),
])
def test_bad_registrations_are_refused(register, match):
    with pytest.raises(ParameterError, match=match):
        register(Registry())(lambda config, **kw: None)


def _framewise_registry(calls: list, held: dict) -> Registry:
    """Frames of 4 samples; "power" per frame (framewise), a framewise feature and a whole one."""
    reg = Registry(frame_count=lambda y, config: len(y) // 4)

    @reg.intermediate("frames4", inputs=("signal",), framewise=True)
    def _frames4(config, *, signal, frames):
        a, b = frames
        calls.append(frames)
        return signal[4 * a:4 * b].reshape(-1, 4).T.copy()

    @reg.intermediate("power", inputs=("frames4",), framewise=True)
    def _power(config, *, frames4):
        arr = frames4 ** 2
        held.setdefault("power", []).append(weakref.ref(arr))
        return arr

    @reg.feature("loud", inputs=("power",), width=1, framewise=True)
    def _loud(config, *, power):
        return power.sum(axis=0, keepdims=True)

    @reg.feature("share", inputs=("loud",), width=1)
    def _share(config, *, loud):
        held["alive"] = [r() is not None for r in held["power"]]
        return loud / loud.sum()

    return reg


def test_framewise_nodes_are_computed_in_blocks_and_kept_whole_only_where_needed():
    calls, held = [], {}
    reg = _framewise_registry(calls, held)
    y = np.arange(40, dtype=np.float32)  # 10 frames
    whole = reg.compute(y, FeatureConfig(), ("share", "loud"), block_frames=100)
    assert calls == [(0, 10)]
    calls.clear()
    held.clear()
    out = reg.compute(y, FeatureConfig(), ("share", "loud"), block_frames=3)
    assert calls == [(0, 3), (3, 6), (6, 10)]  # the last block takes the remainder
    assert held["alive"] == [False, False, False]  # no block's power outlived its block
    for name in ("share", "loud"):
        np.testing.assert_array_equal(out[name], whole[name])
    np.testing.assert_array_equal(out["loud"][0], (y.reshape(10, 4) ** 2).sum(axis=1))


def test_a_signal_handed_over_is_freed_after_its_last_consumer():
    calls, held = [], {}
    reg = _framewise_registry(calls, held)

    @reg.feature("late", inputs=("loud",), width=1)
    def _late(config, *, loud):
        held["signal_alive"] = held["signal"]() is not None
        return loud

    y = np.arange(40, dtype=np.float32)
    held["signal"] = weakref.ref(y)
    box = [y]
    del y
    out = reg.compute(box, FeatureConfig(), ("late",), block_frames=4)
    assert box == [] and held["signal_alive"] is False and held["signal"]() is None
    np.testing.assert_array_equal(out["late"][0], (np.arange(40).reshape(10, 4) ** 2).sum(axis=1))
    kept = np.arange(40, dtype=np.float32)  # not handed over: the caller's own stays
    held["signal"] = weakref.ref(kept)
    reg.compute(kept, FeatureConfig(), ("late",))
    assert held["signal_alive"] is True


def test_a_framewise_value_of_the_wrong_width_is_an_error_that_names_it():
    reg = Registry(frame_count=lambda y, config: 6)
    reg.feature("odd", inputs=("signal",), width=1, framewise=True)(
        lambda config, *, signal, frames: np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"framewise 'odd' gave shape \(1, 2\) for frames 0:3"):
        reg.compute(np.ones(8, np.float32), FeatureConfig(), ("odd",), block_frames=3)


def test_a_feature_of_the_wrong_shape_is_an_error_that_names_it():
    reg = Registry()
    reg.feature("wide", inputs=("signal",), width=lambda c: c.n_mfcc)(lambda config, *, signal: signal[np.newaxis])
    reg.feature("vec", inputs=("signal",), width=2, level="track")(lambda config, *, signal: signal[:3])
    y = np.ones(10, np.float32)
    with pytest.raises(ValueError, match=r"frame feature 'wide' came out with shape \(1, 10\); .* \(20, n_frames\)"):
        reg.compute(y, FeatureConfig(), ("wide",))
    with pytest.raises(ValueError, match=r"track feature 'vec' came out with shape \(3,\); .* \(2,\)"):
        reg.compute(y, FeatureConfig(), ("vec",))


def test_an_embedding_at_its_own_rate_is_one_registration(y):
    """Issue 12's shape: a model feature computed from the signal resampled to its own rate, with
    its own hop, named rows, and not part of ``all`` — added to a copy of the built-in registry."""
    reg = FEATURES.copy()

    @reg.intermediate("signal_8k", inputs=("signal",))
    def _signal_8k(config, *, signal):
        return scipy.signal.resample_poly(signal, 160, 441).astype(np.float32)

    def _embed(config, *, signal_8k):  # "patches" of 0.5 s: 4 band energies each
        patches = signal_8k[: len(signal_8k) // 4000 * 4000].reshape(-1, 4000)
        spec = np.abs(np.fft.rfft(patches, axis=1)) ** 2
        return np.stack([b.sum(axis=1) for b in np.array_split(spec, 4, axis=1)])

    reg.feature("toy_embedding", inputs=("signal_8k",), width=4, default=False,
                frame_rate=lambda c: 8000 / 4000, row_names=lambda c: ("low", "mid", "high", "top"))(_embed)

    c = FeatureConfig(features=("mfcc", "tempo"))
    out = reg.compute(y, c, ("mfcc", "toy_embedding", "tempo"))
    assert out["toy_embedding"].shape == (4, 6)  # 3 s at 2 patches per second
    assert out["toy_embedding"][0].sum() > out["toy_embedding"][3].sum()  # a 220 Hz tone: low band
    ref = compute_features(y, c)  # the built-in features are untouched by the addition
    np.testing.assert_array_equal(np.float32(out["mfcc"]), ref["mfcc"])
    np.testing.assert_array_equal(np.float32(out["tempo"]), ref["tempo"])
    spec = reg["toy_embedding"]
    assert spec.frames_per_second(c) == 2.0 and FEATURES["mfcc"].frames_per_second(c) == SR / 512
    assert spec.row_labels(c) == ["toy_embedding_low", "toy_embedding_mid", "toy_embedding_high", "toy_embedding_top"]
    assert "toy_embedding" in reg.names() and "toy_embedding" not in reg.names(default_only=True)
    assert reg.names(default_only=True) == ALL_FEATURES
    assert "toy_embedding" not in FEATURES and "signal_8k" not in [n.name for n in FEATURES.nodes()]


def test_row_labels_number_rows_and_name_single_rows(y):
    c = FeatureConfig(features=("chroma", "centroid", "tempo"))
    assert FEATURES["chroma"].row_labels(c)[:2] == ["chroma_00", "chroma_01"]
    assert FEATURES["centroid"].row_labels(c) == ["centroid"]
    assert summary_names(c)[-8:] == [f"centroid_{s}" for s in
                                     ("mean", "std", "skew", "kurtosis", "median", "min", "max")] + ["tempo"]
    reg = Registry()
    reg.feature("tags", inputs=("signal",), width=3, row_names=lambda c: ("rock", "pop"))(lambda config, **kw: None)
    with pytest.raises(ParameterError, match="'tags' names 2 rows but is 3 wide"):
        reg["tags"].row_labels(c)
