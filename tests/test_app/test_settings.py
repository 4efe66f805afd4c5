"""Settings: the one list of variables, equal to what the task definition sets, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payment_api.settings import TASK_VARIABLES, VARIABLES, Settings, SettingsError

COMPUTE = Path(__file__).resolve().parents[2] / "templates" / "compute.json"

LOCAL = {"APP_COLOUR": "blue", "DB_ENDPOINTS": "127.0.0.1", "DB_NAME": "payments", "DB_USER": "payments_app",
         "DB_PASSWORD": "pw", "PAYMENT_SIGNING_KEY": "k"}


def containers():
    resources = json.loads(COMPUTE.read_text())["Resources"]
    for name, res in resources.items():
        if res["Type"] == "AWS::ECS::TaskDefinition":
            yield name, res["Properties"]["ContainerDefinitions"][0]


def test_settings__task_definition__sets_exactly_the_task_variables_both_ways():
    found = list(containers())
    assert [n for n, _ in found] == ["BlueTaskDefinition", "GreenTaskDefinition"]
    for name, c in found:
        names = [e["Name"] for e in c["Environment"]] + [s["Name"] for s in c.get("Secrets", [])]
        assert len(names) == len(set(names)), name
        assert set(names) - TASK_VARIABLES == set(), f"{name} sets variables the app never reads"
        assert TASK_VARIABLES - set(names) == set(), f"{name} misses variables the app reads"


def test_settings__task_definition__signing_key_read_by_the_task_from_its_secret_never_given():
    for _, c in containers():
        assert not c.get("Secrets")
        env = {e["Name"]: e["Value"] for e in c["Environment"]}
        assert env["PAYMENT_SIGNING_KEY_SECRET_ARN"] == {"Ref": "SigningKeySecret"} and "PAYMENT_SIGNING_KEY" not in env


def test_settings__task_definition_values__accepted_by_settings(tmp_path):
    _, c = next(containers())
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {e["Name"]: e["Value"] for e in c["Environment"] if isinstance(e["Value"], str)}
    env.update(
        APP_PORT="8080",
        AWS_REGION="us-east-1",
        DB_ENDPOINTS="blue=aurora-blue-dev-d01.cluster-c1.us-east-1.rds.amazonaws.com,green=aurora-green-dev-d01.cluster-c1.us-east-1.rds.amazonaws.com",
        DB_CA_BUNDLE=str(ca),
        PAYMENT_SIGNING_KEY_SECRET_ARN="arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-signing-dev-d01-AbCdEf",
    )
    s = Settings.from_env(env)
    assert s.db_iam_auth and s.tls_self_signed and s.https and s.write_retry_seconds == 30
    assert [c for c, _ in s.db_endpoints] == ["blue", "green"]
    assert s.app_colour == "blue" and s.db_user == "payments_app" and s.db_port == 3306


def test_settings__healthcheck__the_image_healthcheck_command():
    for _, c in containers():
        assert c["HealthCheck"]["Command"] == ["CMD", "payment-api", "healthcheck"]


def test_settings__nothing_set__one_error_naming_every_missing_variable():
    with pytest.raises(SettingsError) as err:
        Settings.from_env({})
    for name in ("APP_COLOUR", "DB_ENDPOINTS", "DB_NAME", "DB_USER", "PAYMENT_SIGNING_KEY", "DB_PASSWORD"):
        assert name in str(err.value)


@pytest.mark.parametrize(
    "over, named",
    [
        ({"APP_PORT": "http"}, "APP_PORT"),
        ({"DB_PORT": "70000"}, "DB_PORT"),
        ({"DB_IAM_AUTH": "yes"}, "DB_IAM_AUTH"),
        ({"WRITE_RETRY_SECONDS": "0"}, "WRITE_RETRY_SECONDS"),
        ({"WRITE_RETRY_SECONDS": "ten"}, "WRITE_RETRY_SECONDS"),
        ({"DB_IAM_AUTH": "true"}, "AWS_REGION"),
        ({"DB_IAM_AUTH": "true", "AWS_REGION": "us-east-1"}, "DB_CA_BUNDLE"),
        ({"DB_IAM_AUTH": "true", "AWS_REGION": "us-east-1", "DB_CA_BUNDLE": "/nonexistent.pem"}, "DB_CA_BUNDLE"),
        ({"TLS_CERT_FILE": "/tmp/c.pem"}, "TLS_KEY_FILE"),
        ({"TLS_SELF_SIGNED": "true"}, "TLS_SELF_SIGNED"),
        ({"APP_COLOUR": "Blue!"}, "APP_COLOUR"),
    ],
)
def test_settings__bad_value__error_names_the_variable(over, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env({**LOCAL, **over})


def test_settings__migrate__needs_the_admin_login_not_the_signing_key():
    env = {k: v for k, v in LOCAL.items() if k != "PAYMENT_SIGNING_KEY"}
    with pytest.raises(SettingsError, match="DB_ADMIN_USER"):
        Settings.from_env(env, purpose="migrate")
    assert Settings.from_env({**env, "DB_ADMIN_USER": "admin"}, purpose="migrate").db_admin_user == "admin"


def test_settings__repr__hides_secrets():
    s = Settings.from_env({**LOCAL, "PAYMENT_SIGNING_KEY": "very-secret", "DB_PASSWORD": "pw-secret"})
    assert "very-secret" not in repr(s) and "pw-secret" not in repr(s)


def test_settings__every_variable__documented_with_a_known_source():
    assert {v.where for v in VARIABLES} == {"task", "local", "migrate", "rotation", "rehearsal"}
    assert all(v.doc for v in VARIABLES)
