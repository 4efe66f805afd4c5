"""Every command line of ours that README.md and docs/*.md show, as the words a shell would pass.

A line of a fenced block, or an inline code span, is one of ours when it starts (after ``$ ``,
``eval "$(``, ``VAR=value`` and ``.venv/bin/``) with ``bluegreen``, ``sceptre``, ``payment-api``,
``scripts/<name>`` or ``python -m <our module>``. Shell comments, ``\\`` continuations, ``&&`` / ``;`` /
``|`` chains and ``$( ... )`` are taken apart; a block line whose second word ends with ``:`` is
printed output, not a command. What a document writes as a stand-in stays recognisable:

* ``<name>`` is a placeholder (a value; in a Sceptre path, one or more path parts);
* a bare ``...`` ends the command there (``bluegreen shift ...``): the rest is left to the reader;
* ``[--flag]`` is an optional flag: checked without its brackets.

An inline span, and a command cut at ``...``, is a *fragment*: an argument it leaves out may be required.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ("bluegreen", "sceptre", "payment-api")
#: Modules of this repository that ``python -m`` runs (their top package).
OUR_PACKAGES = ("bluegreen", "bluegreen_emulator", "payment_api", "tests")
ELIDED = "..."
_FENCE = re.compile(r"^\s*(```|~~~)")
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_SUBSHELL = re.compile(r"\$\(([^()]*)\)")
_CHAIN = re.compile(r"\s(?:&&|\|\||;|\|)\s")


@dataclass(frozen=True)
class DocCommand:
    file: str  # relative to the repository: README.md, docs/deployment.md
    line: int  # 1-based, the command's first line
    text: str  # as written
    argv: tuple[str, ...]  # program first: ("sceptre", "--var", ...), ("python -m", "bluegreen.render", ...)
    fragment: bool  # an inline span or a command cut at "...": required arguments may be missing

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def commands(path: Path, root: Path = ROOT) -> list[DocCommand]:
    """Our command lines in one markdown file, in order."""
    name = str(path.relative_to(root))
    found: list[DocCommand] = []
    fenced, pending, start = False, "", 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if _FENCE.match(line):
            fenced, pending = not fenced, ""
            continue
        if fenced:
            if not pending:
                start = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            found += _from_text(name, start, pending + line, fragment=False)
            pending = ""
        else:
            for span in _SPAN.findall(line):
                found += _from_text(name, number, span, fragment=True)
    return found


def _from_text(name: str, number: int, text: str, *, fragment: bool) -> list[DocCommand]:
    pieces = list(_SUBSHELL.findall(text)) + [_SUBSHELL.sub(" ", text)]
    out = []
    for piece in pieces:
        for part in _CHAIN.split(piece):
            command = _command(name, number, part, fragment=fragment)
            if command is not None:
                out.append(command)
    return out


def _command(name: str, number: int, text: str, *, fragment: bool) -> DocCommand | None:
    quoted_ellipsis = text.replace('"..."', '"<text>"').replace("'...'", "'<text>'")
    try:
        words = shlex.split(quoted_ellipsis, comments=True)
    except ValueError:  # an unbalanced quote: a span cut from a longer sentence
        return None
    while words and (words[0] in ("$", "eval", "exec", "sudo", "time") or re.match(r"^[A-Z_][A-Z0-9_]*=", words[0])):
        words = words[1:]
    if not words:
        return None
    program = words[0].removeprefix(".venv/bin/")
    rest = words[1:]
    if program in ("python", "python3") and rest[:1] == ["-m"] and len(rest) > 1:
        if rest[1].split(".")[0] not in OUR_PACKAGES:
            return None
        program, rest = "python -m", rest[1:]
    elif not (program in PROGRAMS or re.match(r"^scripts/[\w-]+$", program)):
        return None
    if rest and rest[0].endswith(":") and not fragment:  # printed output ("sceptre launch: 17 stacks ...")
        return None
    argv: list[str] = []
    for word in rest:
        if word == ELIDED:
            fragment = True
            break
        argv.append(word.lstrip("[").rstrip("]") if word.startswith("[") or word.endswith("]") else word)
    return DocCommand(name, number, text.strip(), (program, *argv), fragment)
