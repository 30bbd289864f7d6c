"""The integration's shape, as ARCHITECTURE.md describes it: imports follow the data, functions read at a glance.

Read from the source text (every import counts, also those under TYPE_CHECKING or inside a function), so a change
that breaks the shape fails here rather than in review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "custom_components" / "stream"
PACKAGE = "custom_components.stream"
MAX_FUNCTION_LINES = 50
# Stage -> the stages it must never import: data flows source -> remux -> outputs.
FORBIDDEN = {"source": ("outputs",), "remux": ("source", "outputs")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _modules() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text()) for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imports(name: str, tree: ast.Module) -> Iterator[str]:
    """The package's own modules that `name` imports (names imported from a package count as the package)."""
    modules = _modules()
    package = name.split(".") if name and name in modules and _is_package(name) else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, *([node.module] if node.module else [])])
            submodules = [f"{target}.{alias.name}".lstrip(".") for alias in node.names]
            found = [sub for sub in submodules if sub in modules]
            yield from found or [target]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{PACKAGE}."):
            yield (node.module or "").removeprefix(f"{PACKAGE}.")


def _is_package(name: str) -> bool:
    return (PACKAGE_DIR / name.replace(".", "/") / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    return {name: {target for target in _imports(name, tree) if target != name} for name, tree in _modules().items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others() -> None:
    # Importing a package's own __init__ from its modules is how a package re-exports; the modules below it are
    # what counts, so package-to-member edges are left out.
    graph = {
        name: {target for target in targets if not name.startswith(f"{target}.") and not target.startswith(f"{name}.")}
        for name, targets in _graph().items()
    }
    assert _cycles(graph) == []


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_stages_never_import_what_comes_after_them(stage: str) -> None:
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name == stage or name.startswith(f"{stage}.")
        for target in targets
        if any(target == later or target.startswith(f"{later}.") for later in FORBIDDEN[stage])
    )
    assert wrong == []


def test_functions_read_at_a_glance() -> None:
    long = sorted(
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    )
    assert long == []


def test_no_closure_rebinds_its_enclosing_state() -> None:
    """`nonlocal` makes a nested function share mutable state with its parent: a class says that more plainly."""
    rebinding = sorted(
        f"{name}: line {node.lineno}"
        for name, tree in _modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Nonlocal)
    )
    assert rebinding == []
