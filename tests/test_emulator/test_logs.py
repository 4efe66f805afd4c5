"""extensions/logs.py: log groups with their key, retention and tags."""

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
