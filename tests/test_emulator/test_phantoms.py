"""The phantom detector (scripts/emulator phantoms): unsupported types, verified stacks, leftovers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .parts import kms_key, network

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]


def phantoms(emulator, *args: str) -> tuple[int, list[dict]]:
    result = subprocess.run(
        [str(ROOT / "scripts" / "emulator"), "phantoms", "--endpoint", emulator.url, "--json", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def verdicts(rows: list[dict]) -> dict[str, str]:
    return {row["logical_id"]: row["verdict"] for row in rows}


def test_phantoms__type_the_emulator_does_not_support__reported_absent(emulator, stacks):
    template = {"Resources": {
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "real"}},
        "Mesh": {"Type": "AWS::AppMesh::Mesh", "Properties": {"MeshName": "payments"}},
    }}
    deployed = stacks.create(template)

    code, rows = phantoms(emulator, "--stack", deployed.name)

    assert code == 1
    assert verdicts(rows) == {"Param": "ok", "Mesh": "ABSENT"}


def test_phantoms__resource_deleted_behind_the_stacks_back__reported_missing(emulator, stacks):
    deployed = stacks.create({"Resources": {"Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "x"}}}})
    emulator.client("ssm").delete_parameter(Name=deployed.resources["Param"])

    code, rows = phantoms(emulator, "--stack", deployed.name)

    assert code == 1
    assert verdicts(rows) == {"Param": "MISSING"}


def test_phantoms__extension_types_deployed__all_verified_ok(emulator, stacks):
    template = {"Resources": {
        **network("10.71"),
        "Key": kms_key(),
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"KmsKeyId": {"Ref": "Key"}, "GenerateSecretString": {}}},
        "SubnetGroup": {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
            "DBSubnetGroupDescription": "db", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
        "Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {
            "Engine": "aurora-postgresql", "MasterUsername": "admin", "MasterUserPassword": "long-enough-password",
            "DBSubnetGroupName": {"Ref": "SubnetGroup"}}},
        "Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": stacks.unique("vault")}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"}},
        "DmsInstance": {"Type": "AWS::DMS::ReplicationInstance", "Properties": {"ReplicationInstanceClass": "dms.t3.small"}},
        "Gateway": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcId": {"Ref": "Vpc"}, "ServiceName": "com.amazonaws.us-east-1.s3"}},
    }}
    deployed = stacks.create(template)

    code, rows = phantoms(emulator, "--stack", deployed.name)

    assert code == 0, rows
    assert set(verdicts(rows).values()) == {"ok"}
    assert len(rows) == len(template["Resources"])


def test_phantoms__delete_mode__deletes_the_stack_and_finds_no_leftovers(emulator, stacks):
    template = {"Resources": {
        **network("10.72"),
        "Igw": {"Type": "AWS::EC2::InternetGateway"},
        "Attach": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Igw"}}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Assoc": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "SubnetA"}, "RouteTableId": {"Ref": "Routes"}}},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Filter": {"Type": "AWS::Logs::MetricFilter", "Properties": {"LogGroupName": {"Ref": "Group"}, "FilterPattern": "ERROR",
                   "MetricTransformations": [{"MetricName": "Errors", "MetricNamespace": "Payments", "MetricValue": "1"}]}},
    }}
    deployed = stacks.create(template)

    code, rows = phantoms(emulator, "--stack", deployed.name, "--delete")

    assert (code, rows) == (0, [])
    status = emulator.client("cloudformation").describe_stacks(StackName=deployed.stack_id)["Stacks"][0]["StackStatus"]
    assert status == "DELETE_COMPLETE"


def test_phantoms__list_checks__documents_every_priority_type(emulator):
    result = subprocess.run([str(ROOT / "scripts" / "emulator"), "phantoms", "--list-checks"],
                            capture_output=True, text=True, timeout=60)

    for rtype in ("AWS::RDS::DBCluster", "AWS::SecretsManager::Secret", "AWS::DMS::ReplicationInstance",
                  "AWS::Backup::BackupVault", "AWS::CloudWatch::Alarm", "AWS::EC2::VPCEndpoint"):
        assert rtype in result.stdout
