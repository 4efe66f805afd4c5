"""The recorded run of the traffic shifter, shared by the Lambda-role and the people-role tests."""

import pytest
from moto import mock_aws

from tests.test_iam import lambda_run
from tests.test_lambda_src.test_traffic_shifter import world as w


@pytest.fixture(scope="session")
def recorded():
    """(the Lambda environment of the run, every call its code made), once per session."""
    mp = pytest.MonkeyPatch()
    try:
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            mp.delenv(var, raising=False)
        for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                           ("AWS_DEFAULT_REGION", "us-east-1"), ("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")):
            mp.setenv(var, value)
        w.enable_composite_alarms(mp)
        w.speed_up_sns(mp)
        clock = w.FakeClock()
        mp.setattr("moto.cloudwatch.models.utcnow", clock.utcnow)
        with mock_aws():
            env, calls = lambda_run.run_shifter(clock, mp)
    finally:
        mp.undo()
    return env, calls
