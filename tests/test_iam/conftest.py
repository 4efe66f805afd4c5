"""The recorded run of the traffic shifter, shared by the Lambda-role and the people-role tests."""

import pytest
from moto import mock_aws

from tests.conftest import offline_aws
from tests.test_iam import lambda_run, launched
from tests.test_lambda_src.test_traffic_shifter import world as w


@pytest.fixture(scope="session")
def recorded():
    """(the Lambda environment of the run, every call its code made), once per session."""
    mp = pytest.MonkeyPatch()
    try:
        offline_aws(mp)
        mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        w.enable_composite_alarms(mp)
        w.speed_up_sns(mp)
        clock = w.FakeClock()
        mp.setattr("moto.cloudwatch.models.utcnow", clock.utcnow)
        with mock_aws():
            env, calls = lambda_run.run_shifter(clock, mp)
    finally:
        mp.undo()
    return env, calls


@pytest.fixture(scope="package")
def world():
    """The dev group launched on the emulator with IAM enforced, once for the package (launched.py)."""
    yield from launched.launch()


@pytest.fixture
def reduced_policy(world):
    """``reduce(sid, action)``: the shifter's managed policy without that action, restored after the test."""
    yield from launched.reducing(world)
