"""The drain: prove replication carried every payment of the fenced writer to the new one, in seconds.

After the fence the old writer takes no application write. A marker row written there afterwards
(by the master login, which the fence does not touch) reaches the new writer only after every
transaction committed before it: replication (DMS CDC's transactional apply, MySQL/MariaDB binlog
replication) applies in commit order. So its arrival is the drain point, with no metric period to wait.
Before the marker, ``quiet`` checks that the fence took: no session of the application user left and
no open transaction (an open transaction across the switch is how Vitess once lost writes, PR 9453).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ShiftError
from .fence import run_sql

MARKER_TABLE = "switchover_marker"
#: MySQL ER_NO_SUCH_TABLE and ER_BAD_DB_ERROR: the marker table (or its schema) does not exist yet.
NO_SUCH_TABLE = (1146, 1049)


class DrainError(ShiftError):
    """The fence did not take (sessions or transactions left), so no drain point can be recorded."""


class SqlMarkerDrain:
    def __init__(self, connect: Callable[[str], Any], *, user: str = "payments_app", schema: str = "bluegreen_ops") -> None:
        self.connect, self.user, self.schema = connect, user, schema

    @property
    def table(self) -> str:
        # Identifiers cannot be bound parameters; the schema comes from our configuration.
        return f"`{self.schema}`.`{MARKER_TABLE}`"

    def quiet(self, colour: str, *, opened_before: int | None = None) -> str:
        """``opened_before``: the fence's session watermark. Sessions above it logged in after the REVOKE
        and hold no DML (the service reconnects at once, through the name that still points here), so
        only the ones up to it must be gone; without it, every session of the user counts."""
        limit = opened_before if opened_before is not None else 2**63

        def go(cur: Any) -> str:
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND ID <= %s", (self.user, limit))
            sessions = [row[0] for row in cur.fetchall()]
            cur.execute(
                "SELECT t.trx_id, p.USER FROM information_schema.INNODB_TRX t "
                "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.USER = %s AND p.ID <= %s",
                (self.user, limit),
            )
            open_trx = [row[0] for row in cur.fetchall()]
            which = f" opened before the fence (id <= {opened_before})" if opened_before is not None else ""
            if sessions or open_trx:
                raise DrainError(f"{colour}: the fence did not take: {len(sessions)} session(s) of {self.user}{which} and "
                                 f"{len(open_trx)} open transaction(s) left")
            return f"{colour}: no session of {self.user}{which}, no open transaction"

        return run_sql(self.connect, colour, go)

    def mark(self, colour: str, token: str) -> str:
        def go(cur: Any) -> str:
            insert = (f"INSERT INTO {self.table} (token) VALUES (%s)", (token,))
            if not execute_if_table_exists(cur, *insert):
                # The first switchover creates the table (replication carries it to the other side); later
                # ones only insert: a DDL statement in the middle of the write pause would slow its apply.
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{self.schema}`")
                cur.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (token VARCHAR(64) PRIMARY KEY, "
                            "written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB")
                cur.execute(*insert)
            return f"{colour}: drain marker {token} written"

        return run_sql(self.connect, colour, go)

    def arrived(self, colour: str, token: str) -> bool:
        def go(cur: Any) -> bool:
            if not execute_if_table_exists(cur, f"SELECT COUNT(*) FROM {self.table} WHERE token = %s", (token,)):
                return False  # the table itself has not replicated yet
            return bool(cur.fetchone()[0])

        return bool(run_sql(self.connect, colour, go))

    def position(self, colour: str) -> str:
        return str(run_sql(self.connect, colour, binlog_position))


def binlog_position(cur: Any) -> str:
    """``<file>:<position>`` of the server's binary log now (DMS's CdcStartPosition format for MySQL,
    e.g. ``mysql-bin-changelog.000024:373``). SHOW MASTER STATUS needs REPLICATION CLIENT, which the
    master user has; Aurora MySQL 3 (8.0) and MariaDB both answer it."""
    cur.execute("SHOW MASTER STATUS")
    row = cur.fetchone()
    if not row:
        raise DrainError("SHOW MASTER STATUS returned nothing: binary logging is off on the new writer, so the "
                         "reverse replication has no start position (binlog_format ROW is a DMS source prerequisite)")
    return f"{row[0]}:{row[1]}"


def execute_if_table_exists(cur: Any, sql: str, args: tuple) -> bool:
    """Run ``sql``; False, raising nothing, when the marker table (or its schema) does not exist yet."""
    try:
        cur.execute(sql, args)
        return True
    except Exception as err:  # the driver's error class is not imported here
        if err.args and err.args[0] in NO_SUCH_TABLE:
            return False
        raise
