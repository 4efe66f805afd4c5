"""No command that changes anything runs without a change id and a reason.

The commands are read from the parsers themselves (``bluegreen`` and ``python -m bluegreen.change_sets``),
so a command added later is held to the rule unless it is named below as read-only, with why.
"""

from __future__ import annotations

import argparse
import io

import pytest

from bluegreen import change_sets, cli
from bluegreen.cli_parser import build_parser
from tests.test_cli.conftest import PROJECT_ROOT, Run, world_module

#: Commands that change nothing a change id governs, and why. Everything else the parser offers must refuse.
READ_ONLY = {
    ("shift", "status"): "reads the state, weights and gates",
    ("db", "status"): "reads the writer, replication and the journal",
    ("evidence", None): "gathers a change's evidence: the change id is its argument; it writes its own folder and "
                        "the pack's head, nothing of traffic, writer or stacks",
    ("rehearse", None): "runs the rehearsal on this machine; no AWS account is touched",
}
CHANGE_FLAGS = ("--change-id", "--reason")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _commands(parser: argparse.ArgumentParser) -> list[tuple[str, str | None, argparse.ArgumentParser]]:
    """(group, command or None, its parser) for every command the parser accepts."""
    out = []
    for group, sub in _subparsers(parser).items():
        positional = next((a for a in sub._actions if not a.option_strings and a.choices), None)
        for command in (positional.choices if positional is not None else (None,)):
            out.append((group, command, sub))
    return out


BLUEGREEN = _commands(build_parser())
CHANGING = [(g, c, p) for g, c, p in BLUEGREEN if (g, c) not in READ_ONLY]


def _argv(group: str, command: str | None, sub: argparse.ArgumentParser, drop: tuple[str, ...]) -> list[str]:
    """A command line complete but for ``drop``: every option with choices gets its first choice."""
    argv = [group, *([command] if command else [])]
    for action in sub._actions:
        flag = action.option_strings[0] if action.option_strings else None
        if flag in CHANGE_FLAGS and flag not in drop:
            argv += [flag, "CHG-4711" if flag == "--change-id" else "release 1.4"]
        elif flag and action.choices and flag != "--help":
            argv += [flag, list(action.choices)[0]]
    return [*argv, "--env", "dev", "--project-dir", str(PROJECT_ROOT)]


def test_the_parser__the_changing_commands_found_and_every_read_only_one_exists():
    found = {(g, c) for g, c, _ in BLUEGREEN}
    assert set(READ_ONLY) <= found, "a read-only command named here no longer exists"
    changing = {(g, c) for g, c, _ in CHANGING}
    assert {("shift", "start"), ("shift", "rollback"), ("db", "switchover"), ("approve", None)} <= changing
    for _, _, sub in CHANGING:
        flags = {f for a in sub._actions for f in a.option_strings}
        assert set(CHANGE_FLAGS) <= flags, f"{sub.prog} changes something but takes no {CHANGE_FLAGS}"


@pytest.mark.parametrize("drop", [("--change-id",), ("--reason",), CHANGE_FLAGS], ids=lambda d: "without " + "+".join(d))
@pytest.mark.parametrize("group, command, sub", CHANGING, ids=[f"{g} {c or ''}".strip() for g, c, _ in CHANGING])
def test_changing_command__without_change_id_or_reason__refused_nothing_changed(world, group, command, sub, drop, capsys):
    before = world.weights(), world.state_item(), _approvals(world)
    out, err = io.StringIO(), io.StringIO()
    try:
        code = cli.main(_argv(group, command, sub, drop), session_factory=world_module.new_session, stdout=out, stderr=err)
    except SystemExit as exit_:  # argparse: a required option missing
        code = exit_.code
    run = Run(code, out.getvalue(), err.getvalue() + capsys.readouterr().err)

    assert run.code == 2, run
    named = "--change-id" if "--change-id" in drop else "--reason"
    assert named in run.err
    assert (world.weights(), world.state_item(), _approvals(world)) == before


def _approvals(world) -> list:
    items = world.client("dynamodb").scan(TableName=world.env["STATE_TABLE"])["Items"]
    return sorted(i["plan_id"]["S"] for i in items if i["plan_id"]["S"].startswith("approval#"))


CHANGE_SET_COMMANDS = _commands(change_sets.build_parser())


@pytest.mark.parametrize("drop", [("--change-id",), ("--reason",)], ids=lambda d: "without " + "+".join(d))
@pytest.mark.parametrize("group, command, sub", CHANGE_SET_COMMANDS, ids=[g for g, _, _ in CHANGE_SET_COMMANDS])
def test_change_set_command__without_change_id_or_reason__usage_error(tmp_path, group, command, sub, drop, capsys):
    argv = [group, "--group", "database", "--env", "prod", "--out" if group == "create" else "--reviewed", str(tmp_path)]
    argv += [x for flag, value in (("--change-id", "CHG-4711"), ("--reason", "release")) if flag not in drop for x in (flag, value)]

    code = change_sets.main(argv, adapters_for=_no_adapters)

    assert code == change_sets.EXIT_USAGE
    assert drop[0] in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("reason", ["", "   "])
def test_change_set_command__blank_reason__refused(tmp_path, reason):
    err = io.StringIO()
    code = change_sets.main(["create", "--env", "prod", "--group", "database", "--change-id", "CHG-1", "--reason", reason,
                             "--out", str(tmp_path)], adapters_for=_no_adapters, stderr=err)
    assert code == change_sets.EXIT_FAILED
    assert "a reason is required" in err.getvalue()


def _no_adapters(root):
    class Refuse(change_sets.Adapters):
        def commit(self):
            raise AssertionError("reached git: the refusal came too late")

        def caller(self, region=None):
            raise AssertionError("reached STS: the refusal came too late")

    return Refuse(root)
