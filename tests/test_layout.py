"""The package's layout: every module imports, and the module import graph of simulator/ has no cycle.

An edge A -> B is an import of B that runs when A is imported: a statement at module level (also
inside if/try/with/class bodies), not one inside a function, which is how the CLI keeps its heavy
imports lazy, and not one under `if TYPE_CHECKING:`. `from simulator.x import name` is an edge to
simulator.x.name when that is a module, else to simulator.x. A package's __init__ being run before
its submodules is Python's doing, not an edge.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "simulator"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
           (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module):
    """Import statements that run when the module is imported (not in functions, not type-checking only)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            source = _resolve(name, is_package, node)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in MODULES else source)
        graph[name] = {t for t in targets if t in MODULES and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, colours white/grey/black)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_the_module_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_the_layering():
    """The checker itself: it finds the edges the layout is built on, and would report a cycle."""
    graph = import_graph()
    assert "simulator.cli.common" in graph["simulator.cli.run"]
    assert "simulator.cli.run" in graph["simulator.cli"]
    assert {"simulator.sweep.plan", "simulator.sweep.execute"} <= graph["simulator.sweep.summary"]
    assert "simulator.sweep.plan" in graph["simulator.sweep.execute"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_subcommands_do_not_import_the_group():
    """A subcommand module imports simulator.cli.common, never the group that registers it (even lazily)."""
    for name, path in MODULES.items():
        if name.startswith("simulator.cli."):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "simulator.cli":
                    pytest.fail(f"{name} imports simulator.cli (the group) at line {node.lineno}")
                if isinstance(node, ast.ImportFrom) and node.module == "simulator" and \
                        any(a.name == "cli" for a in node.names):
                    pytest.fail(f"{name} imports simulator.cli (the group) at line {node.lineno}")
