"""RDS (Aurora cluster + member) and Secrets Manager extensions, through the service APIs."""

from __future__ import annotations

import copy
import json

import pytest
from botocore.exceptions import ClientError

from .parts import kms_key, network

pytestmark = pytest.mark.emulator

EXCLUDED = "\"@/\\'`"


def secret(name: str) -> dict:
    return {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": name,
            "Description": "Aurora master credentials",
            "KmsKeyId": {"Ref": "Key"},
            "GenerateSecretString": {
                "SecretStringTemplate": json.dumps({"username": "payadmin"}),
                "GenerateStringKey": "password",
                "PasswordLength": 32,
                "ExcludeCharacters": EXCLUDED,
            },
            "Tags": [{"Key": "Environment", "Value": "dev"}],
        },
    }


def aurora_template(name: str, retention: int = 7) -> dict:
    return {
        "Resources": {
            **network("10.31"),
            "Key": kms_key(),
            "Secret": secret(f"secret-db-{name}"),
            "SubnetGroup": {
                "Type": "AWS::RDS::DBSubnetGroup",
                "Properties": {"DBSubnetGroupDescription": "db", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]},
            },
            "ClusterParams": {
                "Type": "AWS::RDS::DBClusterParameterGroup",
                "Properties": {"Description": "cluster", "Family": "aurora-mysql8.0", "Parameters": {"binlog_format": "ROW"}},
            },
            "Cluster": {
                "Type": "AWS::RDS::DBCluster",
                "DeletionPolicy": "Delete",
                "Properties": {
                    "DBClusterIdentifier": f"aurora-{name}",
                    "Engine": "aurora-mysql",
                    "EngineVersion": "8.0.mysql_aurora.3.05.2",
                    "MasterUsername": {"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString:username}}"},
                    "MasterUserPassword": {"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString:password}}"},
                    "DBSubnetGroupName": {"Ref": "SubnetGroup"},
                    "DBClusterParameterGroupName": {"Ref": "ClusterParams"},
                    "StorageEncrypted": True,
                    "KmsKeyId": {"Ref": "Key"},
                    "BackupRetentionPeriod": retention,
                },
            },
            "Writer": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {"Engine": "aurora-mysql", "DBClusterIdentifier": {"Ref": "Cluster"}, "DBInstanceClass": "db.r6g.large"},
            },
            "Attachment": {
                "Type": "AWS::SecretsManager::SecretTargetAttachment",
                "Properties": {"SecretId": {"Ref": "Secret"}, "TargetId": {"Ref": "Cluster"}, "TargetType": "AWS::RDS::DBCluster"},
            },
            "Rotation": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                "DependsOn": "Attachment",
                "Properties": {
                    "SecretId": {"Ref": "Secret"},
                    "HostedRotationLambda": {"RotationType": "MySQLSingleUser"},
                    "RotationRules": {"AutomaticallyAfterDays": 30},
                },
            },
        },
        "Outputs": {
            "Endpoint": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}},
            "Port": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Port"]}},
            "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "DBClusterArn"]}},
            "SecretArn": {"Value": {"Ref": "Secret"}},
            "KeyId": {"Value": {"Ref": "Key"}},
        },
    }


@pytest.fixture
def aurora(emulator, stacks):
    name = stacks.unique("db")
    deployed = stacks.create(aurora_template(name), name=name)
    return name, deployed


def test_dbcluster__stack_created__cluster_and_writer_exist_in_rds(emulator, aurora):
    name, deployed = aurora
    rds = emulator.client("rds")

    cluster = rds.describe_db_clusters(DBClusterIdentifier=f"aurora-{name}")["DBClusters"][0]

    assert deployed.resources["Cluster"] == f"aurora-{name}"
    assert cluster["Engine"] == "aurora-mysql"
    assert cluster["StorageEncrypted"] is True
    assert cluster["DBSubnetGroup"] == deployed.resources["SubnetGroup"]
    assert cluster["DBClusterParameterGroup"] == deployed.resources["ClusterParams"]
    assert cluster["Endpoint"] == deployed.outputs["Endpoint"]
    assert deployed.outputs["Port"] == "3306"
    assert cluster["DBClusterArn"] == deployed.outputs["ClusterArn"]
    members = cluster["DBClusterMembers"]
    assert [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in members] == [(deployed.resources["Writer"], True)]
    writer = rds.describe_db_instances(DBInstanceIdentifier=deployed.resources["Writer"])["DBInstances"][0]
    assert writer["DBClusterIdentifier"] == f"aurora-{name}"


def test_dbcluster__subnet_and_parameter_groups__exist_with_their_settings(emulator, aurora):
    _name, deployed = aurora
    rds = emulator.client("rds")

    group = rds.describe_db_subnet_groups(DBSubnetGroupName=deployed.resources["SubnetGroup"])["DBSubnetGroups"][0]
    params = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=deployed.resources["ClusterParams"])["Parameters"]

    assert {s["SubnetIdentifier"] for s in group["Subnets"]} == {deployed.resources["SubnetA"], deployed.resources["SubnetB"]}
    assert {"ParameterName": "binlog_format", "ParameterValue": "ROW"}.items() <= params[0].items()


def test_secret__generate_secret_string__stores_a_real_random_password(emulator, aurora):
    _name, deployed = aurora
    sm = emulator.client("secretsmanager")

    value = json.loads(sm.get_secret_value(SecretId=deployed.outputs["SecretArn"])["SecretString"])

    assert value["username"] == "payadmin"
    assert len(value["password"]) == 32
    assert not set(EXCLUDED) & set(value["password"])
    assert value["password"] != "password"


def test_secret__kms_key_and_tags__recorded_on_the_secret(emulator, aurora):
    name, deployed = aurora
    described = emulator.client("secretsmanager").describe_secret(SecretId=deployed.outputs["SecretArn"])

    assert described["Name"] == f"secret-db-{name}"
    assert described["KmsKeyId"] == deployed.outputs["KeyId"]
    assert {"Key": "Environment", "Value": "dev"} in described["Tags"]


def test_secret_target_attachment__cluster_target__adds_connection_fields(emulator, aurora):
    name, deployed = aurora

    value = json.loads(emulator.client("secretsmanager").get_secret_value(SecretId=deployed.outputs["SecretArn"])["SecretString"])

    assert value["engine"] == "mysql"
    assert value["host"] == deployed.outputs["Endpoint"]
    assert value["port"] == 3306
    assert value["dbClusterIdentifier"] == f"aurora-{name}"


def test_rotation_schedule__hosted_rotation__rules_recorded_on_the_secret(emulator, aurora):
    _name, deployed = aurora

    described = emulator.client("secretsmanager").describe_secret(SecretId=deployed.outputs["SecretArn"])

    assert described["RotationEnabled"] is True
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert "MySQLSingleUser" in described["RotationLambdaARN"]


def test_secret__two_deployments__passwords_differ(emulator, stacks):
    template = {"Resources": {"Key": kms_key(), "Secret": secret(stacks.unique("s"))}, "Outputs": {"Arn": {"Value": {"Ref": "Secret"}}}}
    other = copy.deepcopy(template)
    other["Resources"]["Secret"]["Properties"]["Name"] = stacks.unique("s")
    sm = emulator.client("secretsmanager")

    first = stacks.create(template).outputs["Arn"]
    second = stacks.create(other).outputs["Arn"]

    passwords = {json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] for arn in (first, second)}
    assert len(passwords) == 2


def test_dbcluster__backup_retention_changed__modified_in_place(emulator, stacks, aurora):
    name, deployed = aurora

    updated = stacks.update(name, aurora_template(name, retention=14))

    cluster = emulator.client("rds").describe_db_clusters(DBClusterIdentifier=f"aurora-{name}")["DBClusters"][0]
    assert updated.resources["Cluster"] == deployed.resources["Cluster"]
    assert cluster["BackupRetentionPeriod"] == 14
    assert updated.resources["Secret"] == deployed.resources["Secret"]


def test_dbcluster__stack_deleted__cluster_instance_groups_and_secret_gone(emulator, stacks, aurora):
    name, deployed = aurora
    rds = emulator.client("rds")
    sm = emulator.client("secretsmanager")

    stacks.delete(deployed)

    with pytest.raises(ClientError, match="DBClusterNotFound"):
        rds.describe_db_clusters(DBClusterIdentifier=f"aurora-{name}")
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        rds.describe_db_instances(DBInstanceIdentifier=deployed.resources["Writer"])
    with pytest.raises(ClientError, match="DBSubnetGroupNotFound"):
        rds.describe_db_subnet_groups(DBSubnetGroupName=deployed.resources["SubnetGroup"])
    with pytest.raises(ClientError, match="NotFound"):
        rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName=deployed.resources["ClusterParams"])
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        sm.describe_secret(SecretId=deployed.outputs["SecretArn"])
    key = emulator.client("kms").describe_key(KeyId=deployed.outputs["KeyId"])["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
