"""A moto world shaped like the deployed stacks, for the traffic shifter and the CLI tests.

VPC with two subnets, an ALB whose listener forwards to the blue and green target groups by weight,
a Route 53 zone with the blue/green weighted alias records of the payment hostname, the SSM
parameters, the state table, gate alarms (two composites and a metric alarm), and a KMS-encrypted
SNS topic with an SQS queue subscribed so tests can read what was published.

Build it inside ``mock_aws()``; the CLI tests load this file by path (tests/test_cli/conftest.py).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from functools import lru_cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws
from moto.cloudwatch.responses import CloudWatchResponse

from traffic_shifter.aws import Clients

REGION = "us-east-1"
PROJECT = "payments-migration"
PREFIX = "/payments-migration/dev-d01"
FUNCTION_NAME = "lambda-traffic-shifter-dev-d01"
TABLE = "ddb-shift-state-dev-d01"
RECORD_NAME = "pay.payments.example.com."
HEALTH_GATE = "alarm-green-health-dev-d01"
REPLICATION_GATE = "alarm-data-replication-dev-d01"
ERRORS_GATE = "alarm-green-5xx-dev-d01"
GATES = (HEALTH_GATE, REPLICATION_GATE, ERRORS_GATE)
PLAN = {
    "steps": [
        {"green_weight": 10, "bake_seconds": 300},
        {"green_weight": 25, "bake_seconds": 300},
        {"green_weight": 50, "bake_seconds": 600},
        {"green_weight": 100, "bake_seconds": 0},
    ]
}
#: Operations that change something; a tick that decides "hold" must send none of them.
WRITE_OPERATIONS = frozenset(
    {"ModifyListener", "ChangeResourceRecordSets", "PutParameter", "PutItem", "UpdateItem", "DeleteItem", "Publish"}
)


#: One model loader for every session the tests make: parsing botocore's JSON models once, not per
#: test, keeps the suite fast (each new session would otherwise re-read them).
_LOADER = botocore.loaders.create_loader()


def new_session(region_name: str = REGION) -> boto3.Session:
    """A fresh session (its own event hooks) sharing the parsed service models."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, region_name=region_name)


def speed_up_sns(monkeypatch: Any) -> None:
    """moto signs every SNS delivery with a fresh 2048-bit RSA key per topic (70 ms); one key will do."""
    from moto.sns.models import Subscription

    monkeypatch.setattr(Subscription, "private_key", lambda self: _signing_key())


@lru_cache(maxsize=1)
def _signing_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def enable_composite_alarms(monkeypatch: Any) -> None:
    """moto 5.2.5 stores composite alarms (AlarmRule) but has no PutCompositeAlarm action: route it."""
    if not hasattr(CloudWatchResponse, "put_composite_alarm"):
        monkeypatch.setattr(CloudWatchResponse, "put_composite_alarm", CloudWatchResponse.put_metric_alarm, raising=False)


class FakeClock:
    """Time that only moves when a test says so (bakes without sleeping)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def utcnow(self) -> Any:
        """The time as moto stamps it (naive UTC datetime)."""
        from datetime import datetime

        return datetime.fromtimestamp(self.now, tz=UTC).replace(tzinfo=None)


@dataclass
class World:
    env: dict[str, str]
    #: The session of the shifters' clients (``shifter_clients()``).
    session: boto3.Session
    queue_url: str
    #: (service, operation) of every call made by clients of ``session``.
    calls: list[tuple[str, str]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        """The test's own client (its calls are not recorded in ``calls``)."""
        return test_client(service)

    # -- what the world looks like ---------------------------------------------------------------
    def listeners(self) -> list[tuple[str, str, str]]:
        """(listener, blue target group, green target group) of each ALB, blue ALB first."""
        return list(zip(*(self.env[k].split(",") for k in ("LISTENER_ARNS", "BLUE_TARGET_GROUP_ARNS", "GREEN_TARGET_GROUP_ARNS")), strict=False))

    def listener_weights(self) -> list[tuple[int, int]]:
        out = []
        for arn, blue, green in self.listeners():
            listener = self.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"][0]
            groups = {g["TargetGroupArn"]: g["Weight"] for g in listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
            out.append((groups[blue], groups[green]))
        return out

    def alb_weights(self) -> Any:
        """(blue, green) when every ALB's listener agrees; otherwise each listener's pair (never equal to one pair)."""
        weights = self.listener_weights()
        return weights[0] if len(set(weights)) == 1 else tuple(weights)

    def route53_weights(self) -> tuple[int, int]:
        records = self.client("route53").list_resource_record_sets(HostedZoneId=self.env["HOSTED_ZONE_ID"])
        weights = {r["SetIdentifier"]: r["Weight"] for r in records["ResourceRecordSets"] if r.get("SetIdentifier")}
        return weights["blue"], weights["green"]

    def ssm_weight(self) -> str:
        return self.client("ssm").get_parameter(Name=f"{PREFIX}/traffic/green-weight")["Parameter"]["Value"]

    def weights(self) -> dict[str, Any]:
        """The one number as seen everywhere: {"alb": (blue, green), "route53": (blue, green), "ssm": "g"}."""
        return {"alb": self.alb_weights(), "route53": self.route53_weights(), "ssm": self.ssm_weight()}

    def state_item(self) -> dict[str, Any]:
        item = self.client("dynamodb").get_item(TableName=TABLE, Key={"plan_id": {"S": "traffic"}}).get("Item", {})
        return {k: next(iter(v.values())) for k, v in item.items()}

    def notifications(self) -> list[dict[str, Any]]:
        """Messages published to the topic since the last call (drained from the subscribed queue)."""
        sqs = self.client("sqs")
        out = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return out
            for m in batch:
                envelope = json.loads(m["Body"])
                out.append({"subject": envelope.get("Subject"), **json.loads(envelope["Message"])})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[1] in WRITE_OPERATIONS]

    # -- changing the world ------------------------------------------------------------------------
    def set_gate(self, name: str, state: str, reason: str = "set by test") -> None:
        self.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    def put_plan(self, plan: Any) -> None:
        text = plan if isinstance(plan, str) else json.dumps(plan)
        self.client("ssm").put_parameter(Name=f"{PREFIX}/shift/plan", Value=text, Type="String", Overwrite=True)

    def set_listener(self, index: int, green: int) -> None:
        arn, blue, green_tg = self.listeners()[index]
        self.client("elbv2").modify_listener(ListenerArn=arn, DefaultActions=[_forward(blue, green_tg, green)])

    def set_weights(self, green: int) -> None:
        """Put the weights somewhere by hand (as a half-done run or an operator would leave them)."""
        for index in range(len(self.listeners())):
            self.set_listener(index, green)
        records = self.client("route53").list_resource_record_sets(HostedZoneId=self.env["HOSTED_ZONE_ID"])
        changes = [
            {"Action": "UPSERT", "ResourceRecordSet": {**r, "Weight": green if r["SetIdentifier"] == "green" else 100 - green}}
            for r in records["ResourceRecordSets"]
            if r.get("SetIdentifier")
        ]
        self.client("route53").change_resource_record_sets(HostedZoneId=self.env["HOSTED_ZONE_ID"], ChangeBatch={"Changes": changes})
        self.client("ssm").put_parameter(Name=f"{PREFIX}/traffic/green-weight", Value=str(green), Type="String", Overwrite=True)


def _forward(blue_arn: str, green_arn: str, green: int) -> dict[str, Any]:
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": blue_arn, "Weight": 100 - green}, {"TargetGroupArn": green_arn, "Weight": green}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
        },
    }


_TEST_SESSION = new_session()
_TEST_CLIENTS: dict[str, Any] = {}
#: The shifters' session: every call its clients make is appended to the current world's ``calls``.
SHIFTER_SESSION = new_session()
_CALLS: list[list[tuple[str, str]]] = [[]]


def _record(model: Any, **_: Any) -> None:
    _CALLS[0].append((model.service_model.service_name, model.name))


SHIFTER_SESSION.events.register("before-call", _record)


@lru_cache(maxsize=1)
def shifter_clients() -> Clients:
    """The shifters' clients, made once like the Lambda makes them once per execution environment."""
    return Clients(SHIFTER_SESSION)


def test_client(service: str) -> Any:
    """Clients for arranging and inspecting the world, made once (moto intercepts them whenever it is active)."""
    if service not in _TEST_CLIENTS:
        _TEST_CLIENTS[service] = _TEST_SESSION.client(service)
    return _TEST_CLIENTS[service]


def build_world() -> World:
    """Create the deployed resources (call inside mock_aws())."""
    c = test_client

    ec2 = c("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    elbv2 = c("elbv2")
    # One ALB per colour (issue 16), each forwarding with weights to its own blue and green target group.
    albs, listeners, tgs = {}, [], {"blue": [], "green": []}
    for edge in ("blue", "green"):
        albs[edge] = elbv2.create_load_balancer(Name=f"alb-{edge}-dev-d01", Subnets=subnets, Scheme="internet-facing")["LoadBalancers"][0]
        tg = {
            colour: elbv2.create_target_group(Name=f"tg-{edge}alb-{colour}-dev-d01", Protocol="HTTP", Port=8080, VpcId=vpc)[
                "TargetGroups"
            ][0]["TargetGroupArn"]
            for colour in ("blue", "green")
        }
        listeners.append(elbv2.create_listener(
            LoadBalancerArn=albs[edge]["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[_forward(tg["blue"], tg["green"], 0)]
        )["Listeners"][0]["ListenerArn"])
        for colour in ("blue", "green"):
            tgs[colour].append(tg[colour])

    route53 = c("route53")
    zone = route53.create_hosted_zone(Name="payments.example.com.", CallerReference="world")["HostedZone"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": RECORD_NAME,
                        "Type": "A",
                        "SetIdentifier": colour,
                        "Weight": weight,
                        "AliasTarget": {
                            "HostedZoneId": albs[colour]["CanonicalHostedZoneId"],
                            "DNSName": albs[colour]["DNSName"],
                            "EvaluateTargetHealth": True,
                        },
                    },
                }
                for colour, weight in (("blue", 100), ("green", 0))
            ]
        },
    )

    ssm = c("ssm")
    ssm.put_parameter(Name=f"{PREFIX}/traffic/green-weight", Value="0", Type="String")
    ssm.put_parameter(Name=f"{PREFIX}/shift/plan", Value=json.dumps(PLAN), Type="String")

    c("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "plan_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "plan_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )

    cw = c("cloudwatch")
    for name, metric in ((ERRORS_GATE, "HTTPCode_Target_5XX_Count"), ("alarm-green-latency-dev-d01", "TargetResponseTime"),
                         ("alarm-replica-lag-dev-d01", "AuroraReplicaLag")):
        cw.put_metric_alarm(
            AlarmName=name, Namespace="AWS/ApplicationELB", MetricName=metric, Statistic="Sum", Period=60,
            EvaluationPeriods=3, Threshold=5, ComparisonOperator="GreaterThanThreshold", TreatMissingData="breaching",
        )
    cw.put_composite_alarm(AlarmName=HEALTH_GATE, AlarmRule=f'ALARM("{ERRORS_GATE}") OR ALARM("alarm-green-latency-dev-d01")')
    cw.put_composite_alarm(AlarmName=REPLICATION_GATE, AlarmRule='ALARM("alarm-replica-lag-dev-d01")')

    topic = c("sns").create_topic(Name="sns-shift-notify-dev-d01", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]
    queue_url = c("sqs").create_queue(QueueName="sqs-notify-tap")["QueueUrl"]
    queue_arn = c("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    c("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    env = {
        "SSM_PREFIX": PREFIX,
        "STATE_TABLE": TABLE,
        "LISTENER_ARNS": ",".join(listeners),
        "BLUE_TARGET_GROUP_ARNS": ",".join(tgs["blue"]),
        "GREEN_TARGET_GROUP_ARNS": ",".join(tgs["green"]),
        "HOSTED_ZONE_ID": zone.split("/")[-1],
        "RECORD_NAME": RECORD_NAME,
        "GATE_ALARMS": ",".join(GATES),
        "NOTIFY_TOPIC_ARN": topic,
        "POWERTOOLS_SERVICE_NAME": "traffic-shifter",
        "POWERTOOLS_METRICS_NAMESPACE": "PaymentsBlueGreen",
    }
    world = World(env=env, session=SHIFTER_SESSION, queue_url=queue_url)
    _CALLS[0] = world.calls
    return world


def deploy_function(world: World) -> None:
    """The traffic-shifter function as templates/automation.json deploys it (the CLI reads its env)."""
    iam = world.client("iam")
    role = iam.create_role(
        RoleName="role-traffic-shifter-dev-d01",
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("traffic_shifter/__init__.py", "")
    world.client("lambda").create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.12",
        Role=role,
        Handler="traffic_shifter.handler.lambda_handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": world.env},
    )



@dataclass
class LambdaContext:
    """What the Lambda runtime passes the handler (Powertools reads these)."""

    function_name: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = ""
    aws_request_id: str = "req-1"


def lambda_context(suffix: str = "dev-d01") -> LambdaContext:
    """The context of the traffic-shifter function deployed in one environment (``dev-d01``, ``prod-p01``)."""
    name = f"lambda-traffic-shifter-{suffix}"
    return LambdaContext(name, invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}")


@contextmanager
def moto_world(monkeypatch: Any) -> Iterator[World]:
    """``build_world()`` inside ``mock_aws()``, with composite alarms and SNS delivery as the tests need them."""
    enable_composite_alarms(monkeypatch)
    speed_up_sns(monkeypatch)
    with mock_aws():
        yield build_world()
