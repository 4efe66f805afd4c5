"""Database stack: the blue and the green Aurora MySQL clusters of the payment platform.

One template holds both colours (docs/data-tier.md says why): they must stay configured
identically for a switchover to be trustworthy, so they share one cluster parameter group,
one subnet group and one monitoring role, and a loop builds the two from the same code.

Each cluster is Multi-AZ (a writer and a reader pinned to different AZs), encrypted with
the data key, reachable only through DbSecurityGroupId, TLS-only, IAM-authenticating,
binlogging (ROW) for DMS change capture and audit-logging to CloudWatch Logs. Master
credentials come from the security stack's secrets by dynamic reference and are rotated
every 30 days by the Secrets Manager hosted rotation Lambda inside the VPC.
"""

from troposphere import GetAtt, GetAZs, Join, Ref, Select, Sub
from troposphere.cloudwatch import Alarm
from troposphere.rds import DBCluster, DBClusterParameterGroup, DBInstance, DBSubnetGroup
from troposphere.secretsmanager import HostedRotationLambda, RotationRules, RotationSchedule, SecretTargetAttachment

from bluegreen import cfn_parameters as params
from bluegreen.cfn import (
    APP_DB_USER,
    COLOURS,
    DB_NAME,
    DB_PORT,
    NAME_TAIL,
    PASSWORD_EXCLUDED_CHARACTERS,
    cap,
    db_instance_name,
    deletable,
    export,
    name,
    new_template,
    tags,
    to_json,
)
from bluegreen.cfn_alarms import GATE_EVALUATION, dimensions, expression, metric_query
from bluegreen.cfn_iam import role, service_trust
from bluegreen.cfn_storage import log_group

#: Writer first; the reader is the failover target in the other AZ (PromotionTier 1).
INSTANCES_PER_CLUSTER = 2
ENGINE = "aurora-mysql"
PARAMETER_GROUP_FAMILY = "aurora-mysql8.0"
#: What RDS exports to CloudWatch Logs. No "general": it would log every statement with its
#: values, i.e. payment data, into logs.
LOG_EXPORTS = ["audit", "error", "slowquery"]
#: Audit events: every connection attempt (including failed logins), privilege changes and
#: schema changes (PCI DSS 10.2.2, 10.2.4, 10.2.5, 10.2.7). QUERY_DML is deliberately absent:
#: the audit log records the full statement text, so it would copy card data into the logs.
AUDIT_EVENTS = "CONNECT,QUERY_DCL,QUERY_DDL"
ROTATION_DAYS = 30
SECRETS_TRANSFORM = "AWS::SecretsManager-2024-09-16"
#: Memory-optimised classes only: dev exercises exactly the prod settings (Performance Insights
#: with the data key included) on the smallest class that is sized for sustained load; burstable
#: (t) classes are out (docs/data-tier.md).
DB_INSTANCE_CLASSES = [
    "db.r6g.large", "db.r6g.xlarge", "db.r6g.2xlarge", "db.r6g.4xlarge",
    "db.r7g.large", "db.r7g.xlarge", "db.r7g.2xlarge", "db.r7g.4xlarge",
]


def cluster_parameters() -> dict[str, str]:
    """The cluster parameter group both colours share (values are strings, as RDS stores them)."""
    return {
        # PCI DSS 4.1: refuse any connection that is not TLS, and only TLS 1.2 or newer.
        "require_secure_transport": "ON",
        "tls_version": "TLSv1.2,TLSv1.3",
        # DMS change data capture reads row images from the binlog; FULL images let it
        # validate and apply updates without a lookup on the source.
        "binlog_format": "ROW",
        "binlog_row_image": "full",
        # Advanced Auditing; exported through EnableCloudwatchLogsExports "audit".
        "server_audit_logging": "1",
        "server_audit_events": AUDIT_EVENTS,
        # Slow query log for the slowquery export; FILE is what RDS can publish.
        "slow_query_log": "1",
        "long_query_time": "2",
        "log_output": "FILE",
    }


def add_parameters(t):
    params.add(t, "DataKeyArn", "Customer-managed data key: Aurora storage, Performance Insights and the rotation "
               "function.", params.KMS_KEY_ARN)
    params.add(t, "OpsKeyArn", "Customer-managed ops key: the CloudWatch log groups the clusters and rotation "
               "functions write.", params.KMS_KEY_ARN)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}DbSecretArn", f"Master credentials secret of the {colour} cluster (security stack "
                   "output).", params.SECRET_ARN)
    params.add(t, "DbSubnetIds", "Private database subnets, one per AZ (network stack output DbSubnetIds).",
               params.SUBNET_IDS)
    params.add(t, "DbSecurityGroupId", "Security group of the clusters; admits 3306 only from the app, DMS and "
               "rotation groups.", params.SECURITY_GROUP_ID)
    params.add(t, "RotationSecurityGroupId", "Security group of the secret rotation functions (to the DB and the "
               "Secrets Manager endpoint).", params.SECURITY_GROUP_ID)
    params.add(t, "DbInstanceClass", "Instance class of every cluster member (dev small; prod sized in "
               "docs/data-tier.md).", AllowedValues=DB_INSTANCE_CLASSES)
    params.add(t, "DbEngineVersion", "Aurora MySQL engine version of both clusters (kept equal so a switchover "
               "changes nothing).", Default="8.0.mysql_aurora.3.10.3",
               AllowedPattern=r"^8\.0\.mysql_aurora\.3\.[0-9]{2}\.[0-9]+$",
               ConstraintDescription="an Aurora MySQL 3 engine version such as 8.0.mysql_aurora.3.10.3.")
    params.switch(t, "DeletionProtection", "Deletion protection of both clusters: false only where the stack must "
                  "tear down (dev).", Default="true")
    params.add(t, "BackupRetentionDays", "Days of automated backups, i.e. the point-in-time restore window (1-35).",
               params.NUMBER, MinValue=1, MaxValue=35, Default=7)
    params.add(t, "MonitoringIntervalSeconds", "Enhanced Monitoring granularity in seconds.", params.NUMBER,
               AllowedValues=["1", "5", "10", "15", "30", "60"], Default="60")
    params.add(t, "ReplicaLagThresholdSeconds", "AuroraReplicaLag (in seconds) above which a cluster's replica-lag "
               "alarm fires; see docs/data-tier.md.", params.NUMBER, MinValue=1, MaxValue=300, Default=2)


def secret_field(colour: str, field: str) -> Sub:
    """A dynamic reference: CloudFormation reads the value at deploy time, no template or parameter holds it."""
    return Sub("{{resolve:secretsmanager:${%sDbSecretArn}:SecretString:%s}}" % (cap(colour), field))


def replica_lag_alarm(colour: str, cluster: DBCluster) -> Alarm:
    # AuroraReplicaLag is published in milliseconds; metric math turns it into seconds so the
    # threshold parameter reads in the unit people reason in.
    return Alarm(
        f"{cap(colour)}ReplicaLagAlarm",
        AlarmName=name("alarm", "replica-lag", colour),
        AlarmDescription=Sub(
            f"Highest AuroraReplicaLag of the {colour} cluster above ${{ReplicaLagThresholdSeconds}} s: its "
            "readers serve stale data and a failover would take longer. No data means no reader reports, "
            "i.e. the cluster has lost its standby, so missing data counts as breaching."),
        Metrics=[
            metric_query("lagms", "AWS/RDS", "AuroraReplicaLag", dimensions(DBClusterIdentifier=Ref(cluster)),
                         "Maximum"),
            expression("lag", "lagms / 1000", "AuroraReplicaLag (s)"),
        ],
        ComparisonOperator="GreaterThanThreshold",
        Threshold=Ref("ReplicaLagThresholdSeconds"),
        **GATE_EVALUATION,
        TreatMissingData="breaching",
        Tags=tags(),
    )


AURORA_INSTANCE_GUARD = {
    "SuppressedRules": ["RDS_STORAGE_ENCRYPTED", "RDS_INSTANCE_LOGGING_ENABLED"],
    "Reasons": {
        "RDS_STORAGE_ENCRYPTED": "Aurora member instance: StorageEncrypted is a cluster setting (true, data key) "
                                 "and not applicable on the instance.",
        "RDS_INSTANCE_LOGGING_ENABLED": "Aurora member instance: EnableCloudwatchLogsExports is a cluster setting "
                                        "(audit, error, slowquery) and not applicable on the instance.",
    },
}


def _shared(t):
    """What both colours share, so they cannot drift apart: subnets, cluster parameters, monitoring role."""
    subnet_group = t.add_resource(DBSubnetGroup(
        "DbSubnetGroup",
        DBSubnetGroupName=name("dbsubnet", "aurora"),
        DBSubnetGroupDescription=Sub("Private database subnets of both Aurora clusters - " + NAME_TAIL),
        SubnetIds=Ref("DbSubnetIds"),
        Tags=tags(),
    ))
    parameter_group = t.add_resource(DBClusterParameterGroup(
        "ClusterParameterGroup",
        DBClusterParameterGroupName=name("dbparams", "aurora"),
        Description=Sub("TLS-only, ROW binlog, audited - shared by blue and green - " + NAME_TAIL),
        Family=PARAMETER_GROUP_FAMILY,
        Parameters=cluster_parameters(),
        Tags=tags(),
        Metadata={"guard": {
            "SuppressedRules": ["RDS_STORAGE_ENCRYPTED"],
            "Reasons": {"RDS_STORAGE_ENCRYPTED": (
                "False positive: the rule selects types by the unanchored pattern /AWS::RDS::DBCluster/, which "
                "also matches DBClusterParameterGroup; a parameter group stores no data. Both clusters are "
                "StorageEncrypted with the data key and pass the rule.")},
        }},
    ))
    monitoring_role = role(
        t, "MonitoringRole", name("role", "rds-monitoring"),
        "Lets RDS Enhanced Monitoring publish OS metrics of this stack's instances.",
        # Confused-deputy guard: only RDS acting for this account may assume the role.
        service_trust("monitoring.rds.amazonaws.com", source_account=True),
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")],
    )
    return subnet_group, parameter_group, monitoring_role


def _cluster(t, colour, subnet_group, parameter_group):
    # RDS would create these groups itself, unencrypted and kept forever: create them first.
    groups = [
        log_group(t, f"{cap(colour)}{kind.capitalize()}LogGroup",
                  Sub(f"/aws/rds/cluster/aurora-{colour}-{NAME_TAIL}/{kind}"))
        for kind in LOG_EXPORTS
    ]
    return t.add_resource(deletable(DBCluster(
        f"{cap(colour)}Cluster",
        DependsOn=[g.title for g in groups],
        DBClusterIdentifier=name("aurora", colour),
        Engine=ENGINE,
        EngineVersion=Ref("DbEngineVersion"),
        DatabaseName=DB_NAME,
        Port=DB_PORT,
        MasterUsername=secret_field(colour, "username"),
        MasterUserPassword=secret_field(colour, "password"),
        DBSubnetGroupName=Ref(subnet_group),
        VpcSecurityGroupIds=[Ref("DbSecurityGroupId")],
        DBClusterParameterGroupName=Ref(parameter_group),
        StorageEncrypted=True,
        KmsKeyId=Ref("DataKeyArn"),
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=LOG_EXPORTS,
        DeletionProtection=Ref("DeletionProtection"),
        # Point-in-time restore, not Backtrack: Backtrack rewinds the cluster in place without
        # writing binlog events, so the DMS peer would silently diverge (docs/data-tier.md).
        BackupRetentionPeriod=Ref("BackupRetentionDays"),
        PreferredBackupWindow="02:00-03:00",
        PreferredMaintenanceWindow="sun:03:30-sun:04:30",
        CopyTagsToSnapshot=True,
        Tags=tags(Colour=colour),
    )))


def _instances(t, colour, cluster, monitoring_role):
    """The cluster's members, each in its own AZ (INSTANCES_PER_CLUSTER)."""
    return [
        t.add_resource(deletable(DBInstance(
            f"{cap(colour)}Instance{index + 1}",
            DBInstanceIdentifier=db_instance_name(colour, index + 1),
            DBClusterIdentifier=Ref(cluster),
            Engine=ENGINE,
            DBInstanceClass=Ref("DbInstanceClass"),
            # Pinned to different AZs: a reader in another AZ is what makes the cluster Multi-AZ.
            AvailabilityZone=Select(index, GetAZs(Ref("AWS::Region"))),
            PromotionTier=index,
            PubliclyAccessible=False,
            AutoMinorVersionUpgrade=True,
            MonitoringInterval=Ref("MonitoringIntervalSeconds"),
            MonitoringRoleArn=GetAtt(monitoring_role, "Arn"),
            EnablePerformanceInsights=True,
            PerformanceInsightsKMSKeyId=Ref("DataKeyArn"),
            PerformanceInsightsRetentionPeriod=7,
            Tags=tags(Colour=colour),
            Metadata={"guard": AURORA_INSTANCE_GUARD},
        )))
        for index in range(INSTANCES_PER_CLUSTER)
    ]


def _rotation(t, colour, cluster, instances):
    """The master secret learns its cluster, and the hosted rotation function rotates it every 30 days."""
    # Adds host, port and dbClusterIdentifier to the secret: the rotation function and the
    # DMS endpoints find the cluster through the secret instead of through parameters.
    attachment = t.add_resource(SecretTargetAttachment(
        f"{cap(colour)}SecretAttachment",
        SecretId=Ref(f"{cap(colour)}DbSecretArn"),
        TargetId=Ref(cluster),
        TargetType="AWS::RDS::DBCluster",
    ))
    rotation_logs = log_group(t, f"{cap(colour)}RotationLogGroup",
                              Sub(f"/aws/lambda/lambda-rotation-{colour}-" + NAME_TAIL))
    t.add_resource(RotationSchedule(
        f"{cap(colour)}SecretRotation",
        # The first rotation runs at once: the cluster must have members and the secret its host.
        DependsOn=[attachment.title, rotation_logs.title] + [i.title for i in instances],
        SecretId=Ref(f"{cap(colour)}DbSecretArn"),
        HostedRotationLambda=HostedRotationLambda(
            RotationType="MySQLSingleUser",
            RotationLambdaName=name("lambda", "rotation", colour),
            # Inside the VPC, in the database subnets: it reaches the cluster through the DB
            # security group and Secrets Manager through the interface endpoint, never the internet.
            VpcSubnetIds=Join(",", Ref("DbSubnetIds")),
            VpcSecurityGroupIds=Ref("RotationSecurityGroupId"),
            KmsKeyArn=Ref("DataKeyArn"),
            ExcludeCharacters=PASSWORD_EXCLUDED_CHARACTERS,
        ),
        RotationRules=RotationRules(AutomaticallyAfterDays=ROTATION_DAYS),
    ))


def _outputs(t, clusters, alarms):
    for colour, cluster in clusters.items():
        c = cap(colour)
        export(t, f"{c}ClusterIdentifier", Ref(cluster), f"DBClusterIdentifier of the {colour} cluster.")
        export(t, f"{c}ClusterArn", GetAtt(cluster, "DBClusterArn"), f"ARN of the {colour} cluster (AWS Backup selection).")
        export(t, f"{c}WriterEndpoint", GetAtt(cluster, "Endpoint.Address"), f"Writer (cluster) endpoint of the {colour} cluster.")
        export(t, f"{c}ReaderEndpoint", GetAtt(cluster, "ReadEndpoint.Address"), f"Reader endpoint of the {colour} cluster.")
        # The rds-db:connect resource names the cluster by its resource ID, not its identifier.
        export(t, f"{c}ClusterResourceId", GetAtt(cluster, "DBClusterResourceId"),
               f"Resource ID of the {colour} cluster, for rds-db:connect (IAM database authentication).")
    export(t, "DbPort", GetAtt(clusters["blue"], "Endpoint.Port"), "MySQL port of both clusters.")
    export(t, "AppDbUser", APP_DB_USER,
           "Database user the payment API logs in as on either cluster, with IAM database authentication.")
    export(t, "ReplicaLagAlarmNames", Join(",", [Ref(a) for a in alarms]),
           "Comma-joined names of the AuroraReplicaLag alarms (blue, green) for the data composite alarm.")


def build():
    t = new_template("Blue and green Aurora MySQL clusters (Multi-AZ, encrypted, TLS-only, audited, rotated) "
                     "of the blue-green payment platform.")
    # The hosted rotation Lambda comes from this transform; the 2024-09-16 version keeps the
    # rotation function's runtime and dependencies patched on every stack update.
    t.set_transform(SECRETS_TRANSFORM)
    add_parameters(t)
    subnet_group, parameter_group, monitoring_role = _shared(t)
    clusters, alarms = {}, []
    for colour in COLOURS:
        clusters[colour] = cluster = _cluster(t, colour, subnet_group, parameter_group)
        _rotation(t, colour, cluster, _instances(t, colour, cluster, monitoring_role))
        alarms.append(t.add_resource(replica_lag_alarm(colour, cluster)))
    _outputs(t, clusters, alarms)
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
