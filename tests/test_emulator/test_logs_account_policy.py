"""The audit stack's log archive on the emulator: an account-level subscription filter policy
sends every log group's events through a Firehose stream into a bucket, and what was sent stays
there after the log group (and the stack that made it) is gone. AWS's rules for the policy are
the emulator's (extensions/logs_account_policy.py): one per Region, the destination must exist,
only ``LogGroupName NOT IN [...]`` selects."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator

ROLE = "arn:aws:iam::123456789012:role/logs-to-firehose"


def _archive_template(excluded: str) -> dict:
    return {"Resources": {
        "Archive": {"Type": "AWS::S3::Bucket"},
        "Stream": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {
                "BucketARN": {"Fn::GetAtt": ["Archive", "Arn"]}, "RoleARN": ROLE, "Prefix": "logs/"}}},
        "Policy": {"Type": "AWS::Logs::AccountPolicy", "Properties": {
            "PolicyName": "archive-everything", "PolicyType": "SUBSCRIPTION_FILTER_POLICY", "Scope": "ALL",
            "PolicyDocument": {"Fn::Sub": '{"DestinationArn": "${Stream.Arn}", "RoleArn": "%s", "FilterPattern": ""}' % ROLE},
            "SelectionCriteria": f'LogGroupName NOT IN ["{excluded}"]'}},
    }, "Outputs": {"Bucket": {"Value": {"Ref": "Archive"}}, "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}}}}


def _archived(s3, bucket: str) -> list[dict]:
    batches = []
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="logs/").get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        batches.append(json.loads(gzip.decompress(body)))
    return batches


def _write(logs, group: str, message: str) -> None:
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": message}])


@pytest.fixture
def archive(emulator, stacks):
    deployed = stacks.create(_archive_template("excluded-group"))
    yield deployed
    stacks.delete(deployed)


def test_account_policy__log_group_deleted__its_events_stay_in_the_archive(emulator, archive):
    logs, s3 = emulator.client("logs"), emulator.client("s3")
    # A group created after the policy (as a new colour's would be) is selected too.
    logs.create_log_group(logGroupName="db-audit-blue")
    _write(logs, "db-audit-blue", "CONNECT payments_app")
    logs.delete_log_group(logGroupName="db-audit-blue")

    batches = _archived(s3, archive.outputs["Bucket"])
    assert [(b["logGroup"], [e["message"] for e in b["logEvents"]]) for b in batches] == [
        ("db-audit-blue", ["CONNECT payments_app"])]


def test_account_policy__excluded_group__not_archived(emulator, archive):
    logs, s3 = emulator.client("logs"), emulator.client("s3")
    logs.create_log_group(logGroupName="excluded-group")
    _write(logs, "excluded-group", "not for the archive")
    assert _archived(s3, archive.outputs["Bucket"]) == []
    logs.delete_log_group(logGroupName="excluded-group")


def test_account_policy__second_policy_in_the_region__limit_exceeded(emulator, archive):
    with pytest.raises(ClientError, match="LimitExceededException"):
        emulator.client("logs").put_account_policy(
            policyName="another", policyType="SUBSCRIPTION_FILTER_POLICY",
            policyDocument=json.dumps({"DestinationArn": archive.outputs["StreamArn"], "RoleArn": ROLE}))


def test_account_policy__missing_stream_or_role_or_other_criteria__refused(emulator):
    logs = emulator.client("logs")
    missing = "arn:aws:firehose:us-east-1:123456789012:deliverystream/none"
    cases = [
        ({"DestinationArn": missing, "RoleArn": ROLE}, None, "Firehose stream"),
        ({"DestinationArn": missing}, None, "RoleArn is required"),
        ({"DestinationArn": missing, "RoleArn": ROLE}, 'LogGroupNamePrefix IN ["a"]', "NOT IN"),
    ]
    for document, criteria, message in cases:
        kwargs = {"selectionCriteria": criteria} if criteria else {}
        with pytest.raises(ClientError, match=message):
            logs.put_account_policy(policyName="p", policyType="SUBSCRIPTION_FILTER_POLICY",
                                    policyDocument=json.dumps(document), **kwargs)
    assert logs.describe_account_policies(policyType="SUBSCRIPTION_FILTER_POLICY")["accountPolicies"] == []


def test_account_policy__stack_deleted__policy_and_stream_gone(emulator, stacks):
    deployed = stacks.create(_archive_template("x"))
    stacks.delete(deployed)
    logs, firehose = emulator.client("logs"), emulator.client("firehose")
    assert logs.describe_account_policies(policyType="SUBSCRIPTION_FILTER_POLICY")["accountPolicies"] == []
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []
