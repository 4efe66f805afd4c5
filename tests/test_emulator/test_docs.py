"""docs/emulator.md says what the code holds: the extension modules and the moto-internals counts."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "emulator") not in sys.path:
    sys.path.insert(0, str(ROOT / "emulator"))

from bluegreen_emulator import extensions, moto_internals  # noqa: E402 - after sys.path has the emulator folder; neither imports moto at import

pytestmark = pytest.mark.emulator

DOC = (ROOT / "docs" / "emulator.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end != -1 else None]


def test_extensions_table__lists_exactly_the_installed_modules():
    table = set(re.findall(r"^\| `(\w+)\.py` \|", _section("Extensions"), re.MULTILINE))
    files = {p.stem for p in (ROOT / "emulator" / "bluegreen_emulator" / "extensions").glob("*.py") if not p.stem.startswith("_")}

    assert table == set(extensions.MODULES)
    assert files == set(extensions.MODULES), "a module in extensions/ that install() does not load, or the reverse"


def test_moto_internals_counts__as_in_the_registry():
    match = re.search(r"Today: \*\*(\d+)\*\* entries \((\d+) wrap, (\d+) replace, (\d+) add, (\d+) model\)", DOC)
    assert match, "docs/emulator.md: the 'Today: **N** entries (...)' line of the moto_internals section is gone"
    kinds = Counter(e.how for e in moto_internals.INTERNALS)

    stated = [int(n) for n in match.groups()]
    assert stated == [len(moto_internals.INTERNALS), kinds["wrap"], kinds["replace"], kinds["add"], kinds["model"]]
