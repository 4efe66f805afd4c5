"""The database writer switchover: one writer at a time, moved only when the other side is current.

Both colours' tasks reach the database through ONE movable name, the CNAME ``writer.<zone>`` in a
private hosted zone (TTL 5 s), pointing at the active cluster's writer endpoint. Exactly one cluster
accepts payment writes: on every other cluster the application user has no INSERT/UPDATE/DELETE
(the *fence*). A switchover from ``old`` to ``new`` (docs/db-switchover.md):

1. guardrails, all checked before anything moves: the replication task old -> new is running, its
   CDC latency (CDCLatencySource/Target) is below the threshold, no table is in error, validation is
   clean, the new cluster and its writer instance are available, the new cluster is fenced and the
   old one is not, the task new -> old is not running;
2. fence the old writer (revoke the application user's DML and kill its connections);
3. wait until DMS applied everything up to the fence (CDCIncomingChanges 0 and CDCLatencyTarget ~0
   in a metric period that starts after the fence), with a timeout;
4. move the writer name (UPSERT the CNAME), wait until Route 53 reports INSYNC;
5. stop the task old -> new (wait until stopped), start the CDC-only task new -> old from that
   moment (``start-replication`` + ``CdcStartTime``) so the old cluster stays a warm fallback;
6. unfence the new writer: writes resume, now on the new cluster.

Every action registers its undo; a failure at any step undoes what was done, newest first, so the
writer stays where it was (name unchanged, old writer unfenced, replication as before).
The plan step is ``{"kind": "db_switchover", "to": "green", "bake_seconds": 0}``; rolling the
*traffic* back never touches the writer (``on_rollback`` does nothing): switching the writer back
is the same procedure with ``to: "blue"`` (``bluegreen db switchover --to blue``).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from botocore.exceptions import ClientError

from .errors import ConfigError, PlanError, ShiftError
from .model import ShiftState, from_iso, iso
from .steps import Step, StepContext, StepKind, register_step_kind

COLOURS = ("blue", "green")
DB_STEP = "db_switchover"
#: MySQL ER_NO_SUCH_THREAD: KILL of a session that has already ended.
MYSQL_UNKNOWN_THREAD = 1094

#: Lambda environment variable -> DbConfig field; all or none must be set (templates/automation.json).
DB_ENV_VARS = {
    "WRITER_ZONE_ID": "writer_zone_id",
    "WRITER_RECORD_NAME": "writer_record_name",
    "BLUE_CLUSTER_ID": "blue_cluster_id",
    "GREEN_CLUSTER_ID": "green_cluster_id",
    "DMS_INSTANCE_ID": "dms_instance_id",
    "DMS_TASK_INITIAL_ARN": "task_initial_arn",
    "DMS_TASK_BLUE_TO_GREEN_ARN": "task_blue_to_green_arn",
    "DMS_TASK_GREEN_TO_BLUE_ARN": "task_green_to_blue_arn",
    "BLUE_DB_SECRET_ARN": "blue_secret_arn",
    "GREEN_DB_SECRET_ARN": "green_secret_arn",
}
#: Optional tunables: variable -> (field, default).
DB_TUNABLES = {
    "APP_DB_USER": ("app_user", "payments_app"),
    "APP_DB_SCHEMA": ("app_schema", "payments"),
    "CDC_LATENCY_MAX_SECONDS": ("cdc_latency_max_seconds", 10.0),
    "DRAIN_LATENCY_MAX_SECONDS": ("drain_latency_max_seconds", 1.0),
    "DRAIN_TIMEOUT_SECONDS": ("drain_timeout_seconds", 240.0),
    "DRAIN_METRIC_PERIOD": ("metric_period", 60),
    "DB_CA_BUNDLE": ("ca_bundle", ""),
}
#: TableState values of a healthy table (full load done, changes flowing).
TABLE_OK = frozenset({"Table completed"})
#: ValidationState values of a clean table ("Pending records": rows changed moments ago, not yet compared).
VALIDATION_OK = frozenset({"Validated", "Pending records"})
TASK_STOPPED = frozenset({"stopped", "ready", "failed"})
POLL_SECONDS = 2.0
LOCK_ID = "db-writer"


def other(colour: str) -> str:
    return "green" if colour == "blue" else "blue"


@dataclass(frozen=True)
class DbConfig:
    writer_zone_id: str
    writer_record_name: str
    blue_cluster_id: str
    green_cluster_id: str
    dms_instance_id: str
    task_initial_arn: str
    task_blue_to_green_arn: str
    task_green_to_blue_arn: str
    blue_secret_arn: str
    green_secret_arn: str
    app_user: str = "payments_app"
    app_schema: str = "payments"
    cdc_latency_max_seconds: float = 10.0
    drain_latency_max_seconds: float = 1.0
    drain_timeout_seconds: float = 240.0
    metric_period: int = 60
    ca_bundle: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DbConfig | None:
        """None when no database variable is set (a traffic-only deployment); all-or-nothing otherwise."""
        present = [k for k in DB_ENV_VARS if (environ.get(k) or "").strip()]
        if not present:
            return None
        missing = [k for k in DB_ENV_VARS if k not in present]
        if missing:
            raise ConfigError(f"missing database variable(s): {', '.join(missing)} (set all of {', '.join(DB_ENV_VARS)} or none)")
        values: dict[str, Any] = {f: environ[v].strip() for v, f in DB_ENV_VARS.items()}
        for var, (fname, default) in DB_TUNABLES.items():
            raw = (environ.get(var) or "").strip()
            if not raw:
                continue
            try:
                values[fname] = type(default)(raw)
            except ValueError:
                raise ConfigError(f"{var}={raw!r} is not a {type(default).__name__}") from None
        name = values["writer_record_name"].lower()
        values["writer_record_name"] = name if name.endswith(".") else name + "."
        return cls(**values)

    def cluster_id(self, colour: str) -> str:
        return self.blue_cluster_id if colour == "blue" else self.green_cluster_id

    def secret_arn(self, colour: str) -> str:
        return self.blue_secret_arn if colour == "blue" else self.green_secret_arn

    def tasks_into(self, colour: str) -> tuple[str, ...]:
        """Tasks replicating INTO ``colour`` (any of them may be the running one)."""
        return (self.task_initial_arn, self.task_blue_to_green_arn) if colour == "green" else (self.task_green_to_blue_arn,)

    def cdc_task_from(self, colour: str) -> str:
        """The CDC-only task FROM ``colour`` (started from a time when ``colour`` becomes the writer)."""
        return self.task_green_to_blue_arn if colour == "green" else self.task_blue_to_green_arn


class SwitchoverRefused(ShiftError):
    """A guardrail failed before anything moved; the message lists every failed guardrail."""


class SwitchoverFailed(ShiftError):
    """A step failed after the guardrails; what was done has been undone (the message says how far)."""


class Fence(Protocol):
    """Who may write payments on a cluster. Implementations: SqlGrantFence (real), tests' fakes."""

    def fence(self, colour: str) -> str: ...          # stop application writes; returns what was done

    def unfence(self, colour: str) -> str: ...        # allow application writes

    def is_fenced(self, colour: str) -> bool: ...


# -- the real fence: revoke the application user's DML, kill its connections --------------------------
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

    @property
    def grantee(self) -> str:
        return f"'{self.user}'@'{self.host}'"

    def _run(self, colour: str, fn: Callable[[Any], Any]) -> Any:
        conn = self.connect(colour)
        try:
            with conn.cursor() as cur:
                out = fn(cur)
            conn.commit()
            return out
        finally:
            conn.close()

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
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (self.user,))
            killed = []
            for (pid,) in cur.fetchall():
                try:
                    cur.execute(self.kill_sql, (pid,))
                    killed.append(pid)
                except Exception as err:  # noqa: BLE001 - the driver's error class is not imported here
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


def secrets_connector(clients: Callable[[str], Any], config: DbConfig, *, connect_timeout: int = 5) -> Callable[[str], Any]:
    """``connect(colour)``: pymysql as the master user of the colour's secret, TLS (verified with the CA bundle)."""

    def connect(colour: str) -> Any:
        import pymysql  # vendored into the Lambda zip (requirements.txt)

        secret = json.loads(clients("secretsmanager").get_secret_value(SecretId=config.secret_arn(colour))["SecretString"])
        ssl: dict[str, Any] = {"ca": config.ca_bundle} if config.ca_bundle else {"check_hostname": False}
        return pymysql.connect(
            host=secret["host"], port=int(secret.get("port", 3306)), user=secret["username"], password=secret["password"],
            ssl=ssl, connect_timeout=connect_timeout, read_timeout=15, write_timeout=15, autocommit=False,
        )

    return connect


# -- reading the world ------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    saw: Any

    def to_dict(self) -> dict[str, Any]:
        return {"guardrail": self.name, "ok": self.ok, "saw": self.saw}


def _task_id(arn: str) -> str:
    return arn.split(":")[-1]


class DbWorld:
    """Reads and writes of the switchover (boto3 clients with the shifter's retry configuration)."""

    def __init__(self, clients: Callable[[str], Any], config: DbConfig) -> None:
        self.clients = clients
        self.config = config

    # writer name
    def writer_target(self) -> str | None:
        rrs = self.clients("route53").list_resource_record_sets(
            HostedZoneId=self.config.writer_zone_id, StartRecordName=self.config.writer_record_name, StartRecordType="CNAME", MaxItems="1"
        )["ResourceRecordSets"]
        for rr in rrs:
            if rr["Name"].lower() == self.config.writer_record_name and rr["Type"] == "CNAME":
                return rr["ResourceRecords"][0]["Value"].lower().rstrip(".")
        return None

    def cluster(self, colour: str) -> dict[str, Any]:
        return self.clients("rds").describe_db_clusters(DBClusterIdentifier=self.config.cluster_id(colour))["DBClusters"][0]

    def endpoint(self, colour: str) -> str:
        return self.cluster(colour)["Endpoint"].lower().rstrip(".")

    def writer_colour(self) -> str:
        target = self.writer_target()
        for colour in COLOURS:
            if target == self.endpoint(colour):
                return colour
        raise ConfigError(
            f"writer name {self.config.writer_record_name} points at {target!r}, which is neither cluster's writer endpoint; "
            "fix the record (database stack) before any switchover"
        )

    def set_writer(self, colour: str, wait: Callable[[Callable[[], bool], float, str], None]) -> str:
        endpoint = self.endpoint(colour)
        change = self.clients("route53").change_resource_record_sets(
            HostedZoneId=self.config.writer_zone_id,
            ChangeBatch={"Comment": f"db switchover: writer -> {colour}", "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": self.config.writer_record_name, "Type": "CNAME", "TTL": 5, "ResourceRecords": [{"Value": endpoint}]}}]},
        )["ChangeInfo"]["Id"]
        wait(lambda: self.clients("route53").get_change(Id=change)["ChangeInfo"]["Status"] == "INSYNC", 60, f"Route 53 change {change} INSYNC")
        return f"writer name {self.config.writer_record_name} -> {endpoint} ({colour})"

    # DMS
    def task(self, arn: str) -> dict[str, Any]:
        tasks = self.clients("dms").describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [arn]}], WithoutSettings=True
        )["ReplicationTasks"]
        if not tasks:
            raise ConfigError(f"DMS task {arn} not found")
        return tasks[0]

    def table_statistics(self, arn: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ReplicationTaskArn": arn}
        while True:
            page = self.clients("dms").describe_table_statistics(**kwargs)
            out += page.get("TableStatistics", [])
            if not page.get("Marker"):
                return out
            kwargs["Marker"] = page["Marker"]

    def metrics(self, arn: str, names: Sequence[str], since: float, until: float) -> dict[str, list[tuple[float, float]]]:
        """Maximum per period of the task's CDC metrics, [(period start, value)] oldest first."""
        dims = [{"Name": "ReplicationInstanceIdentifier", "Value": self.config.dms_instance_id},
                {"Name": "ReplicationTaskIdentifier", "Value": _task_id(arn)}]
        resp = self.clients("cloudwatch").get_metric_data(
            MetricDataQueries=[{"Id": f"m{i}", "Label": n, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/DMS", "MetricName": n, "Dimensions": dims},
                "Period": self.config.metric_period, "Stat": "Maximum"}} for i, n in enumerate(names)],
            StartTime=datetime.fromtimestamp(since, tz=timezone.utc),
            EndTime=datetime.fromtimestamp(until, tz=timezone.utc),
            ScanBy="TimestampAscending",
        )
        out: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for r in resp["MetricDataResults"]:
            name = names[int(r["Id"][1:])]
            out[name] = sorted(zip((t.timestamp() for t in r["Timestamps"]), r["Values"]))
        return out

    def stop_task(self, arn: str, wait: Callable[..., None]) -> str:
        if self.task(arn)["Status"] == "running":
            self.clients("dms").stop_replication_task(ReplicationTaskArn=arn)
        wait(lambda: self.task(arn)["Status"] in TASK_STOPPED, 120, f"DMS task {_task_id(arn)} stopped")
        return f"DMS task {_task_id(arn)} stopped"

    def start_task(self, arn: str, wait: Callable[..., None], *, cdc_from: float | None = None) -> str:
        if self.task(arn)["Status"] == "running":
            return f"DMS task {_task_id(arn)} already running"
        if cdc_from is None:
            # Continue a task that ran before from its own checkpoint (used by undo).
            self.clients("dms").start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing")
            what = "resumed from its checkpoint"
        else:
            self.clients("dms").start_replication_task(
                ReplicationTaskArn=arn, StartReplicationTaskType="start-replication",
                CdcStartTime=datetime.fromtimestamp(cdc_from, tz=timezone.utc),
            )
            what = f"started, changes since {iso(cdc_from)}"
        wait(lambda: self.task(arn)["Status"] == "running", 120, f"DMS task {_task_id(arn)} running")
        return f"DMS task {_task_id(arn)} {what}"

    # RDS
    def cluster_health(self, colour: str) -> dict[str, Any]:
        cluster = self.cluster(colour)
        writer = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None)
        writer_status = None
        if writer:
            writer_status = self.clients("rds").describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"][0]["DBInstanceStatus"]
        return {"cluster": cluster["DBClusterIdentifier"], "status": cluster["Status"], "writer": writer, "writer_status": writer_status}


# -- the procedure -----------------------------------------------------------------------------------
@dataclass
class Switchover:
    world: DbWorld
    fence: Fence
    log: Any
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = POLL_SECONDS
    #: (action, seconds since the fence) of every action, and the write pause (fence -> unfence) of the last run.
    timeline: list[tuple[str, float]] = field(default_factory=list)
    write_pause: float | None = None

    @property
    def config(self) -> DbConfig:
        return self.world.config

    def _info(self, message: str, **saw: Any) -> None:
        self.log.info(message, extra={"db_switchover": saw})

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = self.clock() + timeout
        while not done():
            if self.clock() >= deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.sleep(self.poll_seconds)

    # guardrails
    def guardrails(self, to: str) -> list[Check]:
        frm = other(to)
        w = self.world
        checks: list[Check] = []

        tasks_in = {arn: w.task(arn) for arn in self.config.tasks_into(to)}
        running = [arn for arn, t in tasks_in.items() if t["Status"] == "running"]
        checks.append(Check("replication running", len(running) == 1,
                            {_task_id(a): t["Status"] for a, t in tasks_in.items()}))
        incoming = running[0] if running else None
        out_task = w.task(self.config.cdc_task_from(to))
        checks.append(Check("reverse task idle", out_task["Status"] in TASK_STOPPED | {"created"},
                            {_task_id(self.config.cdc_task_from(to)): out_task["Status"]}))
        if incoming:
            now = self.clock()
            series = w.metrics(incoming, ("CDCLatencySource", "CDCLatencyTarget"), now - 5 * self.config.metric_period, now)
            latest = {n: (s[-1][1] if s else None) for n, s in series.items()}
            checks.append(Check("cdc latency", all(v is not None and v <= self.config.cdc_latency_max_seconds for v in latest.values()),
                                {**latest, "max_seconds": self.config.cdc_latency_max_seconds}))
            stats = w.table_statistics(incoming)
            bad_tables = {f"{s['SchemaName']}.{s['TableName']}": s.get("TableState") for s in stats if s.get("TableState") not in TABLE_OK}
            checks.append(Check("table errors", bool(stats) and not bad_tables, bad_tables or f"{len(stats)} table(s) completed"))
            bad_validation = {
                f"{s['SchemaName']}.{s['TableName']}": {k: s.get(k) for k in ("ValidationState", "ValidationFailedRecords", "ValidationSuspendedRecords")}
                for s in stats
                if s.get("ValidationState") not in VALIDATION_OK or s.get("ValidationFailedRecords", 0) or s.get("ValidationSuspendedRecords", 0)
            }
            checks.append(Check("validation clean", bool(stats) and not bad_validation, bad_validation or f"{len(stats)} table(s) validated"))
        health = w.cluster_health(to)
        checks.append(Check("target cluster healthy", health["status"] == "available" and health["writer_status"] == "available", health))
        fenced = {c: self.fence.is_fenced(c) for c in COLOURS}
        checks.append(Check("one writer", fenced == {frm: False, to: True}, {f"{c}_fenced": v for c, v in fenced.items()}))
        return checks

    # the run
    def run(self, to: str, *, actor: str) -> list[str]:
        if to not in COLOURS:
            raise SwitchoverRefused(f"unknown colour {to!r}; expected blue or green")
        current = self.world.writer_colour()
        self._info("db switchover: read the writer name", writer=current, to=to, actor=actor)
        if current == to:
            return []
        frm = current
        checks = self.guardrails(to)
        failed = [c for c in checks if not c.ok]
        self._info("db switchover: guardrails", to=to, checks=[c.to_dict() for c in checks])
        if failed:
            raise SwitchoverRefused(
                f"db switchover {frm} -> {to} refused, nothing was changed: "
                + "; ".join(f"{c.name}: {json.dumps(c.saw, default=str, sort_keys=True)}" for c in failed)
            )
        incoming = next(a for a in self.config.tasks_into(to) if self.world.task(a)["Status"] == "running")
        reverse = self.config.cdc_task_from(to)
        undo: list[tuple[str, Callable[[], str]]] = []
        changes: list[str] = []
        self.timeline = []
        t_fence = self.clock()

        def act(name: str, do: Callable[[], str], undo_fn: Callable[[], str] | None = None) -> None:
            self._info(f"db switchover: {name}", to=to)
            if undo_fn is not None:
                # Registered before acting: a call that landed but whose wait failed is undone too.
                undo.append((name, undo_fn))
            done = do()
            changes.append(done)
            self.timeline.append((name, round(self.clock() - t_fence, 6)))
            self._info(f"db switchover: {name} done", result=done, seconds_since_fence=self.timeline[-1][1])

        try:
            act("fence old writer", lambda: self.fence.fence(frm), lambda: self.fence.unfence(frm))
            t_fence = self.clock()
            self.timeline = [("fence old writer", 0.0)]
            act("wait for replication to drain", lambda: self._drain(incoming, t_fence))
            act("move writer name", lambda: self.world.set_writer(to, self.wait), lambda: self.world.set_writer(frm, self.wait))
            act("stop forward replication", lambda: self.world.stop_task(incoming, self.wait),
                lambda: self.world.start_task(incoming, self.wait))
            # CDC of the new writer starts when the forward task is stopped (rounded up to the second the
            # binlog timestamps have), not at the fence: DMS's own late applies must not loop back.
            cdc_from = float(math.ceil(self.clock()))
            act("start reverse replication", lambda: self.world.start_task(reverse, self.wait, cdc_from=cdc_from),
                lambda: self.world.stop_task(reverse, self.wait))
            self.wait(lambda: self.clock() >= cdc_from, 5, "the reverse CDC start time")
            act("unfence new writer", lambda: self.fence.unfence(to))
        except Exception as err:
            undone, undo_errors = self._undo(undo)
            self.log.error("db switchover failed; undone", extra={"db_switchover": {
                "to": to, "error": f"{type(err).__name__}: {err}", "done": changes, "undone": undone, "undo_errors": undo_errors}})
            state = "writer stays on " + frm if not undo_errors else "UNDO INCOMPLETE: " + "; ".join(undo_errors)
            raise SwitchoverFailed(f"db switchover {frm} -> {to} failed ({type(err).__name__}: {err}); undone: "
                                   f"{'; '.join(undone) or 'nothing to undo'}; {state}") from err
        self.write_pause = self.timeline[-1][1]
        changes.append(f"write pause {self.write_pause:.3f} s (fence -> unfence)")
        self._info("db switchover: complete", to=to, changes=changes, timeline=self.timeline, write_pause_seconds=self.write_pause)
        return changes

    def _undo(self, undo: list[tuple[str, Callable[[], str]]]) -> tuple[list[str], list[str]]:
        undone, errors = [], []
        for name, fn in reversed(undo):
            try:
                undone.append(fn())
                self._info(f"db switchover: undo {name}", result=undone[-1])
            except Exception as err:  # noqa: BLE001 - keep undoing the rest, report all
                errors.append(f"undo of {name!r} failed: {type(err).__name__}: {err}")
                self.log.error("db switchover: undo failed", extra={"db_switchover": {"step": name, "error": str(err)}})
        return undone, errors

    def _drain(self, task: str, t_fence: float) -> str:
        """Wait for a metric period starting after the fence with no incoming changes and ~0 target latency."""
        period = self.config.metric_period
        since = math.ceil(t_fence / period) * period
        seen: dict[str, Any] = {}

        def drained() -> bool:
            series = self.world.metrics(task, ("CDCIncomingChanges", "CDCLatencyTarget"), since, max(self.clock(), since) + period)
            after = {n: [v for ts, v in s if ts >= since] for n, s in series.items()}
            seen.update({n: v[-1] if v else None for n, v in after.items()})
            return bool(after["CDCIncomingChanges"]) and bool(after["CDCLatencyTarget"]) and \
                after["CDCIncomingChanges"][-1] == 0 and after["CDCLatencyTarget"][-1] <= self.config.drain_latency_max_seconds

        self.wait(drained, self.config.drain_timeout_seconds, f"DMS task {_task_id(task)} to drain after the fence")
        return f"DMS task {_task_id(task)} drained after the fence (incoming {seen.get('CDCIncomingChanges')}, latency {seen.get('CDCLatencyTarget')} s)"


# -- the lock (one switchover at a time, whoever runs it) ------------------------------------------
LOCK_SECONDS = 600


def with_lock(clients: Callable[[str], Any], table: str, actor: str, clock: Callable[[], float], fn: Callable[[], list[str]]) -> list[str]:
    from .aws import StateStore  # noqa: PLC0415 - avoids a cycle at import time

    store = StateStore(clients, table, plan_id=LOCK_ID)  # type: ignore[arg-type]
    state = store.load()
    pending = state.pending or {}
    started = from_iso(pending.get("at"))
    now = clock()
    if pending and started is not None and now - started < LOCK_SECONDS:
        raise SwitchoverRefused(f"another db switchover ({pending.get('by')}) is running since {pending.get('at')}; nothing was changed")
    claimed = store.write(state, replace(state, pending={"by": actor, "at": iso(now), "run": uuid.uuid4().hex}, updated_by=actor, updated_at=now))
    try:
        changes = fn()
        outcome, reason = "switched" if changes else "unchanged", "; ".join(changes)
    except ShiftError as err:
        outcome, reason = type(err).__name__, str(err)
        store.write(claimed, ShiftState(status=claimed.status or "idle", reason=reason[:1000], updated_by=actor, updated_at=clock(), last_action=outcome))
        raise
    store.write(claimed, ShiftState(status="done", reason=reason[:1000], updated_by=actor, updated_at=clock(), last_action=outcome))
    return changes


# -- the plan step -------------------------------------------------------------------------------------
FenceFactory = Callable[[Callable[[str], Any], DbConfig], Fence]


def default_fence(clients: Callable[[str], Any], config: DbConfig) -> Fence:
    return SqlGrantFence(secrets_connector(clients, config), user=config.app_user, schema=config.app_schema)


class DbSwitchover(StepKind):
    """Plan step ``{"kind": "db_switchover", "to": "green", "bake_seconds": N}``."""

    name = DB_STEP
    fields = ("to",)
    required = ("to",)

    def __init__(self, fence_factory: FenceFactory = default_fence, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, poll_seconds: float = POLL_SECONDS) -> None:
        self.fence_factory, self.clock, self.sleep, self.poll_seconds = fence_factory, clock, sleep, poll_seconds
        self.last: Switchover | None = None

    def validate(self, raw: Mapping[str, Any], where: str) -> int | None:
        if raw["to"] not in COLOURS:
            raise PlanError(f"{where}: to must be 'blue' or 'green', got {raw['to']!r}")
        return None

    def procedure(self, clients: Callable[[str], Any], config: DbConfig | None) -> Switchover:
        if config is None:
            raise ConfigError(f"db_switchover needs the database environment variables: {', '.join(DB_ENV_VARS)}")
        from .shifter import logger  # noqa: PLC0415

        self.last = Switchover(DbWorld(clients, config), self.fence_factory(clients, config), logger,
                               clock=self.clock, sleep=self.sleep, poll_seconds=self.poll_seconds)
        return self.last

    def switch(self, clients: Callable[[str], Any], config: Any, to: str, actor: str) -> list[str]:
        """Run a switchover under the db-writer lock (the plan step and ``bluegreen db switchover``)."""
        proc = self.procedure(clients, config.db)
        return with_lock(clients, config.state_table, actor, self.clock, lambda: proc.run(to, actor=actor))

    def status(self, clients: Callable[[str], Any], config: Any) -> dict[str, Any]:
        proc = self.procedure(clients, config.db)
        writer = proc.world.writer_colour()
        to = other(writer)
        checks = proc.guardrails(to)
        return {"writer": writer, "writer_name": config.db.writer_record_name, "writer_target": proc.world.writer_target(),
                "switchover_to": to, "guardrails": [c.to_dict() for c in checks], "ready": all(c.ok for c in checks)}

    def apply(self, step: Step, ctx: StepContext) -> list[str]:
        config = getattr(ctx, "config", None)
        if config is None:
            raise ConfigError("db_switchover: the step context carries no shifter configuration")
        return self.switch(ctx.client, config, step.raw["to"], ctx.actor)

    def on_rollback(self, step: Step, ctx: StepContext) -> list[str]:
        # A traffic rollback never moves the writer: both colours write through the writer name, so
        # sending traffic back to blue loses nothing. Moving the writer back is its own guarded step.
        return []


DB_SWITCHOVER = register_step_kind(DbSwitchover())
