"""Fault injection exists only with the rehearsal's explicit setting: never in a task definition, refused
on ECS and with IAM auth; with it, PUT /rehearsal/faults makes payments fail or slow and nothing is lost."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.faults import ROUTE, Faults
from payment_api.settings import ECS_MARKERS, VARIABLES, Settings, SettingsError

from .conftest import count
from .test_api import body
from .test_settings import LOCAL, containers

REHEARSAL_ONLY = {v.name for v in VARIABLES if v.where == "rehearsal"}


def test_faults__task_definitions__never_set_a_rehearsal_variable():
    assert "REHEARSAL_FAULTS" in REHEARSAL_ONLY
    for name, c in containers():
        names = {e["Name"] for e in c["Environment"]} | {s["Name"] for s in c.get("Secrets", [])}
        assert names & REHEARSAL_ONLY == set(), name


@pytest.mark.parametrize("marker", ECS_MARKERS)
def test_faults__on_ecs__refused_at_start(marker):
    with pytest.raises(SettingsError, match="REHEARSAL_FAULTS=true is refused: this is an ECS task"):
        Settings.from_env({**LOCAL, "REHEARSAL_FAULTS": "true", marker: "http://169.254.170.2/v4/x"})
    # The same task without the setting starts.
    assert not Settings.from_env({**LOCAL, marker: "http://169.254.170.2/v4/x"}).rehearsal_faults


def test_faults__with_iam_auth__refused_at_start(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {**LOCAL, "DB_IAM_AUTH": "true", "AWS_REGION": "us-east-1", "DB_CA_BUNDLE": str(ca), "REHEARSAL_FAULTS": "true"}
    with pytest.raises(SettingsError, match="refused with DB_IAM_AUTH=true"):
        Settings.from_env(env)


def test_faults__bad_value__named():
    with pytest.raises(SettingsError, match="REHEARSAL_FAULTS='yes' must be true or false"):
        Settings.from_env({**LOCAL, "REHEARSAL_FAULTS": "yes"})


@pytest.mark.parametrize("bad", [[], {"error_rate": 2}, {"error_rate": -1}, {"added_latency_ms": "5"},
                                 {"surprise": 1}, {"error_rate": True}])
def test_faults__parse__refuses_bad_bodies(bad):
    with pytest.raises(ValueError):
        Faults.parse(bad)


def _client(schema, identity, **extra):
    settings = Settings.from_env({**schema["env"], **extra})
    return TestClient(create_app(settings, make_engine(settings)), headers=identity)


def test_faults__without_the_setting__no_control_route(schema, identity):
    with _client(schema, identity) as client:
        assert client.put(ROUTE, json={"error_rate": 1}).status_code in (404, 405)
        assert client.get(ROUTE).status_code in (404, 405)


def test_faults__error_rate_one__every_payment_500_and_nothing_written_then_retry_succeeds(schema, identity):
    with _client(schema, identity, REHEARSAL_FAULTS="true") as client:
        assert client.put(ROUTE, json={"error_rate": 1}).json() == {"error_rate": 1.0, "added_latency_ms": 0.0,
                                                                     "db_delay_ms": 0.0}
        key = f"k-{uuid.uuid4()}"
        failed = client.post("/payments", json=body(), headers={"Idempotency-Key": key})
        assert failed.status_code == 500 and "injected" in failed.json()["error"]
        assert count(schema["mariadb"], f"SELECT COUNT(*) FROM `{schema['name']}`.idempotency_keys") == 0
        client.put(ROUTE, json={})
        ok = client.post("/payments", json=body(), headers={"Idempotency-Key": key})
        assert ok.status_code == 201
        assert count(schema["mariadb"], f"SELECT COUNT(*) FROM `{schema['name']}`.payments") == 1


def test_faults__added_latency_and_slow_database__slow_the_payment(schema, identity):
    with _client(schema, identity, REHEARSAL_FAULTS="true") as client:
        client.post("/payments", json=body(), headers={"Idempotency-Key": f"k-{uuid.uuid4()}"})  # warm pool
        for faults, at_least in (({"added_latency_ms": 300}, 0.3), ({"db_delay_ms": 100}, 0.1)):
            client.put(ROUTE, json=faults)
            started = time.perf_counter()
            assert client.post("/payments", json=body(), headers={"Idempotency-Key": f"k-{uuid.uuid4()}"}).status_code == 201
            assert time.perf_counter() - started >= at_least, faults
        assert client.put(ROUTE, json={"error_rate": 3}).status_code == 422
