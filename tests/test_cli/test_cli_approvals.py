"""Who, why and with whose approval: every changing command needs a change id and a reason, records the
caller's STS identity (no --actor), and where the two-person rule applies, start, promote and the db
switchover need another identity's unexpired approval in the state table (bluegreen.approvals)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from bluegreen import approvals, cli
from tests.test_cli.conftest import PROJECT_ROOT, Run, invoke_in_process, world_module

ME = "arn:aws:sts::123456789012:user/moto"
APPROVER_ROLE = "arn:aws:iam::123456789012:role/role-operator-dev-d01"
DIR = ("--env", "dev", "--project-dir", str(PROJECT_ROOT))


@pytest.fixture
def bluegreen():
    """As the conftest's, with sessions that can also take an assumed role's credentials (--role)."""
    def session_factory(**kwargs):
        if "aws_access_key_id" in kwargs:
            return boto3.Session(**kwargs)
        return world_module.new_session(**kwargs)

    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), session_factory=session_factory, stdout=out, stderr=err, invoke=invoke_in_process)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def two_person_rule(monkeypatch):
    """The rule of prod, applied to the dev deployment of the moto world."""
    monkeypatch.setattr(approvals, "ENVIRONMENTS", ("dev", "prod"))


@pytest.mark.parametrize("argv, message", [
    (("shift", "start", "--reason", "release"), "shift start: --change-id None is not a change number like CHG-4711"),
    (("shift", "rollback", "--change-id", "INC-1"), "shift rollback: --reason is required"),
    (("shift", "pause", "--change-id", "chg 1", "--reason", "r"), "shift pause: --change-id 'chg 1' is not a change number"),
    (("db", "switchover", "--to", "green", "--reason", "r"), "db switchover: --change-id None is not a change number"),
])
def test_main__changing_command_without_change_id_or_reason__usage_error_nothing_changed(world, bluegreen, argv, message):
    before = world.weights(), world.state_item()
    run = bluegreen(*argv, *DIR)
    assert run.code == 2
    assert message in run.err
    assert (world.weights(), world.state_item()) == before


def test_main__actor_given__refused_by_the_parser(world, bluegreen, capsys):
    with pytest.raises(SystemExit) as exit_:
        bluegreen("shift", "start", "--actor", "jane", "--change-id", "CHG-1", "--reason", "r", *DIR)
    assert exit_.value.code == 2
    assert "unrecognized arguments: --actor jane" in capsys.readouterr().err


def test_main__start__the_sts_identity_and_the_change_id_recorded(world, bluegreen):
    run = bluegreen("shift", "start", "--change-id", "CHG-9", "--reason", "release 1.4", *DIR)
    assert run.code == 0
    assert run.out.splitlines()[0] == f"start: start by {ME} (cli) (CHG-9: release 1.4): running the plan from its first step"
    assert bluegreen("shift", "pause", "--change-id", "CHG-9", "--reason", "hold", *DIR).code == 0
    assert world.state_item()["updated_by"] == f"{ME} (cli)"


def test_two_person_rule__start_without_approval__refused_nothing_changed(world, bluegreen, two_person_rule):
    run = bluegreen("shift", "start", "--change-id", "CHG-2", "--reason", "r", *DIR)
    assert run.code == 1
    assert "start in this environment needs a second operator's approval of CHG-2" in run.err
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}


def test_two_person_rule__approved_by_myself__refused(world, bluegreen, two_person_rule):
    assert bluegreen("approve", "--change-id", "CHG-3", "--for", "start", "--reason", "ok", *DIR).code == 0
    run = bluegreen("shift", "start", "--change-id", "CHG-3", "--reason", "r", *DIR)
    assert run.code == 1
    assert f"CHG-3 for start was approved by {ME} -- the same identity that now acts" in run.err
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}


def test_two_person_rule__approved_by_another_identity__start_runs(world, bluegreen, two_person_rule):
    approved = bluegreen("approve", "--role", APPROVER_ROLE, "--change-id", "CHG-4", "--for", "start",
                         "--reason", "CAB approved", *DIR)
    assert approved.code == 0, approved.err
    assert "approved: CHG-4 start by arn:aws:sts::123456789012:assumed-role/role-operator-dev-d01/" in approved.out

    run = bluegreen("shift", "start", "--change-id", "CHG-4", "--reason", "go", *DIR)
    assert run.code == 0, run.err
    assert world.state_item()["status"] == "running"


def test_two_person_rule__approval_for_another_action_or_change__does_not_count(world, bluegreen, two_person_rule):
    assert bluegreen("approve", "--role", APPROVER_ROLE, "--change-id", "CHG-5", "--for", "promote",
                     "--reason", "ok", *DIR).code == 0
    assert bluegreen("shift", "start", "--change-id", "CHG-5", "--reason", "r", *DIR).code == 1
    assert bluegreen("shift", "start", "--change-id", "CHG-6", "--reason", "r", *DIR).code == 1


def test_two_person_rule__approval_expired__refused(world, bluegreen, two_person_rule, monkeypatch):
    assert bluegreen("approve", "--role", APPROVER_ROLE, "--change-id", "CHG-7", "--for", "start",
                     "--reason", "ok", *DIR).code == 0
    later = datetime.now(UTC) + timedelta(minutes=approvals.APPROVAL_MINUTES + 1)
    monkeypatch.setattr(approvals, "now", lambda: later)
    run = bluegreen("shift", "start", "--change-id", "CHG-7", "--reason", "r", *DIR)
    assert run.code == 1
    assert "the approval of CHG-7 for start by arn:aws:sts::123456789012:assumed-role/role-operator-dev-d01/" in run.err
    assert "expired at" in run.err


def test_two_person_rule__pause_and_rollback__need_no_approval(world, bluegreen, two_person_rule):
    assert bluegreen("approve", "--role", APPROVER_ROLE, "--change-id", "CHG-8", "--for", "start",
                     "--reason", "ok", *DIR).code == 0
    assert bluegreen("shift", "start", "--change-id", "CHG-8", "--reason", "r", *DIR).code == 0
    # Stopping is never held up by the rule: one operator may always pause or roll back.
    assert bluegreen("shift", "rollback", "--change-id", "INC-9", "--reason", "declines", *DIR).code == 0
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}


def test_approvals__prod__the_rule_applies():
    assert "prod" in approvals.ENVIRONMENTS and "dev" not in approvals.ENVIRONMENTS
    assert set(approvals.ACTIONS) == {"start", "promote", "switchover"}


def test_refusal__approved_by_another_in_time__none():
    now = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    approval = approvals.grant("CHG-1", "switchover", "arn:b", "ok", now)
    assert approvals.refusal(approval, "CHG-1", "switchover", "arn:a", now + timedelta(minutes=59)) is None
    assert "expired" in approvals.refusal(approval, "CHG-1", "switchover", "arn:a", now + timedelta(minutes=60))
