"""EMULATOR_DB_ENDPOINTS: a named Aurora cluster is answered by a real local MariaDB.

The emulator runs Lambdas as local subprocesses; code "inside the VPC" reads the cluster's
endpoint from RDS, from the secret a SecretTargetAttachment fills in, or from a template's
GetAtt, and connects. Each of those paths must lead to the MariaDB the setting names, and a
cluster it does not name keeps moto's made-up name.
"""

from __future__ import annotations

import json
import os

import pymysql
import pytest

from bluegreen import local_mariadb
from tests.conftest import unavailable
from tests.emulator_process import ROOT, free_port, run_launcher

from .conftest import Emulator, Stacks
from .parts import aurora_template

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def database():
    if local_mariadb.missing():
        unavailable(local_mariadb.missing("the local-database endpoint tests"))
    with local_mariadb.MariaDB("endpoint") as db:
        yield db


@pytest.fixture(scope="module")
def named_emulator(database):
    """An emulator of its own, started with the setting naming one cluster (read at start)."""
    port = free_port()
    named = "aurora-named-db"
    os.environ["EMULATOR_DB_ENDPOINTS"] = f"{named}=127.0.0.1:{database.port}@{database.socket_path}"
    try:
        started = run_launcher("start", port=port)
    finally:
        del os.environ["EMULATOR_DB_ENDPOINTS"]
    if started.returncode != 0:
        pytest.fail(f"scripts/emulator start failed:\n{started.stderr}")
    yield Emulator(url=started.stdout.strip().splitlines()[-1], port=port), named
    run_launcher("stop", port=port, timeout=60)


def test_named_cluster__every_endpoint_path__leads_to_the_local_database(named_emulator, database):
    emulator, named = named_emulator
    stacks = Stacks(emulator)
    try:
        deployed = stacks.create(aurora_template("named-db"), name="named-db")
        rds = emulator.client("rds")
        cluster = rds.describe_db_clusters(DBClusterIdentifier=named)["DBClusters"][0]
        writer = rds.describe_db_instances(DBInstanceIdentifier=deployed.resources["Writer"])["DBInstances"][0]
        secret = json.loads(emulator.client("secretsmanager").get_secret_value(SecretId=deployed.outputs["SecretArn"])["SecretString"])
        status = run_launcher("status", port=emulator.port, timeout=30)

        assert (cluster["Endpoint"], cluster["Port"]) == ("127.0.0.1", database.port)
        assert cluster["ReaderEndpoint"] == "127.0.0.1"
        assert (writer["Endpoint"]["Address"], writer["Endpoint"]["Port"]) == ("127.0.0.1", database.port)
        assert (deployed.outputs["Endpoint"], deployed.outputs["Port"]) == ("127.0.0.1", str(database.port))
        assert (secret["host"], int(secret["port"])) == ("127.0.0.1", database.port)
        assert f"databases: {named} -> 127.0.0.1:{database.port}" in status.stdout
        # RDS creates the master user with the cluster: the secret's login works at the endpoint.
        with pymysql.connect(host=cluster["Endpoint"], port=cluster["Port"], user=secret["username"],
                             password=secret["password"]) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT @@port, CURRENT_USER()")
                assert cur.fetchone() == (database.port, f"{secret['username']}@%")  # the server named, as master
    finally:
        stacks.cleanup()


def test_cluster_not_named__keeps_moto_endpoint(named_emulator):
    emulator, _named = named_emulator
    stacks = Stacks(emulator)
    try:
        stacks.create(aurora_template("other-db"), name="other-db")
        cluster = emulator.client("rds").describe_db_clusters(DBClusterIdentifier="aurora-other-db")["DBClusters"][0]

        assert cluster["Endpoint"].startswith("aurora-other-db.cluster-")
        assert cluster["Endpoint"].endswith(".rds.amazonaws.com")
        assert cluster["Port"] == 3306
    finally:
        stacks.cleanup()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("aurora-blue-dev-d01", "is not <cluster-id>=<host>:<port>"),
        ("aurora-blue-dev-d01=127.0.0.1:99999", "port 99999 of 'aurora-blue-dev-d01' is outside 1-65535"),
        ("aurora-blue-dev-d01=127.0.0.1:3306@relative.sock", "the socket after '@' must be an absolute path"),
        ("Blue_Cluster=127.0.0.1:3306", "is not an RDS cluster identifier"),
    ],
)
def test_malformed_setting__start_refused_naming_the_form(monkeypatch, value, message):
    monkeypatch.setenv("EMULATOR_DB_ENDPOINTS", value)

    result = run_launcher("start", port=free_port(), timeout=60)

    assert result.returncode == 2
    assert message in result.stderr


def test_master_user_sql__quotes_the_password_and_refuses_a_bad_name():
    import sys

    sys.path.insert(0, str(ROOT / "emulator"))
    from bluegreen_emulator.extensions.database_endpoints import EndpointSettingError, master_user_sql

    sql = master_user_sql("payadmin", "p'w\\x")

    assert "IDENTIFIED BY 'p\\'w\\\\x'" in sql and "WITH GRANT OPTION" in sql
    with pytest.raises(EndpointSettingError):
        master_user_sql("x'; DROP USER root; --", "pw")
