"""Reading docs/pci-dss.md and the test files it cites, without running anything.

The table's third column cites pytest node ids in backticks:
``tests/test_x.py::test_name``, ``tests/test_x.py::TestClass::test_name`` or
``tests/test_x.py::test_name[param]``. Test files are parsed with ast, not imported.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "pci-dss.md"
HEADER = ("requirement", "control in the templates", "test that proves it")
NODE_ID = re.compile(r"`(tests/[^`\s]+?\.py::[^`\s]+)`")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table(text: str, header: tuple[str, ...], doc: str) -> list[str]:
    """The row lines of the first table of ``text`` whose header is ``header`` (``doc`` names the file)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):  # noqa: B007 - i is read after the loop, at the header it stopped on
        if line.lstrip().startswith("|") and tuple(_cells(line)) == header:
            break
    else:
        raise ValueError(f"no table with header {' | '.join(header)!r} in {doc}")
    out = []
    for line in lines[i + 2:]:
        if not line.lstrip().startswith("|"):
            break
        out.append(line)
    return out


def rows(text: str) -> list[tuple[str, str, list[str]]]:
    """The rows of the first table whose header is HEADER."""
    out = []
    for line in table(text, HEADER, DOC.name):
        cells = _cells(line)
        if len(cells) != 3:
            raise ValueError(f"row without three cells: {line!r}")
        out.append((cells[0], cells[1], NODE_ID.findall(cells[2])))
    return out


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def defined_tests(path: Path) -> set[str]:
    """Node-id tails of the tests a file defines: ``test_x`` and ``TestClass::test_x``."""
    names = set()
    for node in _tree(path).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {f"{node.name}::{f.name}" for f in node.body
                      if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")}
    return names


def string_literals(path: Path) -> set[str]:
    return {n.value for n in ast.walk(_tree(path)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def problem(node_id: str) -> str | None:
    """None if the cited test exists, else why it does not."""
    file_part, _, rest = node_id.partition("::")
    path = ROOT / file_part
    if not path.is_file():
        return f"{node_id}: no file {file_part}"
    name, _, param = rest.partition("[")
    if name not in defined_tests(path):
        return f"{node_id}: {file_part} defines no test {name}"
    param = param.rstrip("]")
    if param and param not in string_literals(path):
        return f"{node_id}: parameter {param!r} is not a literal in {file_part}"
    return None


SCOPE_DOC = ROOT / "docs" / "pci-scope.md"
SCOPE_HEADER = ("stack", "scope", "why")
SCOPES = ("CDE", "connected", "security-impacting")


def scope_rows(text: str) -> dict[str, str]:
    """stack -> scope, from the table of docs/pci-scope.md whose header is SCOPE_HEADER."""
    out = {}
    for line in table(text, SCOPE_HEADER, SCOPE_DOC.name):
        stack, scope, _why = _cells(line)
        out[stack] = scope
    return out


def section(text: str, title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        raise ValueError(f"no section '## {title}'")
    return match.group(1)
