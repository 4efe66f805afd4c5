"""templates/security.json: one test per security property of the keys and the database secrets."""

import pytest

from tests.test_templates.lookup import statements

KEYS = ["DataKey", "OpsKey"]
SECRETS = ["BlueDbMasterSecret", "GreenDbMasterSecret"]
CRYPTO_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Encrypt*",
                  "kms:Decrypt*", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"}


def key_policy(resources, key):
    return statements(resources[key]["Properties"]["KeyPolicy"])


def via_services(statement):
    return sorted(v["Fn::Sub"].split(".")[0] for v in statement["Condition"]["StringEquals"]["kms:ViaService"])


@pytest.mark.parametrize("key", KEYS)
def test_kms_key__rotation__enabled(resources, key):
    assert resources[key]["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("key", KEYS)
def test_key_policy__administration__grants_no_cryptographic_use(resources, key):
    admin = key_policy(resources, key)["AccountAdministersKey"]
    assert CRYPTO_ACTIONS.isdisjoint(admin["Action"]) and "kms:*" not in admin["Action"]


@pytest.mark.parametrize("key", KEYS)
def test_key_policy__account_principals__use_the_key_only_through_listed_services(resources, key):
    use = key_policy(resources, key)["UseOnlyThroughListedServices"]
    assert use["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert use["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
    assert via_services(use)


@pytest.mark.parametrize("key", KEYS)
def test_key_policy__no_statement__allows_any_principal_or_every_action(resources, key):
    for sid, statement in key_policy(resources, key).items():
        assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}, sid
        assert "kms:*" not in statement["Action"], sid


@pytest.mark.parametrize("key", KEYS)
def test_key_policy__service_principals__each_held_by_a_condition(resources, key):
    unconditioned = [sid for sid, s in key_policy(resources, key).items()
                     if "Service" in s["Principal"] and not s.get("Condition")]
    assert unconditioned == []


def test_data_key_policy__services__only_those_storing_payment_data(resources):
    use = key_policy(resources, "DataKey")["UseOnlyThroughListedServices"]
    assert via_services(use) == ["backup", "dms", "rds", "s3", "secretsmanager"]


def test_ops_key_policy__cloudtrail__only_this_accounts_trails(resources):
    trail = key_policy(resources, "OpsKey")["CloudTrailEncryptsTrailLogs"]
    assert trail["Condition"]["StringLike"] == {"kms:EncryptionContext:aws:cloudtrail:arn": {
        "Fn::Sub": "arn:${AWS::Partition}:cloudtrail:*:${AWS::AccountId}:trail/*"}}


@pytest.mark.parametrize("secret", SECRETS)
def test_db_secret__password__generated_by_cloudformation_never_in_the_template(resources, secret):
    props = resources[secret]["Properties"]
    assert "SecretString" not in props
    generated = props["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password" and generated["PasswordLength"] >= 32


@pytest.mark.parametrize("secret", SECRETS)
def test_db_secret__encryption__the_data_key(resources, secret):
    assert resources[secret]["Properties"]["KmsKeyId"] == {"Ref": "DataKey"}
