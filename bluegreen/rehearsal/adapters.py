"""The local adapters: the project's shifter and switchover code, driving the rehearsal's stand-ins.

Only these differ from what the Lambda runs on AWS (lambda_src/traffic_shifter):

- traffic (shifter.TrafficPort): the HAProxy server weights standing in for Route 53's weighted
  records and the two ALB listeners; the SSM green-weight parameter is the real one (moto);
- writer name (db.ports.WriterName): HAProxy's TCP ``writer`` backend instead of the Route 53 CNAME;
- replication (db.ports.Replication): MariaDB GTID replication instead of the DMS tasks;
- health (db.ports.TargetHealth): the database answers, instead of RDS's cluster status;
- the fence's and the drain's login: MariaDB's root over its socket instead of the master secret.

Each can wait as AWS would (delays.py: replication apply latency, DMS task stop/start, API and SQL
login latencies): the profile ``none`` leaves the stand-ins as fast as they are.

The gates are NOT an adapter: the rehearsal's monitor sets real CloudWatch alarm states (moto) from
HAProxy's measurements, and the shifter reads them with its own GateReader.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import pymysql

from bluegreen.local_mariadb import root_connection
from bluegreen.mariadb_replication import ReplicaStatus, replica_status, start_replica
from traffic_shifter.db import SqlMarkerDrain
from traffic_shifter.db.ports import ReplicationSnapshot, Wait
from traffic_shifter.model import COLOURS, ListenerWeights, ObservedWeights, RecordWeights

from .delays import NO_DELAYS, Delays
from .haproxy import HAProxy

OTHER = {"blue": "green", "green": "blue"}
LOCAL_ADAPTERS = {
    "traffic": "HAProxy server weights (runtime API): Route 53 records -> backend dns, listeners -> alb_<edge>_forward",
    "writer_name": "HAProxy TCP backend writer, information only (the service finds the writer through the fence)",
    "replication": "MariaDB row-based GTID replication (one direction at a time)",
    "target_health": "the database answers SELECT 1",
    "fence_and_drain_login": "MariaDB root over its unix socket (the fence's statements stay out of the binlog)",
}
AWS_CODE = ("decisions", "plan", "bake and gating", "state store and journal (DynamoDB on moto)",
            "gate reader (CloudWatch alarms on moto)", "SqlGrantFence", "SqlMarkerDrain", "guardrails",
            "switchover procedure, undo and recovery")


def socket_login(socket_path: str, *, binlog: bool, delays: Delays = NO_DELAYS) -> Callable[[], Any]:
    def login() -> Any:
        if delays.sql_login_seconds:  # the Lambda's GetSecretValue, TCP and TLS handshake on AWS
            time.sleep(delays.sql_login_seconds)
        return root_connection(socket_path, binlog=binlog)

    return login


class DelayedDrain(SqlMarkerDrain):
    """The marker drain, its marker seen on the new writer no sooner than ``cdc_apply_seconds`` after it
    was written (DMS CDC's commit-to-apply latency; MariaDB's replica applies it in milliseconds)."""

    def __init__(self, *args: Any, delays: Delays = NO_DELAYS, clock: Callable[[], float] = time.time, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.delays, self.clock = delays, clock
        self.written: dict[str, float] = {}

    def mark(self, colour: str, token: str) -> str:
        out = super().mark(colour, token)
        self.written[token] = self.clock()
        return out

    def arrived(self, colour: str, token: str) -> bool:
        if self.clock() < self.written.get(token, 0.0) + self.delays.cdc_apply_seconds:
            return False
        return super().arrived(colour, token)


class HAProxyTraffic:
    """shifter.TrafficPort: one number on both listeners and the record pair, then SSM (as aws.TrafficControls)."""

    RECORDS = "dns"

    def __init__(self, haproxy: HAProxy, ssm: Any, weight_parameter: str) -> None:
        self.haproxy, self.ssm, self.weight_parameter = haproxy, ssm, weight_parameter

    @staticmethod
    def listener(edge: str) -> str:
        return f"alb_{edge}_forward"

    def read(self) -> ObservedWeights:
        stats = self.haproxy.stats()

        def weights(backend: str, prefix: str = "") -> dict[str, int]:
            return {row["svname"].removeprefix(prefix): int(row["weight"]) for row in stats
                    if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")}

        listeners = tuple(ListenerWeights(self.listener(e), (w := weights(self.listener(e))).get("blue"), w.get("green"))
                          for e in COLOURS)
        records = weights(self.RECORDS, "alb_")
        try:
            ssm_raw = self.ssm.get_parameter(Name=self.weight_parameter)["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            ssm_raw = None
        return ObservedWeights(alb_blue=listeners[0].blue, alb_green=listeners[0].green,
                               route53=(RecordWeights("A", records.get("blue"), records.get("green")),),
                               ssm_raw=ssm_raw, listeners=listeners)

    def set_green_weight(self, green: int, observed: ObservedWeights) -> list[str]:
        if not 0 <= green <= 100:
            raise ValueError(f"green weight {green} is outside 0..100")
        changes = []
        want = {"blue": 100 - green, "green": green}
        for lw, ok in zip(observed.listeners, observed.listener_matches(green), strict=False):
            if not ok:
                # Towards blue first, so no moment sends more to green than either end of the move.
                for colour in sorted(COLOURS, key=lambda c: c != "blue"):
                    self.haproxy.set_weight(lw.listener_arn, colour, want[colour])
                changes.append(f"listener {lw.listener_arn} blue/green {lw.blue}/{lw.green} -> {want['blue']}/{green}")
        if not observed.route53_matches(green):
            for colour in COLOURS:
                self.haproxy.set_weight(self.RECORDS, f"alb_{colour}", want[colour])
            before = observed.route53[0] if observed.route53 else None
            changes.append(f"records blue/green {before.blue if before else None}/{before.green if before else None} "
                           f"-> {want['blue']}/{green}")
        if not observed.ssm_matches(green):
            self.ssm.put_parameter(Name=self.weight_parameter, Value=str(green), Type="String", Overwrite=True)
            changes.append(f"SSM {self.weight_parameter} {observed.ssm_raw!r} -> '{green}'")
        return changes


class HAProxyWriterName:
    """db.ports.WriterName: the TCP backend ``writer``; the colour whose server is not in maintenance."""

    BACKEND = "writer"

    def __init__(self, haproxy: HAProxy) -> None:
        self.haproxy = haproxy

    def writer_colour(self) -> str:
        live = [c for c, status in self.haproxy.server_states(self.BACKEND).items() if status != "MAINT"]
        if len(live) != 1:
            raise RuntimeError(f"the writer name points to {live or 'nothing'}; expected exactly one database")
        return live[0]

    def writer_target(self) -> str:
        return f"haproxy {self.BACKEND} -> {self.writer_colour()}"

    def set_writer(self, colour: str, wait: Wait) -> str:
        before = self.writer_colour()
        # New connections go to ``colour`` from here on; open ones stay (as with a CNAME) until fenced.
        self.haproxy.set_state(self.BACKEND, colour, "ready")
        self.haproxy.set_state(self.BACKEND, OTHER[colour], "maint")
        wait(lambda: self.writer_colour() == colour, 5, f"the writer name to point to {colour}")
        return f"writer name {before} -> {colour}"


class GtidReplication:
    """db.ports.Replication over MariaDB replication: the path into a colour is that server's replica thread."""

    def __init__(self, sockets: Mapping[str, str], ports: Mapping[str, int], tables: tuple[str, ...],
                 delays: Delays = NO_DELAYS) -> None:
        self.sockets, self.ports, self.tables, self.delays = dict(sockets), dict(ports), tables, delays

    def _root(self, colour: str) -> Any:
        return root_connection(self.sockets[colour])

    def _status(self, colour: str) -> ReplicaStatus:
        with self._root(colour) as conn:
            return replica_status(conn)

    def snapshot(self, to: str) -> ReplicationSnapshot:
        frm = OTHER[to]
        into, back = self._status(to), self._status(frm)
        path = f"{frm}->{to}"
        # No table state or validation of its own (DMS has both): a table is "completed" when the
        # replica applies without error; "Pending records" says it is NOT compared here. The
        # rehearsal compares every row of both databases at the end (reconcile.py).
        tables = tuple({"table": t, "state": "Table completed" if into.state == "running" else into.state,
                        "validation": "Pending records", "failed": 0, "suspended": 0} for t in self.tables)
        return ReplicationSnapshot(into={path: into.state}, reverse={f"{to}->{frm}": back.state},
                                   latency={path: into.lag}, tables=tables)

    def _stop(self, replica: str, wait: Wait, path: str) -> str:
        with self._root(replica) as conn, conn.cursor() as cur:
            cur.execute("STOP SLAVE")
        # A DMS task takes this long to report stopped: waited through ``wait``, as the DMS adapter polls
        # (the switchover renews its lease while it waits; a plain sleep would let the lease lapse).
        ready = time.time() + self.delays.dms_stop_seconds
        wait(lambda: time.time() >= ready and self._status(replica).state == "stopped", 30 + self.delays.dms_stop_seconds,
             f"replication {path} to stop")
        return f"replication {path} stopped"

    def stop_into(self, to: str, wait: Wait) -> str:
        return self._stop(to, wait, f"{OTHER[to]} -> {to}")

    def resume_into(self, to: str, path: str, wait: Wait) -> str:
        with self._root(to) as conn, conn.cursor() as cur:
            cur.execute("START SLAVE")
        wait(lambda: self._status(to).state == "running", 30, f"replication {path} to run again")
        return f"replication {path} resumed from its GTID position"

    def start_from(self, colour: str, wait: Wait, *, position: str) -> str:
        # GTIDs name the exact position: the old writer continues from its own (it holds every
        # transaction the new one applied), so ``position`` (DMS's CdcStartPosition) is not needed here.
        replica = OTHER[colour]
        with self._root(replica) as conn:
            start_replica(conn, self.ports[colour])
        started = time.time() + self.delays.dms_start_seconds  # a DMS task takes this long to report running
        # The position is fixed by CHANGE MASTER: once the applier runs, every write the new writer takes
        # from now on is in its binlog and will be fetched, even while the fetcher is still connecting.
        wait(lambda: time.time() >= started and self._status(replica).applying, 30 + self.delays.dms_start_seconds,
             f"replication {colour} -> {replica} to run")
        return f"replication {colour} -> {replica} started from {replica}'s GTID position"

    def stop_from(self, colour: str, wait: Wait) -> str:
        return self._stop(OTHER[colour], wait, f"{colour} -> {OTHER[colour]}")


class LocalWorld(GtidReplication):
    """The WriterName, Replication and TargetHealth of the rehearsal, as DbWorld is all three on AWS."""

    def __init__(self, haproxy: HAProxy, sockets: Mapping[str, str], ports: Mapping[str, int], tables: tuple[str, ...],
                 delays: Delays = NO_DELAYS) -> None:
        super().__init__(sockets, ports, tables, delays)
        self.name = HAProxyWriterName(haproxy)

    def writer_colour(self) -> str:
        return self.name.writer_colour()

    def writer_target(self) -> str:
        return self.name.writer_target()

    def set_writer(self, colour: str, wait: Wait) -> str:
        return self.name.set_writer(colour, wait)

    def cluster_health(self, colour: str) -> Mapping[str, Any]:
        try:
            with self._root(colour) as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            return {"status": "available", "writer_status": "available"}
        except pymysql.err.MySQLError as err:
            return {"status": f"unreachable: {err}", "writer_status": "unreachable"}
