"""Print pip constraints that pin every dependency declared in setup.cfg to its declared minimum.

    python .ci/min_versions.py [--extras test,distributed,parquet] [--override torch==2.13.0]

Every ``name>=X`` of ``install_requires`` (and of the named extras) becomes ``name==X``; an
``--override`` replaces one pin (torch: only its CPU build 2.13.0 is at hand on the CI machine, any
other version pulls a multi-GB CUDA build). A requirement without a lower bound is an error: a
declared minimum is what this file tests.
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
from pathlib import Path

#: ``name[extras]>=version`` (the only form setup.cfg uses; anything else is refused).
_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*>=\s*([0-9][^\s,;]*)$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([0-9][^\s,;]*)$")


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lines(text: str) -> list[str]:
    return [ln.split("#", 1)[0].strip() for ln in text.splitlines() if ln.split("#", 1)[0].strip()]


def minimum_pins(setup_cfg: Path, extras: list[str], overrides: list[str]) -> list[str]:
    """``name==minimum`` for every requirement of ``install_requires`` and ``extras``, sorted by name."""
    cfg = configparser.ConfigParser(comment_prefixes=("#", ";"), inline_comment_prefixes=("#",))
    cfg.read(setup_cfg)
    reqs = _lines(cfg["options"]["install_requires"])
    for extra in extras:
        try:
            reqs += _lines(cfg["options.extras_require"][extra])
        except KeyError:
            raise SystemExit(f"setup.cfg declares no extra {extra!r}") from None
    pins: dict[str, str] = {}
    for text in reqs:
        m = _REQ.match(text)
        if not m:
            raise SystemExit(f"{text!r}: write requirements as NAME>=MINIMUM so the minimum can be tested")
        pins[_key(m.group(1))] = f"{m.group(1)}=={m.group(3)}"
    for text in overrides:
        m = _PIN.match(text.strip())
        if not m:
            raise SystemExit(f"--override {text!r}: write NAME==VERSION")
        if _key(m.group(1)) not in pins:
            raise SystemExit(f"--override {text!r}: {m.group(1)} is not a declared dependency")
        pins[_key(m.group(1))] = f"{m.group(1)}=={m.group(2)}"
    return [pins[k] for k in sorted(pins)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup-cfg", type=Path, default=Path(__file__).resolve().parents[1] / "setup.cfg")
    ap.add_argument("--extras", default="", help="comma-separated extras to pin as well")
    ap.add_argument("--override", action="append", default=[], help="NAME==VERSION replacing a minimum")
    args = ap.parse_args(argv)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    sys.stdout.write("".join(p + "\n" for p in minimum_pins(args.setup_cfg, extras, args.override)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
