"""Automation stack: the traffic-shifter Lambda that moves payments from blue to green and back.

Every minute (EventBridge schedule), and at once when a gate alarm changes state, the Lambda
reads the shift plan and the gate alarms (green health, data health) and either advances green's
weight by one step, holds, or rolls back to blue on both ALBs' listeners (one ALB per colour) and
the Route 53 weighted records together. Its plan state lives in a DynamoDB table written with
conditional puts.

Safety rails an auditor can check in this file:
  * ReservedConcurrentExecutions 1: two runs can never change weights at the same time (the
    conditional writes catch a race; the concurrency limit makes one impossible);
  * the role may change exactly the two HTTPS listeners, the weighted records of one name in one
    zone, one SSM parameter (and read three), one table item set, and publish to one topic:
    nothing it could use to touch the payment data or other traffic;
  * every failed run is kept (Lambda DLQ, EventBridge DLQ) and pages through the alarms below,
    including a heartbeat alarm that fires when the schedule stops invoking the function.
"""

from troposphere import GetAtt, Join, Parameter, Ref, Sub
from troposphere.awslambda import (
    Code,
    DeadLetterConfig,
    Environment,
    EventInvokeConfig,
    Function,
    LoggingConfig,
    Permission,
    VPCConfig,
)
from troposphere.cloudwatch import Alarm, MetricDimension
from troposphere.dynamodb import (
    AttributeDefinition,
    KeySchema,
    PointInTimeRecoverySpecification,
    SSESpecification,
    Table,
)
from troposphere.events import DeadLetterConfig as TargetDeadLetterConfig
from troposphere.events import RetryPolicy, Rule, Target
from troposphere.iam import ManagedPolicy, Role
from troposphere.logs import LogGroup
from troposphere.sqs import Queue, QueuePolicy

from bluegreen.cfn import KMS_KEY_ARN_PATTERN, NAME_TAIL, deletable, export, name, new_template, tags, to_json

FUNCTION_NAME = "lambda-traffic-shifter-" + NAME_TAIL
HANDLER = "traffic_shifter.handler.lambda_handler"
RUNTIME = "python3.12"
#: CloudWatch Logs retention of the function's log (PCI DSS 10.7: one year of audit trail).
LOG_RETENTION_DAYS = 365
SCHEDULE = "rate(1 minute)"
#: Record types of the weighted alias records the shifter may UPSERT (route53 stack).
RECORD_TYPES = ["A"]
#: Retries of a failed run: none. The schedule runs again within a minute and re-reads every
#: input, while a retried event would act on what was true when it was sent. Failures go to
#: the DLQ and page through the errors alarm.
MAX_RETRY_ATTEMPTS = 0
#: An event that waited this long behind a running invocation (concurrency 1) is stale: two
#: newer scheduled runs have read fresher state by then.
MAX_EVENT_AGE_SECONDS = 120
#: One ALB per colour (alb stack): the shifter sets the same weights on every edge's listener.
EDGES = ("blue", "green")
#: The database switchover's forward run must end within this (SWITCHOVER_BUDGET_SECONDS); the
#: rest of the Lambda timeout is the undo's: unfence, the writer name back, and the audit write.
SWITCHOVER_BUDGET_SECONDS = 200
UNDO_RESERVE_SECONDS = 100
FUNCTION_TIMEOUT_SECONDS = SWITCHOVER_BUDGET_SECONDS + UNDO_RESERVE_SECONDS
#: What Lambda does with the role to attach the function to the VPC (beside DescribeNetworkInterfaces).
ENI_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
#: parliament wants ModifyListener's NLB listener format too (access.py's operator grants the same statement).
PARLIAMENT_MODIFY_LISTENER = {
    "issue": "RESOURCE_MISMATCH", "actions": ["elasticloadbalancing:ModifyListener"],
    "reason": "parliament expects the NLB listener format as well; ModifyListener takes an ALB or an NLB "
              "listener, and granting exactly the two ALB listeners the shifter sets is least privilege."}
#: The switchover's drain marker (lambda_src/traffic_shifter/db/drain.py); dms.py replicates this schema.
MARKER_SCHEMA = "bluegreen_ops"


def _arn(service, resource, region=True, account=True):
    return Sub("arn:${AWS::Partition}:%s:%s:%s:%s" % (
        service, "${AWS::Region}" if region else "", "${AWS::AccountId}" if account else "", resource))


def _parameters(t):
    def p(title, description, **kwargs):
        t.add_parameter(Parameter(title, Description=description, **kwargs))

    p("OpsKeyArn", "Ops KMS key (security stack): DLQ, state table, log group, Lambda environment.",
      Type="String", AllowedPattern=KMS_KEY_ARN_PATTERN, ConstraintDescription="a KMS key ARN")
    p("ArtifactBucketName", "Artifacts bucket (artifacts stack) holding the Lambda zip.",
      Type="String", AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", ConstraintDescription="an S3 bucket name")
    p("TrafficShifterCodeKey", "S3 key of the traffic shifter's zip (!lambda_code_key lambda_src/traffic_shifter).",
      Type="String", AllowedPattern=r"^lambda/traffic_shifter/[0-9a-f]{64}\.zip$",
      ConstraintDescription="lambda/traffic_shifter/<sha256>.zip, as the packaging hook uploads it")
    p("AppSubnetIds", "Private app subnets (network stack AppSubnetIds) the Lambda runs in.",
      Type="List<AWS::EC2::Subnet::Id>")
    p("LambdaSecurityGroupId", "Security group of the Lambda (network stack LambdaSecurityGroupId).",
      Type="AWS::EC2::SecurityGroup::Id")
    p("SsmPrefix", "SSM prefix of this deployment (parameters stack SsmPrefix), e.g. /payments-migration/dev-d01.",
      Type="String", AllowedPattern=r"^(/[a-z0-9][a-z0-9-]*){2}$",
      ConstraintDescription="/<project>/<environment>-<suffix>, no trailing slash")
    for edge in EDGES:
        e = edge.capitalize()
        p(f"{e}HttpsListenerArn", f"HTTPS listener of the {edge} ALB, whose default forward action holds the "
                                  f"weights (alb stack {e}HttpsListenerArn).",
          Type="String", AllowedPattern=r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener/app/.+$",
          ConstraintDescription="an ALB listener ARN")
        for colour in ("blue", "green"):
            group = target_group(edge, colour)
            p(f"{group}Arn", f"The {edge} ALB's target group of the {colour} tasks (alb stack {group}Arn).",
              Type="String",
              AllowedPattern=r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/.+$",
              ConstraintDescription="a target group ARN")
    p("HostedZoneId", "Hosted zone of the payment hostname (dns stack HostedZoneId).",
      Type="String", AllowedPattern=r"^Z[A-Z0-9]{1,31}$", ConstraintDescription="a Route 53 hosted zone ID")
    p("RecordName", "Payment hostname of the weighted records (route53 stack RecordName), lower case, "
                    "without the trailing dot: it is also the IAM condition's normalized record name.",
      Type="String", AllowedPattern=r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
      ConstraintDescription="a lower-case DNS name without a trailing dot, e.g. pay-dev-d01.example.com")
    p("GreenHealthAlarmName", "Composite alarm of green's health (monitoring stack): a shift gate.",
      Type="String", AllowedPattern=r"^[A-Za-z0-9._-]{1,255}$", ConstraintDescription="an alarm name")
    p("DataHealthAlarmName", "Composite alarm of replication health (monitoring stack): a shift gate.",
      Type="String", AllowedPattern=r"^[A-Za-z0-9._-]{1,255}$", ConstraintDescription="an alarm name")
    p("NotifyTopicArn", "KMS-encrypted SNS topic (monitoring stack NotifyTopicArn) for shift notifications.",
      Type="String", AllowedPattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$",
      ConstraintDescription="an SNS topic ARN")
    # The database switchover (docs/db-switchover.md).
    p("WriterZoneId", "Private hosted zone of the writer name (writer stack WriterZoneId).",
      Type="String", AllowedPattern=r"^Z[A-Z0-9]{1,31}$", ConstraintDescription="a Route 53 hosted zone ID")
    p("WriterHostname", "The writer name (writer stack WriterHostname), lower case, without the trailing dot.",
      Type="String", AllowedPattern=r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
      ConstraintDescription="a lower-case DNS name without a trailing dot")
    for colour in ("Blue", "Green"):
        p(f"{colour}ClusterIdentifier", f"The {colour.lower()} Aurora cluster (database stack {colour}ClusterIdentifier).",
          Type="String", AllowedPattern=r"^[a-z][a-z0-9-]{0,62}$", ConstraintDescription="an RDS cluster identifier")
        p(f"{colour}DbSecretArn", f"Master secret of the {colour.lower()} cluster (security stack): the fence's SQL login.",
          Type="String",
          AllowedPattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$",
          ConstraintDescription="a Secrets Manager secret ARN")
    p("DbCaBundleParameterName", "SSM String parameter (parameters stack DbCaBundleParameterName) holding the RDS "
                                 "CA bundle the switchover verifies the databases' TLS certificates against.",
      Type="String", AllowedPattern=r"^(/[A-Za-z0-9_.-]+)+$", ConstraintDescription="an SSM parameter name (a path)")
    p("DataKeyArn", "Data KMS key (security stack) the DB secrets are encrypted with.",
      Type="String", AllowedPattern=KMS_KEY_ARN_PATTERN, ConstraintDescription="a KMS key ARN")
    p("ReplicationInstanceIdentifier", "DMS replication instance (dms stack): the CDC metrics' dimension.",
      Type="String", AllowedPattern=r"^[a-z][a-z0-9-]{0,62}$", ConstraintDescription="a DMS instance identifier")
    for key, what in DMS_TASKS.items():
        p(key, f"{what} (dms stack {key}).", Type="String",
          AllowedPattern=r"^arn:aws[a-z-]*:dms:[a-z0-9-]+:[0-9]{12}:task:[A-Za-z0-9-]+$", ConstraintDescription="a DMS task ARN")
    p("StateTableDeletionProtection", "Deletion protection of the state table: true in prod (the audit trail "
                                      "of every shift), false where test stacks must tear down.",
      Type="String", AllowedValues=["true", "false"], Default="true")


#: dms stack outputs -> what they are; the switchover stops and starts exactly these.
DMS_TASKS = {
    "ReplicationTaskArn": "Initial blue -> green task (full load and CDC)",
    "CdcBlueToGreenTaskArn": "CDC-only blue -> green task",
    "CdcGreenToBlueTaskArn": "CDC-only green -> blue task",
}


def target_group(edge, colour):
    """Stem of the ``edge`` ALB's target group of ``colour``'s tasks (alb stack output names)."""
    return f"{edge.capitalize()}Alb{colour.capitalize()}TargetGroup"


def _alarm_arn(param):
    return _arn("cloudwatch", "alarm:${%s}" % param)


def _region_service(service):
    return Sub(f"{service}.${{AWS::Region}}.amazonaws.com")


def _policy_document(log_group, table, dlq):
    """The function's role: what its code calls (code_statements) and what Lambda does with the role."""
    code = code_statements(GetAtt(table, "Arn"))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "WriteOwnLog", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": GetAtt(log_group, "Arn")},
            # Lambda creates and removes the function's ENIs with the role. Describe has no
            # resource-level permissions; the writes are held to this account and region.
            {"Sid": "DescribeVpcNetworkInterfaces", "Effect": "Allow",
             "Action": ["ec2:DescribeNetworkInterfaces"],
             "Resource": "*"},
            {"Sid": "ManageVpcNetworkInterfaces", "Effect": "Allow",
             "Action": ENI_ACTIONS,
             "Resource": _arn("ec2", "*/*")},
            *code,
            {"Sid": "DeadLetter", "Effect": "Allow",
             "Action": ["sqs:SendMessage"],
             "Resource": GetAtt(dlq, "Arn")},
            *ops_key_statements(["sns", "sqs"]),
        ],
    }


def code_statements(table_arn):
    """What the shifter's code calls, on exactly its resources: the Lambda's role and the operator's
    (the bluegreen CLI runs the same code in-process) both grant these."""
    return [
            # DescribeListeners has no resource-level permissions in IAM.
            {"Sid": "ReadListenerWeights", "Effect": "Allow",
             "Action": ["elasticloadbalancing:DescribeListeners"],
             "Resource": "*"},
            {"Sid": "SetListenerWeights", "Effect": "Allow",
             "Action": ["elasticloadbalancing:ModifyListener"],
             "Resource": [Ref(f"{e.capitalize()}HttpsListenerArn") for e in EDGES]},
            {"Sid": "ReadWeightedRecords", "Effect": "Allow",
             "Action": ["route53:ListResourceRecordSets"],
             "Resource": Sub("arn:${AWS::Partition}:route53:::hostedzone/${HostedZoneId}")},
            {"Sid": "SetWeightedRecords", "Effect": "Allow",
             "Action": ["route53:ChangeResourceRecordSets"],
             "Resource": Sub("arn:${AWS::Partition}:route53:::hostedzone/${HostedZoneId}"),
             "Condition": {"ForAllValues:StringEquals": {
                 "route53:ChangeResourceRecordSetsNormalizedRecordNames": [Ref("RecordName")],
                 "route53:ChangeResourceRecordSetsRecordTypes": RECORD_TYPES,
                 "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
             }}},
            {"Sid": "ReadAndSetGreenWeight", "Effect": "Allow",
             "Action": ["ssm:GetParameter", "ssm:PutParameter"],
             "Resource": _arn("ssm", "parameter${SsmPrefix}/traffic/green-weight")},
            {"Sid": "ReadShiftPlan", "Effect": "Allow",
             "Action": ["ssm:GetParameter"],
             "Resource": _arn("ssm", "parameter${SsmPrefix}/shift/plan")},
            {"Sid": "ReadGateAlarms", "Effect": "Allow",
             "Action": ["cloudwatch:DescribeAlarms"],
             "Resource": [_alarm_arn("GreenHealthAlarmName"), _alarm_arn("DataHealthAlarmName")]},
            # The shifter reads and conditionally puts one item; it never updates, deletes or scans.
            {"Sid": "ReadAndWriteShiftState", "Effect": "Allow",
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
             "Resource": table_arn},
            # -- the database switchover: one record, three tasks, two clusters, two secrets.
            {"Sid": "ReadWriterName", "Effect": "Allow",
             "Action": ["route53:ListResourceRecordSets"],
             "Resource": Sub("arn:${AWS::Partition}:route53:::hostedzone/${WriterZoneId}")},
            {"Sid": "MoveWriterName", "Effect": "Allow",
             "Action": ["route53:ChangeResourceRecordSets"],
             "Resource": Sub("arn:${AWS::Partition}:route53:::hostedzone/${WriterZoneId}"),
             "Condition": {"ForAllValues:StringEquals": {
                 "route53:ChangeResourceRecordSetsNormalizedRecordNames": [Ref("WriterHostname")],
                 "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"],
                 "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
             }}},
            # GetChange has no resource-level condition on the record; change IDs are not guessable.
            {"Sid": "WaitForDnsChange", "Effect": "Allow",
             "Action": ["route53:GetChange"],
             "Resource": Sub("arn:${AWS::Partition}:route53:::change/*")},
            {"Sid": "StartStopTheReplicationTasks", "Effect": "Allow",
             "Action": ["dms:StartReplicationTask", "dms:StopReplicationTask", "dms:DescribeTableStatistics"],
             "Resource": [Ref(k) for k in DMS_TASKS]},
            # DescribeReplicationTasks has no resource-level permissions in IAM.
            {"Sid": "ReadReplicationTasks", "Effect": "Allow",
             "Action": ["dms:DescribeReplicationTasks"],
             "Resource": "*"},
            {"Sid": "ReadTheClusters", "Effect": "Allow",
             "Action": ["rds:DescribeDBClusters", "rds:DescribeDBInstances"],
             "Resource": [_arn("rds", "cluster:${BlueClusterIdentifier}"), _arn("rds", "cluster:${GreenClusterIdentifier}"),
                          _arn("rds", "db:${BlueClusterIdentifier}-*"), _arn("rds", "db:${GreenClusterIdentifier}-*")]},
            # GetMetricData has no resource-level permissions in IAM (CDC latency and incoming changes).
            {"Sid": "ReadReplicationMetrics", "Effect": "Allow",
             "Action": ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics"],
             "Resource": "*"},
            # The RDS CA bundle is public, so a String parameter: no key to decrypt it with.
            {"Sid": "ReadDbCaBundle", "Effect": "Allow",
             "Action": ["ssm:GetParameter"],
             "Resource": _arn("ssm", "parameter${DbCaBundleParameterName}")},
            {"Sid": "FenceLogin", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue"],
             "Resource": [Ref("BlueDbSecretArn"), Ref("GreenDbSecretArn")]},
            {"Sid": "DataKeyForFenceLogin", "Effect": "Allow",
             "Action": ["kms:Decrypt"],
             "Resource": Ref("DataKeyArn"),
             "Condition": {"StringEquals": {"kms:ViaService": _region_service("secretsmanager")}}},
            {"Sid": "Notify", "Effect": "Allow",
             "Action": ["sns:Publish"],
             "Resource": Ref("NotifyTopicArn")},
    ]


def ops_key_statements(message_services):
    """The state table, topic (and the function's DLQ) are encrypted with the ops key: it is used only
    through those services, never directly."""
    return [
            {"Sid": "OpsKeyForStateTable", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
             "Resource": Ref("OpsKeyArn"),
             "Condition": {"StringEquals": {"kms:ViaService": _region_service("dynamodb")}}},
            {"Sid": "OpsKeyForMessages", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": Ref("OpsKeyArn"),
             "Condition": {"StringEquals": {"kms:ViaService": [_region_service(s) for s in message_services]}}},
    ]


def _environment(table):
    return {
        "SSM_PREFIX": Ref("SsmPrefix"),
        "STATE_TABLE": Ref(table),
        # One entry per ALB, blue ALB first; listener i forwards to blue and green target group i.
        "LISTENER_ARNS": Join(",", [Ref(f"{e.capitalize()}HttpsListenerArn") for e in EDGES]),
        "BLUE_TARGET_GROUP_ARNS": Join(",", [Ref(f"{target_group(e, 'blue')}Arn") for e in EDGES]),
        "GREEN_TARGET_GROUP_ARNS": Join(",", [Ref(f"{target_group(e, 'green')}Arn") for e in EDGES]),
        "HOSTED_ZONE_ID": Ref("HostedZoneId"),
        "RECORD_NAME": Sub("${RecordName}."),
        "GATE_ALARMS": Join(",", [Ref("GreenHealthAlarmName"), Ref("DataHealthAlarmName")]),
        "NOTIFY_TOPIC_ARN": Ref("NotifyTopicArn"),
        # The database switchover (lambda_src/traffic_shifter/db.py DB_ENV_VARS).
        "WRITER_ZONE_ID": Ref("WriterZoneId"),
        "WRITER_RECORD_NAME": Sub("${WriterHostname}."),
        "BLUE_CLUSTER_ID": Ref("BlueClusterIdentifier"),
        "GREEN_CLUSTER_ID": Ref("GreenClusterIdentifier"),
        "DMS_INSTANCE_ID": Ref("ReplicationInstanceIdentifier"),
        "DMS_TASK_INITIAL_ARN": Ref("ReplicationTaskArn"),
        "DMS_TASK_BLUE_TO_GREEN_ARN": Ref("CdcBlueToGreenTaskArn"),
        "DMS_TASK_GREEN_TO_BLUE_ARN": Ref("CdcGreenToBlueTaskArn"),
        "BLUE_DB_SECRET_ARN": Ref("BlueDbSecretArn"),
        "GREEN_DB_SECRET_ARN": Ref("GreenDbSecretArn"),
        # TLS to the databases is verified against this bundle; the Lambda refuses to connect while
        # the parameter holds no PEM (docs/db-switchover.md). DB_TLS_VERIFY is never set here.
        "DB_CA_BUNDLE_PARAMETER": Ref("DbCaBundleParameterName"),
        "SWITCHOVER_BUDGET_SECONDS": str(SWITCHOVER_BUDGET_SECONDS),
        "MARKER_SCHEMA": MARKER_SCHEMA,
        "POWERTOOLS_SERVICE_NAME": "traffic-shifter",
        "POWERTOOLS_METRICS_NAMESPACE": "PaymentsBlueGreen",
    }


def _self_alarms(t, function, dlq):
    """The shifter watches the payments; these watch the shifter."""
    notify = [Ref("NotifyTopicArn")]
    fn_dims = [MetricDimension(Name="FunctionName", Value=Ref(function))]
    common = dict(ActionsEnabled=True, AlarmActions=notify, OKActions=notify, Period=60, Tags=tags())
    t.add_resource(Alarm(
        "ShifterErrorsAlarm",
        AlarmName=name("alarm", "shifter", "errors"),
        AlarmDescription="The traffic shifter failed a run: automatic rollback may be impaired (see its log and DLQ).",
        Namespace="AWS/Lambda", MetricName="Errors", Dimensions=fn_dims, Statistic="Sum",
        EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=0,
        # No invocation, no error datapoint; the heartbeat alarm covers a function that stopped running.
        TreatMissingData="notBreaching",
        **common,
    ))
    t.add_resource(Alarm(
        "ShifterHeartbeatAlarm",
        AlarmName=name("alarm", "shifter", "heartbeat"),
        AlarmDescription="The traffic shifter has not run for 5 minutes although it is scheduled every minute.",
        Namespace="AWS/Lambda", MetricName="Invocations", Dimensions=fn_dims, Statistic="Sum",
        EvaluationPeriods=5, DatapointsToAlarm=5, ComparisonOperator="LessThanThreshold", Threshold=1,
        # Lambda publishes Invocations only for minutes with invocations: silence is the failure.
        TreatMissingData="breaching",
        **common,
    ))
    t.add_resource(Alarm(
        "ShifterDeadLetterAlarm",
        AlarmName=name("alarm", "shifter", "dlq"),
        AlarmDescription="Failed or undeliverable traffic shifter events are waiting in its dead-letter queue.",
        Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[MetricDimension(Name="QueueName", Value=GetAtt(dlq, "QueueName"))], Statistic="Maximum",
        EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=0,
        # SQS stops publishing for a queue idle for hours: an idle DLQ is an empty one.
        TreatMissingData="notBreaching",
        **common,
    ))


def build():
    t = new_template("Traffic-shifter Lambda, its state table, schedule, alarm triggers and self-monitoring "
                     "of the blue-green payment platform.")
    _parameters(t)

    dlq = t.add_resource(deletable(Queue(
        "DeadLetterQueue",
        QueueName=name("sqs", "shifter-dlq"),
        KmsMasterKeyId=Ref("OpsKeyArn"),
        # The longest SQS keeps anything: two weeks to investigate a failed run.
        MessageRetentionPeriod=1209600,
        Tags=tags(),
    )))

    table = t.add_resource(deletable(Table(
        "StateTable",
        TableName=name("ddb", "shift-state"),
        AttributeDefinitions=[AttributeDefinition(AttributeName="plan_id", AttributeType="S")],
        KeySchema=[KeySchema(AttributeName="plan_id", KeyType="HASH")],
        # A few writes a minute at most: on-demand costs cents and cannot be throttled by a forgotten limit.
        BillingMode="PAY_PER_REQUEST",
        SSESpecification=SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=Ref("OpsKeyArn")),
        PointInTimeRecoverySpecification=PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        DeletionProtectionEnabled=Ref("StateTableDeletionProtection"),
        Tags=tags(),
    )))

    # Declared (and, through LoggingConfig, created before the function) so Lambda never creates
    # it itself unencrypted and without retention.
    log_group = t.add_resource(deletable(LogGroup(
        "FunctionLogGroup",
        LogGroupName=Sub("/aws/lambda/" + FUNCTION_NAME),
        KmsKeyId=Ref("OpsKeyArn"),
        RetentionInDays=LOG_RETENTION_DAYS,
        Tags=tags(),
    )))

    policy = t.add_resource(ManagedPolicy(
        "FunctionPolicy",
        ManagedPolicyName=name("policy", "traffic-shifter"),
        Description="Least privilege of the traffic shifter: two listeners, one record name, one SSM parameter "
                    "it writes, the switchover's record, tasks and logins.",
        PolicyDocument=_policy_document(log_group, table, dlq),
        Metadata={"parliament": {"ignore": [
            {"issue": "RESOURCE_MISMATCH", "actions": ENI_ACTIONS,
             "reason": "Lambda creates and deletes the function's network interfaces with this role when it attaches "
                       "the function to the VPC; their IDs are not known in advance, so the writes are held to this "
                       "account and region (ec2:<region>:<account>:*/*) instead of named resources."},
            PARLIAMENT_MODIFY_LISTENER,
        ]}},
    ))
    role = t.add_resource(Role(
        "FunctionRole",
        RoleName=name("role", "traffic-shifter"),
        Description="Execution role of the traffic-shifter Lambda.",
        AssumeRolePolicyDocument={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        },
        # Attached at creation: Lambda checks the ENI permissions when it creates a VPC function.
        ManagedPolicyArns=[Ref(policy)],
        Tags=tags(),
    ))

    function = t.add_resource(Function(
        "TrafficShifterFunction",
        FunctionName=Sub(FUNCTION_NAME),
        Description="Shifts payment traffic blue->green by plan, gated on health alarms; rolls back by itself.",
        Runtime=RUNTIME,
        # The zip's dependencies are built for manylinux2014_x86_64 (bluegreen.lambda_zip).
        Architectures=["x86_64"],
        Handler=HANDLER,
        Code=Code(S3Bucket=Ref("ArtifactBucketName"), S3Key=Ref("TrafficShifterCodeKey")),
        Role=GetAtt(role, "Arn"),
        # A db switchover's forward run ends by SWITCHOVER_BUDGET_SECONDS; what is left is its undo's.
        Timeout=FUNCTION_TIMEOUT_SECONDS,
        MemorySize=256,
        # The concurrency guard: one run at a time, whatever triggered it.
        ReservedConcurrentExecutions=1,
        DeadLetterConfig=DeadLetterConfig(TargetArn=GetAtt(dlq, "Arn")),
        KmsKeyArn=Ref("OpsKeyArn"),
        VpcConfig=VPCConfig(SubnetIds=Ref("AppSubnetIds"), SecurityGroupIds=[Ref("LambdaSecurityGroupId")]),
        Environment=Environment(Variables=_environment(table)),
        LoggingConfig=LoggingConfig(LogGroup=Ref(log_group)),
        Tags=tags(),
    ))
    t.add_resource(EventInvokeConfig(
        "FunctionInvokeConfig",
        FunctionName=Ref(function),
        Qualifier="$LATEST",
        MaximumRetryAttempts=MAX_RETRY_ATTEMPTS,
        MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS,
    ))

    target = dict(
        Arn=GetAtt(function, "Arn"),
        Id="traffic-shifter",
        # EventBridge retries only a failed hand-over to Lambda, not a failed run.
        RetryPolicy=RetryPolicy(MaximumRetryAttempts=2, MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS),
        DeadLetterConfig=TargetDeadLetterConfig(Arn=GetAtt(dlq, "Arn")),
    )
    schedule = t.add_resource(Rule(
        "ScheduleRule",
        Name=name("rule", "shift-schedule"),
        Description="Runs the traffic shifter every minute (advance, hold or roll back).",
        ScheduleExpression=SCHEDULE,
        State="ENABLED",
        Targets=[Target(**target)],
        Tags=tags(),
    ))
    alarm_rule = t.add_resource(Rule(
        "GateAlarmRule",
        Name=name("rule", "gate-alarms"),
        Description="Runs the traffic shifter at once when a gate alarm (green or data health) changes state.",
        EventPattern={
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "resources": [_alarm_arn("GreenHealthAlarmName"), _alarm_arn("DataHealthAlarmName")],
        },
        State="ENABLED",
        Targets=[Target(**target)],
        Tags=tags(),
    ))
    for rule in (schedule, alarm_rule):
        t.add_resource(Permission(
            f"{rule.title}InvokePermission",
            FunctionName=GetAtt(function, "Arn"),
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
            SourceAccount=Ref("AWS::AccountId"),
        ))
    t.add_resource(QueuePolicy(
        "DeadLetterQueuePolicy",
        Queues=[Ref(dlq)],
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                {
                    # Events the two rules could not hand to Lambda; the Lambda's own failures
                    # arrive with its role (sqs:SendMessage in its policy).
                    "Sid": "OurRulesDeadLetter",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": GetAtt(dlq, "Arn"),
                    "Condition": {"ArnEquals": {"aws:SourceArn": [GetAtt(schedule, "Arn"), GetAtt(alarm_rule, "Arn")]}},
                },
                {
                    "Sid": "DenyWithoutTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": GetAtt(dlq, "Arn"),
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        },
    ))
    _self_alarms(t, function, dlq)

    export(t, "TrafficShifterFunctionName", Ref(function), "Name of the traffic-shifter Lambda (operators invoke it).")
    export(t, "TrafficShifterFunctionArn", GetAtt(function, "Arn"), "ARN of the traffic-shifter Lambda.")
    export(t, "StateTableName", Ref(table), "DynamoDB table holding the shift plan state.")
    export(t, "DeadLetterQueueUrl", Ref(dlq), "DLQ of failed traffic-shifter runs and undeliverable events.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
