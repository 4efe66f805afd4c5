"""extensions/backup.py: vault, plan and selection; plan updates; re-deploys with the same name."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .parts import kms_key

pytestmark = pytest.mark.emulator


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


def test_backup_plan__deleted_and_deployed_again__same_name_accepted(emulator, stacks):
    name = stacks.unique("plan")
    template = {"Resources": {
        "Vault": {"Type": "AWS::Backup::BackupVault", "Properties": {"BackupVaultName": name}},
        "Plan": {"Type": "AWS::Backup::BackupPlan", "Properties": {"BackupPlan": {"BackupPlanName": name, "BackupPlanRule": [
            {"RuleName": "daily", "TargetBackupVault": {"Ref": "Vault"}, "ScheduleExpression": "cron(0 3 * * ? *)"}]}}},
    }}

    stacks.delete(stacks.create(template))
    again = stacks.create(template)

    assert emulator.client("backup").get_backup_plan(BackupPlanId=again.resources["Plan"])["BackupPlan"]["BackupPlanName"] == name
