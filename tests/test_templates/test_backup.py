"""The backup stack's properties, one test each, on the committed JSON."""

import pytest

from tests.test_templates.intrinsics import Evaluation


@pytest.fixture(scope="module")
def vault(resources):
    return resources["BackupVault"]["Properties"]


@pytest.fixture(scope="module")
def rule(resources):
    (rule,) = resources["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"]
    return rule


@pytest.fixture(scope="module")
def selection(resources):
    return resources["BackupSelection"]["Properties"]["BackupSelection"]


def test_vault__encryption__the_data_key(vault):
    assert vault["EncryptionKeyArn"] == {"Ref": "DataKeyArn"}


@pytest.mark.parametrize("lock,expected", [("true", {"MinRetentionDays": 7}), ("false", None)])
def test_vault__lock__governance_mode_only_when_the_parameter_says_so(backup, lock, expected):
    props = Evaluation(backup, VaultLock=lock).resources()["BackupVault"]["Properties"]
    assert props.get("LockConfiguration") == expected


def test_vault__lock__never_compliance_mode(vault):
    # ChangeableForDays turns a lock into compliance mode, which nobody can undo.
    assert "ChangeableForDays" not in str(vault.get("LockConfiguration"))


def test_vault_lock_parameter__default__on(backup):
    assert backup["Parameters"]["VaultLock"]["Default"] == "true"


def test_plan__rule__daily(rule):
    assert rule["ScheduleExpression"].startswith("cron(")
    minute, hour, day_of_month, month, day_of_week, year = rule["ScheduleExpression"][5:-1].split()
    assert (day_of_month, month, day_of_week, year) == ("?", "*", "*", "*")


def test_plan__rule__keeps_recovery_points_7_days(rule):
    assert rule["Lifecycle"] == {"DeleteAfterDays": 7}


def test_plan__rule__writes_to_the_encrypted_vault(rule):
    assert rule["TargetBackupVault"] == {"Ref": "BackupVault"}


def test_selection__resources__both_clusters_by_arn(selection):
    assert selection["Resources"] == [{"Ref": "BlueClusterArn"}, {"Ref": "GreenClusterArn"}]
    assert "ListOfTags" not in selection and "Conditions" not in selection


@pytest.mark.parametrize("param", ["BlueClusterArn", "GreenClusterArn"])
def test_selection__cluster_arn_parameters__only_rds_cluster_arns(backup, param):
    assert ":rds:" in backup["Parameters"][param]["AllowedPattern"]
    assert ":cluster:" in backup["Parameters"][param]["AllowedPattern"]


def test_selection__role__the_backup_role(selection):
    assert selection["IamRoleArn"] == {"Fn::GetAtt": ["BackupRole", "Arn"]}


def test_role__managed_policies__backup_and_restore_service_policies(resources):
    assert resources["BackupRole"]["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"},
    ]


def test_role__trust__aws_backup_of_this_account_only(resources):
    (statement,) = resources["BackupRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_role__inline_policies__none(resources):
    assert "Policies" not in resources["BackupRole"]["Properties"]


@pytest.mark.parametrize("output", ["BackupVaultName", "BackupPlanId"])
def test_outputs__stack_contract__exported_under_the_stack_name(backup, output):
    assert backup["Outputs"][output]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{output}"}
