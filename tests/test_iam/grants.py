"""Which IAM request an API call is, and whether a policy document allows it.

``request(call)`` turns a recorded call (service, operation, API parameters) into what IAM
evaluates: the action, the resource ARN(s) the call touches, and the condition keys the request
carries (Route 53's record names, types and actions). OPERATIONS is the table; a call it does not
know fails the test with a message saying to add it, so a new AWS call cannot pass unchecked.

``allows(document, req)`` evaluates Allow statements the way IAM does for one identity policy:
action and resource patterns (``*`` and ``?``), and the condition operators our policies use
(StringEquals, ArnEquals, ForAllValues:StringEquals); an unknown operator is an error, a missing
context key does not match. Explicit Deny wins. Service-side calls made with the role (KMS through
Secrets Manager, SNS, DynamoDB; the Lambda runtime's log, DLQ and network interfaces) come from
``implied(...)``, derived from the template, not from the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

REGION, ACCOUNT = "us-east-1", "123456789012"


@dataclass(frozen=True)
class Request:
    action: str  # service:Operation as IAM names it
    resources: tuple[str, ...]
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    why: str = ""  # "code" for a recorded call, else what implies it

    def ctx(self) -> dict[str, tuple[str, ...]]:
        return dict(self.context)


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _zone(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id.split('/')[-1]}"


def _record_changes(p: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    changes = p["ChangeBatch"]["Changes"]
    names = tuple(sorted({c["ResourceRecordSet"]["Name"].rstrip(".").lower() for c in changes}))
    types = tuple(sorted({c["ResourceRecordSet"]["Type"] for c in changes}))
    actions = tuple(sorted({c["Action"] for c in changes}))
    return (("route53:ChangeResourceRecordSetsNormalizedRecordNames", names),
            ("route53:ChangeResourceRecordSetsRecordTypes", types),
            ("route53:ChangeResourceRecordSetsActions", actions))


Resources = Callable[[dict], tuple[str, ...]]
#: (botocore service, operation) -> (IAM action, resources of the call, condition context).
OPERATIONS: dict[tuple[str, str], tuple[str, Resources, Callable[[dict], tuple] | None]] = {
    ("ssm", "GetParameter"): ("ssm:GetParameter", lambda p: (_arn("ssm", "parameter" + p["Name"]),), None),
    ("ssm", "PutParameter"): ("ssm:PutParameter", lambda p: (_arn("ssm", "parameter" + p["Name"]),), None),
    ("dynamodb", "GetItem"): ("dynamodb:GetItem", lambda p: (_arn("dynamodb", "table/" + p["TableName"]),), None),
    ("dynamodb", "PutItem"): ("dynamodb:PutItem", lambda p: (_arn("dynamodb", "table/" + p["TableName"]),), None),
    ("elbv2", "DescribeListeners"): ("elasticloadbalancing:DescribeListeners", lambda p: ("*",), None),
    ("elbv2", "ModifyListener"): ("elasticloadbalancing:ModifyListener", lambda p: (p["ListenerArn"],), None),
    ("route53", "ListResourceRecordSets"): ("route53:ListResourceRecordSets", lambda p: (_zone(p["HostedZoneId"]),), None),
    ("route53", "ChangeResourceRecordSets"): ("route53:ChangeResourceRecordSets", lambda p: (_zone(p["HostedZoneId"]),),
                                              _record_changes),
    ("route53", "GetChange"): ("route53:GetChange", lambda p: (f"arn:aws:route53:::change/{p['Id'].split('/')[-1]}",), None),
    ("cloudwatch", "DescribeAlarms"): ("cloudwatch:DescribeAlarms",
                                       lambda p: tuple(_arn("cloudwatch", f"alarm:{n}") for n in p["AlarmNames"]) or ("*",),
                                       None),
    ("cloudwatch", "GetMetricData"): ("cloudwatch:GetMetricData", lambda p: ("*",), None),
    ("cloudwatch", "GetMetricStatistics"): ("cloudwatch:GetMetricStatistics", lambda p: ("*",), None),
    ("sns", "Publish"): ("sns:Publish", lambda p: (p["TopicArn"],), None),
    ("rds", "DescribeDBClusters"): ("rds:DescribeDBClusters", lambda p: (_arn("rds", "cluster:" + p["DBClusterIdentifier"]),), None),
    ("rds", "DescribeDBInstances"): ("rds:DescribeDBInstances", lambda p: (_arn("rds", "db:" + p["DBInstanceIdentifier"]),), None),
    ("dms", "DescribeReplicationTasks"): ("dms:DescribeReplicationTasks", lambda p: ("*",), None),
    ("dms", "DescribeTableStatistics"): ("dms:DescribeTableStatistics", lambda p: (p["ReplicationTaskArn"],), None),
    ("dms", "StartReplicationTask"): ("dms:StartReplicationTask", lambda p: (p["ReplicationTaskArn"],), None),
    ("dms", "StopReplicationTask"): ("dms:StopReplicationTask", lambda p: (p["ReplicationTaskArn"],), None),
    ("secretsmanager", "GetSecretValue"): ("secretsmanager:GetSecretValue", lambda p: (p["SecretId"],), None),
    ("lambda", "GetFunctionConfiguration"): ("lambda:GetFunctionConfiguration",
                                             lambda p: (p["FunctionName"] if p["FunctionName"].startswith("arn:")
                                                        else _arn("lambda", "function:" + p["FunctionName"]),), None),
    ("sts", "GetCallerIdentity"): ("sts:GetCallerIdentity", lambda p: ("*",), None),
}
#: Needs no permission: IAM always answers who the caller is.
UNAUTHORIZED = {"sts:GetCallerIdentity"}


def request(service: str, operation: str, params: dict) -> Request:
    key = (service, operation)
    if key not in OPERATIONS:
        raise KeyError(f"{service}.{operation} is not in OPERATIONS of {__file__}: add its IAM action and resource")
    action, resources, context = OPERATIONS[key]
    return Request(action, resources(params), context(params) if context else (), "code")


def via(action: str, key_arn: str, service: str, why: str) -> Request:
    return Request(action, (key_arn,), (("kms:ViaService", (f"{service}.{REGION}.amazonaws.com",)),), why)


# ---------------------------------------------------------------- evaluation
def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _match(pattern: str, value: str, *, case: bool) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character; nothing else is special."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _condition(operator: str, key: str, expected: Any, ctx: dict[str, tuple[str, ...]]) -> bool:
    if key not in ctx:
        return False
    values, wanted = ctx[key], [str(v) for v in _listed(expected)]
    if operator in ("StringEquals", "ArnEquals"):
        return len(values) == 1 and values[0] in wanted
    if operator == "ForAllValues:StringEquals":
        return all(v in wanted for v in values)
    if operator == "ArnLike":
        return len(values) == 1 and any(_match(w, values[0], case=True) for w in wanted)
    raise ValueError(f"condition operator {operator} is not evaluated by {__file__}")


@dataclass
class Verdict:
    allowed: bool
    statements: list[str] = field(default_factory=list)  # Sids that allowed it


def _applies(statement: dict, action: str, resource: str, ctx: dict) -> bool:
    if not any(_match(a, action, case=False) for a in _listed(statement.get("Action", []))):
        return False
    if not any(_match(r, resource, case=True) for r in _listed(statement.get("Resource", []))):
        return False
    return all(_condition(op, key, expected, ctx)
               for op, keys in (statement.get("Condition") or {}).items() for key, expected in keys.items())


def allows(document: dict, req: Request) -> Verdict:
    """Allowed when every resource of the request is allowed by some statement and denied by none."""
    if req.action in UNAUTHORIZED:
        return Verdict(True)
    statements = _listed(document["Statement"])
    ctx, sids = req.ctx(), []
    for resource in req.resources:
        if any(s["Effect"] == "Deny" and _applies(s, req.action, resource, ctx) for s in statements):
            return Verdict(False)
        allowing = [s.get("Sid", "?") for s in statements if s["Effect"] == "Allow" and _applies(s, req.action, resource, ctx)]
        if not allowing:
            return Verdict(False)
        sids += allowing
    return Verdict(True, sids)


def granted_actions(document: dict) -> list[tuple[str, str]]:
    """(Sid, action) of every Allow statement: what a run must use, or the grant is excess."""
    return [(s.get("Sid", "?"), a) for s in _listed(document["Statement"]) if s["Effect"] == "Allow"
            for a in _listed(s["Action"])]
