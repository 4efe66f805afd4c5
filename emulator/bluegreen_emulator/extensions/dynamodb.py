"""DynamoDB: AWS::DynamoDB::Table SSESpecification, PointInTimeRecovery, in-place updates.

moto 5.2's ``Table.create_from_cloudformation_json`` passes the template's
``SSESpecification`` ({SSEEnabled, SSEType, KMSMasterKeyId}) as is, but the table reads
the API's spelling ({Enabled, ...}): ``describe_table`` showed no ``SSEDescription``.
``PointInTimeRecoverySpecification`` was ignored (``describe_continuous_backups``:
DISABLED), and the model had no update: a changed DeletionProtectionEnabled, SSE, PITR,
billing mode, stream, GSI set or tag set was never applied.

The fix keeps moto's model (Ref = name, GetAtt Arn / StreamArn) and wraps / adds its
class methods; upstream they would replace ``Table.create_from_cloudformation_json``
and add ``update_from_cloudformation_json`` unchanged.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.kms.models import kms_backends

from ..moto_internals import patch
from ._base import as_bool, as_int, tags_to_list

EXTENSIONS = [
    ("AWS::DynamoDB::Table", "fix: SSESpecification reaches the table (describe_table shows SSEDescription with the key ARN; moto dropped it), "
                             "PointInTimeRecoverySpecification (describe_continuous_backups); in-place update of DeletionProtectionEnabled, SSE, PITR, "
                             "billing/throughput, stream, GSIs added/removed, tags (moto: none)"),
]

def _key_arn(key_id: str, account_id: str, region_name: str) -> str:
    """AWS reports KMSMasterKeyArn: resolve a key ID or alias given in the template."""
    if key_id.startswith("arn:") and ":alias/" not in key_id:
        return key_id
    backend = kms_backends[account_id][region_name]
    alias = backend.get_alias_name(key_id)
    raw_id = backend.get_key_id_from_alias(alias) if alias.startswith("alias/") else backend.get_key_id(key_id)
    key = backend.keys.get(raw_id) if raw_id else None
    return key.arn if key is not None else key_id  # unknown key: keep what the template says


def _sse(spec: dict[str, Any] | None, account_id: str, region_name: str) -> dict[str, Any] | None:
    """CloudFormation SSESpecification -> the API's SSESpecification moto's Table reads."""
    if not spec or not as_bool(spec.get("SSEEnabled"), False):
        return None  # AWS owned key: no SSEDescription
    api: dict[str, Any] = {"Enabled": True, "SSEType": spec.get("SSEType") or "KMS"}
    if spec.get("KMSMasterKeyId"):
        api["KMSMasterKeyId"] = _key_arn(str(spec["KMSMasterKeyId"]), account_id, region_name)
    return api


def _pitr(backend: Any, name: str, spec: dict[str, Any] | None) -> None:
    spec = spec or {}
    api: dict[str, Any] = {"PointInTimeRecoveryEnabled": bool(as_bool(spec.get("PointInTimeRecoveryEnabled"), False))}
    if spec.get("RecoveryPeriodInDays") is not None:
        api["RecoveryPeriodInDays"] = as_int(spec["RecoveryPeriodInDays"])
    backend.update_continuous_backups(name, api)


_original_create = Table.create_from_cloudformation_json.__func__


def _create(cls: type[Table], resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> Table:
    p = dict(cloudformation_json.get("Properties") or {})
    p["SSESpecification"] = _sse(p.get("SSESpecification"), account_id, region_name)
    p["DeletionProtectionEnabled"] = bool(as_bool(p.get("DeletionProtectionEnabled"), False))
    table = _original_create(cls, resource_name, {**cloudformation_json, "Properties": p}, account_id, region_name, **kwargs)
    if p.get("PointInTimeRecoverySpecification"):
        _pitr(dynamodb_backends[account_id][region_name], table.name, p["PointInTimeRecoverySpecification"])
    return table


def _update(cls: type[Table], original_resource: Table, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Table:
    # A changed TableName is a replacement, done by the engine before this is called.
    p = cloudformation_json.get("Properties") or {}
    backend = dynamodb_backends[account_id][region_name]
    table = backend.get_table(original_resource.name)
    lsis = [i["IndexName"] for i in p.get("LocalSecondaryIndexes") or []]
    if _normalised(p.get("KeySchema")) != _normalised(table.schema) or lsis != [i.name for i in table.indexes]:
        # KeySchema / LocalSecondaryIndexes: CloudFormation replaces the table.
        backend.delete_table(table.name)
        return cls.create_from_cloudformation_json(table.name, cloudformation_json, account_id, region_name)

    old_gsis = {i.name for i in table.global_indexes}
    new_gsis = {g["IndexName"]: g for g in p.get("GlobalSecondaryIndexes") or []}
    gsi_updates = [{"Delete": {"IndexName": n}} for n in old_gsis - set(new_gsis)]
    gsi_updates += [{"Create": g} for n, g in new_gsis.items() if n not in old_gsis]
    stream = p.get("StreamSpecification")
    stream_changed = bool(stream) != bool(table.stream_specification and table.stream_specification.get("StreamEnabled")) or (
        stream and stream.get("StreamViewType") != (table.stream_specification or {}).get("StreamViewType")
    )
    if stream_changed and table.latest_stream_label:
        table.set_stream_specification(None)
        table.latest_stream_label = None
    billing_mode = "PAY_PER_REQUEST" if p.get("BillingMode") == "PAY_PER_REQUEST" else "PROVISIONED"
    backend.update_table(
        name=table.name,
        attr_definitions=p.get("AttributeDefinitions"),
        global_index=gsi_updates,
        throughput=p.get("ProvisionedThroughput") if billing_mode == "PROVISIONED" else None,
        billing_mode=billing_mode,
        stream_spec=(stream or {"StreamEnabled": False}) if stream_changed else None,
        deletion_protection_enabled=bool(as_bool(p.get("DeletionProtectionEnabled"), False)),
        warm_throughput=p.get("WarmThroughput"),
    )
    sse = _sse(p.get("SSESpecification"), account_id, region_name)
    if sse and "KMSMasterKeyId" not in sse:
        sse["KMSMasterKeyId"] = table._get_default_encryption_key(account_id, region_name)
    table.sse_specification = sse
    _pitr(backend, table.name, p.get("PointInTimeRecoverySpecification"))
    table.tags = tags_to_list(p.get("Tags"))
    return table


def _normalised(value: Any) -> Any:
    return [dict(v) for v in value or []]


def install(port: int) -> None:
    patch("moto.dynamodb.models.table.Table.create_from_cloudformation_json", classmethod(_create))
    patch("moto.dynamodb.models.table.Table.update_from_cloudformation_json", classmethod(_update))
