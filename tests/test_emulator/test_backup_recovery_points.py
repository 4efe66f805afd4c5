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


# ----------------------------------------------------------------------------- the dev teardown's hook
def backup_stack(hook, emptying_allowed: bool, clients: dict):
    """The backup stack as Sceptre builds it from config/dev/database/backup.yaml, with ``hook``: the stack's own
    copy of it (Sceptre copies hooks), given the emulator's clients."""
    from sceptre.stack import Stack

    stack = Stack(name="dev/database/backup", project_code="payments", region="us-east-1",
                  template_handler_config={"type": "file", "path": "backup.py"}, hooks={"before_delete": [hook]},
                  stack_group_config={"empty_buckets_on_delete": emptying_allowed})
    own = stack.hooks["before_delete"][0]
    own._clients = clients
    return own


def test_hook__dev__recovery_points_deleted_then_the_stack_deletes_prod_refused_nothing_deleted(emulator, stacks):
    from sceptre.exceptions import ProtectedStackError

    from bluegreen_hooks.empty_backup_vault import EmptyBackupVault

    backup, cfn = emulator.client("backup"), emulator.client("cloudformation")
    vault = stacks.unique("vault")
    template = vault_template(vault) | {"Outputs": {"BackupVaultName": {"Value": {"Ref": "Vault"}}}}
    deployed = stacks.create(template, name="payments-dev-database-backup")
    for colour in ("blue", "green"):
        backup.start_backup_job(BackupVaultName=vault, ResourceArn=f"arn:aws:rds:us-east-1:123456789012:cluster:aurora-{colour}-dev-d01",
                                IamRoleArn="arn:aws:iam::123456789012:role/backup")

    clients = {"backup": backup, "cloudformation": cfn}
    prod = backup_stack(EmptyBackupVault({"output": "BackupVaultName"}), False, clients)
    with pytest.raises(ProtectedStackError, match="does not set empty_buckets_on_delete: true"):
        prod.run()
    assert len(backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]) == 2

    dev = backup_stack(EmptyBackupVault({"output": "BackupVaultName"}), True, clients)
    assert dev.run() == 2
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"] == []
    stacks.delete(deployed)
    assert dev.run() == 0  # a second teardown after the stack is gone: nothing to do, no error


def test_hook__registered_and_on_the_dev_backup_stack():
    from importlib.metadata import entry_points
    from pathlib import Path

    assert "empty_backup_vault" in {e.name for e in entry_points(group="sceptre.hooks")}
    config = (Path(__file__).resolve().parents[2] / "config" / "dev" / "database" / "backup.yaml").read_text()
    assert "- !empty_backup_vault {output: BackupVaultName}" in config
