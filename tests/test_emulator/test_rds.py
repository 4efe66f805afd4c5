"""extensions/rds.py: Aurora cluster, writer, subnet and parameter groups."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .parts import aurora_template

pytestmark = pytest.mark.emulator


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
