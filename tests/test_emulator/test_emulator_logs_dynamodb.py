"""Encryption and recovery settings of LogGroup and DynamoDB Table reach the services."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator

KEY = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}}}


def _log_group_template(retention: int, tags: dict[str, str], key: str = "KeyA") -> dict:
    return {"Resources": {
        "KeyA": KEY,
        "KeyB": KEY,
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "RetentionInDays": retention,
            "KmsKeyId": {"Fn::GetAtt": [key, "Arn"]},
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}},
    }, "Outputs": {"KeyA": {"Value": {"Fn::GetAtt": ["KeyA", "Arn"]}}, "KeyB": {"Value": {"Fn::GetAtt": ["KeyB", "Arn"]}}}}


def _describe_group(logs, name: str) -> dict:
    return next(g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name)


def test_log_group__kms_key_retention_tags__created_updated_deleted(emulator, stacks):
    logs = emulator.client("logs")
    deployed = stacks.create(_log_group_template(30, {"team": "payments"}))
    name = deployed.resources["Group"]

    group = _describe_group(logs, name)
    assert group["kmsKeyId"] == deployed.outputs["KeyA"]
    assert group["retentionInDays"] == 30
    assert logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"] == {"team": "payments"}

    updated = stacks.update(deployed.name, _log_group_template(90, {"owner": "sre"}, key="KeyB"))

    group = _describe_group(logs, name)
    assert updated.resources["Group"] == name
    assert group["kmsKeyId"] == deployed.outputs["KeyB"]
    assert group["retentionInDays"] == 90
    assert logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"] == {"owner": "sre"}

    stacks.delete(deployed)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


def _table_template(sse: bool, pitr: bool, protect: bool) -> dict:
    table = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
        if sse else {"SSEEnabled": False},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": pitr},
        "DeletionProtectionEnabled": protect,
    }
    return {"Resources": {"Key": KEY, "Table": {"Type": "AWS::DynamoDB::Table", "Properties": table}},
            "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}}


def test_dynamodb_table__sse_pitr_deletion_protection__created_updated_deleted(emulator, stacks):
    dynamodb = emulator.client("dynamodb")
    deployed = stacks.create(_table_template(sse=True, pitr=True, protect=True))
    name = deployed.resources["Table"]

    table = dynamodb.describe_table(TableName=name)["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert table["SSEDescription"] == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": deployed.outputs["KeyArn"]}
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert table["DeletionProtectionEnabled"] is True

    stacks.update(deployed.name, _table_template(sse=False, pitr=False, protect=False))

    table = dynamodb.describe_table(TableName=name)["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert "SSEDescription" not in table
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    assert table["DeletionProtectionEnabled"] is False

    stacks.delete(deployed)
    assert name not in dynamodb.list_tables()["TableNames"]
