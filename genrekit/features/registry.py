"""The feature registry: each feature, and each intermediate features share, registered once.

A *node* is one thing computed from one decoded signal. There are three kinds:

- ``"signal"``, the source: the mono float32 signal at ``config.sr`` (:func:`compute_features`
  is handed it; every other node is computed from it);
- an **intermediate** (:meth:`Registry.intermediate`): computed once per signal and shared, never
  stored — the magnitude and power STFT, the mel power, the onset envelope, the tempogram, …;
- a **feature** (:meth:`Registry.feature`): stored, with a width per frame (``level="frame"``,
  ``[shape=(width, n_frames)]``) or per track (``level="track"``, ``[shape=(width,)]``). A feature
  can also be the input of others (``mfcc`` is computed from ``logmel``).

Each node names what it is computed from (``inputs``); its function is called as
``fn(config, **inputs)``. An input must be registered before the nodes that use it, so the graph
cannot have a cycle, and the registration order is the compute order. For a set of requested
features, :meth:`Registry.plan` picks the nodes they need, and nothing else, and
:meth:`Registry.compute` runs each of them once and drops every intermediate after its last use.

A node registered ``framewise=True`` computes each frame (column, the last axis) of its value from
the same frame of its inputs only: the spectrogram and what is computed per frame from it. The
registry computes those nodes block by block (:data:`BLOCK_FRAMES` frames at a time) and keeps,
whole, only the values that other nodes or the caller need (the mel power, not the complex STFT,
its magnitude or its power), so memory grows with the frames kept, not with the spectrogram. A
framewise node that reads the signal is a *frame source*: it is also given ``frames=(start,
stop)`` and returns those frames (``frame_count(y, config)``, given to the registry, says how many
there are). A frame's value does not depend on the block it was computed in (the tests prove it
bit for bit against whole-track arrays).

Everything that enumerates features is derived from here: which names ``FeatureConfig`` and
``--features`` accept (with the valid ones in the error), what ``all`` means, the widths
(``FeatureConfig.feature_dims``), frame vs track, the summary column names and the compute order.

This module holds the mechanism only; the built-in features are registered in
:mod:`genrekit.features.catalog`, which also says how to add one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from genrekit.errors import ParameterError
from genrekit.features.kernels import blocks

if TYPE_CHECKING:  # the config module imports the catalog, which imports this one
    from genrekit.features.config import FeatureConfig

#: The source node: the decoded mono signal at ``config.sr``.
SIGNAL = "signal"
LEVELS = ("frame", "track")
#: Frames per block of the framewise nodes (~24 s at 22,050 Hz, hop 512): a 30-s clip is one block;
#: a block's spectrogram and its per-frame intermediates take ~25 MB, however long the track. The
#: last block takes the remainder (1 to 2 blocks' worth), so no block is shorter than this: a matrix
#: product over a block's frames runs the same BLAS kernel, column for column, as over the whole
#: track's (OpenBLAS switches to other kernels, with other rounding, below ~256 columns).
BLOCK_FRAMES = 1024


@dataclass(frozen=True, kw_only=True)
class Node:
    """One registered computation (see the module docstring).

    Attributes
    ----------
    name : str
        A Python identifier: it is the keyword its consumers receive it by.
    fn : callable
        ``fn(config, **inputs)``; None only for the source ``"signal"``.
    inputs : tuple of str
        Nodes it is computed from, all registered before it.
    scratch : tuple of str
        Inputs ``fn`` may overwrite in place. It gets the array itself when it is that input's
        last consumer in a computation (and the input is neither the caller's signal, nor a
        requested feature, nor viewed by another value), otherwise a copy; either way the values
        it computes are the same.
    check : callable or None
        ``check(y, config)``: raises :class:`~genrekit.errors.AudioError` when the signal cannot
        give this node (e.g. too short for its window). Runs before anything is computed.
    framewise : bool
        Frame ``j`` of its value (the last axis of each array) depends on frame ``j`` of its
        inputs only, which are framewise nodes or the signal: computed in blocks of frames (see
        the module docstring); ``fn`` is given ``frames=(start, stop)`` when it reads the signal.
    """

    name: str
    fn: Callable | None
    inputs: tuple[str, ...] = ()
    scratch: tuple[str, ...] = ()
    check: Callable | None = None
    framewise: bool = False


@dataclass(frozen=True, kw_only=True)
class Feature(Node):
    """A node that is stored.

    Attributes
    ----------
    width : int or callable
        Rows per frame (frame features) or values per track (track features); an int, or
        ``width(config) -> int``.
    level : {"frame", "track"}
    frame_rate : callable or None
        ``frame_rate(config) -> float``, frames per second, for a feature with a frame rate of its
        own (an embedding with its own hop); None: the config's STFT rate, ``sr / hop_length``.
    row_names : callable or None
        ``row_names(config) -> sequence of str`` naming each row in column names (e.g. tags);
        None: rows are numbered ``00``, ``01``, … (no suffix when the width is 1).
    validate : callable or None
        ``validate(config)``: raises :class:`~genrekit.errors.ParameterError` for parameters this
        feature cannot work with; run by ``FeatureConfig`` when the feature is selected.
    default : bool
        Part of ``all`` and of the default config. A feature that needs something most users do
        not have (model weights) registers ``default=False``, which leaves ``all``, the default
        config and its hash as they were.
    clock : str
        The frame grid of a frame feature: ``"frames"`` (the STFT's, the default) or a name of its
        own shared by the features computed on the same grid (``"patches"``: musicnn). The store
        keeps one frame count per track and clock.
    config_fields : tuple of str
        FeatureConfig fields only this feature reads (``musicnn_model``): in the config's JSON and
        hash only when a feature that reads them is selected, so other configs keep their hash.
    cache_key : callable or None
        ``cache_key(config) -> str``: what else decides its values (a weights checksum), put into
        the config hash when it is selected.
    ready : callable or None
        ``ready(config)``: raises a one-line error when what it needs is not there (missing
        weights); extraction and prediction call it before any file is read or anything written.
    """

    width: int | Callable
    level: str = "frame"
    frame_rate: Callable | None = None
    row_names: Callable | None = None
    validate: Callable | None = None
    default: bool = True
    clock: str = "frames"
    config_fields: tuple[str, ...] = ()
    cache_key: Callable | None = None
    ready: Callable | None = None

    def dim(self, config: FeatureConfig) -> int:
        """The width of this feature under ``config``."""
        return int(self.width(config) if callable(self.width) else self.width)

    def frames_per_second(self, config: FeatureConfig) -> float | None:
        """Frames per second of a frame feature (None for a track feature)."""
        if self.level == "track":
            return None
        if self.frame_rate is not None:
            return float(self.frame_rate(config))
        return config.sr / config.hop_length

    def row_labels(self, config: FeatureConfig) -> list[str]:
        """One name per row, as used in column names: ``mfcc_03``, ``centroid``, ``tags_rock``."""
        dim = self.dim(config)
        if self.row_names is not None:
            rows = [str(r) for r in self.row_names(config)]
            if len(rows) != dim:
                raise ParameterError(f"feature {self.name!r} names {len(rows)} rows but is {dim} wide")
            return [f"{self.name}_{r}" for r in rows]
        return [self.name] if dim == 1 else [f"{self.name}_{i:02d}" for i in range(dim)]


class Registry:
    """Nodes by name, in registration order (= compute order).

    ``frame_count(y, config) -> int``: how many frames the frame sources give for a signal (needed
    once a framewise node reads the signal).
    """

    def __init__(self, frame_count: Callable | None = None):
        self._nodes: dict[str, Node] = {SIGNAL: Node(name=SIGNAL, fn=None)}
        self.frame_count = frame_count

    # ----------------------------------------------------------------------------- registering
    def intermediate(self, name: str, *, inputs: tuple[str, ...], scratch: tuple[str, ...] = (),
                     check: Callable | None = None, framewise: bool = False) -> Callable:
        """Decorator: register ``fn(config, **inputs)`` as a shared, unstored intermediate."""
        def register(fn):
            self._add(Node(name=name, fn=fn, inputs=tuple(inputs), scratch=tuple(scratch), check=check,
                           framewise=framewise))
            return fn
        return register

    def feature(self, name: str, *, inputs: tuple[str, ...], width: int | Callable, level: str = "frame",
                frame_rate: Callable | None = None, row_names: Callable | None = None,
                validate: Callable | None = None, check: Callable | None = None,
                scratch: tuple[str, ...] = (), default: bool = True, clock: str = "frames",
                config_fields: tuple[str, ...] = (), cache_key: Callable | None = None,
                ready: Callable | None = None, framewise: bool = False) -> Callable:
        """Decorator: register ``fn(config, **inputs)`` as a stored feature (see :class:`Feature`)."""
        def register(fn):
            self._add(Feature(name=name, fn=fn, inputs=tuple(inputs), scratch=tuple(scratch), check=check,
                              width=width, level=level, frame_rate=frame_rate, row_names=row_names,
                              validate=validate, default=default, clock=clock,
                              config_fields=tuple(config_fields), cache_key=cache_key, ready=ready,
                              framewise=framewise))
            return fn
        return register

    def _add(self, node: Node):
        if not node.name.isidentifier():
            raise ParameterError(f"node name {node.name!r} is not an identifier (it is passed as a keyword)")
        if node.name in self._nodes:
            raise ParameterError(f"{node.name!r} is registered already")
        if len(set(node.inputs)) != len(node.inputs):
            raise ParameterError(f"{node.name!r} lists an input twice: {node.inputs}")
        missing = [i for i in node.inputs if i not in self._nodes]
        if missing:
            raise ParameterError(f"{node.name!r} is computed from {missing[0]!r}, which is not registered "
                                 f"(register inputs first); registered: {', '.join(self._nodes)}")
        if not set(node.scratch) <= set(node.inputs):
            raise ParameterError(f"{node.name!r} may only overwrite its own inputs, not {node.scratch}")
        if isinstance(node, Feature) and node.level not in LEVELS:
            raise ParameterError(f"feature {node.name!r}: level must be 'frame' or 'track', got {node.level!r}")
        if node.framewise and not all(i == SIGNAL or self._nodes[i].framewise for i in node.inputs):
            raise ParameterError(f"framewise {node.name!r} may only be computed from framewise nodes or the signal")
        if node.framewise and isinstance(node, Feature) and (node.level != "frame" or node.clock != "frames"):
            raise ParameterError(f"framewise feature {node.name!r} must be a frame feature on the STFT's frames")
        if isinstance(node, Feature) and not node.clock.isidentifier():
            raise ParameterError(f"feature {node.name!r}: clock {node.clock!r} is not an identifier")
        self._nodes[node.name] = node

    def copy(self) -> "Registry":
        """An independent registry with the same nodes, to extend without touching this one."""
        new = Registry(self.frame_count)
        new._nodes = dict(self._nodes)
        return new

    # ----------------------------------------------------------------------------- looking up
    def __getitem__(self, name: str) -> Feature:
        node = self._nodes.get(name)
        if not isinstance(node, Feature):
            self.check_names([name])
        return node

    def __contains__(self, name: str) -> bool:
        return isinstance(self._nodes.get(name), Feature)

    def names(self, *, default_only: bool = False) -> tuple[str, ...]:
        """Feature names in registration order (``default_only``: those ``all`` selects)."""
        return tuple(n for n, node in self._nodes.items()
                     if isinstance(node, Feature) and (node.default or not default_only))

    def nodes(self) -> tuple[Node, ...]:
        """Every node, the source first, in compute order."""
        return tuple(self._nodes.values())

    def check_names(self, names) -> None:
        """Raise :class:`ParameterError` naming the first unknown feature and the valid ones."""
        for n in names:
            if n not in self:
                raise ParameterError(f"unknown feature {n!r}; valid features: {', '.join(self.names())}")

    def validate(self, config: FeatureConfig, features) -> None:
        """Run the ``validate`` hook of each of ``features`` against ``config``."""
        for n in features:
            if self[n].validate is not None:
                self[n].validate(config)

    def ready(self, config: FeatureConfig, features) -> None:
        """Run the ``ready`` hook of each of ``features`` (each distinct hook once)."""
        seen = []
        for n in features:
            hook = self[n].ready
            if hook is not None and hook not in seen:
                seen.append(hook)
                hook(config)

    def clocks(self, features) -> dict[str, str]:
        """``feature -> clock`` of the frame features among ``features`` not on the STFT's grid."""
        return {n: self[n].clock for n in features if self[n].level == "frame" and self[n].clock != "frames"}

    # ----------------------------------------------------------------------------- computing
    def plan(self, features) -> tuple[Node, ...]:
        """The nodes ``features`` need (themselves included), in compute order; not the source."""
        self.check_names(features)
        needed = set()
        stack = list(features)
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(self._nodes[name].inputs)
        return tuple(node for name, node in self._nodes.items() if name in needed and name != SIGNAL)

    def check_signal(self, y: np.ndarray, config: FeatureConfig, features) -> None:
        """Run the ``check`` of every node ``features`` need (each distinct check once)."""
        seen = []
        for node in self.plan(features):
            if node.check is not None and node.check not in seen:
                seen.append(node.check)
                node.check(y, config)

    def compute(self, y: np.ndarray, config: FeatureConfig, features, *,
                block_frames: int | None = None) -> dict[str, np.ndarray]:
        """Compute ``features`` of the signal ``y``, each needed node once, in compute order.

        Framewise nodes are computed ``block_frames`` frames at a time, the last block taking the
        remainder (the values do not depend on it; see :data:`BLOCK_FRAMES`). ``y`` may be a
        one-item list: the signal is then taken out of it and freed after its last consumer. Returns ``name -> value`` as the feature functions return them (dtype unchanged),
        in the order of ``features``; a value of the wrong shape for its registration raises
        ValueError.
        """
        plan = self.plan(features)
        keep = set(features)
        framewise = [node for node in plan if node.framewise]
        rest = [node for node in plan if not node.framewise]
        uses = _use_counts(rest)
        values = {SIGNAL: y.pop() if isinstance(y, list) else y}
        del y  # values holds it: released after its last consumer when the caller handed it over
        if framewise:  # what the other nodes and the caller need of them, whole
            wanted = {n.name for n in framewise} & (keep | set(uses))
            values.update(self._blockwise(values[SIGNAL], config, framewise, wanted, block_frames or BLOCK_FRAMES))
            if SIGNAL not in uses:
                del values[SIGNAL]
        for node in rest:
            values[node.name] = node.fn(config, **_arguments(node, values, uses, keep))
            for i in node.inputs:
                uses[i] -= 1
                if uses[i] == 0 and i not in keep:
                    del values[i]  # its last consumer is done
        out = {}
        for name in features:
            spec, shape = self[name], np.shape(values[name])
            dim = spec.dim(config)
            if spec.level == "frame" and (len(shape) != 2 or shape[0] != dim):
                raise ValueError(f"frame feature {name!r} came out with shape {shape}; "
                                 f"its registration says ({dim}, n_frames)")
            if spec.level == "track" and shape != (dim,):
                raise ValueError(f"track feature {name!r} came out with shape {shape}; "
                                 f"its registration says ({dim},)")
            out[name] = values[name]
        return out

    def _blockwise(self, y: np.ndarray, config: FeatureConfig, nodes: list[Node], wanted: set,
                   block_frames: int) -> dict:
        """The ``wanted`` values of the framewise ``nodes``, computed block by block, each whole."""
        if self.frame_count is None:
            raise ParameterError("framewise nodes need the registry's frame_count")
        n_frames = int(self.frame_count(y, config))
        if block_frames < 1:
            raise ParameterError(f"block_frames must be >= 1, got {block_frames}")
        uses = _use_counts(nodes)
        whole = {}
        for start, stop in blocks(n_frames, block_frames):
            left, values = dict(uses), {SIGNAL: y}
            for node in nodes:
                extra = {"frames": (start, stop)} if SIGNAL in node.inputs else {}
                values[node.name] = node.fn(config, **_arguments(node, values, left, wanted), **extra)
                for i in node.inputs:
                    left[i] -= 1
                    if left[i] == 0 and i not in wanted and i != SIGNAL:
                        del values[i]
            for name in wanted:
                if start == 0 and stop == n_frames:  # one block: the value as computed
                    whole[name] = values[name]
                else:
                    whole[name] = _place(whole.get(name), values[name], start, stop, n_frames, name)
        return whole


def _use_counts(nodes) -> dict[str, int]:
    """How many of ``nodes`` read each input."""
    uses: dict[str, int] = {}
    for node in nodes:
        for i in node.inputs:
            uses[i] = uses.get(i, 0) + 1
    return uses


def _place(whole, part, start: int, stop: int, n_frames: int, name: str):
    """Write frames ``start:stop`` (``part``) into ``whole`` (made on the first block); return it."""
    if isinstance(part, (tuple, list)):
        whole = whole or [None] * len(part)
        return type(part)(_place(w, p, start, stop, n_frames, name) for w, p in zip(whole, part))
    part = np.asarray(part)
    if part.ndim == 0 or part.shape[-1] != stop - start:
        raise ValueError(f"framewise {name!r} gave shape {part.shape} for frames {start}:{stop}")
    if whole is None:
        whole = np.empty(part.shape[:-1] + (n_frames,), dtype=part.dtype)
    whole[..., start:stop] = part
    return whole


def _arguments(node: Node, values: dict, uses: dict, keep: set) -> dict:
    """The inputs of ``node``; a scratch input is copied unless ``node`` may consume it: it is
    the input's last consumer, the input is not the caller's signal nor a requested feature, and
    no other value computed so far is a view of it."""
    args = {}
    for i in node.inputs:
        v = values[i]
        if i in node.scratch and (
            uses[i] > 1 or i in keep or i == SIGNAL
            or any(np.may_share_memory(v, w) for k, held in values.items() if k != i for w in _arrays(held))
        ):
            v = v.copy()
        args[i] = v
    return args


def _arrays(value) -> list[np.ndarray]:
    """The arrays of a node's value (an array, or a tuple or list of them)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [w for part in value for w in _arrays(part)]
    return []
