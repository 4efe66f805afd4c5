"""extensions/dms.py: the replication stack's DMS resources, created and deleted."""

from __future__ import annotations

import json

import pytest

from .parts import network

pytestmark = pytest.mark.emulator


# ----------------------------------------------------------------------------- DMS


DMS_VPC_ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "RoleName": "dms-vpc-role",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "dms.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"],
    },
}


def dms_template() -> dict:
    return {
        "Resources": {
            **network("10.41"),
            # AWS creates no replication subnet group without this role (test_dms_vpc_role.py).
            "DmsVpcRole": DMS_VPC_ROLE,
            "SubnetGroup": {
                "Type": "AWS::DMS::ReplicationSubnetGroup",
                "DependsOn": "DmsVpcRole",
                "Properties": {"ReplicationSubnetGroupDescription": "dms", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]},
            },
            "Instance": {
                "Type": "AWS::DMS::ReplicationInstance",
                "Properties": {
                    "ReplicationInstanceClass": "dms.t3.medium",
                    "AllocatedStorage": 50,
                    "ReplicationSubnetGroupIdentifier": {"Ref": "SubnetGroup"},
                    "PubliclyAccessible": False,
                    "MultiAZ": False,
                },
            },
            "Source": {
                "Type": "AWS::DMS::Endpoint",
                "Properties": {
                    "EndpointType": "source", "EngineName": "mysql", "ServerName": "legacy-db.payments.internal",
                    "Port": 3306, "Username": "repl", "Password": "not-a-real-password", "DatabaseName": "payments",
                },
            },
            "Target": {
                "Type": "AWS::DMS::Endpoint",
                "Properties": {
                    "EndpointType": "target", "EngineName": "aurora",
                    "MySqlSettings": {"SecretsManagerSecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
                                      "SecretsManagerAccessRoleArn": "arn:aws:iam::123456789012:role/dms-secrets"},
                },
            },
            "Task": {
                "Type": "AWS::DMS::ReplicationTask",
                "Properties": {
                    "MigrationType": "full-load-and-cdc",
                    "ReplicationInstanceArn": {"Ref": "Instance"},
                    "SourceEndpointArn": {"Ref": "Source"},
                    "TargetEndpointArn": {"Ref": "Target"},
                    "TableMappings": json.dumps({"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "all",
                                                            "object-locator": {"schema-name": "payments", "table-name": "%"},
                                                            "rule-action": "include"}]}),
                },
            },
        },
        "Outputs": {"InstancePrivateIps": {"Value": {"Fn::GetAtt": ["Instance", "ReplicationInstancePrivateIpAddresses"]}}},
    }


def test_dms__replication_stack_created__instance_endpoints_task_exist(emulator, stacks):
    deployed = stacks.create(dms_template())
    dms = emulator.client("dms")
    r = deployed.resources

    instance = dms.describe_replication_instances(Filters=[{"Name": "replication-instance-arn", "Values": [r["Instance"]]}])["ReplicationInstances"]
    endpoints = dms.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [r["Source"], r["Target"]]}])["Endpoints"]
    task = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [r["Task"]]}])["ReplicationTasks"]
    group = dms.describe_replication_subnet_groups(Filters=[{"Name": "replication-subnet-group-id", "Values": [r["SubnetGroup"]]}])["ReplicationSubnetGroups"]

    assert instance[0]["ReplicationInstanceClass"] == "dms.t3.medium"
    assert instance[0]["ReplicationInstanceArn"] == r["Instance"]
    assert sorted((e["EndpointType"].lower(), e["EngineName"]) for e in endpoints) == [("source", "mysql"), ("target", "aurora")]
    assert task[0]["MigrationType"] == "full-load-and-cdc"
    assert task[0]["SourceEndpointArn"] == r["Source"] and task[0]["TargetEndpointArn"] == r["Target"]
    assert {s["SubnetIdentifier"] for s in group[0]["Subnets"]} == {r["SubnetA"], r["SubnetB"]}
    assert group[0]["VpcId"] == r["Vpc"]
    assert deployed.outputs["InstancePrivateIps"]


def test_dms__stack_deleted__nothing_left_in_dms(emulator, stacks):
    deployed = stacks.create(dms_template())
    dms = emulator.client("dms")
    r = deployed.resources

    stacks.delete(deployed)

    assert not [i for i in dms.describe_replication_instances()["ReplicationInstances"] if i["ReplicationInstanceArn"] == r["Instance"]]
    assert not [e for e in dms.describe_endpoints()["Endpoints"] if e["EndpointArn"] in (r["Source"], r["Target"])]
    assert not [t for t in dms.describe_replication_tasks()["ReplicationTasks"] if t["ReplicationTaskArn"] == r["Task"]]
    assert not [g for g in dms.describe_replication_subnet_groups()["ReplicationSubnetGroups"]
                if g["ReplicationSubnetGroupIdentifier"] == r["SubnetGroup"]]


def test_dms__table_statistics__a_task_that_migrated_nothing_has_none_an_unknown_task_is_not_found(emulator, stacks):
    """DescribeTableStatistics (the switchover's guardrail reads it): moto answered 500 (not implemented). No data
    is migrated here, so a task has no table statistics; AWS answers ResourceNotFoundFault for an unknown task."""
    deployed = stacks.create(dms_template())
    dms = emulator.client("dms")

    answer = dms.describe_table_statistics(ReplicationTaskArn=deployed.resources["Task"])

    assert (answer["ReplicationTaskArn"], answer["TableStatistics"]) == (deployed.resources["Task"], [])
    with pytest.raises(dms.exceptions.ResourceNotFoundFault):
        dms.describe_table_statistics(ReplicationTaskArn=deployed.resources["Task"] + "x")
