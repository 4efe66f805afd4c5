"""Schema stack: the payment schema and its IAM-auth user on both clusters, before any task needs them.

One custom resource per cluster (``Custom::SchemaMigration``, lambda_src/schema_migration) runs the
payment service's own migration (``payment_api.migrate``: Alembic to head, ``payments_app`` created
with IAM database authentication and TLS required) from the app subnets, as the cluster's master
user. The master secret is read inside the function: it never becomes a parameter, an output or a
log line, and it never leaves AWS. Blue's new user gets DML; green's only SELECT (the writer name
starts on blue, and the switchover's one-writer guardrail expects green fenced). The function also
sets the binlog retention DMS CDC needs (``mysql.rds_set_configuration``, docs/data-tier.md).

The compute stack depends on this one (config/<env>/compute/compute.yaml), so no ECS task starts
before its schema and user exist. ``Release`` is the zip's S3 key: new code (a new Alembic revision
in app/) is a new key, an update of both resources, and the migration runs again; running it on an
up-to-date cluster changes nothing. The migration connects with TLS verified against the RDS CA
bundle the parameters stack holds (loaded once per environment, docs/deployment.md), and fails,
saying so, while it holds none.
"""

from troposphere import GetAtt, Ref, Sub
from troposphere.cloudformation import CustomResource

from bluegreen import cfn_lambda
from bluegreen import cfn_parameters as params
from bluegreen.cfn import APP_DB_USER, COLOURS, DB_NAME, NAME_TAIL, cap, export, new_template, to_json
from bluegreen.cfn_iam import allow, via_service

HANDLER = "schema_migration.handler.lambda_handler"
FUNCTION_NAME = "lambda-schema-migration-" + NAME_TAIL
#: Aurora MySQL 3 keeps binlogs up to 2160 hours; a day covers a DMS task restart (docs/data-tier.md).
BINLOG_RETENTION_HOURS = 24
NO_RESERVATION = (
    "Runs only while CloudFormation creates or updates this stack, one invocation per cluster; a "
    "reservation would take from the account's unreserved concurrency, which a fresh account may not "
    "have to give (docs/aws-constraints.md)."
)


def _parameters(t):
    params.add(t, "OpsKeyArn", "Customer-managed ops key (security stack): the log group and the Lambda environment.",
               params.KMS_KEY_ARN)
    params.add(t, "DataKeyArn", "Customer-managed data key (security stack) the master secrets are encrypted with.",
               params.KMS_KEY_ARN)
    cfn_lambda.parameters(t, "SchemaMigrationCodeKey", "schema_migration")
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}DbSecretArn", f"Master secret of the {colour} cluster (security stack): read by "
                   "the function, never passed on.", params.SECRET_ARN)
        params.add(t, f"{cap(colour)}ClusterIdentifier", f"The {colour} cluster (database stack output).",
                   params.CLUSTER_IDENTIFIER)
    params.add(t, "DbCaBundleParameterName", "SSM parameter with the RDS CA bundle (parameters stack output): the "
               "migration verifies the clusters' TLS against it.", AllowedPattern=r"^/[A-Za-z0-9_.\-/]{1,1010}$",
               ConstraintDescription="an SSM parameter name (a path).")


def _function(t):
    return cfn_lambda.custom_resource_function(
        t, "SchemaMigration", "schema-migration", FUNCTION_NAME, [
            allow("ReadBothMasterSecrets", "secretsmanager:GetSecretValue",
                  [Ref(f"{cap(c)}DbSecretArn") for c in COLOURS]),
            # Secrets Manager decrypts the secret with the data key on the function's behalf, and only so.
            allow("DecryptMasterSecretsThroughSecretsManager", "kms:Decrypt", Ref("DataKeyArn"),
                  condition={"StringEquals": {"kms:ViaService": via_service("secretsmanager")}}),
            allow("ReadTheCaBundle", "ssm:GetParameter",
                  Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${DbCaBundleParameterName}")),
        ],
        policy_description="Lets the schema-migration custom resource read the two master secrets and the CA bundle, "
                           "and nothing else.",
        role_description="Execution role of the schema-migration custom resource function.",
        description="Custom::SchemaMigration: the payment schema (Alembic) and the IAM-auth app user on one Aurora cluster.",
        handler=HANDLER, code_key="SchemaMigrationCodeKey", checkov={"CKV_AWS_115": NO_RESERVATION},
        MemorySize=256,
        # A migration of a large table can take minutes; CloudFormation waits up to an hour.
        Timeout=900,
    )


class SchemaMigration(CustomResource):
    """A cluster's schema and app user, made by lambda_src/schema_migration (properties: its docstring)."""

    resource_type = "Custom::SchemaMigration"


def build():
    t = new_template("Payment schema and IAM-auth application user on both Aurora clusters of the blue-green "
                     "payment platform, created from inside the VPC before any task starts.")
    _parameters(t)
    function = _function(t)
    for colour in COLOURS:
        migration = t.add_resource(SchemaMigration(
            f"{cap(colour)}Schema",
            ServiceToken=GetAtt(function, "Arn"),
            ClusterIdentifier=Ref(f"{cap(colour)}ClusterIdentifier"),
            MasterSecretArn=Ref(f"{cap(colour)}DbSecretArn"),
            DatabaseName=DB_NAME,
            AppUser=APP_DB_USER,
            Fenced="true" if colour == "green" else "false",
            CaBundleParameter=Ref("DbCaBundleParameterName"),
            BinlogRetentionHours=str(BINLOG_RETENTION_HOURS),
            Release=Ref("SchemaMigrationCodeKey"),
        ))
        export(t, f"{cap(colour)}SchemaRevision", GetAtt(migration, "Revision"),
               f"Alembic revision of the payment schema on the {colour} cluster after this stack's last run.")
    export(t, "SchemaMigrationFunctionName", Ref(function), "The schema-migration custom resource's function.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
