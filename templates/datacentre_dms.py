"""Data-centre DMS stack: the payment data from the data centre's MySQL into blue, and back.

Deployed with the datacentre-link stack only (group config ``datacentre_link`` not "off"); it uses the
dms stack's replication instance and blue endpoints, over the link's routes and MySQL-only egress.
  * the data centre's MySQL as a DMS source and a target endpoint: TLS verify-full against the data
    centre's own CA (a DMS certificate made here from the PEM the operator put in SSM), credentials read by DMS
    from a Secrets Manager secret under the data key (username, host and port from the parameters,
    the password generated: the data centre's DBA gives the replication account exactly that one,
    docs/deployment.md);
  * data centre -> blue, full load plus change data capture, with row-level validation (the same
    mappings and settings as every task of the platform, bluegreen.cfn_dms): started by an operator
    once the link is up (docs/runbook-cutover.md, phase 0);
  * blue -> data centre, CDC only, created stopped: the writer switchover from the data centre to
    blue starts it from the moment the data centre is fenced, so the data centre stays a current
    fallback for as long as the fallback window lasts.
CloudFormation never starts a DMS task, so both exist stopped until someone starts them.
"""

import json

from troposphere import GetAtt, Ref, Select, Split, Sub
from troposphere.dms import Certificate, Endpoint, MySqlSettings, ReplicationTask
from troposphere.secretsmanager import GenerateSecretString, Secret

from bluegreen import cfn_parameters as params
from bluegreen.cfn import NAME_TAIL, PASSWORD_EXCLUDED_CHARACTERS, deletable, export, name, new_template, suppressions, tags, to_json
from bluegreen.cfn_dms import table_mappings, task_settings
from bluegreen.cfn_iam import allow, policy_and_role, service_trust, via_service

#: logical name -> (source, target, migration type, identifier label); "datacentre" is this stack's
#: endpoint, "blue" the dms stack's.
TASKS = {
    "DatacentreToBlueTask": ("datacentre", "blue", "full-load-and-cdc", "datacentre-to-blue"),
    "CdcBlueToDatacentreTask": ("blue", "datacentre", "cdc", "cdc-blue-to-datacentre"),
}
DMS_ENDPOINT_ARN = params.Kind(pattern=r"^arn:aws[a-z-]*:dms:[a-z0-9-]+:[0-9]{12}:endpoint:[A-Za-z0-9-]+$",
                               constraint="a DMS endpoint ARN.")
DMS_INSTANCE_ARN = params.Kind(pattern=r"^arn:aws[a-z-]*:dms:[a-z0-9-]+:[0-9]{12}:rep:[A-Za-z0-9-]+$",
                               constraint="a DMS replication instance ARN.")
#: The one secret the access role reads, and why it is not rotated by AWS.
NO_ROTATION_REASON = (
    "The data centre's replication account lives in the data centre's MySQL, which no AWS rotation function "
    "can reach or administer; its password is set once by the data centre's DBA to the generated value, kept "
    "only here (data key), and the secret is deleted with the data centre (docs/runbook-cutover.md, phase 0).")


def _parameters(t):
    params.add(t, "DataKeyArn", "Customer-managed data key: the endpoints and the data centre's secret.", params.KMS_KEY_ARN)
    params.add(t, "ReplicationInstanceArn", "The DMS replication instance (dms stack).", DMS_INSTANCE_ARN)
    for kind in ("Source", "Target"):
        params.add(t, f"Blue{kind}EndpointArn", f"Blue's {kind.lower()} endpoint (dms stack).", DMS_ENDPOINT_ARN)
    params.add(t, "DatacentreDbHost", "DNS name of the data centre's MySQL writer, as its certificate names it "
               "(verify-full checks the name).", AllowedPattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$",
               ConstraintDescription="a DNS name such as mysql-pay-01.dc.example.com.")
    params.add(t, "DatacentreDbPort", "TCP port of the data centre's MySQL (datacentre-link stack).", params.NUMBER,
               MinValue=1, MaxValue=65535)
    params.add(t, "DatacentreDbUser", "The data centre's MySQL account DMS uses (replication and DML grants, "
               "docs/deployment.md).", Default="dms_replicator", AllowedPattern=r"^[A-Za-z0-9_]{1,32}$",
               ConstraintDescription="a MySQL user name: up to 32 letters, digits or underscores.")
    # A PEM is too long to pass inline (a nested parent carries every child parameter in its own body,
    # under CloudFormation's 51,200 bytes): the operator loads it into SSM once, CloudFormation reads it.
    params.add(t, "DatacentreDbCaPem", "SSM parameter (String) holding the PEM of the CA that issued the data centre "
               "MySQL's server certificate (public, not a secret): DMS verifies the server against it "
               "(docs/deployment.md, the data-centre link).", params.Kind("AWS::SSM::Parameter::Value<String>"))

def _secret(t):
    return t.add_resource(deletable(Secret(
        "DatacentreDbSecret",
        Name=name("secret", "db", "datacentre"),
        Description="The data centre MySQL account DMS replicates with (host, port, username, password)",
        KmsKeyId=Ref("DataKeyArn"),
        # Only the password is generated; the DBA sets exactly it on the data centre's account.
        GenerateSecretString=GenerateSecretString(
            SecretStringTemplate=Sub(
                '{"username": "${DatacentreDbUser}", "host": "${DatacentreDbHost}", "port": ${DatacentreDbPort}}'),
            GenerateStringKey="password",
            PasswordLength=32,
            ExcludeCharacters=PASSWORD_EXCLUDED_CHARACTERS,
        ),
        Tags=tags(),
        Metadata=suppressions(checkov={"CKV2_AWS_57": NO_ROTATION_REASON}),
    )))


def _endpoint(kind: str, secret, certificate) -> Endpoint:
    return deletable(Endpoint(
        f"Datacentre{kind.capitalize()}Endpoint",
        EndpointIdentifier=name("dms-endpoint", "datacentre", kind),
        EndpointType=kind,
        EngineName="mysql",
        KmsKeyId=Ref("DataKeyArn"),
        # The link is encrypted too (IPsec or the network team's), but the data centre's database
        # is verified here, end to end: its certificate must chain to its CA and name its host.
        SslMode="verify-full",
        CertificateArn=Ref(certificate),
        MySqlSettings=MySqlSettings(
            SecretsManagerSecretId=Ref(secret),
            SecretsManagerAccessRoleArn=GetAtt("DatacentreSecretAccessRole", "Arn"),
            **({"AfterConnectScript": "SET FOREIGN_KEY_CHECKS=0"} if kind == "target" else {}),
        ),
        Tags=tags(Database="datacentre"),
    ))


def build():
    t = new_template("DMS between the data centre's MySQL and the blue Aurora cluster: full load and CDC in, "
                     "reverse CDC for the fallback window.")
    _parameters(t)
    secret = _secret(t)
    policy_and_role(
        t, "DatacentreSecretAccess", ["dms-secret-datacentre"],
        service_trust(Sub("dms.${AWS::Region}.amazonaws.com"), source_account=True), [
            allow("ReadTheDatacentreSecret", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                  Ref(secret)),
            allow("DecryptItThroughSecretsManager", "kms:Decrypt", Ref("DataKeyArn"),
                  condition={"StringEquals": {"kms:ViaService": via_service("secretsmanager")}}),
        ],
        policy_description="Read the data centre's replication secret and decrypt it with the data key, nothing else.",
        role_description="Assumed by the data centre's DMS endpoints to read their credentials from Secrets Manager.",
    )
    certificate = t.add_resource(deletable(Certificate(
        "DatacentreCaCertificate",
        CertificateIdentifier=name("dms-cert", "datacentre-ca"),
        CertificatePem=Ref("DatacentreDbCaPem"),
    )))
    endpoints = {"datacentre": {kind: t.add_resource(_endpoint(kind, secret, certificate)) for kind in ("source", "target")}}
    blue = {kind: Ref(f"Blue{kind.capitalize()}EndpointArn") for kind in ("source", "target")}

    def arn(side: str, kind: str):
        return Ref(endpoints["datacentre"][kind]) if side == "datacentre" else blue[kind]

    for logical, (source, target, migration, label) in TASKS.items():
        task = t.add_resource(ReplicationTask(
            logical,
            ReplicationTaskIdentifier=Sub(f"dms-task-{label}-" + NAME_TAIL),
            ReplicationInstanceArn=Ref("ReplicationInstanceArn"),
            SourceEndpointArn=arn(source, "source"),
            TargetEndpointArn=arn(target, "target"),
            MigrationType=migration,
            TableMappings=json.dumps(table_mappings(), sort_keys=True),
            ReplicationTaskSettings=json.dumps(task_settings(), sort_keys=True),
            Tags=tags(Direction=f"{source}-to-{target}", MigrationType=migration),
        ))
        export(t, f"{logical}Arn", Ref(task), f"ARN of the {source} -> {target} task ({migration}).")
        export(t, f"{logical}ResourceId", Select(6, Split(":", Ref(task))),
               f"Resource ID of the {source} -> {target} task (its ReplicationTaskIdentifier metric dimension).")
    export(t, "DatacentreDbSecretArn", Ref(secret), "The data centre's replication secret (the DBA reads the password once).")
    for kind, endpoint in endpoints["datacentre"].items():
        export(t, f"Datacentre{kind.capitalize()}EndpointArn", Ref(endpoint), f"The data centre's DMS {kind} endpoint.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
