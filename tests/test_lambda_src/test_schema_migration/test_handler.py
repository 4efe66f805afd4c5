"""The schema-migration custom resource against a real MariaDB (TLS verified) with the master secret in
Secrets Manager (moto): the payment schema at head, the IAM-auth user (fenced on green), binlog
retention set, and a second run without harm; a missing CA bundle or bad property is a FAILED answer
that names the fix and never the password."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pymysql
import pytest
from moto import mock_aws

from bluegreen import local_mariadb
from bluegreen.local_mariadb import ADMIN_PASSWORD, ADMIN_USER
from payment_api.schema import metadata
from tests import custom_resources
from tests.conftest import unavailable
from tests.test_app.test_migrate import head_revision

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT / "lambda_src") not in sys.path:
    sys.path.insert(0, str(ROOT / "lambda_src"))  # the Lambda's own top-level package, as in its zip

from schema_migration import handler  # noqa: E402 - after sys.path has lambda_src

CA_PARAMETER = "/payments-migration/dev-d01/db/rds-ca-bundle"
SECRET = "secret-db-blue-dev-d01"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if local_mariadb.missing():
        unavailable(local_mariadb.missing("the schema-migration custom resource tests"))
    tls = local_mariadb.write_test_tls(tmp_path_factory.mktemp("tls"))
    with local_mariadb.MariaDB("schema", binlog=False, extra_args=(
            f"--ssl-ca={tls['ca']}", f"--ssl-cert={tls['cert']}", f"--ssl-key={tls['key']}",
            "--require-secure-transport=ON")) as db:  # as Aurora's parameter group: no login without TLS
        db.add_rds_procedures()
        yield db, tls


@pytest.fixture
def aws(server, monkeypatch, tmp_path):
    db, tls = server
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(handler, "CA_BUNDLE_FILE", tmp_path / "rds-ca-bundle.pem")
    with mock_aws():
        secret = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "host": "127.0.0.1", "port": db.port,
                  "engine": "mysql", "dbClusterIdentifier": "aurora-blue-dev-d01"}
        arn = boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=json.dumps(secret))["ARN"]
        boto3.client("ssm").put_parameter(Name=CA_PARAMETER, Type="String", Value=Path(tls["ca"]).read_text())
        yield {"arn": arn, "clients": lambda service: boto3.client(service)}
    for sql in ("DROP USER IF EXISTS 'payments_app'@'%'", "DROP DATABASE IF EXISTS payments"):
        db.execute(sql)


def properties(arn: str, **overrides: str) -> dict:
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f", "ClusterIdentifier": "aurora-blue-dev-d01",
            "MasterSecretArn": arn, "DatabaseName": "payments", "AppUser": "payments_app", "Fenced": "false",
            "CaBundleParameter": CA_PARAMETER, "BinlogRetentionHours": "24", "Release": "lambda/schema_migration/x.zip",
            **overrides}


def event(request_type: str, props: dict, physical_id: str | None = None) -> dict:
    return custom_resources.request(request_type, "BlueSchema", "Custom::SchemaMigration", "payments-dev-database-schema/1",
                                    props, physical_id)


def run(aws):
    return lambda spec: handler.run(spec, clients=aws["clients"], region="us-east-1")


def test_create_then_update__schema_user_and_binlog_retention__second_run_harmless(server, aws):
    db, _tls = server

    created = handler.handle(event("Create", properties(aws["arn"])), run_migration=run(aws))
    again = handler.handle(event("Update", properties(aws["arn"]), created["PhysicalResourceId"]), run_migration=run(aws))
    tables = {row[0] for row in db.execute("SHOW TABLES FROM payments")}
    user = db.execute("SHOW CREATE USER 'payments_app'@'%'")[0][0]
    grants = " ".join(row[0] for row in db.execute("SHOW GRANTS FOR 'payments_app'@'%'"))
    retention = db.execute("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'")[0][0]

    assert (created["Status"], created["PhysicalResourceId"]) == ("SUCCESS", "schema-aurora-blue-dev-d01-payments")
    assert created["Data"]["Revision"] == head_revision()
    assert "user payments_app@'%' created with SELECT, INSERT, UPDATE, DELETE on payments.*" in created["Data"]["Done"]
    assert tables == set(metadata.tables) | {"alembic_version"}
    assert "REQUIRE SSL" in user and "unix_socket" in user
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON `payments`.*" in grants
    assert retention == "24"
    assert again["Status"] == "SUCCESS" and again["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert "grants left as they are" in again["Data"]["Done"] and f"revision {head_revision()} (already current)" in again["Data"]["Done"]


def test_create_on_green__new_user_fenced_select_only(server, aws):
    db, _tls = server

    answer = handler.handle(event("Create", properties(aws["arn"], Fenced="true")), run_migration=run(aws))
    grants = " ".join(row[0] for row in db.execute("SHOW GRANTS FOR 'payments_app'@'%'"))

    assert answer["Status"] == "SUCCESS"
    assert "GRANT SELECT ON `payments`.*" in grants and "INSERT" not in grants


def test_ca_bundle_not_loaded__tls_encrypted_not_verified__said_in_the_answer(server, aws):
    db, _tls = server
    boto3.client("ssm").put_parameter(Name=CA_PARAMETER, Type="String", Value="NOT LOADED: overwrite", Overwrite=True)

    answer = handler.handle(event("Create", properties(aws["arn"])), run_migration=run(aws))

    assert answer["Status"] == "SUCCESS" and answer["Data"]["Revision"] == head_revision()
    assert answer["Data"]["Tls"] == f"encrypted, not verified ({CA_PARAMETER} not loaded)"


def test_ca_bundle_loaded__tls_verified(server, aws):
    answer = handler.handle(event("Create", properties(aws["arn"])), run_migration=run(aws))

    assert answer["Data"]["Tls"] == "verified against the RDS CA bundle"


def test_wrong_ca__refused_nothing_created(server, aws, tmp_path):
    db, _tls = server
    other = local_mariadb.write_test_tls(tmp_path)
    boto3.client("ssm").put_parameter(Name=CA_PARAMETER, Type="String", Value=Path(other["ca"]).read_text(), Overwrite=True)

    answer = handler.handle(event("Create", properties(aws["arn"])), run_migration=run(aws))

    assert answer["Status"] == "FAILED" and "certificate verify failed" in answer["Reason"]
    assert not db.execute("SHOW DATABASES LIKE 'payments'")


def test_wrong_master_password__failed_without_the_password(server, aws):
    secret = json.dumps({"username": ADMIN_USER, "password": "wrong-pw-123", "host": "127.0.0.1", "port": server[0].port})
    boto3.client("secretsmanager").put_secret_value(SecretId=aws["arn"], SecretString=secret)

    answer = handler.handle(event("Create", properties(aws["arn"])), run_migration=run(aws))

    assert answer["Status"] == "FAILED"
    assert "Access denied" in answer["Reason"] and "wrong-pw-123" not in json.dumps(answer)


@pytest.mark.parametrize(("override", "message"), [
    ({"Fenced": "yes"}, "Fenced must be true or false"),
    ({"BinlogRetentionHours": "0"}, "BinlogRetentionHours must be 1-2160"),
    ({"CaBundleParameter": ""}, "missing properties: CaBundleParameter"),
])
def test_bad_property__failed_before_any_call(override, message):
    answer = handler.handle(event("Create", properties("arn:aws:secretsmanager:us-east-1:1:secret:x", **override)),
                            run_migration=lambda spec: pytest.fail("must not run"))

    assert answer["Status"] == "FAILED" and message in answer["Reason"]
    assert answer["PhysicalResourceId"] == "failed-r-1"


def test_delete__changes_nothing(server):
    answer = handler.handle(event("Delete", {}, "schema-aurora-blue-dev-d01-payments"),
                            run_migration=lambda spec: pytest.fail("a delete must not migrate"))

    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == "schema-aurora-blue-dev-d01-payments"


def test_requirements__the_versions_app_pins():
    pins = {line.split("==")[0].lower(): line for line in (ROOT / "app" / "requirements.txt").read_text().split()
            if "==" in line}
    ours = [line for line in (ROOT / "lambda_src" / "schema_migration" / "requirements.txt").read_text().split()
            if "==" in line]

    assert ours and all(pins.get(line.split("==")[0].lower()) == line for line in ours)


def test_pymysql_login_as_app_user_over_network__refused(server, aws):
    """The stand-in's IAM user has no password and no network login (stricter than Aurora's token login)."""
    handler.handle(event("Create", properties(aws["arn"])), run_migration=run(aws))

    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host="127.0.0.1", port=server[0].port, user="payments_app", password="", connect_timeout=3)
