"""The data tier in moto, added to the traffic world: what the database switchover reads and moves.

Blue and green Aurora MySQL clusters (a writer and a reader each), the private hosted zone with
``writer.<zone>`` (CNAME, TTL 5) pointing at blue, the two master secrets, a DMS replication
instance with the three tasks of templates/dms.json (initial blue -> green full load and CDC,
running; CDC-only blue -> green and green -> blue, created and not started), and the DMS CDC
metrics in CloudWatch.

What moto 5.2.5 lacks is injected at the boto3 level, never by faking the shifter's own code:
- ``DescribeTableStatistics`` is not implemented in moto: a ``before-call`` hook on the DMS client
  answers it from ``DbWorld.table_stats`` (a before-call handler that returns ``(http, parsed)``
  short-circuits the HTTP request; botocore documents this for stubbing). Everything else (RDS,
  DMS tasks, Route 53, CloudWatch metrics, Secrets Manager) is moto's.
- ``StartReplicationTask`` parameters (StartReplicationTaskType, CdcStartPosition) are accepted but not
  kept by moto: a ``before-parameter-build`` hook records them in ``DbWorld.starts``.
- Failures are injected with ``DbWorld.fail_once(service, operation)`` (a before-call hook raising
  a ClientError once), e.g. Route 53 refusing the writer UPSERT.

DMS itself is simulated by the fake: ``FakeFence`` is also the drain (ports.Drain); the marker it is
given "arrives" on the new writer ``drain_after`` polls later (``drain=False``: never), and ``quiet``
reports sessions left while ``sessions_left`` is above 0 (counting down per poll).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

try:
    from . import world as w
except ImportError:  # loaded by path from tests/test_cli (see its conftest.py)
    w = sys.modules["traffic_shifter_test_world"]

ZONE = "db.payments.internal."
WRITER = "writer." + ZONE
CLUSTERS = {"blue": "aurora-blue-dev-d01", "green": "aurora-green-dev-d01"}
DMS_INSTANCE = "dms-instance-dev-d01"
TASKS = {
    "initial": "dms-task-initial-blue-to-green-dev-d01",
    "blue_to_green": "dms-task-cdc-blue-to-green-dev-d01",
    "green_to_blue": "dms-task-cdc-green-to-blue-dev-d01",
}
PERIOD = 60
TABLES = ("payments", "transactions", "ledger_entries", "idempotency_keys")


def healthy_table(name: str) -> dict[str, Any]:
    return {"SchemaName": "payments", "TableName": name, "TableState": "Table completed", "ValidationState": "Validated",
            "ValidationFailedRecords": 0, "ValidationSuspendedRecords": 0, "ValidationPendingRecords": 0}


class FakeFence:
    """Who may write, per colour, as the SqlGrantFence would leave it (its real SQL has its own test)."""

    def __init__(self, db: DbWorld) -> None:
        self.db = db
        self.fenced = {"blue": False, "green": True}
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, Exception] = {}
        self.drain = True
        self.drain_after = 0
        self.sessions_left = 0
        self.markers: dict[str, str] = {}
        #: (colour, position, fenced then) of every binlog position read: each write moves it on.
        self.positions: list[tuple[str, str, bool]] = []

    def _inject(self, op: str, colour: str) -> None:
        err = self.fail.pop(f"{op}:{colour}", None) or self.fail.pop(op, None)
        if err:
            raise err

    def _grant(self, op: str, colour: str, *, fenced: bool) -> str:
        """fence or unfence: recorded as called, failing if told to, else the colour's new state."""
        self.calls.append((op, colour))
        self._inject(op, colour)
        self.fenced[colour] = fenced
        return f"{colour}: {op}d"

    def fence(self, colour: str) -> str:
        return self._grant("fence", colour, fenced=True)

    # ports.Drain
    def quiet(self, colour: str) -> str:
        from traffic_shifter.db import DrainError

        self._inject("quiet", colour)
        if self.sessions_left > 0:
            self.sessions_left -= 1
            raise DrainError(f"{colour}: the fence did not take: 1 session(s) of payments_app left")
        return f"{colour}: quiet"

    def mark(self, colour: str, token: str) -> str:
        self._inject("mark", colour)
        self.markers[token] = colour
        return f"{colour}: drain marker {token} written"

    def arrived(self, colour: str, token: str) -> bool:
        if not self.drain or token not in self.markers:
            return False
        if self.drain_after > 0:
            self.drain_after -= 1
            return False
        return True

    def position(self, colour: str) -> str:
        self._inject("position", colour)
        at = f"mysql-bin-changelog.000001:{4 + 100 * len(self.calls) + len(self.markers)}"
        self.positions.append((colour, at, self.fenced[colour]))
        return at

    def unfence(self, colour: str) -> str:
        return self._grant("unfence", colour, fenced=False)

    def is_fenced(self, colour: str) -> bool:
        return self.fenced[colour]


@dataclass
class DbWorld:
    world: Any
    env: dict[str, str]
    clock: Callable[[], float]
    task_arns: dict[str, str]
    endpoints: dict[str, str]
    table_stats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    starts: list[dict[str, Any]] = field(default_factory=list)
    _hooks: list[tuple[Any, str, Any]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return w.test_client(service)

    # -- what it looks like ---------------------------------------------------------------------
    def writer_target(self) -> str:
        rrs = self.client("route53").list_resource_record_sets(HostedZoneId=self.env["WRITER_ZONE_ID"])["ResourceRecordSets"]
        return next(r["ResourceRecords"][0]["Value"] for r in rrs if r["Name"] == WRITER and r["Type"] == "CNAME")

    def writer_colour(self) -> str:
        return next(c for c, e in self.endpoints.items() if e == self.writer_target())

    def task_status(self, key: str) -> str:
        arn = self.task_arns[key]
        return next(t["Status"] for t in self.client("dms").describe_replication_tasks()["ReplicationTasks"] if t["ReplicationTaskArn"] == arn)

    def statuses(self) -> dict[str, str]:
        return {k: self.task_status(k) for k in TASKS}

    def running_task(self) -> str | None:
        return next((arn for k, arn in self.task_arns.items() if self.task_status(k) == "running"), None)

    # -- DMS metrics ----------------------------------------------------------------------------
    def publish(self, task_arn: str, at: float, **values: float) -> None:
        dims = [{"Name": "ReplicationInstanceIdentifier", "Value": DMS_INSTANCE},
                {"Name": "ReplicationTaskIdentifier", "Value": task_arn.split(":")[-1]}]
        self.client("cloudwatch").put_metric_data(Namespace="AWS/DMS", MetricData=[
            {"MetricName": n, "Dimensions": dims, "Timestamp": datetime.fromtimestamp(at, tz=UTC), "Value": float(v)}
            for n, v in values.items()])

    def publish_healthy(self, latency: float = 2.0) -> None:
        """Recent CDC metrics of every task: what the latency guardrail reads."""
        for arn in self.task_arns.values():
            self.publish(arn, self.clock() - 30, CDCLatencySource=latency, CDCLatencyTarget=latency, CDCIncomingChanges=3)

    def publish_drained(self, fence_time: float) -> None:
        """The running task caught up: a datapoint in the first metric period that starts after the fence."""
        since = math.ceil(fence_time / PERIOD) * PERIOD
        for arn in self.task_arns.values():
            self.publish(arn, since + 1, CDCIncomingChanges=0, CDCLatencyTarget=0, CDCLatencySource=0)

    # -- hooks ------------------------------------------------------------------------------------
    def hook(self, service: str, event: str, handler: Any) -> None:
        events = w.shifter_clients()(service).meta.events
        events.register(event, handler)
        self._hooks.append((events, event, handler))

    def fail_once(self, service: str, operation: str, code: str = "InternalFailure", message: str = "injected by the test") -> None:
        service_id = {"dms": "database-migration-service"}.get(service, service)
        fired = []

        def fail(**_: Any) -> None:
            if not fired:
                fired.append(1)
                raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

        self.hook(service, f"before-call.{service_id}.{operation}", fail)

    # moto has no DescribeTableStatistics; answered from table_stats (see the module docstring).
    def _table_statistics(self, params: Any = None, **_: Any) -> Any:
        arn = json.loads(params["body"])["ReplicationTaskArn"] if isinstance(params, dict) and params.get("body") else None
        return AWSResponse("https://dms.local/", 200, {}, None), {"ReplicationTaskArn": arn, "TableStatistics": self.table_stats.get(arn, [])}

    def _record_start(self, params: dict[str, Any], **_: Any) -> None:
        self.starts.append(dict(params))

    def attach(self, register: Callable[[str, Any], None]) -> None:
        """Install the two DMS hooks with ``register(event, handler)`` (a client's or a session's events)."""
        register("before-call.database-migration-service.DescribeTableStatistics", self._table_statistics)
        register("before-parameter-build.database-migration-service.StartReplicationTask", self._record_start)

    def close(self) -> None:
        for events, event, handler in self._hooks:
            events.unregister(event, handler)
        self._hooks.clear()


def build_db_world(world: Any, clock: Callable[[], float]) -> DbWorld:
    """Add the data tier to ``world`` (inside mock_aws()); returns it with the DB_* variables in ``world.env``."""
    c = w.test_client
    ec2 = c("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "cidr-block", "Values": ["10.20.0.0/16"]}])["Vpcs"][0]["VpcId"]
    rds = c("rds")
    endpoints, secrets = {}, {}
    for colour, cluster in CLUSTERS.items():
        endpoints[colour] = rds.create_db_cluster(
            DBClusterIdentifier=cluster, Engine="aurora-mysql", MasterUsername="admin", MasterUserPassword="not-a-real-password"
        )["DBCluster"]["Endpoint"]
        for i in (1, 2):
            rds.create_db_instance(DBInstanceIdentifier=f"aurora-{colour}-{i}-dev-d01",  # as the database stack names them
                                   DBInstanceClass="db.r6g.large", Engine="aurora-mysql",
                                   DBClusterIdentifier=cluster)
        secrets[colour] = c("secretsmanager").create_secret(
            Name=f"secret-db-{colour}-dev-d01",
            SecretString=json.dumps({"host": endpoints[colour], "port": 3306, "username": "admin", "password": "x"}),
        )["ARN"]
    zone = c("route53").create_hosted_zone(
        Name=ZONE, CallerReference="db-world", HostedZoneConfig={"PrivateZone": True, "Comment": "writer name"},
        VPC={"VPCRegion": w.REGION, "VPCId": vpc},
    )["HostedZone"]["Id"].split("/")[-1]
    c("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": WRITER, "Type": "CNAME", "TTL": 5, "ResourceRecords": [{"Value": endpoints["blue"]}]}}]})

    dms = c("dms")
    instance = dms.create_replication_instance(ReplicationInstanceIdentifier=DMS_INSTANCE, ReplicationInstanceClass="dms.t3.medium")[
        "ReplicationInstance"]["ReplicationInstanceArn"]
    ep = {}
    for colour in CLUSTERS:
        for kind in ("source", "target"):
            ep[colour, kind] = dms.create_endpoint(EndpointIdentifier=f"dms-endpoint-{colour}-{kind}-dev-d01", EndpointType=kind,
                                                   EngineName="aurora")["Endpoint"]["EndpointArn"]
    task_arns = {}
    for key, ident in TASKS.items():
        src, dst = ("green", "blue") if key == "green_to_blue" else ("blue", "green")
        task_arns[key] = dms.create_replication_task(
            ReplicationTaskIdentifier=ident, SourceEndpointArn=ep[src, "source"], TargetEndpointArn=ep[dst, "target"],
            ReplicationInstanceArn=instance, MigrationType="full-load-and-cdc" if key == "initial" else "cdc",
            TableMappings="{}")["ReplicationTask"]["ReplicationTaskArn"]
    # moto leaves created tasks "creating" for ever; DMS makes them "ready" within a minute.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dms.models import dms_backends

    for arn in task_arns.values():
        dms_backends[DEFAULT_ACCOUNT_ID][w.REGION].replication_tasks[arn].ready()
    dms.start_replication_task(ReplicationTaskArn=task_arns["initial"], StartReplicationTaskType="start-replication")

    env = {
        "WRITER_ZONE_ID": zone,
        "WRITER_RECORD_NAME": WRITER.rstrip("."),
        "BLUE_CLUSTER_ID": CLUSTERS["blue"],
        "GREEN_CLUSTER_ID": CLUSTERS["green"],
        "DMS_INSTANCE_ID": DMS_INSTANCE,
        "DMS_TASK_INITIAL_ARN": task_arns["initial"],
        "DMS_TASK_BLUE_TO_GREEN_ARN": task_arns["blue_to_green"],
        "DMS_TASK_GREEN_TO_BLUE_ARN": task_arns["green_to_blue"],
        "BLUE_DB_SECRET_ARN": secrets["blue"],
        "GREEN_DB_SECRET_ARN": secrets["green"],
        "CDC_LATENCY_MAX_SECONDS": "10",
        "DRAIN_TIMEOUT_SECONDS": "15",
    }
    world.env.update(env)
    db = DbWorld(world=world, env=env, clock=clock, task_arns=task_arns, endpoints=endpoints,
                 table_stats={arn: [healthy_table(t) for t in TABLES] for arn in task_arns.values()})

    db.attach(lambda event, handler: db.hook("dms", event, handler))
    db.publish_healthy()
    return db
