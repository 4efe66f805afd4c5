"""extensions/backup_recovery_points.py: a backup vault holding recovery points cannot be deleted, as AWS.

AWS (DeleteBackupVault; "Delete a backup vault"): a vault can be deleted only when it holds no recovery
points. moto has no recovery points and deleted any vault, so a dev teardown passed here and failed on AWS.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator

VAULT = {"Resources": {"Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": "VAULTNAME"}}}}


def vault_template(name: str) -> dict:
    return {"Resources": {"Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": name}}}}


def test_vault__with_a_recovery_point__delete_refused_by_the_api_and_the_stack_then_deleted_once_emptied(emulator, stacks):
    backup = emulator.client("backup")
    name = stacks.unique("vault")
    deployed = stacks.create(vault_template(name), name=name)
    job = backup.start_backup_job(BackupVaultName=name, ResourceArn="arn:aws:rds:us-east-1:123456789012:cluster:aurora-blue-dev-d01",
                                  IamRoleArn="arn:aws:iam::123456789012:role/backup")
    listed = backup.list_recovery_points_by_backup_vault(BackupVaultName=name)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in listed] == [job["RecoveryPointArn"]]

    with pytest.raises(ClientError) as refused:
        backup.delete_backup_vault(BackupVaultName=name)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "contains 1 recovery points" in str(refused.value)
    emulator.client("cloudformation").delete_stack(StackName=name)
    stack = stacks._wait(name)
    assert stack["StackStatus"] == "DELETE_FAILED", stack["StackStatus"]
    assert any("contains 1 recovery points" in r for r in stacks.failure_reasons(name))

    backup.delete_recovery_point(BackupVaultName=name, RecoveryPointArn=job["RecoveryPointArn"])
    stacks.delete(deployed)
    assert name not in [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]]
