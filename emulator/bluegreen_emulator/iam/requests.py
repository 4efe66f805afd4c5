"""Which IAM request an API call is: action, resource ARN(s) and the condition keys it carries.

One source for the emulator's enforcement (enforcement.py, on every request it serves) and for
tests/test_iam (on calls recorded from botocore). ``request(service, operation, params)`` looks the
call up in OPERATIONS (botocore service name and operation, API parameters as botocore sends them);
a call it does not know raises KeyError naming the table, so a test cannot pass a call unchecked.
``action_level(...)`` is the emulator's fallback for those: the IAM action on resource ``*``, i.e.
only the action is checked (ACTION_LEVEL_NOTE says so in messages and docs/emulator.md).

``service_side(...)`` lists what a service does with the caller's permissions on the caller's
behalf and the request itself can name: KMS through Secrets Manager, SNS, SQS, SSM and DynamoDB
(``kms:ViaService``). Standard library only: the project venv imports it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

REGION, ACCOUNT = "us-east-1", "123456789012"
ACTION_LEVEL_NOTE = "resource not mapped: checked at action level"


@dataclass(frozen=True)
class Request:
    action: str  # service:Operation as IAM names it
    resources: tuple[str, ...]
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    why: str = ""  # "code" for a recorded call, else what implies it

    def ctx(self) -> dict[str, tuple[str, ...]]:
        return dict(self.context)


@dataclass(frozen=True)
class Where:
    """The region and account a request is made in (the ARNs of its resources)."""

    region: str = REGION
    account: str = ACCOUNT

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return Where(region, account).arn(service, resource)


def _zone(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id.split('/')[-1]}"


def _name_or_arn(value: str, w: Where, service: str, kind: str) -> str:
    return value if value.startswith("arn:") else w.arn(service, f"{kind}{value}")


def _record_changes(p: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    changes = p["ChangeBatch"]["Changes"]
    names = tuple(sorted({c["ResourceRecordSet"]["Name"].rstrip(".").lower() for c in changes}))
    types = tuple(sorted({c["ResourceRecordSet"]["Type"] for c in changes}))
    actions = tuple(sorted({c["Action"] for c in changes}))
    return (("route53:ChangeResourceRecordSetsNormalizedRecordNames", names),
            ("route53:ChangeResourceRecordSetsRecordTypes", types),
            ("route53:ChangeResourceRecordSetsActions", actions))


def _mfa(p: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    # AssumeRole with an MFA device's serial and code is an MFA-authenticated request (the emulator
    # cannot check the code itself: docs/emulator.md).
    return (("aws:MultiFactorAuthPresent", ("true",)),) if p.get("SerialNumber") and p.get("TokenCode") else ()


def _parameter(p: dict, w: Where) -> tuple[str, ...]:
    return (_name_or_arn(p["Name"], w, "ssm", "parameter"),)


def _ssm_tagged(p: dict, w: Where) -> tuple[str, ...]:
    kind = {"Parameter": "parameter"}.get(p["ResourceType"], p["ResourceType"].lower() + "/")
    return (_name_or_arn(p["ResourceId"], w, "ssm", kind),)


def _table(p: dict, w: Where) -> tuple[str, ...]:
    return (_name_or_arn(p["TableName"], w, "dynamodb", "table/"),)


def _alarms(p: dict, w: Where) -> tuple[str, ...]:
    return tuple(w.arn("cloudwatch", f"alarm:{n}") for n in p.get("AlarmNames") or ()) or ("*",)


def _function(p: dict, w: Where) -> tuple[str, ...]:
    return (_name_or_arn(p["FunctionName"], w, "lambda", "function:"),)


def _anything(p: dict, w: Where) -> tuple[str, ...]:
    return ("*",)


Resources = Callable[[dict, Where], tuple[str, ...]]
Context = Callable[[dict], tuple[tuple[str, tuple[str, ...]], ...]]
#: (botocore service, operation) -> (IAM action, resources of the call, condition context).
OPERATIONS: dict[tuple[str, str], tuple[str, Resources, Context | None]] = {
    ("ssm", "GetParameter"): ("ssm:GetParameter", _parameter, None),
    ("ssm", "PutParameter"): ("ssm:PutParameter", _parameter, None),
    ("ssm", "DeleteParameter"): ("ssm:DeleteParameter", _parameter, None),
    ("ssm", "AddTagsToResource"): ("ssm:AddTagsToResource", _ssm_tagged, None),
    ("dynamodb", "GetItem"): ("dynamodb:GetItem", _table, None),
    ("dynamodb", "PutItem"): ("dynamodb:PutItem", _table, None),
    ("elbv2", "DescribeListeners"): ("elasticloadbalancing:DescribeListeners", _anything, None),
    ("elbv2", "ModifyListener"): ("elasticloadbalancing:ModifyListener", lambda p, w: (p["ListenerArn"],), None),
    ("route53", "ListResourceRecordSets"): ("route53:ListResourceRecordSets", lambda p, w: (_zone(p["HostedZoneId"]),), None),
    ("route53", "ChangeResourceRecordSets"): ("route53:ChangeResourceRecordSets", lambda p, w: (_zone(p["HostedZoneId"]),),
                                              _record_changes),
    ("route53", "GetChange"): ("route53:GetChange", lambda p, w: (f"arn:aws:route53:::change/{p['Id'].split('/')[-1]}",), None),
    ("cloudwatch", "DescribeAlarms"): ("cloudwatch:DescribeAlarms", _alarms, None),
    ("cloudwatch", "GetMetricData"): ("cloudwatch:GetMetricData", _anything, None),
    ("cloudwatch", "GetMetricStatistics"): ("cloudwatch:GetMetricStatistics", _anything, None),
    ("sns", "Publish"): ("sns:Publish", lambda p, w: (p["TopicArn"],), None),
    ("rds", "DescribeDBClusters"): ("rds:DescribeDBClusters", lambda p, w: (w.arn("rds", "cluster:" + p["DBClusterIdentifier"]),), None),
    ("rds", "DescribeDBInstances"): ("rds:DescribeDBInstances", lambda p, w: (w.arn("rds", "db:" + p["DBInstanceIdentifier"]),), None),
    ("dms", "DescribeReplicationTasks"): ("dms:DescribeReplicationTasks", _anything, None),
    ("dms", "DescribeTableStatistics"): ("dms:DescribeTableStatistics", lambda p, w: (p["ReplicationTaskArn"],), None),
    ("dms", "StartReplicationTask"): ("dms:StartReplicationTask", lambda p, w: (p["ReplicationTaskArn"],), None),
    ("dms", "StopReplicationTask"): ("dms:StopReplicationTask", lambda p, w: (p["ReplicationTaskArn"],), None),
    ("secretsmanager", "GetSecretValue"): ("secretsmanager:GetSecretValue", lambda p, w: (p["SecretId"],), None),
    ("lambda", "GetFunctionConfiguration"): ("lambda:GetFunctionConfiguration", _function, None),
    ("lambda", "Invoke"): ("lambda:InvokeFunction", _function, None),
    ("sts", "GetCallerIdentity"): ("sts:GetCallerIdentity", _anything, None),
    ("sts", "AssumeRole"): ("sts:AssumeRole", lambda p, w: (p["RoleArn"],), _mfa),
}
#: Needs no permission: IAM always answers who the caller is.
UNAUTHORIZED = {"sts:GetCallerIdentity"}

#: Where IAM's action prefix is not the service's signing name.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "elasticmapreduce": "elasticmapreduce"}
#: Operations whose IAM action has another name (action-level fallback).
ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeAsync",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "GetBucketLocation"): "GetBucketLocation",
}


def request(service: str, operation: str, params: dict, *, region: str = REGION, account: str = ACCOUNT) -> Request:
    key = (service, operation)
    if key not in OPERATIONS:
        raise KeyError(f"{service}.{operation} is not in OPERATIONS of {__file__}: add its IAM action and resource")
    action, resources, context = OPERATIONS[key]
    return Request(action, resources(params, Where(region, account)), context(params) if context else (), "code")


def action_level(service: str, signing_name: str, operation: str) -> Request:
    """The IAM action of a call OPERATIONS does not know, on resource ``*``: only the action is checked."""
    prefix = IAM_PREFIX.get(signing_name, signing_name)
    return Request(f"{prefix}:{ACTION_NAMES.get((service, operation), operation)}", ("*",), (), ACTION_LEVEL_NOTE)


def via(action: str, key_arn: str, service: str, why: str, region: str = REGION) -> Request:
    return Request(action, (key_arn,), (("kms:ViaService", (f"{service}.{region}.amazonaws.com",)),), why)


#: (botocore service, operation) -> KMS actions the service performs with the caller's permissions
#: on the key of the resource the call names (key found by enforcement.py in the service).
SERVICE_SIDE_KMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("secretsmanager", "GetSecretValue"): ("kms:Decrypt",),
    ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("dynamodb", "GetItem"): ("kms:Decrypt",),
    ("dynamodb", "Query"): ("kms:Decrypt",),
    ("dynamodb", "Scan"): ("kms:Decrypt",),
    ("dynamodb", "PutItem"): ("kms:Decrypt", "kms:GenerateDataKey"),
    ("dynamodb", "UpdateItem"): ("kms:Decrypt", "kms:GenerateDataKey"),
    ("dynamodb", "DeleteItem"): ("kms:Decrypt", "kms:GenerateDataKey"),
    # SecureString parameters: a standard-tier value is encrypted and decrypted by the key itself.
    ("ssm", "PutParameter"): ("kms:Encrypt",),
    ("ssm", "GetParameter"): ("kms:Decrypt",),
}


def service_side(service: str, operation: str, key_arn: str | None, region: str = REGION) -> list[Request]:
    """The KMS requests ``operation`` makes on ``key_arn`` (None: no customer key, nothing)."""
    if not key_arn:
        return []
    why = f"{service} {operation} (the resource's KMS key)"
    return [via(action, key_arn, service, why, region) for action in SERVICE_SIDE_KMS.get((service, operation), ())]
