"""Fixtures shared by several test folders."""

import pytest


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
    """A real Sceptre stack object of dev/route53 (external name payments-dev-route53)."""
    from sceptre.stack import Stack

    return Stack(name="dev/route53", project_code="payments", region="us-east-1",
                 template_handler_config={"type": "file", "path": "templates/route53.py"})
