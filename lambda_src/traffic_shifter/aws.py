"""The AWS side: reading and writing weights, gates, the state item, and notifications.

Every client shares one botocore configuration that retries throttling with exponential backoff
(standard mode: Throttling, ThrottlingException, PriorRequestNotComplete, ... are retried).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .errors import ConcurrentUpdateError, ConfigError
from .model import MISSING, GateReading, ListenerWeights, ObservedWeights, RecordWeights, ShiftState, from_iso, iso

#: Retries with exponential backoff and jitter on throttling (standard mode: random * 2**attempt s,
#: so at most 1 + 2 + 4 + 8 = 15 s of waiting per call over 5 attempts), and short timeouts, so a
#: throttled or stuck call cannot eat the Lambda timeout.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=5,
    read_timeout=15,
    user_agent_extra="payments-traffic-shifter",
)
SERVICES = ("elbv2", "route53", "ssm", "cloudwatch", "dynamodb", "sns")
BLUE, GREEN = "blue", "green"


class Clients:
    """boto3 clients made once from one session (clients are thread-safe, sessions are not)."""

    def __init__(self, session: boto3.Session | None = None, config: Config = RETRY_CONFIG) -> None:
        self.session = session or boto3.Session()
        self.config = config
        self._clients: dict[str, Any] = {}
        for service in SERVICES:
            self(service)

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=self.config)
        return self._clients[service]


def _parallel(*calls: Any) -> list[Any]:
    """Run independent calls at once (ALB and Route 53 together); re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [f.result() for f in futures]


class TrafficControls:
    """The one number, green_weight, on every ALB's listener, the Route 53 records, and SSM.

    One ALB per colour (issue 16): each listener forwards with weights to its own ALB's blue and
    green target groups, so ``listener_arns[i]`` goes with ``blue_target_group_arns[i]`` and
    ``green_target_group_arns[i]`` (blue ALB first). Every listener gets the same weights.
    """

    def __init__(
        self,
        clients: Clients,
        *,
        listener_arns: Sequence[str],
        blue_target_group_arns: Sequence[str],
        green_target_group_arns: Sequence[str],
        hosted_zone_id: str,
        record_name: str,
        weight_parameter: str,
    ) -> None:
        if isinstance(listener_arns, str) or isinstance(blue_target_group_arns, str) or isinstance(green_target_group_arns, str):
            raise TypeError("listener and target group ARNs are sequences, one per ALB")
        lengths = {len(listener_arns), len(blue_target_group_arns), len(green_target_group_arns)}
        if not listener_arns or len(lengths) != 1:
            raise ConfigError(
                f"one blue and one green target group per listener, in the same order: got "
                f"{len(listener_arns)} listener(s), {len(blue_target_group_arns)} blue and "
                f"{len(green_target_group_arns)} green target group(s)"
            )
        self.clients = clients
        self.listener_arns = tuple(listener_arns)
        self.tgs = tuple({BLUE: b, GREEN: g} for b, g in zip(blue_target_group_arns, green_target_group_arns, strict=False))
        self.hosted_zone_id = hosted_zone_id
        # Route 53 returns names lower-case, with the trailing dot.
        self.record_name = record_name.lower() if record_name.endswith(".") else record_name.lower() + "."
        self.weight_parameter = weight_parameter

    # -- reading ---------------------------------------------------------------------------
    def read_listener(self, index: int) -> tuple[int | None, int | None, dict[str, Any]]:
        arn, tg = self.listener_arns[index], self.tgs[index]
        listeners = self.clients("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"]
        actions = listeners[0].get("DefaultActions", []) if listeners else []
        forward = next((a for a in actions if a.get("Type") == "forward"), None)
        groups = (forward or {}).get("ForwardConfig", {}).get("TargetGroups", [])
        weights = {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}
        if forward is None or set(weights) != set(tg.values()):
            raise ConfigError(
                f"listener {arn}: the default action must forward to exactly the blue and green "
                f"target groups, found {sorted(weights) or actions}"
            )
        return weights[tg[BLUE]], weights[tg[GREEN]], forward

    def read_alb(self) -> list[tuple[int | None, int | None, dict[str, Any]]]:
        return [self.read_listener(i) for i in range(len(self.listener_arns))]

    def read_route53(self) -> list[dict[str, Any]]:
        paginator = self.clients("route53").get_paginator("list_resource_record_sets")
        records: list[dict[str, Any]] = []
        for page in paginator.paginate(HostedZoneId=self.hosted_zone_id, StartRecordName=self.record_name):
            for rr in page["ResourceRecordSets"]:
                if _dns_name(rr["Name"]) != _dns_name(self.record_name):
                    return records  # sorted by name: past our records
                if rr.get("SetIdentifier") in (BLUE, GREEN) and "Weight" in rr:
                    records.append(rr)
        return records

    def read_ssm(self) -> str | None:
        try:
            return self.clients("ssm").get_parameter(Name=self.weight_parameter)["Parameter"]["Value"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise

    def read(self) -> ObservedWeights:
        alb, records, ssm = _parallel(self.read_alb, self.read_route53, self.read_ssm)
        by_type: dict[str, dict[str, int]] = {}
        for rr in records:
            by_type.setdefault(rr["Type"], {})[rr["SetIdentifier"]] = rr["Weight"]
        return ObservedWeights(
            alb_blue=alb[0][0],
            alb_green=alb[0][1],
            route53=tuple(RecordWeights(t, w.get(BLUE), w.get(GREEN)) for t, w in sorted(by_type.items())),
            ssm_raw=ssm,
            alb_action=alb[0][2],
            route53_records=tuple(records),
            listeners=tuple(ListenerWeights(arn, b, g) for arn, (b, g, _) in zip(self.listener_arns, alb, strict=False)),
            listener_actions=tuple(a for _, _, a in alb),
        )

    # -- writing ---------------------------------------------------------------------------
    def set_green_weight(self, green: int, observed: ObservedWeights) -> list[str]:
        """ALB and Route 53 together, then SSM; only what differs from ``observed`` is written."""
        if not 0 <= green <= 100:
            raise ValueError(f"green weight {green} is outside 0..100")
        calls: list[Callable[[], str]] = []
        # Each listener that differs is written (a half-applied run converges on the next one).
        matches = observed.listener_matches(green) if observed.listeners else (observed.alb_matches(green),) * len(self.listener_arns)
        for i, ok in enumerate(matches):
            if not ok:
                calls.append(functools.partial(self._write_listener, i, green, observed))
        if not observed.route53_matches(green):
            calls.append(lambda: self._write_route53(green, observed))
        changes = [c for c in (_parallel(*calls) if calls else []) if c]
        if not observed.ssm_matches(green):
            self.clients("ssm").put_parameter(Name=self.weight_parameter, Value=str(green), Type="String", Overwrite=True)
            changes.append(f"SSM {self.weight_parameter} {observed.ssm_raw!r} -> '{green}'")
        return changes

    def _write_listener(self, index: int, green: int, observed: ObservedWeights) -> str:
        arn, tg = self.listener_arns[index], self.tgs[index]
        forward_config: dict[str, Any] = {
            "TargetGroups": [
                {"TargetGroupArn": tg[BLUE], "Weight": 100 - green},
                {"TargetGroupArn": tg[GREEN], "Weight": green},
            ]
        }
        actions = observed.listener_actions or (observed.alb_action,)
        action = actions[index] if index < len(actions) else None
        stickiness = ((action or {}).get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
        if stickiness:
            forward_config["TargetGroupStickinessConfig"] = stickiness
        self.clients("elbv2").modify_listener(
            ListenerArn=arn, DefaultActions=[{"Type": "forward", "ForwardConfig": forward_config}]
        )
        before = observed.listeners[index] if index < len(observed.listeners) else None
        was = f"{before.blue}/{before.green}" if before else f"{observed.alb_blue}/{observed.alb_green}"
        return f"ALB {alb_name(arn)} blue/green {was} -> {100 - green}/{green}"

    def _write_route53(self, green: int, observed: ObservedWeights) -> str:
        records = observed.route53_records
        incomplete = [r.record_type for r in observed.route53 if r.blue is None or r.green is None]
        if not records or incomplete:
            raise ConfigError(
                f"Route 53 zone {self.hosted_zone_id}: {self.record_name} needs weighted records with "
                f"SetIdentifier 'blue' and 'green' for each record type, found "
                f"{sorted((rr['Type'], rr['SetIdentifier']) for rr in records)}"
            )
        changes = []
        for rr in records:
            weight = green if rr["SetIdentifier"] == GREEN else 100 - green
            if rr["Weight"] != weight:
                changes.append({"Action": "UPSERT", "ResourceRecordSet": {**rr, "Weight": weight}})
        if not changes:
            return ""
        # One change batch: Route 53 applies both colours atomically.
        self.clients("route53").change_resource_record_sets(
            HostedZoneId=self.hosted_zone_id,
            ChangeBatch={"Comment": f"traffic shifter: green {green}", "Changes": changes},
        )
        return "Route 53 " + ", ".join(
            f"{r.record_type} blue/green {r.blue}/{r.green} -> {100 - green}/{green}" for r in observed.route53
        )


class GateReader:
    """Gate alarms (metric and composite) from CloudWatch; a name not found reads as MISSING."""

    def __init__(self, clients: Clients, names: Sequence[str]) -> None:
        self.clients = clients
        self.names = tuple(names)

    def read(self) -> list[GateReading]:
        if not self.names:
            return []
        found: dict[str, GateReading] = {}
        paginator = self.clients("cloudwatch").get_paginator("describe_alarms")
        # Without AlarmTypes, describe_alarms returns metric alarms only.
        for page in paginator.paginate(AlarmNames=list(self.names), AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            for kind, alarms in (("MetricAlarm", page.get("MetricAlarms", [])), ("CompositeAlarm", page.get("CompositeAlarms", []))):
                for a in alarms:
                    # When the state value last changed (StateUpdatedTimestamp also moves on an evaluation
                    # state change; either way a bake that began before it restarts: decisions.changed_gates).
                    ts = a.get("StateTransitionedTimestamp") or a.get("StateUpdatedTimestamp")
                    found[a["AlarmName"]] = GateReading(
                        name=a["AlarmName"],
                        state=a["StateValue"],
                        reason=a.get("StateReason", ""),
                        updated_at=ts.timestamp() if ts is not None else None,
                        alarm_type=kind,
                    )
        return [found.get(n) or GateReading(n, MISSING, "alarm not found in CloudWatch") for n in self.names]


class GreenRequests:
    """Requests the green target groups served (the ALB's RequestCount per target group, every ALB summed).

    Only whole minutes inside the window count (CloudWatch rounds a start time down to the minute,
    which would count requests from before the bake); a minute with no request has no datapoint.
    """

    PERIOD = 60

    def __init__(self, clients: Clients, listener_arns: Sequence[str], green_target_group_arns: Sequence[str]) -> None:
        self.clients = clients
        self.pairs = tuple(zip(listener_arns, green_target_group_arns, strict=False))

    @staticmethod
    def dimensions(listener_arn: str, target_group_arn: str) -> list[dict[str, str]]:
        """``...:listener/app/<name>/<lb-id>/<id>`` -> ``app/<name>/<lb-id>``; ``...:targetgroup/<name>/<id>`` as it is."""
        lb = "/".join(listener_arn.split(":", 5)[-1].split("/")[1:4])
        tg = target_group_arn.split(":", 5)[-1]
        return [{"Name": "LoadBalancer", "Value": lb}, {"Name": "TargetGroup", "Value": tg}]

    def read(self, since: float, until: float) -> float:
        start = -(-int(since) // self.PERIOD) * self.PERIOD
        if until - start < self.PERIOD:
            return 0.0
        queries = [
            {"Id": f"r{i}", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": self.dimensions(lst, tg)},
                "Period": self.PERIOD, "Stat": "Sum"}}
            for i, (lst, tg) in enumerate(self.pairs)
        ]
        pages = self.clients("cloudwatch").get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries,
            StartTime=datetime.fromtimestamp(start, tz=UTC),
            EndTime=datetime.fromtimestamp(until, tz=UTC),
        )
        return float(sum(v for page in pages for r in page["MetricDataResults"] for v in r.get("Values", [])))


class StateStore:
    """The plan-state item; every write is conditional on the version that was read."""

    def __init__(self, clients: Callable[[str], Any], table: str, plan_id: str = "traffic") -> None:
        self.clients = clients
        self.table = table
        self.plan_id = plan_id

    def _item(self) -> dict[str, Any] | None:
        return self.clients("dynamodb").get_item(
            TableName=self.table, Key={"plan_id": {"S": self.plan_id}}, ConsistentRead=True
        ).get("Item")

    def load(self) -> ShiftState:
        item = self._item()
        if not item:
            return ShiftState()
        s = lambda k: item[k]["S"] if k in item else ""  # noqa: E731 - a one-line accessor of the DynamoDB item
        return ShiftState(
            status=s("status"),
            step_index=int(item["step_index"]["N"]),
            step_started_at=from_iso(s("step_started_at")),
            version=int(item["version"]["N"]),
            reason=s("reason"),
            updated_by=s("updated_by"),
            updated_at=from_iso(s("updated_at")),
            last_action=s("last_action"),
            pending=json.loads(item["pending"]["S"]) if "pending" in item else None,
            green_weight=int(item["green_weight"]["N"]) if "green_weight" in item else None,
            plan_hash=s("plan_hash"),
        )

    def write(self, expected: ShiftState, new: ShiftState) -> ShiftState:
        """Write ``new`` as version expected.version + 1, only if the item is still at ``expected.version``."""
        new = replace(new, version=expected.version + 1)
        item: dict[str, Any] = {
            "plan_id": {"S": self.plan_id},
            "status": {"S": new.status},
            "step_index": {"N": str(new.step_index)},
            "version": {"N": str(new.version)},
            "reason": {"S": new.reason},
            "updated_by": {"S": new.updated_by},
            "updated_at": {"S": iso(new.updated_at) or ""},
            "last_action": {"S": new.last_action},
        }
        if new.step_started_at is not None:
            item["step_started_at"] = {"S": iso(new.step_started_at)}
        if new.pending:
            item["pending"] = {"S": json.dumps(dict(new.pending), sort_keys=True)}
        if new.green_weight is not None:
            item["green_weight"] = {"N": str(new.green_weight)}
        if new.plan_hash:
            item["plan_hash"] = {"S": new.plan_hash}
        if expected.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(plan_id)"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected.version)}},
            }
        try:
            self.clients("dynamodb").put_item(TableName=self.table, Item=item, **condition)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                if self._item() == item:
                    # Our own write landed but its response was lost, and the retry met the condition.
                    # Claims carry a per-run id, so another run never writes this very item.
                    return new
                raise ConcurrentUpdateError(
                    f"state {self.table}/{self.plan_id} is no longer at version {expected.version} "
                    "(another run changed it); nothing more was done, re-read and try again"
                ) from err
            raise
        return new


class Notifier:
    """SNS notifications (the topic is KMS-encrypted; publish needs kms:GenerateDataKey on its key)."""

    def __init__(self, clients: Clients, topic_arn: str, label: str) -> None:
        self.clients = clients
        self.topic_arn = topic_arn
        self.label = label

    def publish(self, headline: str, details: Mapping[str, Any]) -> str:
        subject = f"[{self.label}] {headline}"
        # SNS subjects: ASCII, no newlines, at most 100 characters.
        subject = "".join(c if 32 <= ord(c) < 127 else " " for c in subject)[:100]
        message = json.dumps({"headline": headline, **details}, indent=2, sort_keys=True, default=str)
        return self.clients("sns").publish(TopicArn=self.topic_arn, Subject=subject, Message=message)["MessageId"]



def _dns_name(name: str) -> str:
    """Route 53 returns FQDNs with a trailing dot; some tools and emulators drop it."""
    return name.rstrip(".").lower()


def alb_name(listener_arn: str) -> str:
    """``arn:...:listener/app/alb-blue-dev-d01/<id>/<id>`` -> ``alb-blue-dev-d01`` (for change lines)."""
    parts = listener_arn.split("/")
    return parts[2] if len(parts) >= 5 and parts[1] in ("app", "net") else listener_arn
