"""Which frame features a frame model reads in a benchmark, and what the run says about it.

The rule, in order:

1. ``--param MODEL.frame_features=...`` wins (a note says so when ``--features`` names others);
2. else ``--features``: a frame model reads the features of that list which the store holds at
   frame level, in the list's order; names that are track-level only (``tempo``) are left out with
   a warning; a list with no frame-level feature at all is refused (ParameterError naming the
   store's frame features), since the model would have nothing to read;
3. else the model's registry default (``logmel`` for the built-in heads), else every frame
   feature of the store.

A feature the store lacks is refused with the command that adds it.
"""

from __future__ import annotations

from genrekit.errors import ParameterError


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [f.strip() for f in value.split(",") if f.strip()]
    return [str(f) for f in value]


def choose_frame_features(name: str, spec, chosen, features, source) -> tuple[tuple, list[str]]:
    """``(frame features model name reads, warnings)`` (see the module docstring).

    Parameters
    ----------
    name : str
        The model's name (for messages).
    spec : ModelSpec
    chosen : str, sequence of str or None
        The model's own ``frame_features`` parameter (set by ``--param``).
    features : list of str or None
        ``--features``.
    source : FeatureSource
        Its ``frame_features`` and ``config.track_features`` tell the levels apart.

    Raises
    ------
    ParameterError
        A ``--features`` list without any frame-level feature; a frame feature the store lacks.
    """
    stored = tuple(source.frame_features)
    cfg = getattr(source, "config", None)
    track_level = set(cfg.track_features) if cfg is not None else set()
    asked = _names(features)
    notes: list[str] = []
    own = _names(chosen)
    if own:
        feats = own
        if asked and asked != own:
            notes.append(f"model {name} reads frame features {', '.join(own)} (--param {name}.frame_features), "
                         f"not --features {', '.join(asked)}")
    elif asked:
        feats = [f for f in asked if f not in track_level]
        dropped = [f for f in asked if f in track_level]
        if not feats:
            raise ParameterError(
                f"--features {', '.join(asked)} names no frame-level feature, so frame model {name} has nothing to "
                f"read; add one of the store's frame features ({', '.join(stored) or 'none'}) to --features, set "
                f"--param {name}.frame_features=..., or drop {name} from --models")
        if dropped:
            notes.append(f"model {name} reads frame features {', '.join(feats)}; --features "
                         f"{', '.join(dropped)} {'is' if len(dropped) == 1 else 'are'} track-level only, which frame "
                         "models cannot read")
    else:
        feats = list(spec.frame_features or stored)
    lacking = [f for f in feats if f not in stored]
    if lacking:
        raise ParameterError(
            f"model {name} needs frame feature{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}, which store "
            f"{source.path} lacks (it has: {', '.join(stored) or 'none'}); re-extract with "
            f"--features including {', '.join(lacking)}, or drop {name} from --models")
    return tuple(feats), notes
