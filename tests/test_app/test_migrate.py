"""`payment-api migrate` on a real MariaDB: schema at head, the app user DML-only, the fence's grants respected."""

from __future__ import annotations

import pymysql
import pytest
from sqlalchemy import inspect

from payment_api.migrate import MigrationError, admin_engine, current_revision, migrate
from payment_api.schema import metadata
from payment_api.settings import Settings

from .conftest import APP_PW, APP_USER, base_env, root


def grants(mariadb):
    with root(mariadb) as conn, conn.cursor() as cur:
        cur.execute(f"SHOW GRANTS FOR '{APP_USER}'@'%'")
        return " ".join(r[0] for r in cur.fetchall())


def test_migrate__fresh_schema__tables_of_schema_py_at_head(schema):
    settings = Settings.from_env(schema["env"], purpose="migrate")
    engine = admin_engine(settings)
    try:
        assert current_revision(engine) == "0002"
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrate__run_again__already_current(schema):
    done = migrate(Settings.from_env(schema["env"], purpose="migrate"), say=lambda _: None)
    assert "revision 0002 (already current)" in done


def test_migrate__app_user__dml_only_and_cannot_create_tables(schema):
    g = grants(schema["mariadb"])
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON `" + schema["name"] + "`.*" in g
    with pymysql.connect(host="127.0.0.1", port=schema["mariadb"]["port"], user=APP_USER, password=APP_PW,
                         database=schema["name"]) as conn, conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as err:
            cur.execute("CREATE TABLE sneaky (id INT)")
        assert err.value.args[0] == 1142


def test_migrate__existing_fenced_user__grants_left_alone(schema):
    m = schema["mariadb"]
    with root(m) as conn, conn.cursor() as cur:
        cur.execute(f"REVOKE INSERT, UPDATE, DELETE ON `{schema['name']}`.* FROM '{APP_USER}'@'%'")
    done = migrate(Settings.from_env(schema["env"], purpose="migrate"), create_app_user=True, say=lambda _: None)
    assert any("grants left as they are" in d for d in done)
    assert "INSERT" not in grants(m)


def test_migrate__fenced_flag__new_user_select_only(schema):
    with root(schema["mariadb"]) as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER '{APP_USER}'@'%'")
    migrate(Settings.from_env(schema["env"], purpose="migrate"), create_app_user=True, fenced=True, say=lambda _: None)
    g = grants(schema["mariadb"])
    assert "GRANT SELECT ON" in g and "INSERT" not in g


def test_migrate__bad_schema_name__refused_before_any_ddl(mariadb):
    env = base_env(mariadb, "pay`ments; DROP DATABASE mysql")
    with pytest.raises(MigrationError, match="DB_NAME"):
        migrate(Settings.from_env(env, purpose="migrate"), say=lambda _: None)


def test_server_kind__mariadb_stand_in_and_aurora():
    from payment_api.migrate import server_kind

    assert server_kind("10.11.19-MariaDB-0+deb12u1") == "mariadb"
    assert server_kind("8.0.mysql_aurora.3.05.2") == "aurora-mysql"


def test_migrate__iam_user_over_verified_tls__created_once_then_left_alone(mariadb):
    """What the schema-migration custom resource runs (DB_IAM_AUTH=true, TLS verified against the CA):
    the schema at head and the IAM user (no password, TLS required, DML only), then again without harm."""
    name = "payments_iam"
    with root(mariadb) as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{APP_USER}'@'%'")
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    env = base_env(mariadb, name, DB_IAM_AUTH="true", AWS_REGION="us-east-1", DB_CA_BUNDLE=mariadb["ca"])
    env.pop("DB_PASSWORD")
    settings = Settings.from_env(env, purpose="migrate")
    try:
        first = migrate(settings, create_app_user=True, say=lambda _: None)
        second = migrate(settings, create_app_user=True, say=lambda _: None)
        with root(mariadb) as conn, conn.cursor() as cur:
            cur.execute(f"SHOW CREATE USER '{APP_USER}'@'%'")
            created = cur.fetchone()[0]
        engine = admin_engine(settings)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    finally:
        with root(mariadb) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    assert first == [f"schema {name} present", f"user {APP_USER}@'%' created with SELECT, INSERT, UPDATE, DELETE on {name}.*",
                     f"revision none -> {head_revision()}"]
    assert "unix_socket" in created and "REQUIRE SSL" in created and "PASSWORD" not in created.upper().replace("PASSWORD EXPIRE", "")
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON `" + name + "`.*" in grants(mariadb)
    assert second[1].endswith("grants left as they are (the writer fence owns DML grants; SHOW GRANTS to check)")
    assert second[2] == f"revision {head_revision()} (already current)"
    assert revision == head_revision()


def head_revision() -> str:
    """The newest Alembic revision of app/payment_api/migrations (what a migration ends at)."""
    from alembic.script import ScriptDirectory

    from payment_api.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()
