"""DMS, AWS Backup and CloudWatch extensions, through the service APIs."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .parts import kms_key, network

pytestmark = pytest.mark.emulator


# ----------------------------------------------------------------------------- DMS


def dms_template() -> dict:
    return {
        "Resources": {
            **network("10.41"),
            "SubnetGroup": {
                "Type": "AWS::DMS::ReplicationSubnetGroup",
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


# ----------------------------------------------------------------------------- Backup


def backup_template(vault_name: str, delete_after_days: int = 35) -> dict:
    return {
        "Resources": {
            "Key": kms_key("backup"),
            "Vault": {
                "Type": "AWS::Backup::BackupVault",
                "Properties": {
                    "BackupVaultName": vault_name,
                    "EncryptionKeyArn": {"Fn::GetAtt": ["Key", "Arn"]},
                    "LockConfiguration": {"MinRetentionDays": 7, "MaxRetentionDays": 365},
                    "BackupVaultTags": {"Environment": "dev"},
                },
            },
            "Plan": {
                "Type": "AWS::Backup::BackupPlan",
                "Properties": {
                    "BackupPlan": {
                        "BackupPlanName": f"{vault_name}-plan",
                        "BackupPlanRule": [{
                            "RuleName": "daily",
                            "TargetBackupVault": {"Ref": "Vault"},
                            "ScheduleExpression": "cron(0 3 * * ? *)",
                            "Lifecycle": {"DeleteAfterDays": delete_after_days},
                        }],
                    },
                },
            },
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "Selection": {
                "Type": "AWS::Backup::BackupSelection",
                "Properties": {
                    "BackupPlanId": {"Ref": "Plan"},
                    "BackupSelection": {
                        "SelectionName": "aurora",
                        "IamRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Resources": ["arn:aws:rds:us-east-1:123456789012:cluster:aurora-blue"],
                    },
                },
            },
        },
        "Outputs": {
            "VaultArn": {"Value": {"Fn::GetAtt": ["Vault", "BackupVaultArn"]}},
            "PlanArn": {"Value": {"Fn::GetAtt": ["Plan", "BackupPlanArn"]}},
            "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
    }


def test_backup__stack_created__vault_plan_and_selection_exist(emulator, stacks):
    vault_name = stacks.unique("vault")
    deployed = stacks.create(backup_template(vault_name))
    backup = emulator.client("backup")
    r = deployed.resources

    vaults = {v["BackupVaultName"]: v for v in backup.list_backup_vaults()["BackupVaultList"]}
    plan = backup.get_backup_plan(BackupPlanId=r["Plan"])["BackupPlan"]
    selection = backup.get_backup_selection(BackupPlanId=r["Plan"], SelectionId=r["Selection"])["BackupSelection"]
    listed = backup.list_backup_selections(BackupPlanId=r["Plan"])["BackupSelectionsList"]

    assert r["Vault"] == vault_name
    assert vaults[vault_name]["EncryptionKeyArn"] == deployed.outputs["KeyArn"]
    assert vaults[vault_name]["Locked"] is True and vaults[vault_name]["MinRetentionDays"] == 7
    assert vaults[vault_name]["BackupVaultArn"] == deployed.outputs["VaultArn"]
    assert plan["Rules"][0]["TargetBackupVaultName"] == vault_name
    assert plan["Rules"][0]["Lifecycle"]["DeleteAfterDays"] == 35
    assert selection["Resources"] == ["arn:aws:rds:us-east-1:123456789012:cluster:aurora-blue"]
    assert [s["SelectionId"] for s in listed] == [r["Selection"]]


def test_backup_plan__lifecycle_changed__updated_in_place_with_new_version(emulator, stacks):
    vault_name = stacks.unique("vault")
    deployed = stacks.create(backup_template(vault_name), name=vault_name)
    backup = emulator.client("backup")
    version = backup.get_backup_plan(BackupPlanId=deployed.resources["Plan"])["VersionId"]

    updated = stacks.update(vault_name, backup_template(vault_name, delete_after_days=90))

    plan = backup.get_backup_plan(BackupPlanId=updated.resources["Plan"])
    assert updated.resources["Plan"] == deployed.resources["Plan"]
    assert plan["BackupPlan"]["Rules"][0]["Lifecycle"]["DeleteAfterDays"] == 90
    assert plan["VersionId"] != version


def test_backup__stack_deleted__vault_plan_and_selection_gone(emulator, stacks):
    vault_name = stacks.unique("vault")
    deployed = stacks.create(backup_template(vault_name))
    backup = emulator.client("backup")
    r = deployed.resources

    stacks.delete(deployed)

    assert vault_name not in [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]]
    assert r["Plan"] not in [p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]]
    with pytest.raises(ClientError, match="ResourceNotFound"):
        backup.get_backup_selection(BackupPlanId=r["Plan"], SelectionId=r["Selection"])


# ----------------------------------------------------------------------------- CloudWatch


def alarms_template(threshold: int = 5) -> dict:
    return {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Errors": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmDescription": "5xx on the green target group",
                    "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": [{"Name": "TargetGroup", "Value": "targetgroup/green/0123456789abcdef"}],
                    "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
                    "Threshold": threshold, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "Topic"}],
                },
            },
            "ErrorRate": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "EvaluationPeriods": 3, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
                    "Metrics": [
                        {"Id": "errors", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
                            "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count"}}},
                        {"Id": "requests", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
                            "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"}}},
                        {"Id": "rate", "Expression": "100 * errors / requests", "ReturnData": True, "Label": "error %"},
                    ],
                },
            },
            "Rollback": {
                "Type": "AWS::CloudWatch::CompositeAlarm",
                "Properties": {
                    "AlarmRule": {"Fn::Sub": "ALARM(${Errors}) OR ALARM(${ErrorRate})"},
                    "AlarmActions": [{"Ref": "Topic"}],
                },
            },
            "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": json.dumps({"widgets": []})}},
        },
        "Outputs": {"ErrorsArn": {"Value": {"Fn::GetAtt": ["Errors", "Arn"]}}},
    }


def test_alarms__stack_created__metric_composite_alarms_and_dashboard_exist(emulator, stacks):
    deployed = stacks.create(alarms_template())
    cw = emulator.client("cloudwatch")
    r = deployed.resources

    found = cw.describe_alarms(AlarmNames=[r["Errors"], r["ErrorRate"], r["Rollback"]], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    metric = {a["AlarmName"]: a for a in found["MetricAlarms"]}
    composite = found["CompositeAlarms"]

    assert metric[r["Errors"]]["Threshold"] == 5.0
    assert metric[r["Errors"]]["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/green/0123456789abcdef"}]
    assert metric[r["Errors"]]["AlarmActions"] == [r["Topic"]]
    assert metric[r["Errors"]]["AlarmArn"] == deployed.outputs["ErrorsArn"]
    assert [m["Id"] for m in metric[r["ErrorRate"]]["Metrics"]] == ["errors", "requests", "rate"]
    assert composite[0]["AlarmName"] == r["Rollback"]
    assert composite[0]["AlarmRule"] == f"ALARM({r['Errors']}) OR ALARM({r['ErrorRate']})"
    assert cw.get_dashboard(DashboardName=r["Dashboard"])["DashboardBody"] == json.dumps({"widgets": []})


def test_alarm__threshold_changed__updated_in_place(emulator, stacks):
    name = stacks.unique("alarms")
    deployed = stacks.create(alarms_template(), name=name)

    updated = stacks.update(name, alarms_template(threshold=10))

    alarm = emulator.client("cloudwatch").describe_alarms(AlarmNames=[updated.resources["Errors"]])["MetricAlarms"][0]
    assert updated.resources["Errors"] == deployed.resources["Errors"]
    assert alarm["Threshold"] == 10.0


def test_alarms__stack_deleted__alarms_and_dashboard_gone(emulator, stacks):
    deployed = stacks.create(alarms_template())
    cw = emulator.client("cloudwatch")
    r = deployed.resources

    stacks.delete(deployed)

    found = cw.describe_alarms(AlarmNames=[r["Errors"], r["ErrorRate"], r["Rollback"]], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert found["MetricAlarms"] == [] and found["CompositeAlarms"] == []
    with pytest.raises(ClientError, match="ResourceNotFound"):
        cw.get_dashboard(DashboardName=r["Dashboard"])
