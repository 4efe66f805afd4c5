from __future__ import annotations

import pytest

from tests.conftest import offline_aws
from traffic_shifter import Shifter, handler

from .world import FakeClock, World, moto_world, shifter_clients


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials and no endpoint override: every call must land in moto, never in AWS."""
    offline_aws(monkeypatch)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the VPC needs no AMIs; loading them is slow


@pytest.fixture
def world(aws_credentials, monkeypatch, clock) -> World:
    with moto_world(monkeypatch) as world:
        yield world


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """The test's time, shared with moto's CloudWatch: alarm state timestamps are on the same clock as
    the shifter's bakes (as CloudWatch's and Lambda's clocks agree on AWS)."""
    c = FakeClock()
    monkeypatch.setattr("moto.cloudwatch.models.utcnow", c.utcnow)
    return c


@pytest.fixture
def shifter(world, clock) -> Shifter:
    """The shifter exactly as the Lambda builds it (from its environment), with injected time."""
    return Shifter.from_env(world.env, clients=shifter_clients(), clock=clock)


@pytest.fixture
def running(world, shifter, clock):
    """A shift started by an operator: green at 10 (step 1), its bake just begun."""
    shifter.run("start", actor="ops.alice")
    world.notifications()
    world.calls.clear()
    return shifter


@pytest.fixture
def lambda_env(world, monkeypatch):
    """The function's environment as deployed, and a cold start before and after the test."""
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    handler.reset_shifter()
    yield world.env
    handler.reset_shifter()
