"""The two-person rule held by the function itself: a prod start, promote or db switchover invoked on the
traffic-shifter Lambda directly (not through ``bluegreen``) is refused without another identity's
unexpired approval in the state table (traffic_shifter/approval.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from traffic_shifter import approval, handler

from .world import TABLE, lambda_context

ALICE = "arn:aws:sts::123456789012:assumed-role/role-operator-prod-p01/bluegreen-alice"
BOB = "arn:aws:sts::123456789012:assumed-role/role-operator-prod-p01/bluegreen-bob"
BLUE_ONLY = {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}


@pytest.fixture
def prod_function(lambda_env, monkeypatch):
    """The function as deployed in an environment of the rule (ENVIRONMENT=prod)."""
    monkeypatch.setenv(approval.ENVIRONMENT_VARIABLE, "prod")
    return lambda event: handler.lambda_handler(event, lambda_context("prod-p01"))


def approve(world, change_id: str, action: str, by: str, minutes_ago: int = 0) -> None:
    at = approval.now() - timedelta(minutes=minutes_ago)
    item = approval.Approval(change_id, action, by, "CAB approved", at, at + timedelta(minutes=approval.APPROVAL_MINUTES)).item()
    world.client("dynamodb").put_item(TableName=TABLE, Item={k: {"S": v} for k, v in item.items()})


@pytest.mark.parametrize("event, said", [
    ({"command": "start", "actor": "jane", "caller": ALICE}, "needs the event's change_id"),
    ({"command": "start", "change_id": "CHG-7", "caller": ALICE}, "needs a second operator's approval of CHG-7"),
    ({"command": "start", "change_id": "CHG-7"}, "needs the event's caller"),
    ({"command": "db switchover", "to": "green", "change_id": "CHG-7", "caller": ALICE},
     "switchover in this environment needs a second operator's approval of CHG-7"),
])
def test_direct_invoke__prod_without_approval__refused_nothing_changed(world, prod_function, event, said):
    answer = prod_function(event)

    assert answer["ok"] is False and answer["error_type"] == "CommandError"
    assert said in answer["error"]
    assert world.weights() == BLUE_ONLY
    assert world.state_item() == {}


def test_direct_invoke__approved_by_the_caller_themself__refused(world, prod_function):
    approve(world, "CHG-8", "start", ALICE)

    answer = prod_function({"command": "start", "change_id": "CHG-8", "caller": ALICE})

    assert "the same identity that now acts" in answer["error"]
    assert world.weights() == BLUE_ONLY


def test_direct_invoke__approval_expired__refused(world, prod_function):
    approve(world, "CHG-9", "start", BOB, minutes_ago=approval.APPROVAL_MINUTES + 1)

    answer = prod_function({"command": "start", "change_id": "CHG-9", "caller": ALICE})

    assert "expired" in answer["error"]


def test_direct_invoke__approved_for_start_only__promote_refused(world, prod_function):
    approve(world, "CHG-10", "start", BOB)

    assert prod_function({"command": "start", "change_id": "CHG-10", "caller": ALICE, "actor": ALICE})["ok"] is True
    answer = prod_function({"command": "promote", "change_id": "CHG-10", "caller": ALICE})

    assert "promote in this environment needs a second operator's approval of CHG-10" in answer["error"]
    assert world.state_item()["status"] == "running"


def test_direct_invoke__approved_by_another__runs(world, prod_function):
    approve(world, "CHG-11", "start", BOB)

    answer = prod_function({"command": "start", "change_id": "CHG-11", "caller": ALICE, "actor": ALICE, "reason": "CHG-11: go"})

    assert answer["ok"] is True
    assert world.state_item()["status"] == "running"
    assert world.weights()["ssm"] != "0"


def test_direct_invoke__dev__no_approval_needed(world, prod_function, monkeypatch):
    monkeypatch.setenv(approval.ENVIRONMENT_VARIABLE, "dev")

    assert prod_function({"command": "start", "actor": "ops.alice"})["ok"] is True


def test_direct_invoke__rollback_and_pause__never_need_an_approval(world, prod_function):
    assert prod_function({"command": "rollback", "actor": "ops.alice", "reason": "INC-1: declines"})["ok"] is True
