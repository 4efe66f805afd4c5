"""The fence: the database itself refuses the application user's writes on every colour but one.

Also the connector both the fence and the drain use: the cluster's master login from its secret,
over TLS verified against the RDS CA bundle. Unverified TLS only when DB_TLS_VERIFY=false is set
explicitly (dev), and then a warning in the log.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .config import DbConfig

#: MySQL ER_NO_SUCH_THREAD: KILL of a session that has already ended.
MYSQL_UNKNOWN_THREAD = 1094
#: The CA bundle read from SSM, written for the driver once per execution environment: SSM parameter name ->
#: the file (under the temp dir, /tmp on Lambda, its only writable path). Kept per process, not found by a
#: fixed name: a file left by another process (the emulator runs every function on one machine's /tmp, and
#: the schema migration writes its own) must never stand in for the parameter.
_ca_bundle_files: dict[str, str] = {}
log = logging.getLogger(__name__)


DML = ("INSERT", "UPDATE", "DELETE")


class SqlGrantFence:
    """Fence (a): the database itself refuses the application user's writes.

    ``connect(colour)`` returns a DB-API connection as the cluster's master user (never the
    application user, never DMS's: DMS keeps writing the reverse replication into a fenced cluster).
    Fencing revokes INSERT/UPDATE/DELETE on the payment schema and then kills every session of the
    application user: MySQL checks schema-level privileges of an open session only at its next USE,
    so a pooled connection opened before the REVOKE could otherwise keep writing. An in-flight
    transaction on a killed session is rolled back (the client retries with its idempotency key).
    ``kill_sql``: Aurora has no SUPER, so ``CALL mysql.rds_kill(%s)``; plain MySQL/MariaDB ``KILL %s``.
    """

    def __init__(
        self,
        connect: Callable[[str], Any],
        *,
        user: str = "payments_app",
        host: str = "%",
        schema: str = "payments",
        kill_sql: str = "CALL mysql.rds_kill(%s)",
    ) -> None:
        self.connect = connect
        self.user, self.host, self.schema, self.kill_sql = user, host, schema, kill_sql
        #: colour -> the highest session id when the fence listed the sessions to kill (for the drain's check).
        self.watermarks: dict[str, int] = {}

    @property
    def grantee(self) -> str:
        return f"'{self.user}'@'{self.host}'"

    def _run(self, colour: str, fn: Callable[[Any], Any]) -> Any:
        return run_sql(self.connect, colour, fn)

    def _dml_held(self, cur: Any) -> set[str]:
        cur.execute(
            "SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = %s AND TABLE_SCHEMA = %s "
            "UNION SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s",
            (self.grantee, self.schema, self.grantee),
        )
        return {row[0] for row in cur.fetchall()} & set(DML)

    def is_fenced(self, colour: str) -> bool:
        return not self._run(colour, self._dml_held)

    def fence(self, colour: str) -> str:
        def go(cur: Any) -> str:
            held = self._dml_held(cur)
            if held:
                # Identifiers cannot be bound parameters; user, host and schema come from our configuration.
                cur.execute(f"REVOKE {', '.join(sorted(held))} ON `{self.schema}`.* FROM %s@%s", (self.user, self.host))
            # Listed after the REVOKE: every session that may still hold the old grants is in this list
            # (and has an id up to the watermark); one opened later logs in without DML.
            cur.execute("SELECT ID, USER FROM information_schema.PROCESSLIST")
            sessions = cur.fetchall()
            self.watermarks[colour] = max((int(pid) for pid, _ in sessions), default=0)
            killed = []
            for (pid,) in ((pid,) for pid, user in sessions if user == self.user):
                try:
                    cur.execute(self.kill_sql, (pid,))
                    killed.append(pid)
                except Exception as err:  # the driver's error class is not imported here
                    # Only "unknown thread id": the session ended on its own meanwhile. Anything else
                    # (no privilege to kill) would leave a stale session able to write: fail the fence.
                    if not (err.args and err.args[0] == MYSQL_UNKNOWN_THREAD):
                        raise
            return f"revoked {'/'.join(sorted(held)) or 'nothing (already fenced)'} of {self.grantee} on {self.schema}, killed {len(killed)} session(s)"

        return f"{colour}: " + self._run(colour, go)

    def unfence(self, colour: str) -> str:
        def go(cur: Any) -> str:
            cur.execute(f"GRANT {', '.join(DML)} ON `{self.schema}`.* TO %s@%s", (self.user, self.host))
            return f"granted {'/'.join(DML)} to {self.grantee} on {self.schema}"

        return f"{colour}: " + self._run(colour, go)


def ca_bundle_path(clients: Callable[[str], Any], config: DbConfig) -> str | None:
    """The CA bundle file: DB_CA_BUNDLE (a path), or DB_CA_BUNDLE_PARAMETER (SSM, written to /tmp once)."""
    if config.ca_bundle:
        if not Path(config.ca_bundle).is_file():
            raise ConfigError(f"DB_CA_BUNDLE={config.ca_bundle!r} is not a file")
        return config.ca_bundle
    if config.ca_bundle_parameter:
        path = _ca_bundle_files.get(config.ca_bundle_parameter)
        if path is None or not Path(path).is_file():
            pem = clients("ssm").get_parameter(Name=config.ca_bundle_parameter)["Parameter"]["Value"]
            if "BEGIN CERTIFICATE" not in pem:
                raise ConfigError(f"SSM {config.ca_bundle_parameter} holds no PEM certificate (load the RDS CA bundle: docs/db-switchover.md)")
            fd, path = tempfile.mkstemp(prefix="rds-ca-bundle-", suffix=".pem")
            with os.fdopen(fd, "w") as out:
                out.write(pem)
            _ca_bundle_files[config.ca_bundle_parameter] = path
        return path
    return None


def tls_options(ca_path: str | None, config: DbConfig) -> dict[str, Any]:
    """PyMySQL ``ssl`` options: verified against the bundle; unverified only when explicitly allowed."""
    if ca_path:
        return {"ca": ca_path, "check_hostname": True}
    if config.verify_tls:
        raise ConfigError(
            "the switchover refuses to connect to the databases with unverified TLS: set DB_CA_BUNDLE_PARAMETER "
            "(an SSM parameter holding the RDS CA bundle) or DB_CA_BUNDLE (a file); DB_TLS_VERIFY=false only in dev"
        )
    log.warning("DB_TLS_VERIFY=false: connecting to the databases with TLS NOT verified (dev only)")
    return {"check_hostname": False}


def secrets_connector(clients: Callable[[str], Any], config: DbConfig, *, connect_timeout: int = 5) -> Callable[[str], Any]:
    """``connect(colour)``: pymysql as the master user of the colour's secret, over verified TLS."""
    ssl = tls_options(ca_bundle_path(clients, config), config)

    def connect(colour: str) -> Any:
        import pymysql  # vendored into the Lambda zip (requirements.txt)

        secret = json.loads(clients("secretsmanager").get_secret_value(SecretId=config.secret_arn(colour))["SecretString"])
        return pymysql.connect(
            host=secret["host"], port=int(secret.get("port", 3306)), user=secret["username"], password=secret["password"],
            ssl=ssl, connect_timeout=connect_timeout, read_timeout=15, write_timeout=15, autocommit=False,
        )

    return connect


def run_sql(connect: Callable[[str], Any], colour: str, fn: Callable[[Any], Any]) -> Any:
    """One short session as the master user: ``fn(cursor)``, committed, closed whatever happens."""
    conn = connect(colour)
    try:
        with conn.cursor() as cur:
            out = fn(cur)
        conn.commit()
        return out
    finally:
        conn.close()
