"""The package's layers, checked from its source: data flows one way, no module imports one above
it, no import cycle, and no package module is imported inside a function (docs/architecture.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "shnor_utils"

# lowest first; a module may import its own layer (without a cycle) or any layer below
LAYERS = [
    ("shnor_utils", "shnor_utils.errors", "shnor_utils.safeio"),
    ("shnor_utils.methodology",),
    ("shnor_utils.data",),
    ("shnor_utils.indicators",),
    ("shnor_utils.reporting",),
    ("shnor_utils.analyses",),
    ("shnor_utils.session", "shnor_utils.whatif"),
    ("shnor_utils.batch",),
    ("shnor_utils.demo",),
    ("shnor_utils.cli",),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    best = None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > len(best[1])):
                best = (i, p)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS and docs/architecture.md"
    return best[0]


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """(imported shnor_utils module, line, inside a function) of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    is_pkg = path.name == "__init__.py"
    out = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, in_function) for a in child.names if a.name.split(".")[0] == "shnor_utils")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = me.split(".") if is_pkg else me.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                if mod.split(".")[0] == "shnor_utils":
                    # `from pkg import submodule` imports the submodule
                    for a in child.names:
                        sub = f"{mod}.{a.name}"
                        target = sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() or \
                            (PACKAGE.parent / sub.replace(".", "/")).is_dir() else mod
                        out.append((target, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return out


FILES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
GRAPH = {module_name(p): imports_of(p) for p in FILES}


def test_every_module_has_a_layer():
    for module in GRAPH:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_upward_import(module):
    mine = layer_of(module)
    upward = [(target, line) for target, line, _ in GRAPH[module] if layer_of(target) > mine]
    assert not upward, f"{module} imports a higher layer: {upward}"


def test_no_package_import_inside_functions():
    hidden = [(m, t, line) for m, imps in GRAPH.items() for t, line, inside in imps if inside]
    assert not hidden, f"imports of shnor_utils inside functions (move them to the top): {hidden}"


def test_no_import_cycle():
    edges = {m: {t for t, _, _ in imps if t in GRAPH and t != m} for m, imps in GRAPH.items()}
    # a package __init__ that re-exports its submodules is not a cycle with them
    for m in edges:
        edges[m] = {t for t in edges[m] if not t.startswith(m + ".")}
    state: dict = {}
    stack: list = []

    def dfs(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                dfs(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            dfs(node)
