"""Backup stack: daily AWS Backup snapshots of the blue and green Aurora clusters.

AWS Backup is the copy of payment data that does not share the clusters' fate: it sits in its
own vault, encrypted with the data key, kept 7 days, restorable even after a cluster (and its
automated backups) is gone. The clusters are selected by ARN, so a third database cannot slip
into, or a renamed one out of, the plan unnoticed.

Vault Lock follows the VaultLock parameter: off in dev, where the stack must tear down, on in
prod in governance mode (docs/data-tier.md says why not compliance mode).
"""

from troposphere import Equals, GetAtt, If, NoValue, Ref, Sub
from troposphere.backup import (
    BackupPlan,
    BackupPlanResourceType,
    BackupRuleResourceType,
    BackupSelection,
    BackupSelectionResourceType,
    BackupVault,
    LifecycleResourceType,
    LockConfigurationType,
)

from bluegreen import cfn_parameters as params
from bluegreen.cfn import COLOURS, cap, deletable, export, name, new_template, tag_map, to_json
from bluegreen.cfn_iam import role, service_trust

RETENTION_DAYS = 7
#: 05:00 UTC, after the clusters' own backup (02:00-03:00) and maintenance (Sun 03:30-04:30) windows.
SCHEDULE = "cron(0 5 ? * * *)"
CLUSTER_ARN_PATTERN = r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster:[a-z][a-z0-9-]*$"


def add_parameters(t):
    params.add(t, "DataKeyArn", "Customer-managed data key that encrypts the backup vault.", params.KMS_KEY_ARN)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}ClusterArn", f"ARN of the {colour} Aurora cluster (database stack output).",
                   AllowedPattern=CLUSTER_ARN_PATTERN, ConstraintDescription="the ARN of an RDS DB cluster.")
    params.switch(t, "VaultLock", "true: governance-mode Vault Lock keeps recovery points for at least the retention "
                  "period; false only where the stack must tear down (dev).", Default="true")


def _vault(t):
    return t.add_resource(deletable(BackupVault(
        "BackupVault",
        BackupVaultName=name("backup", "vault"),
        EncryptionKeyArn=Ref("DataKeyArn"),
        # Governance mode (no ChangeableForDays): nobody without the explicit
        # backup:DeleteBackupVaultLockConfiguration permission can shorten retention or delete a
        # recovery point early; compliance mode would be irreversible, a decision for the auditors.
        LockConfiguration=If("LockVault", LockConfigurationType(MinRetentionDays=RETENTION_DAYS), NoValue),
        BackupVaultTags=tag_map() | {"Name": name("backup", "vault")},
    )))


def _plan(t, vault):
    """Daily snapshots of exactly the two clusters, kept RETENTION_DAYS in the vault."""
    backup_role = role(
        t, "BackupRole", name("role", "backup"),
        "Assumed by AWS Backup to snapshot and restore the Aurora clusters of this deployment.",
        service_trust("backup.amazonaws.com", source_account=True),
        ManagedPolicyArns=[
            Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"),
            Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"),
        ],
    )

    plan = t.add_resource(BackupPlan(
        "BackupPlan",
        BackupPlan=BackupPlanResourceType(
            BackupPlanName=name("backup", "plan"),
            BackupPlanRule=[BackupRuleResourceType(
                RuleName="daily-7-days",
                TargetBackupVault=Ref(vault),
                ScheduleExpression=SCHEDULE,
                StartWindowMinutes=60,
                CompletionWindowMinutes=240,
                Lifecycle=LifecycleResourceType(DeleteAfterDays=RETENTION_DAYS),
                RecoveryPointTags=tag_map(),
            )],
        ),
        BackupPlanTags=tag_map() | {"Name": name("backup", "plan")},
    ))

    t.add_resource(BackupSelection(
        "BackupSelection",
        BackupPlanId=Ref(plan),
        BackupSelection=BackupSelectionResourceType(
            SelectionName=name("backup", "aurora"),
            IamRoleArn=GetAtt(backup_role, "Arn"),
            Resources=[Ref(f"{cap(colour)}ClusterArn") for colour in COLOURS],
        ),
    ))
    return plan


def build():
    t = new_template("AWS Backup vault, daily plan and selection of the blue and green Aurora clusters "
                     "of the blue-green payment platform.")
    add_parameters(t)
    t.add_condition("LockVault", Equals(Ref("VaultLock"), "true"))
    vault = _vault(t)
    plan = _plan(t, vault)
    export(t, "BackupVaultName", Ref(vault), "Name of the AWS Backup vault holding the Aurora recovery points.")
    export(t, "BackupVaultArn", GetAtt(vault, "BackupVaultArn"), "ARN of the AWS Backup vault.")
    export(t, "BackupPlanId", Ref(plan), "ID of the daily Aurora backup plan.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
