"""The project's modules import one another without a cycle.

Every import counts, at module level or inside a function (a lazy import is how a cycle hides), except
those under ``if TYPE_CHECKING:`` (never run). A cycle is a design problem, not a load-order puzzle:
the shared piece moves to a module both sides import (traffic_shifter/model.py is such a place).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Import name of each source package -> its folder (pyproject.toml's package-dir, and the app's and
#: the emulator's own packages).
PACKAGES = {
    "bluegreen": ROOT / "bluegreen",
    "bluegreen_hooks": ROOT / "hooks",
    "bluegreen_resolvers": ROOT / "resolvers",
    "traffic_shifter": ROOT / "lambda_src" / "traffic_shifter",
    "ssm_parameter": ROOT / "lambda_src" / "ssm_parameter",
    "bluegreen_emulator": ROOT / "emulator" / "bluegreen_emulator",
    "payment_api": ROOT / "app" / "payment_api",
}


def project_modules() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                stack.extend(child.orelse)  # the else branch runs
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            stack.append(child)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import sub`` imports the submodule when there is one, else a name of pkg.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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
            visit(node)
    return found


def test_import_graph__every_package__found():
    graph = import_graph()
    assert {"traffic_shifter.shifter", "traffic_shifter.db.step", "bluegreen.cli", "bluegreen_emulator.server"} <= set(graph)
    assert "traffic_shifter.model" in graph["traffic_shifter.steps"]  # the graph sees relative imports


def test_cycles__a_planted_cycle__found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_project_modules__no_import_cycle():
    assert cycles(import_graph()) == []
