"""extensions/dynamodb.py: SSE, PITR and deletion protection, created, updated and deleted."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


KEY = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}}}


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
