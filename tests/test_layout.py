"""The house keeps its shape: no import cycles between genrekit's modules, no oversized modules
or functions (DESIGN.md, "The house"). A failure here names the module or function to split."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "genrekit"
MAX_MODULE_LINES = 650      # "about 600"
MAX_FUNCTION_LINES = 80     # body lines, docstring excluded
#: Functions that are data tables rather than logic (allowed to be long).
DATA_TABLES: set[str] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _top_level_imports(name: str, path: Path, modules) -> set[str]:
    """genrekit modules ``name`` imports when it is imported (not inside functions or TYPE_CHECKING)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genrekit"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _top_level_imports(m, p, modules) for m, p in modules.items()}
    # a package imports its own submodules (re-exports); only edges between distinct rooms count
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for d in graph[m]:
            if m.startswith(d + ".") or d.startswith(m + "."):
                continue
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("name, path", sorted(_modules().items()))
def test_module_size(name, path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{name} has {n} lines; split it into modules of one job each"


def _long_functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                and isinstance(first.value.value, str)
            start = first.end_lineno + 1 if has_doc and len(node.body) > 1 else node.body[0].lineno
            length = node.end_lineno - start + 1
            if length > MAX_FUNCTION_LINES and node.name not in DATA_TABLES:
                yield node.name, length


def test_function_size():
    long = [f"{p.relative_to(PACKAGE.parent)}::{f} ({n} lines)" for p in sorted(PACKAGE.rglob("*.py"))
            for f, n in _long_functions(p)]
    assert not long, "functions over ~80 lines: " + ", ".join(long)
