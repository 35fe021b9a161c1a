"""``--param MODEL.KEY=VALUE`` on the command line → ``{model: {key: value}}``."""

from __future__ import annotations

from genrekit.errors import ParameterError


def parse_value(text: str):
    """``--param`` value: int, float, bool (true/false/yes/no), None (none/null) or the string."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_params(items: list[str] | None) -> dict[str, dict]:
    """Parse repeated ``--param MODEL.KEY=VALUE`` into ``{model: {key: value}}``.

    Raises
    ------
    ParameterError
        For an item without ``MODEL.`` or ``=VALUE``, or a key given twice.
    """
    out: dict[str, dict] = {}
    for item in items or []:
        lhs, eq, value = item.partition("=")
        model, dot, key = lhs.strip().partition(".")
        if not eq or not dot or not model or not key.strip():
            raise ParameterError(f"--param {item!r} is not MODEL.KEY=VALUE (e.g. --param svm.C=10)")
        key = key.strip()
        if key in out.setdefault(model, {}):
            raise ParameterError(f"--param {model}.{key} is given twice")
        out[model][key] = parse_value(value)
    return out
