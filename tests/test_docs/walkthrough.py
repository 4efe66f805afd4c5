"""The fenced command blocks of docs/deployment.md, in order, each marked run or skip (and why).

Each fenced block is preceded by a marker line, an HTML comment the rendered page does not show::

    <!-- walkthrough: run -->
    <!-- walkthrough: skip: <why it cannot run on the emulator> -->

``run`` blocks are executed as written, in document order, by bash from the repository folder
against the emulator (test_deployment_walkthrough.py), so a command that drifts from the code fails
there; a ``skip`` says why it cannot run here (real AWS, Docker, the internet, prod). A block without
a marker, or a run block with a ``<placeholder>``, is an error: the document must decide.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "deployment.md"
_FENCE = re.compile(r"^(\s*)(```|~~~)")
_MARK = re.compile(r"^\s*<!--\s*walkthrough:\s*(?P<what>run|skip:\s*(?P<why>.*?))\s*-->\s*$")
#: ``<name>``: a value the reader fills in (a shell redirect ``<`` alone is not one).
PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\s]*(?: [^<>]*)?>")


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    run: bool
    why: str  # a skip's reason; "" for a run block
    text: str  # the block's lines, dedented

    @property
    def where(self) -> str:
        return f"{DOCUMENT.relative_to(ROOT)}:{self.line}"


class WalkthroughError(ValueError):
    """A block the document did not mark, or marked in a way the walkthrough cannot follow."""


def blocks(path: Path = DOCUMENT) -> list[Block]:
    lines = path.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if _FENCE.match(lines[j])), None)
        if end is None:
            raise WalkthroughError(f"{path.name}:{index + 1}: a fenced block that is never closed")
        previous = next((lines[j] for j in range(index - 1, -1, -1) if lines[j].strip()), "")
        mark = _MARK.match(previous)
        if mark is None:
            raise WalkthroughError(f"{path.name}:{index + 1}: a fenced block without '<!-- walkthrough: run -->' or "
                                   "'<!-- walkthrough: skip: <why> -->' on the line before it")
        run = mark["what"] == "run"
        why = (mark["why"] or "").strip()
        if not run and not why:
            raise WalkthroughError(f"{path.name}:{index + 1}: a skipped block must say why it cannot run on the emulator")
        text = textwrap.dedent("\n".join(lines[index + 1:end]))
        if run and PLACEHOLDER.search(text):
            raise WalkthroughError(f"{path.name}:{index + 1}: a run block has a placeholder {PLACEHOLDER.search(text)[0]}: "
                                   "write the command that finds the value, or mark the block skip with why")
        found.append(Block(index + 1, run, why, text))
        index = end + 1
    return found
