"""`payment-api migrate`: the one-off migration task (docs/deployment.md, step 5).

Runs as an admin login with DDL rights (DB_ADMIN_USER / DB_ADMIN_PASSWORD, TLS verified against
DB_CA_BUNDLE when set), never as the DML-only application user: creates the schema if missing
and upgrades it to the newest Alembic revision. ``--create-app-user`` also creates DB_USER with
SELECT/INSERT/UPDATE/DELETE on the schema (an IAM user when DB_IAM_AUTH is true, else a password
user for local runs). An EXISTING user's grants are never touched: re-granting DML to a fenced
cluster's user would silently lift the writer fence (docs/db-switchover.md).
"""

from __future__ import annotations

import re
from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from payment_api import database
from payment_api.settings import Settings

APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
#: How a server authenticates the IAM user, by server kind. Aurora MySQL: AWS's plugin, a 15-minute
#: token per login, no password (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/
#: UsingWithRDS.IAMDBAuth.DBAccounts.html). MariaDB is only the local stand-in for Aurora (the
#: rehearsal, the emulator's EMULATOR_DB_ENDPOINTS): it has no such plugin, so its IAM user gets
#: unix_socket -- no password and no login over the network at all, stricter than Aurora.
IAM_AUTHENTICATION = {
    "aurora-mysql": "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
    "mariadb": "IDENTIFIED VIA unix_socket",
}
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class MigrationError(RuntimeError):
    pass


def _identifier(kind: str, value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise MigrationError(f"{kind} {value!r} must be 1-64 letters, digits or underscores (it is spliced into DDL)")
    return value


def admin_engine(settings: Settings, *, database_name: str | None = "") -> Engine:
    engine = create_engine(
        database.url(settings, user=settings.db_admin_user, database=database_name),
        connect_args=database.connect_args(settings), poolclass=NullPool)
    if settings.db_admin_password:
        @event.listens_for(engine, "do_connect")
        def _password(dialect, conn_rec, cargs, cparams):  # SQLAlchemy's event signature
            cparams["password"] = settings.db_admin_password
    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("payment_api") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        exists = conn.execute(text(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'alembic_version'"
        )).scalar()
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if exists else None


def migrate(settings: Settings, *, create_app_user: bool = False, fenced: bool = False, say=print) -> list[str]:
    """Create the schema if missing, upgrade it to head, optionally create the app user. Returns what it did."""
    db = _identifier("DB_NAME", settings.db_name)
    done = []
    server = admin_engine(settings, database_name=None)
    try:
        with server.begin() as conn:
            conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        done.append(f"schema {db} present")
        if create_app_user:
            done.append(_create_app_user(server, settings, db, fenced))
    finally:
        server.dispose()

    engine = admin_engine(settings)
    try:
        before = current_revision(engine)
        command.upgrade(alembic_config(engine), "head")
        after = current_revision(engine)
        done.append(f"revision {before or 'none'} -> {after}" if before != after else f"revision {after} (already current)")
    finally:
        engine.dispose()
    for line in done:
        say(f"payment-api migrate: {line}")
    return done


def server_kind(version: str) -> str:
    """``SELECT VERSION()`` -> a key of IAM_AUTHENTICATION (Aurora and RDS MySQL report no MariaDB)."""
    return "mariadb" if "mariadb" in version.lower() else "aurora-mysql"


def _create_app_user(server: Engine, settings: Settings, db: str, fenced: bool) -> str:
    user = _identifier("DB_USER", settings.db_user)
    with server.begin() as conn:
        exists = conn.execute(text("SELECT COUNT(*) FROM mysql.user WHERE User = :u AND Host = '%'"), {"u": user}).scalar()
        if exists:
            return (f"user {user}@'%' exists: grants left as they are (the writer fence owns DML grants; "
                    "SHOW GRANTS to check)")
        if settings.db_iam_auth:
            kind = server_kind(conn.execute(text("SELECT VERSION()")).scalar() or "")
            conn.execute(text(f"CREATE USER `{user}`@'%' {IAM_AUTHENTICATION[kind]} REQUIRE SSL"))
        elif settings.db_password:
            conn.execute(text(f"CREATE USER `{user}`@'%' IDENTIFIED BY :pw"), {"pw": settings.db_password})
        else:
            raise MigrationError("--create-app-user needs DB_IAM_AUTH=true (Aurora) or DB_PASSWORD (local)")
        privileges = "SELECT" if fenced else APP_PRIVILEGES
        conn.execute(text(f"GRANT {privileges} ON `{db}`.* TO `{user}`@'%'"))
    return f"user {user}@'%' created with {privileges} on {db}.*" + (" (fenced: not the writer)" if fenced else "")
