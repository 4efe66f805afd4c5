"""What stands in for DMS CDC and its reverse task between two local MariaDB servers (local_mariadb.py):
row-based GTID replication, one direction at a time (``replicate(source, replica)``), stopped and
reversed by the switchover. ``replica_status`` is the one reader of ``SHOW SLAVE STATUS``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pymysql

from bluegreen.local_mariadb import REPL_PASSWORD, REPL_USER, MariaDB, MariaDBError


@dataclass(frozen=True)
class ReplicaStatus:
    """One server's ``SHOW SLAVE STATUS`` row, read by ``replica_status`` ({} when it replicates from nobody).

    The one reading of it: the rehearsal's replication adapter, its data gate and the helpers here
    all judge a replica through these properties.
    """

    row: Mapping[str, Any]

    @property
    def configured(self) -> bool:
        return bool(self.row)

    @property
    def failed(self) -> bool:
        return bool(self.row.get("Last_SQL_Errno") or self.row.get("Last_IO_Errno"))

    @property
    def running(self) -> bool:
        return (self.row.get("Slave_IO_Running"), self.row.get("Slave_SQL_Running")) == ("Yes", "Yes")

    @property
    def applying(self) -> bool:
        """The applier runs and the fetcher runs or is connecting: from here no transaction is missed."""
        return (self.row.get("Slave_SQL_Running") == "Yes" and self.row.get("Slave_IO_Running") in ("Yes", "Connecting")
                and not self.failed)

    @property
    def state(self) -> str:
        """stopped, failed, running or starting (the words of the switchover's Replication port)."""
        if not self.row:
            return "stopped"
        if self.failed:
            return "failed"
        if self.running:
            return "running"
        threads = (self.row.get("Slave_IO_Running"), self.row.get("Slave_SQL_Running"))
        return "starting" if "Yes" in threads or "Connecting" in threads else "stopped"

    @property
    def lag(self) -> float | None:
        seconds = self.row.get("Seconds_Behind_Master")
        return float(seconds) if seconds is not None else None

    def describe(self) -> str:
        return (f"IO={self.row.get('Slave_IO_Running')} SQL={self.row.get('Slave_SQL_Running')} "
                f"error={self.row.get('Last_Error') or self.row.get('Last_IO_Error') or '-'}")


def replica_status(conn: pymysql.connections.Connection) -> ReplicaStatus:
    """``SHOW SLAVE STATUS`` over ``conn`` (a root connection, kept or new)."""
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW SLAVE STATUS")
        return ReplicaStatus(dict(cur.fetchone() or {}))


def start_replica(conn: pymysql.connections.Connection, source_port: int) -> None:
    """Over the replica's root ``conn``: replicate from 127.0.0.1:``source_port``, continuing from its own position.

    A replica that was a source before (reversed) holds every transaction it wrote or applied in its
    binary log (log_slave_updates), so its slave position is its current position.
    """
    with conn.cursor() as cur:
        cur.execute("STOP SLAVE")
        cur.execute("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_current_pos")
        cur.execute(f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={int(source_port)}, "
                    f"MASTER_USER='{REPL_USER}', MASTER_PASSWORD='{REPL_PASSWORD}', MASTER_CONNECT_RETRY=1, "
                    "MASTER_USE_GTID=slave_pos")
        cur.execute("START SLAVE")


def replicate(source: MariaDB, replica: MariaDB) -> None:
    """Start row-based GTID replication source -> replica (replica continues from its own slave_pos)."""
    with replica.root() as conn:
        start_replica(conn, source.port)


def stop_replication(replica: MariaDB) -> None:
    replica.execute("STOP SLAVE")


def replication_status(replica: MariaDB) -> ReplicaStatus:
    with replica.root() as conn:
        return replica_status(conn)


def replicating(replica: MariaDB) -> bool:
    return replication_status(replica).running


def wait_caught_up(source: MariaDB, replica: MariaDB, timeout: float = 30.0) -> float:
    """Wait until the replica applied everything the source has committed; seconds waited.

    MASTER_GTID_WAIT returns when the replica's slave position includes the source's current GTID
    position (applied in commit order), so the arrival proves every earlier transaction arrived.
    """
    target = source.gtid_current_pos()
    started = time.monotonic()
    if target:
        result = replica.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (target, timeout))[0][0]
        if result != 0:
            raise MariaDBError(f"{replica.name} did not catch up with {source.name} ({target}) in {timeout:.0f} s: "
                               f"{replication_status(replica).describe()}")
    return time.monotonic() - started


def reverse(old_source: MariaDB, new_source: MariaDB) -> None:
    """The switchover's reverse task: stop old->new, start new->old (old continues from its own position)."""
    stop_replication(new_source)
    new_source.execute("RESET SLAVE ALL")
    replicate(new_source, old_source)


__all__ = ["ReplicaStatus", "replica_status", "replicate", "replicating", "replication_status", "reverse",
           "start_replica", "stop_replication", "wait_caught_up"]
