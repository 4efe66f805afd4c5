"""What one rehearsal runs on (ports, sockets, names), written to ``world.json`` so every process of
the rehearsal (the driver, the shifter's "Lambda", an operator's switchover) builds the same shifter.

``shifter(world)`` is the project's own Shifter with the local adapters of adapters.py; its state
table, plan and weight parameters, notifications and gate alarms are real AWS API calls to a moto
server the rehearsal started.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from traffic_shifter.aws import Clients
from traffic_shifter.config import ShifterConfig
from traffic_shifter.db import DbConfig, DbSwitchover, SqlGrantFence
from traffic_shifter.model import COLOURS
from traffic_shifter.shifter import Shifter
from traffic_shifter.steps import StepKinds

from .adapters import DelayedDrain, HAProxyTraffic, LocalWorld, socket_login
from .delays import Delays
from .haproxy import HAProxy, Ports

PREFIX = "/payments-migration/rehearsal"
STATE_TABLE = "payments-shift-state-rehearsal"
TOPIC = "payments-shift-rehearsal"
#: The gates the shifter reads, as GATE_ALARMS names them on AWS (templates/automation.py), under the names
#: the monitoring template gives them here (Environment rehearsal, suffix local), and what the monitor
#: judges each from: green's health composite, the replication judgment, green's payments-failed alarm.
GATE_SOURCES = {
    "alarm-green-health-rehearsal-local": ("composite", "GreenHealthAlarm"),
    "alarm-data-health-rehearsal-local": ("data", ""),
    "alarm-green-payments-failed-rehearsal-local": ("alarm", "GreenPaymentsFailedAlarm"),
}
GATES = tuple(GATE_SOURCES)
APP_USER, APP_PASSWORD, APP_SCHEMA = "payments_app", "app-rehearsal-pw", "payments"
#: The databases' endpoint names (RDS writer endpoints on AWS): each one's certificate names only its own.
ENDPOINTS = {"blue": "blue.db.rehearsal.internal", "green": "green.db.rehearsal.internal"}
TABLES = ("payments.accounts", "payments.payments", "payments.idempotency_keys", "payments.ledger_entries")
#: Tunables of the switchover in the rehearsal: a short lease, so a killed run is recovered within
#: seconds (30 s on AWS, where a tick is a minute apart); the rest as deployed.
SWITCHOVER_LEASE_SECONDS = 3.0


@dataclass
class World:
    base: str
    moto_url: str
    haproxy_socket: str
    ports: dict[str, Any]
    db_sockets: dict[str, str]
    db_ports: dict[str, int]
    services: dict[str, list[int]]
    pids: dict[str, int] = field(default_factory=dict)
    #: The clients' mutual TLS (client_tls.ClientTLS.as_dict()): the run's CA and each merchant's certificate.
    tls: dict[str, Any] = field(default_factory=dict)
    ca_path: str = ""
    #: The delays the shifter's processes inject (delays.Delays as a dict; empty: none).
    delays: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.ports['payments']}"

    def save(self) -> Path:
        path = Path(self.base) / "world.json"
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> World:
        return cls(**json.loads(Path(path).read_text()))

    def haproxy(self) -> HAProxy:
        p = self.ports
        proxy = HAProxy(Path(self.base), Ports(payments=p["payments"], writer=p["writer"], log=p["log"], alb=p["alb"], tg=p["tg"]))
        proxy.socket_path = self.haproxy_socket
        return proxy


def aws_env(moto_url: str) -> dict[str, str]:
    """The environment that points boto3 at the rehearsal's moto server (never at a real account)."""
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


class LocalClients(Clients):
    """The shifter's clients, every one pointed at the rehearsal's moto server (the process environment
    is left alone: nothing else in this process may reach the rehearsal's endpoint by accident). Each call
    waits ``api_call_seconds`` first (delays.py), as a call to AWS takes that long."""

    def __init__(self, endpoint: str, api_call_seconds: float = 0.0) -> None:
        self.endpoint, self.api_call_seconds = endpoint, api_call_seconds
        super().__init__(boto3.Session(region_name="us-east-1", aws_access_key_id="rehearsal",
                                       aws_secret_access_key="rehearsal"))

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            client = self.session.client(service, config=self.config, endpoint_url=self.endpoint)
            if self.api_call_seconds:
                client.meta.events.register("before-send", lambda **_: time.sleep(self.api_call_seconds))
            self._clients[service] = client
        return self._clients[service]


def clients(world: World) -> LocalClients:
    return LocalClients(world.moto_url)


def db_config() -> DbConfig:
    return DbConfig(
        writer_zone_id="local", writer_record_name="writer.rehearsal.", blue_cluster_id="mariadb-blue",
        green_cluster_id="mariadb-green", dms_instance_id="mariadb-replication", task_initial_arn="blue->green",
        task_blue_to_green_arn="blue->green", task_green_to_blue_arn="green->blue", blue_secret_arn="root-socket",
        green_secret_arn="root-socket", app_user=APP_USER, app_schema=APP_SCHEMA,
        lease_seconds=SWITCHOVER_LEASE_SECONDS, budget_seconds=60.0, drain_timeout_seconds=10.0,
    )


def shifter_config(topic_arn: str) -> ShifterConfig:
    listeners = tuple(HAProxyTraffic.listener(e) for e in COLOURS)
    return ShifterConfig(
        ssm_prefix=PREFIX, state_table=STATE_TABLE, listener_arns=listeners,
        blue_target_group_arns=("tg_blue",) * 2, green_target_group_arns=("tg_green",) * 2,
        hosted_zone_id="local", record_name="pay.rehearsal.", gate_alarms=GATES, notify_topic_arn=topic_arn,
        db=db_config(),
    )


def delays_of(world: World) -> Delays:
    return Delays(**world.delays)


def local_switchover(world: World, *, after_action: Callable[[str], None] | None = None,
                     delays: Delays | None = None) -> DbSwitchover:
    """The plan step ``db_switchover`` with the local world; the procedure is the Lambda's."""
    delays = delays_of(world) if delays is None else delays
    proxy = world.haproxy()
    fence_logins = {c: socket_login(world.db_sockets[c], binlog=False, delays=delays) for c in COLOURS}
    # The marker row must replicate (it proves the drain); the fence's grants must not (they are local).
    drain_logins = {c: socket_login(world.db_sockets[c], binlog=True, delays=delays) for c in COLOURS}
    kind = DbSwitchover(
        lambda _clients, cfg: SqlGrantFence(lambda colour: fence_logins[colour](), user=cfg.app_user,
                                            schema=cfg.app_schema, kill_sql="KILL %s"),
        drain_factory=lambda _clients, cfg: DelayedDrain(lambda colour: drain_logins[colour](), user=cfg.app_user,
                                                         schema=cfg.marker_schema, delays=delays),
        world_factory=lambda _clients, _cfg, _clock: LocalWorld(proxy, world.db_sockets, world.db_ports, TABLES, delays),
        poll_seconds=0.05,
        after_action=after_action,
    )
    return kind


def topic_arn(clients: Clients) -> str:
    return clients("sns").create_topic(Name=TOPIC)["TopicArn"]  # idempotent: returns the existing topic


def shifter(world: World, *, switchover: DbSwitchover | None = None, delays: Delays | None = None) -> Shifter:
    """The project's Shifter on the local world; ``switchover``: its db_switchover kind (default local_switchover(world))."""
    delays = delays_of(world) if delays is None else delays
    clients = LocalClients(world.moto_url, delays.api_call_seconds)
    config = shifter_config(topic_arn(clients))
    traffic = HAProxyTraffic(world.haproxy(), clients("ssm"), config.weight_parameter)
    return Shifter(config, clients=clients, traffic=traffic,
                   kinds=StepKinds(switchover or local_switchover(world, delays=delays)))


def prepare_aws(world: World, plan: dict[str, Any]) -> None:
    """The control-plane records the automation stack creates on AWS: state table, parameters, topic, gates."""
    clients = LocalClients(world.moto_url)
    ddb = clients("dynamodb")
    ddb.create_table(TableName=STATE_TABLE, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "plan_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "plan_id", "KeyType": "HASH"}])
    ssm = clients("ssm")
    ssm.put_parameter(Name=f"{PREFIX}/traffic/green-weight", Value="0", Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{PREFIX}/shift/plan", Value=json.dumps(plan), Type="String", Overwrite=True)
    topic_arn(clients)
    cw = clients("cloudwatch")
    for name in GATES:
        cw.put_metric_alarm(AlarmName=name, Namespace="Rehearsal", MetricName=name, Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="rehearsal start")
