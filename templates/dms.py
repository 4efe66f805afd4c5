"""DMS stack: keeps the blue and green Aurora clusters in sync during the migration.

A Multi-AZ replication instance in the database subnets holds three tasks, all created stopped
(CloudFormation never starts a DMS task):
  * initial, blue -> green, full load plus change data capture: started once by an operator
    (docs/data-tier.md) and running until the database switchover;
  * CDC-only green -> blue: started by the switchover to green from the moment the forward task
    stopped, so blue stays a current fallback;
  * CDC-only blue -> green: started by a switchover back to blue (a full-load task cannot be
    started from a point in time, so going back needs its own CDC-only task).
Only one task runs at a time: the traffic shifter's db switchover stops one before it starts the
next (lambda_src/traffic_shifter/db.py). All four endpoints exist, so every path is testable. Endpoints read their credentials from the
security stack's secrets through a role that can read only those two secrets.

The two account-level roles DMS itself requires (dms-vpc-role, dms-cloudwatch-logs-role) have
names fixed by AWS; CreateDmsServiceRoles decides whether this stack owns them (docs/data-tier.md).
"""

import json

from troposphere import Equals, GetAtt, If, Join, Not, NoValue, Ref, Select, Split, Sub
from troposphere.cloudwatch import Alarm
from troposphere.dms import Endpoint, MySqlSettings, ReplicationInstance, ReplicationSubnetGroup, ReplicationTask

from bluegreen import cfn_parameters as params
from bluegreen.cfn import (
    COLOURS,
    NAME_TAIL,
    cap,
    deletable,
    export,
    name,
    new_template,
    tags,
    to_json,
)
from bluegreen.cfn_alarms import GATE_EVALUATION, dimensions, expression, metric_query
from bluegreen.cfn_dms import table_mappings, task_settings
from bluegreen.cfn_iam import allow, policy_and_role, role, service_trust, via_service
from bluegreen.cfn_storage import log_group

#: logical name -> (source colour, target colour, migration type, identifier label).
TASKS = {
    "ReplicationTask": ("blue", "green", "full-load-and-cdc", "initial-blue-to-green"),
    "CdcBlueToGreenTask": ("blue", "green", "cdc", "cdc-blue-to-green"),
    "CdcGreenToBlueTask": ("green", "blue", "cdc", "cdc-green-to-blue"),
}
DMS_INSTANCE_CLASSES = [
    "dms.t3.medium", "dms.t3.large",
    "dms.c6i.large", "dms.c6i.xlarge",
    "dms.r6i.large", "dms.r6i.xlarge", "dms.r6i.2xlarge",
]
#: Names AWS fixes for the roles DMS uses account-wide; the one naming exception of the project.
DMS_VPC_ROLE = "dms-vpc-role"
DMS_LOGS_ROLE = "dms-cloudwatch-logs-role"


def add_parameters(t):
    params.add(t, "DataKeyArn", "Customer-managed data key: replication instance storage, endpoint settings, secret "
               "decryption.", params.KMS_KEY_ARN)
    params.add(t, "OpsKeyArn", "Customer-managed ops key: the DMS task log group.", params.KMS_KEY_ARN)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}DbSecretArn", f"Secret of the {colour} cluster (host, port, username, password); "
                   "security stack output.", params.SECRET_ARN)
        params.add(t, f"{cap(colour)}ClusterIdentifier", f"The {colour} cluster (database stack output); recorded on "
                   "its endpoints.", params.CLUSTER_IDENTIFIER)
    params.add(t, "DbSubnetIds", "Private database subnets for the replication instance (network stack output "
               "DbSubnetIds).", params.SUBNET_IDS)
    params.add(t, "DmsSecurityGroupId", "Security group of the replication instance (admitted by the DB security "
               "group on 3306).", params.SECURITY_GROUP_ID)
    params.add(t, "ReplicationInstanceClass", "Replication instance class (dev small; prod sized in "
               "docs/data-tier.md).", AllowedValues=DMS_INSTANCE_CLASSES)
    params.add(t, "ReplicationInstanceStorageGb", "GiB of replication instance storage (cached changes and task logs "
               "while a target lags).", params.NUMBER, MinValue=50, MaxValue=1000, Default=100)
    params.add(t, "DmsEngineVersion", "DMS replication engine version.", Default="3.5.4",
               AllowedPattern=r"^3\.[0-9]+\.[0-9]+$", ConstraintDescription="a DMS engine version such as 3.5.4.")
    params.switch(t, "CreateDmsServiceRoles", "true: this stack creates the account-level dms-vpc-role and "
                  "dms-cloudwatch-logs-role (exactly one stack per account may); false: they already exist.",
                  Default="false")
    params.add(t, "DmsCertificateArn", "DMS certificate holding the RDS CA bundle: when given, endpoints verify the "
               "server certificate and name (verify-full); when empty, TLS is required without verification.",
               Default="", AllowedPattern=r"^$|^arn:aws[a-z-]*:dms:[a-z0-9-]+:[0-9]{12}:cert:[A-Za-z0-9-]+$",
               ConstraintDescription="empty, or the ARN of a DMS certificate (the RDS CA bundle).")
    params.add(t, "CdcLatencySourceThresholdSeconds", "CDCLatencySource (s) above which the source-capture alarm "
               "fires; see docs/data-tier.md.", params.NUMBER, MinValue=1, MaxValue=3600, Default=15)
    params.add(t, "CdcLatencyTargetThresholdSeconds", "CDCLatencyTarget (s) above which the end-to-end lag alarm "
               "fires: the switchover RPO bound.", params.NUMBER, MinValue=1, MaxValue=3600, Default=30)


def _service_roles(t):
    """The two account-level roles DMS looks up by name, when this stack is the account's one that creates them."""
    def service_role(logical, role_name, managed_policy, purpose):
        return role(t, logical, role_name, purpose, service_trust("dms.amazonaws.com"),
                    Condition="CreateServiceRoles",
                    ManagedPolicyArns=[Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/service-role/{managed_policy}")])

    vpc_role = service_role(
        "DmsVpcRole", DMS_VPC_ROLE, "AmazonDMSVPCManagementRole",
        "Account-level role DMS uses to manage replication instance network interfaces (name fixed by AWS).")
    logs_role = service_role(
        "DmsCloudWatchLogsRole", DMS_LOGS_ROLE, "AmazonDMSCloudWatchLogsRole",
        "Account-level role DMS uses to write task logs to CloudWatch Logs (name fixed by AWS).")

    def account_role_arn(created, role_name):
        # A conditional DependsOn is impossible; referencing the role through Fn::If orders the
        # launch after it when this stack creates it, and records which role is used either way.
        return If("CreateServiceRoles", GetAtt(created, "Arn"),
                  Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{role_name}"))

    return account_role_arn(vpc_role, DMS_VPC_ROLE), account_role_arn(logs_role, DMS_LOGS_ROLE)


def _secrets_access(t):
    """The role DMS endpoints read the two cluster secrets with, and nothing else."""
    policy_and_role(
        t, "SecretsAccess", ["dms-secrets"],
        # Secrets Manager access for endpoints needs the regional DMS principal.
        service_trust(Sub("dms.${AWS::Region}.amazonaws.com"), source_account=True), [
            allow("ReadTheTwoClusterSecrets", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                  [Ref("BlueDbSecretArn"), Ref("GreenDbSecretArn")]),
            allow("DecryptThemThroughSecretsManager", "kms:Decrypt", Ref("DataKeyArn"),
                  condition={"StringEquals": {"kms:ViaService": via_service("secretsmanager")}}),
        ],
        policy_description="Read the blue and green master secrets and decrypt them with the data key, nothing else.",
        role_description="Assumed by DMS endpoints to read the cluster credentials from Secrets Manager.",
    )


def endpoint(colour: str, kind: str) -> Endpoint:
    return deletable(Endpoint(
        f"{cap(colour)}{kind.capitalize()}Endpoint",
        EndpointIdentifier=name("dms-endpoint", colour, kind),
        EndpointType=kind,
        EngineName="aurora",
        KmsKeyId=Ref("DataKeyArn"),
        SslMode=If("VerifyServerCertificate", "verify-full", "require"),
        CertificateArn=If("VerifyServerCertificate", Ref("DmsCertificateArn"), NoValue),
        # Host, port, user and password all come from the secret (filled in by the database
        # stack's SecretTargetAttachment), read by DMS through the access role.
        MySqlSettings=MySqlSettings(
            SecretsManagerSecretId=Ref(f"{cap(colour)}DbSecretArn"),
            SecretsManagerAccessRoleArn=GetAtt("SecretsAccessRole", "Arn"),
            **({"AfterConnectScript": "SET FOREIGN_KEY_CHECKS=0"} if kind == "target" else {}),
        ),
        Tags=tags(DbCluster=Ref(f"{cap(colour)}ClusterIdentifier")),
    ))


def latency_alarm(logical: str, metric: str, what: str, threshold: str, instance_id: Sub, tasks: list):
    """Max of ``metric`` over the three tasks: whichever one is replicating is watched."""
    queries = [
        metric_query(f"t{i}", "AWS/DMS", metric, dimensions(
            ReplicationInstanceIdentifier=instance_id,
            # The metric's task dimension is the resource ID at the end of the task ARN.
            ReplicationTaskIdentifier=Select(6, Split(":", Ref(task)))), "Maximum")
        for i, task in enumerate(tasks)
    ]
    queries.append(expression("latency", f"MAX([{', '.join(q.Id for q in queries)}])",
                              f"{metric} of the running task"))
    return Alarm(
        logical,
        AlarmName=name("alarm", what),
        AlarmDescription=Sub(
            f"DMS {metric} above ${{{threshold}}} s for the running replication task: changes are not on the "
            "other colour yet, so a traffic shift or cut-over must wait. No data means no task is replicating "
            "(stopped, failed or still in full load): treated as breaching."),
        Metrics=queries,
        **GATE_EVALUATION,
        Threshold=Ref(threshold),
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="breaching",
        Tags=tags(),
    )


def _instance(t, instance_id, vpc_role_arn, logs_role_arn):
    subnet_group = t.add_resource(ReplicationSubnetGroup(
        "ReplicationSubnetGroup",
        ReplicationSubnetGroupIdentifier=name("dms-subnets"),
        ReplicationSubnetGroupDescription=Sub("Private database subnets of the DMS instance - " + NAME_TAIL),
        SubnetIds=Ref("DbSubnetIds"),
        Tags=tags(DmsVpcRole=vpc_role_arn),
    ))
    # DMS writes task logs to dms-tasks-<instance identifier>; created here so it is encrypted and expires.
    task_logs = log_group(t, "TaskLogGroup", Sub("dms-tasks-dms-instance-" + NAME_TAIL))
    return t.add_resource(deletable(ReplicationInstance(
        "ReplicationInstance",
        DependsOn=[task_logs.title],
        ReplicationInstanceIdentifier=instance_id,
        ReplicationInstanceClass=Ref("ReplicationInstanceClass"),
        AllocatedStorage=Ref("ReplicationInstanceStorageGb"),
        EngineVersion=Ref("DmsEngineVersion"),
        MultiAZ=True,
        PubliclyAccessible=False,
        AutoMinorVersionUpgrade=True,
        AllowMajorVersionUpgrade=False,
        KmsKeyId=Ref("DataKeyArn"),
        ReplicationSubnetGroupIdentifier=Ref(subnet_group),
        VpcSecurityGroupIds=[Ref("DmsSecurityGroupId")],
        PreferredMaintenanceWindow="sun:05:00-sun:06:00",
        Tags=tags(DmsCloudWatchLogsRole=logs_role_arn),
    )))


def _tasks(t, instance):
    endpoints = {(colour, kind): t.add_resource(endpoint(colour, kind))
                 for colour in COLOURS for kind in ("source", "target")}
    return {
        logical: t.add_resource(ReplicationTask(
            logical,
            ReplicationTaskIdentifier=Sub(f"dms-task-{label}-" + NAME_TAIL),
            ReplicationInstanceArn=Ref(instance),
            SourceEndpointArn=Ref(endpoints[source, "source"]),
            TargetEndpointArn=Ref(endpoints[target, "target"]),
            # CDC-only tasks start from the switchover's point in time: the target already holds
            # everything up to it, and a second full load would have to empty it first.
            MigrationType=migration,
            TableMappings=json.dumps(table_mappings(), sort_keys=True),
            ReplicationTaskSettings=json.dumps(task_settings(), sort_keys=True),
            Tags=tags(Direction=f"{source}-to-{target}", MigrationType=migration),
        ))
        for logical, (source, target, migration, label) in TASKS.items()
    }


def build():
    t = new_template("DMS replication between the blue and green Aurora clusters of the blue-green payment platform.")
    add_parameters(t)
    t.add_condition("CreateServiceRoles", Equals(Ref("CreateDmsServiceRoles"), "true"))
    t.add_condition("VerifyServerCertificate", Not(Equals(Ref("DmsCertificateArn"), "")))
    instance_id = name("dms-instance")
    instance = _instance(t, instance_id, *_service_roles(t))
    _secrets_access(t)
    tasks = _tasks(t, instance)
    task = tasks["ReplicationTask"]
    task_list = list(tasks.values())

    alarms = [
        t.add_resource(latency_alarm("CdcLatencySourceAlarm", "CDCLatencySource", "cdc-latency-source",
                                     "CdcLatencySourceThresholdSeconds", instance_id, task_list)),
        t.add_resource(latency_alarm("CdcLatencyTargetAlarm", "CDCLatencyTarget", "cdc-latency-target",
                                     "CdcLatencyTargetThresholdSeconds", instance_id, task_list)),
    ]

    export(t, "ReplicationInstanceArn", Ref(instance), "ARN of the DMS replication instance.")
    export(t, "ReplicationInstanceIdentifier", instance_id, "Identifier of the DMS replication instance (metric dimension).")
    export(t, "ReplicationTaskArn", Ref(task), "ARN of the initial blue -> green task (full load and CDC).")
    export(t, "CdcBlueToGreenTaskArn", Ref(tasks["CdcBlueToGreenTask"]), "ARN of the CDC-only blue -> green task (after a switch back to blue).")
    export(t, "CdcGreenToBlueTaskArn", Ref(tasks["CdcGreenToBlueTask"]), "ARN of the CDC-only green -> blue task (after the switchover to green).")
    for colour in COLOURS:
        for kind in ("source", "target"):
            logical = f"{cap(colour)}{kind.capitalize()}Endpoint"
            export(t, f"{logical}Arn", Ref(logical), f"ARN of the {colour} cluster's DMS {kind} endpoint (the "
                   "datacentre-dms stack's tasks use blue's).")
    export(t, "ReplicationTaskResourceId", Select(6, Split(":", Ref(task))),
           "Resource ID of the replication task (the ReplicationTaskIdentifier metric dimension).")
    export(t, "CdcLatencyAlarmNames", Join(",", [Ref(a) for a in alarms]),
           "Comma-joined names of the CDCLatencySource and CDCLatencyTarget alarms for the data composite alarm.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
