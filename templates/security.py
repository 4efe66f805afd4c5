"""Security stack: the customer-managed KMS keys and the database master credentials.

Two keys, so that a key policy names only the services that need it:
  * the data key encrypts payment data at rest: Aurora storage and Performance Insights,
    DMS, AWS Backup, the database secrets and the artifact buckets;
  * the ops key encrypts what the platform itself writes: CloudWatch Logs, SSM
    SecureString parameters, SNS/SQS of the automation, Lambda environments, CloudTrail.
Account principals may administer both keys but may use them for cryptography only
through the listed services (kms:ViaService), never directly.
"""

from troposphere import GetAtt, Ref, Sub
from troposphere.kms import Alias, Key
from troposphere.secretsmanager import GenerateSecretString, Secret

from bluegreen.cfn import (
    COLOURS,
    NAME_TAIL,
    PASSWORD_EXCLUDED_CHARACTERS,
    cap,
    deletable,
    export,
    name,
    new_template,
    tags,
    to_json,
)
from bluegreen.cfn_iam import allow, policy_document, via_service

ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
]
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]

#: Services that use the data key on behalf of account principals.
DATA_KEY_SERVICES = ["rds", "dms", "backup", "secretsmanager", "s3"]
#: Services that use the ops key on behalf of account principals.
OPS_KEY_SERVICES = ["ssm", "sns", "sqs", "lambda", "secretsmanager", "s3", "dynamodb", "firehose"]


def _account_root():
    return {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}


def _key_policy(services, extra_statements=()):
    return policy_document(
        # Without an administrative statement for the account the key is unmanageable.
        allow("AccountAdministersKey", ADMIN_ACTIONS, "*", principal=_account_root()),
        allow("UseOnlyThroughListedServices", USE_ACTIONS + GRANT_ACTIONS, "*", principal=_account_root(), condition={
            "StringEquals": {"kms:ViaService": [via_service(s) for s in services],
                             "kms:CallerAccount": Ref("AWS::AccountId")}}),
        *extra_statements,
    )


def _trail_arn():
    return Sub("arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/trail-" + NAME_TAIL)


def _service_statement(sid, service, actions, condition):
    return allow(sid, actions, "*", principal={"Service": service}, condition=condition)


def _keys(t):
    data_key = t.add_resource(deletable(Key(
        "DataKey",
        Description=Sub("Payment data at rest (Aurora, DMS, Backup, secrets) - ${Environment}-${EnvironmentSuffix}"),
        EnableKeyRotation=True,
        PendingWindowInDays=7,
        KeyPolicy=_key_policy(DATA_KEY_SERVICES),
        Tags=tags("kms", "data"),
    )))
    ops_key = t.add_resource(deletable(Key(
        "OpsKey",
        Description=Sub("Platform logs, parameters and messages - ${Environment}-${EnvironmentSuffix}"),
        EnableKeyRotation=True,
        PendingWindowInDays=7,
        KeyPolicy=_key_policy(OPS_KEY_SERVICES, [
            # CloudWatch Logs encrypts log groups itself; the context pins it to this account's groups.
            _service_statement(
                "CloudWatchLogsEncryptsOurLogGroups",
                Sub("logs.${AWS::Region}.amazonaws.com"),
                ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")}},
            ),
            # Alarms and EventBridge publish to the encrypted SNS topic / SQS queue of the automation.
            _service_statement(
                "AlarmsAndEventsPublishToEncryptedTopics",
                ["cloudwatch.amazonaws.com", "events.amazonaws.com"],
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
            ),
            # CloudTrail encrypts log files for this deployment's trail only (audit stack).
            _service_statement(
                "CloudTrailEncryptsTrailLogs",
                "cloudtrail.amazonaws.com",
                ["kms:GenerateDataKey*"],
                {
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": Sub(
                        "arn:${AWS::Partition}:cloudtrail:*:${AWS::AccountId}:trail/*")},
                    "StringEquals": {"aws:SourceArn": _trail_arn()},
                },
            ),
            # DescribeKey carries no encryption context, so it needs a statement of its own.
            _service_statement(
                "CloudTrailDescribesKey",
                "cloudtrail.amazonaws.com",
                ["kms:DescribeKey"],
                {"StringEquals": {"aws:SourceArn": _trail_arn()}},
            ),
        ]),
        Tags=tags("kms", "ops"),
    )))
    t.add_resource(Alias("DataKeyAlias", AliasName=Sub("alias/kms-data-${Environment}-${EnvironmentSuffix}"),
                         TargetKeyId=Ref(data_key)))
    t.add_resource(Alias("OpsKeyAlias", AliasName=Sub("alias/kms-ops-${Environment}-${EnvironmentSuffix}"),
                         TargetKeyId=Ref(ops_key)))
    return data_key, ops_key


def _secrets(t, data_key):
    """The master credentials of each cluster, generated by CloudFormation under the data key."""
    secrets = {}
    for colour in COLOURS:
        logical = f"{cap(colour)}DbMasterSecret"
        secrets[colour] = t.add_resource(deletable(Secret(
            logical,
            Name=name("secret", "db", colour),
            Description=f"Aurora MySQL master credentials of the {colour} cluster, rotated every 30 days",
            KmsKeyId=Ref(data_key),
            # CloudFormation generates the password: it never appears in a template or a parameter.
            GenerateSecretString=GenerateSecretString(
                SecretStringTemplate='{"username": "payadmin"}',
                GenerateStringKey="password",
                PasswordLength=32,
                ExcludeCharacters=PASSWORD_EXCLUDED_CHARACTERS,
            ),
            Tags=tags(),
        )))
    return secrets


def build():
    t = new_template("KMS keys (data, ops) and the Aurora master credentials of the blue-green payment platform.")
    data_key, ops_key = _keys(t)
    secrets = _secrets(t, data_key)
    export(t, "DataKeyArn", GetAtt(data_key, "Arn"), "ARN of the data KMS key (Aurora, DMS, Backup, secrets).")
    export(t, "DataKeyId", Ref(data_key), "Key ID of the data KMS key.")
    export(t, "OpsKeyArn", GetAtt(ops_key, "Arn"), "ARN of the ops KMS key (logs, parameters, messages).")
    export(t, "OpsKeyId", Ref(ops_key), "Key ID of the ops KMS key.")
    for colour, secret in secrets.items():
        export(t, f"{cap(colour)}DbSecretArn", Ref(secret),
               f"ARN of the {colour} cluster's master secret.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
