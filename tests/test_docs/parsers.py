"""A documented command line against the real parser of the program it names; nothing is run.

* ``bluegreen`` and ``payment-api``: their console scripts' ``main`` (bluegreen.cli:main, which hands
  ``rehearse`` to the rehearsal's own parser; payment_api.cli:main);
* ``python -m <module>``: the module run as ``__main__`` (runpy), as ``python -m`` runs it;
* ``scripts/<name>``: what the script hands ``"$@"`` to, read from the script itself (``-m <module>``:
  that module; ``pytest``: pytest's parser); a script that passes no ``"$@"`` takes no arguments;
* ``sceptre``: Sceptre's own click command tree (``--var`` is an option of ``sceptre``, not of its
  commands), then the path a command takes must be a stack group or stack config under ``config/``.

argparse is intercepted at ``parse_args``: the parsed namespace (or the parser's error) comes back
and the program's body never runs.
"""

from __future__ import annotations

import argparse
import re
import runpy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import replace
from io import StringIO
from pathlib import Path

from tests.test_docs.doc_commands import ROOT, DocCommand

#: argparse's and click's words for a required argument left out: a fragment may leave one out.
MISSING = ("the following arguments are required", "Missing argument", "Missing option", "Missing command",
           "expected one argument", "requires an argument")
PLACEHOLDER = re.compile(r"<[^<>]+>")


class Refused(Exception):
    """The program's parser refuses the command line; the message is the parser's."""


class _Parsed(Exception):
    pass


@contextmanager
def _argparse_stops_at_parse() -> Iterator[None]:
    parse_args, error, exit_ = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.error, argparse.ArgumentParser.exit

    def parsed(self: argparse.ArgumentParser, args=None, namespace=None):  # argparse's signature
        raise _Parsed(parse_args(self, args, namespace))

    def refused(self: argparse.ArgumentParser, message: str):
        raise Refused(f"{self.prog}: {message}")

    def exited(self: argparse.ArgumentParser, status: int = 0, message: str | None = None):  # --help
        raise _Parsed(None)

    argparse.ArgumentParser.parse_args, argparse.ArgumentParser.error, argparse.ArgumentParser.exit = parsed, refused, exited
    try:
        yield
    finally:
        argparse.ArgumentParser.parse_args, argparse.ArgumentParser.error, argparse.ArgumentParser.exit = parse_args, error, exit_


def _argparse(run: Callable[[], object]) -> None:
    with _argparse_stops_at_parse(), redirect_stdout(StringIO()), redirect_stderr(StringIO()):
        try:
            run()
        except _Parsed:
            return
    raise AssertionError("the program returned without parsing its arguments")


def _module(module: str, args: list[str]) -> None:
    if module.split(".")[0] == "bluegreen_emulator" and str(ROOT / "emulator") not in sys.path:
        sys.path.insert(0, str(ROOT / "emulator"))  # the launcher is standard library only (tests/emulator_process.py)
    argv = sys.argv
    sys.argv = [module, *args]
    try:
        _argparse(lambda: runpy.run_module(module, run_name="__main__", alter_sys=False))
    finally:
        sys.argv = argv


def _script(name: str, args: list[str]) -> None:
    path = ROOT / name
    if not path.is_file():
        raise Refused(f"{name}: no such script")
    lines = [line for line in path.read_text().splitlines() if '"$@"' in line and not line.lstrip().startswith("#")]
    target = next((re.search(r"-m ([\w.]+) \"\$@\"", line) for line in lines if re.search(r"-m [\w.]+ \"\$@\"", line)), None)
    if target is not None:
        return _module(target[1], args)
    if any(re.search(r"\bpytest \"\$@\"", line) for line in lines):
        return _pytest(args)
    if args:
        raise Refused(f"{name} takes no arguments (it passes none on), got {args}")
    return None


def _pytest(args: list[str]) -> None:
    import pytest
    from _pytest.config import get_config

    try:
        with redirect_stderr(StringIO()):
            get_config()._parser.parse(args)
    except pytest.UsageError as err:
        raise Refused(f"pytest: {err}") from None


def config_paths(root: Path = ROOT) -> list[str]:
    """Every stack group and stack config Sceptre can address, relative to config/ (dev, dev/route53,
    dev/route53/route53.yaml), without the group configs themselves."""
    config = root / "config"
    found = []
    for path in sorted(config.rglob("*")):
        relative = str(path.relative_to(config))
        if path.is_dir() or (path.suffix == ".yaml" and path.name != "config.yaml"):
            found.append(relative)
    return found


def _sceptre(args: list[str], fragment: bool) -> None:
    import click
    from sceptre.cli import cli

    try:
        ctx = cli.make_context("sceptre", list(args))
        command: click.Command = cli
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        while isinstance(command, click.Group):
            name, command, rest = command.resolve_command(ctx, rest)
            ctx = command.make_context(name, rest, parent=ctx)
            rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
    except click.UsageError as err:
        raise Refused(f"sceptre: {err.format_message()}") from None
    path = ctx.params.get("path")
    if path and not _addresses_config(str(path)):
        raise Refused(f"sceptre: {path!r} is no stack group or stack config under config/ "
                      f"(a <placeholder> stands for one or more path parts)")


def _addresses_config(path: str) -> bool:
    pattern = re.compile("^" + ".+".join(re.escape(part) for part in PLACEHOLDER.split(path.rstrip("/"))) + "$")
    return any(pattern.match(known) for known in config_paths())


def check(command: DocCommand) -> None:
    """Raise Refused when the program would refuse ``command`` (a fragment may leave required arguments out;
    a word ``a|b|c`` offers alternatives, each checked)."""
    if command.fragment and len(command.argv) == 1:
        return  # the program named in prose: `bluegreen`, `sceptre`
    alternatives = next((i for i, word in enumerate(command.argv) if "|" in word and " " not in word), None)
    if alternatives is not None:
        for word in command.argv[alternatives].split("|"):
            check(replace(command, argv=(*command.argv[:alternatives], word, *command.argv[alternatives + 1:])))
        return
    program, args = command.argv[0], list(command.argv[1:])
    try:
        if program == "sceptre":
            _sceptre(args, command.fragment)
        elif program == "bluegreen":
            from bluegreen import cli

            _argparse(lambda: cli.main(args))
        elif program == "payment-api":
            from payment_api import cli as payment_cli

            _argparse(lambda: payment_cli.main(args))
        elif program == "python -m":
            _module(args[0], args[1:])
        else:
            _script(program, args)
    except Refused as err:
        if command.fragment and any(words in str(err) for words in MISSING):
            return
        raise
