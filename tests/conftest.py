"""Fixtures shared by several test folders."""

import os
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Set to 1 by .ci/run: CI provides everything a test needs, so a test that finds something
#: missing fails there instead of skipping; a clone on its own skips with the same reason.
REQUIRE_ALL = "BLUEGREEN_REQUIRE_ALL"


def unavailable(reason: str) -> NoReturn:
    """Skip the test for want of something outside the repository, or fail under BLUEGREEN_REQUIRE_ALL=1."""
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ALL}=1: required here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS, with credentials that can reach nothing else: a boto3 session in us-east-1."""
    import boto3
    from moto import mock_aws

    offline_aws(monkeypatch)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def offline_aws(mp: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    """Credentials that reach nothing but moto: the testing keys and ``region``, and none of the shell's
    own profile, session token or endpoint to fall back on."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        mp.delenv(var, raising=False)
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", region)):
        mp.setenv(var, value)


@pytest.fixture
def fresh_sceptre_connections():
    """Sceptre caches boto3 sessions and clients per process: start and end without them, so a
    client made for another endpoint (moto in-process, the moto server, none) is never reused."""
    from sceptre.connection_manager import ConnectionManager

    def clear():
        ConnectionManager._boto_sessions.clear()
        ConnectionManager._clients.clear()
    clear()
    yield
    clear()


@pytest.fixture
def route53_stack(fresh_sceptre_connections):
    """A real Sceptre stack object of dev/route53/route53 (external name payments-dev-route53-route53)."""
    from sceptre.stack import Stack

    return Stack(name="dev/route53/route53", project_code="payments", region="us-east-1",
                 template_handler_config={"type": "file", "path": "templates/route53.py"})
