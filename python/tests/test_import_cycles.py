"""No import cycles inside python/refill (issue #17): a module's imports, including the ones
deferred into a function body, must form a DAG, so each layer can be read, tested and
moved without dragging in the modules that use it. Static: reads the sources with ast."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import refill

PACKAGE_DIR = Path(refill.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The refill modules ``name`` imports anywhere in its body (not under TYPE_CHECKING)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:  # `from refill.engine import embedded as engine`: a module
                    found.add(f"{source}.{alias.name}")
                elif source in modules:
                    found.add(source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                strongconnect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return found


def test_the_scan_sees_deferred_and_relative_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    real = import_graph()
    assert "refill.engine.embedded" in real["refill.dbt.session"]  # `from refill.engine import embedded as engine`
    assert "refill.run.phases.context" in real["refill.run.phases.verify"]


def test_refill_has_no_import_cycles():
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("module", sorted(name for name in import_graph() if not name.endswith(".__main__")))
def test_every_module_imports(module):
    """The scan reads the sources; this imports each module the scan saw (``__main__`` runs
    the CLI when imported), so one that fails to import, a cycle among them included, shows up."""
    assert importlib.import_module(module).__name__ == module


# The folders are layers (issue #17): each imports only the layers below it, so a layer can be
# read and tested without the ones that use it. Top to bottom; errors, render and the package
# itself are the floor every layer may use.
LAYERS = ("cli", "commands", "lab", "run", "lineage", "lint", "dbt", "engine")
FLOOR = {"refill", "refill.errors", "refill.render"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    found = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module)
        for target in sorted(targets):
            there = layer_of(target)
            if here is not None and there is not None and rank[there] < rank[here]:
                found.append(f"{module} -> {target}")
    return found


def test_the_layer_check_sees_an_upward_import():
    assert upward_imports({"refill.engine.sql": {"refill.run.plan"}}) == ["refill.engine.sql -> refill.run.plan"]
    assert upward_imports({"refill.run.plan": {"refill.engine.sql", "refill.errors"}}) == []


def test_each_layer_imports_only_the_layers_below_it():
    graph = import_graph()
    assert {layer_of(module) for module in graph} >= set(LAYERS)  # the check sees every layer
    assert upward_imports(graph) == []
