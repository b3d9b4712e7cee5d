"""The package's modules import one another in one direction only: no
circle, at module level or hidden inside a function. Read from the source
(ast), so a lazy import counts as much as a top-level one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "layers" / "core" / "python"
PACKAGE = "invoicing"


def modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, set(known)) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_detector_finds_a_circle_and_passes_a_line():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_detector_reads_imports_inside_functions(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from invoicing.logic import payments\n    import invoicing.domain\n")

    assert imports(source, {"invoicing.logic.payments", "invoicing.domain"}) == {
        "invoicing.logic.payments",
        "invoicing.domain",
    }


def test_no_module_of_the_package_imports_itself_back():
    assert cycles(graph()) == []


def imports_from(package: str) -> set[tuple[str, str]]:
    """(module, what it imports) for every module of `package`."""
    return {(name, target) for name, targets in graph().items() if name.startswith(f"{package}.") for target in targets}


def test_the_domain_imports_nothing_but_the_domain():
    assert {edge for edge in imports_from("invoicing.domain") if not edge[1].startswith("invoicing.domain")} == set()


def test_use_cases_reach_the_outside_through_ports_only():
    """logic/ names the ports (invoicing.ports), never an adapter."""
    assert {edge for edge in imports_from("invoicing.logic") if edge[1].startswith("invoicing.adapters")} == set()


MAX_LINES = 60


def test_no_function_is_over_60_lines_without_saying_why():
    """A long function says in its docstring why it is long ("Long because…", "Long on purpose…")."""
    unexplained = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_LINES and "Long " not in (ast.get_docstring(node) or ""):
                    unexplained.append(f"{name}.{node.name}: {length} lines")
    assert unexplained == []
