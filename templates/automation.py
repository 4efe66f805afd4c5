"""Automation stack: the traffic-shifter Lambda that moves payments from blue to green and back.

Every minute (EventBridge schedule), and at once when a gate alarm changes state, the Lambda
reads the shift plan and the gate alarms (green health, data health) and either advances green's
weight by one step, holds, or rolls back to blue on both ALBs' listeners (one ALB per colour) and
the Route 53 weighted records together. Its plan state lives in a DynamoDB table written with
conditional puts.

Safety rails an auditor can check in this file:
  * ReservedConcurrentExecutions 1 (parameter ReservedConcurrency): two runs can never change weights at once (the
    conditional writes catch a race; the concurrency limit makes one impossible);
  * the role may change exactly the two HTTPS listeners, the weighted records of one name in one
    zone, one SSM parameter (and read three), one table item set, and publish to one topic:
    nothing it could use to touch the payment data or other traffic;
  * every failed run is kept (Lambda DLQ, EventBridge DLQ) and pages through the alarms below,
    including a heartbeat alarm that fires when the schedule stops invoking the function.
"""

from troposphere import GetAtt, Join, Ref, Sub
from troposphere.awslambda import DeadLetterConfig, Environment, EventInvokeConfig, Permission
from troposphere.cloudwatch import Alarm
from troposphere.dynamodb import (
    AttributeDefinition,
    KeySchema,
    PointInTimeRecoverySpecification,
    SSESpecification,
    Table,
)
from troposphere.events import DeadLetterConfig as TargetDeadLetterConfig
from troposphere.events import RetryPolicy, Rule, Target
from troposphere.sqs import Queue, QueuePolicy

from bluegreen import cfn_lambda
from bluegreen import cfn_parameters as params
from bluegreen.cfn import (
    COLOURS,
    EDGES,
    MARKER_SCHEMA,
    NAME_TAIL,
    cap,
    db_instance_arn_tail,
    deletable,
    export,
    name,
    new_template,
    tags,
    target_group,
    to_json,
)
from bluegreen.cfn_alarms import dimensions
from bluegreen.cfn_iam import allow, arn, deny, managed_policy, policy_document, role, via_service

FUNCTION_NAME = "lambda-traffic-shifter-" + NAME_TAIL
HANDLER = "traffic_shifter.handler.lambda_handler"
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
#: The database switchover's forward run must end within this (SWITCHOVER_BUDGET_SECONDS); the
#: rest of the Lambda timeout is the undo's: unfence, the writer name back, and the audit write.
SWITCHOVER_BUDGET_SECONDS = 200
UNDO_RESERVE_SECONDS = 100
FUNCTION_TIMEOUT_SECONDS = SWITCHOVER_BUDGET_SECONDS + UNDO_RESERVE_SECONDS
#: parliament wants ModifyListener's NLB listener format too (access.py's operator grants the same statement).
PARLIAMENT_MODIFY_LISTENER = {
    "issue": "RESOURCE_MISMATCH", "actions": ["elasticloadbalancing:ModifyListener"],
    "reason": "parliament expects the NLB listener format as well; ModifyListener takes an ALB or an NLB "
              "listener, and granting exactly the two ALB listeners the shifter sets is least privilege."}
#: dms stack outputs -> what they are; the switchover stops and starts exactly these.
DMS_TASKS = {
    "ReplicationTaskArn": "Initial blue -> green task (full load and CDC)",
    "CdcBlueToGreenTaskArn": "CDC-only blue -> green task",
    "CdcGreenToBlueTaskArn": "CDC-only green -> blue task",
}
#: The shifter's gates: green's health composite (both lines, ALARM rolls back), the data composite, and green's
#: payments-failed alarm on its own, whose INSUFFICIENT_DATA (too few payments to judge) holds the shift (a
#: composite would read it as not ALARM, i.e. OK).
GATE_ALARMS = ("GreenHealthAlarmName", "DataHealthAlarmName", "GreenPaymentsAlarmName")


def _parameters(t):
    params.add(t, "OpsKeyArn", "Ops KMS key (security stack): DLQ, state table, log group, Lambda environment.",
               params.KMS_KEY_ARN)
    cfn_lambda.parameters(t, "TrafficShifterCodeKey", "traffic_shifter")
    params.add(t, "SsmPrefix", "SSM prefix of this deployment (parameters stack SsmPrefix), e.g. "
               "/payments-migration/dev-d01.", params.SSM_PREFIX)
    for edge in EDGES:
        params.add(t, f"{cap(edge)}HttpsListenerArn", f"HTTPS listener of the {edge} ALB, whose default forward action "
                   f"holds the weights (listeners stack {cap(edge)}HttpsListenerArn).", params.LISTENER_ARN)
        for colour in COLOURS:
            group = target_group(edge, colour)
            params.add(t, f"{group}Arn", f"The {edge} ALB's target group of the {colour} tasks (alb stack {group}Arn).",
                       params.TARGET_GROUP_ARN)
    params.add(t, "HostedZoneId", "Hosted zone of the payment hostname (dns stack HostedZoneId).",
               params.HOSTED_ZONE_ID)
    params.add(t, "RecordName", "Payment hostname of the weighted records (route53 stack RecordName), lower case, "
               "without the trailing dot: it is also the IAM condition's normalized record name.", params.DNS_NAME)
    params.add(t, "GreenHealthAlarmName", "Composite alarm of green's health (monitoring stack): a shift gate.",
               params.ALARM_NAME)
    params.add(t, "DataHealthAlarmName", "Composite alarm of replication health (monitoring stack): a shift gate.",
               params.ALARM_NAME)
    params.add(t, "GreenPaymentsAlarmName", "Green's payments-failed alarm (monitoring stack): a shift gate; its "
               "INSUFFICIENT_DATA holds the shift.", params.ALARM_NAME)
    params.add(t, "NotifyTopicArn", "KMS-encrypted SNS topic (monitoring stack NotifyTopicArn) for shift "
               "notifications.", params.TOPIC_ARN)
    _switchover_parameters(t)
    params.switch(t, "StateTableDeletionProtection", "Deletion protection of the state table: true in prod (the audit "
                  "trail of every shift), false where test stacks must tear down.", Default="true")


def _switchover_parameters(t):
    """What the database switchover moves, stops, starts and logs in to (docs/db-switchover.md)."""
    params.add(t, "WriterZoneId", "Private hosted zone of the writer name (writer stack WriterZoneId).",
               params.HOSTED_ZONE_ID)
    params.add(t, "WriterHostname", "The writer name (writer stack WriterHostname), lower case, without the trailing "
               "dot.", params.DNS_NAME)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}ClusterIdentifier", f"The {colour} Aurora cluster (database stack "
                   f"{cap(colour)}ClusterIdentifier).", params.CLUSTER_IDENTIFIER)
        params.add(t, f"{cap(colour)}DbSecretArn", f"Master secret of the {colour} cluster (security stack): the "
                   "fence's SQL login.", params.SECRET_ARN)
    params.add(t, "DbCaBundleParameterName", "SSM String parameter (parameters stack DbCaBundleParameterName) holding "
               "the RDS CA bundle the switchover verifies the databases' TLS certificates against.",
               AllowedPattern=r"^(/[A-Za-z0-9_.-]+)+$", ConstraintDescription="an SSM parameter name (a path)")
    params.add(t, "DataKeyArn", "Data KMS key (security stack) the DB secrets are encrypted with.", params.KMS_KEY_ARN)
    params.add(t, "ReplicationInstanceIdentifier", "DMS replication instance (dms stack): the CDC metrics' dimension.",
               AllowedPattern=r"^[a-z][a-z0-9-]{0,62}$", ConstraintDescription="a DMS instance identifier")
    for key, what in DMS_TASKS.items():
        params.add(t, key, f"{what} (dms stack {key}).", params.DMS_TASK_ARN)


def _alarm_arn(param):
    return arn("cloudwatch", "alarm:${%s}" % param)


def _zone_arn(zone_param):
    return Sub("arn:${AWS::Partition}:route53:::hostedzone/${%s}" % zone_param)


def _record_statements(read_sid, write_sid, zone_param, record_param, record_types):
    """Read a zone's records, and UPSERT exactly one name of the given types in it."""
    return [
        allow(read_sid, ["route53:ListResourceRecordSets"], _zone_arn(zone_param)),
        allow(write_sid, ["route53:ChangeResourceRecordSets"], _zone_arn(zone_param),
              condition={"ForAllValues:StringEquals": {
                  "route53:ChangeResourceRecordSetsNormalizedRecordNames": [Ref(record_param)],
                  "route53:ChangeResourceRecordSetsRecordTypes": record_types,
                  "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
              }}),
    ]


def _policy_statements(logs, table, dlq):
    """The function's role: what its code calls (code_statements) and what Lambda does with the role."""
    return [
        allow("WriteOwnLog", ["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(logs, "Arn")),
        # Lambda creates and removes the function's ENIs with the role. Describe has no
        # resource-level permissions; the writes are held to this account and region.
        allow("DescribeVpcNetworkInterfaces", ["ec2:DescribeNetworkInterfaces"], "*"),
        allow("ManageVpcNetworkInterfaces", cfn_lambda.ENI_ACTIONS, arn("ec2", "*/*")),
        *code_statements(GetAtt(table, "Arn")),
        allow("DeadLetter", ["sqs:SendMessage"], GetAtt(dlq, "Arn")),
        *ops_key_statements(["sns", "sqs"]),
    ]


def code_statements(table_arn):
    """What the shifter's code calls, on exactly its resources: the Lambda's role grants these (its
    traffic part is the operator's too: ``bluegreen shift`` runs the same code in-process)."""
    return [*traffic_statements(table_arn), *db_statements()]


def traffic_statements(table_arn):
    """The traffic shift's calls (weights, plan, gates, state, notifications)."""
    return [
        # DescribeListeners has no resource-level permissions in IAM.
        allow("ReadListenerWeights", ["elasticloadbalancing:DescribeListeners"], "*"),
        allow("SetListenerWeights", ["elasticloadbalancing:ModifyListener"],
              [Ref(f"{cap(e)}HttpsListenerArn") for e in EDGES]),
        *_record_statements("ReadWeightedRecords", "SetWeightedRecords", "HostedZoneId", "RecordName", RECORD_TYPES),
        allow("ReadAndSetGreenWeight", ["ssm:GetParameter", "ssm:PutParameter"],
              arn("ssm", "parameter${SsmPrefix}/traffic/green-weight")),
        allow("ReadShiftPlan", ["ssm:GetParameter"], arn("ssm", "parameter${SsmPrefix}/shift/plan")),
        allow("ReadGateAlarms", ["cloudwatch:DescribeAlarms"], [_alarm_arn(a) for a in GATE_ALARMS]),
        # The shifter reads and conditionally puts one item; it never updates, deletes or scans.
        allow("ReadAndWriteShiftState", ["dynamodb:GetItem", "dynamodb:PutItem"], table_arn),
        allow("Notify", ["sns:Publish"], Ref("NotifyTopicArn")),
    ]


def db_statements():
    """The database switchover's calls: run only by the function, inside the VPC (``bluegreen db`` invokes
    it); no person's role holds them, the master secrets least of all."""
    return [
        # The writer name is information for people: set once after a switchover, never waited for.
        *_record_statements("ReadWriterName", "MoveWriterName", "WriterZoneId", "WriterHostname", ["CNAME"]),
        allow("StartStopTheReplicationTasks",
              ["dms:StartReplicationTask", "dms:StopReplicationTask", "dms:DescribeTableStatistics"],
              [Ref(k) for k in DMS_TASKS]),
        # DescribeReplicationTasks has no resource-level permissions in IAM.
        allow("ReadReplicationTasks", ["dms:DescribeReplicationTasks"], "*"),
        allow("ReadTheClusters", ["rds:DescribeDBClusters", "rds:DescribeDBInstances"],
              [arn("rds", f"cluster:${{{cap(c)}ClusterIdentifier}}") for c in COLOURS]
              + [arn("rds", db_instance_arn_tail(c)) for c in COLOURS]),
        # GetMetricData has no resource-level permissions in IAM (CDC latency and incoming changes).
        allow("ReadReplicationMetrics", ["cloudwatch:GetMetricData"], "*"),
        # The RDS CA bundle is public, so a String parameter: no key to decrypt it with.
        allow("ReadDbCaBundle", ["ssm:GetParameter"], arn("ssm", "parameter${DbCaBundleParameterName}")),
        allow("FenceLogin", ["secretsmanager:GetSecretValue"], [Ref(f"{cap(c)}DbSecretArn") for c in COLOURS]),
        allow("DataKeyForFenceLogin", ["kms:Decrypt"], Ref("DataKeyArn"),
              condition={"StringEquals": {"kms:ViaService": via_service("secretsmanager")}}),
    ]


def ops_key_statements(message_services):
    """The state table, topic (and the function's DLQ) are encrypted with the ops key: it is used only
    through those services, never directly."""
    return [
        allow("OpsKeyForStateTable", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
              Ref("OpsKeyArn"), condition={"StringEquals": {"kms:ViaService": via_service("dynamodb")}}),
        allow("OpsKeyForMessages", ["kms:Decrypt", "kms:GenerateDataKey"], Ref("OpsKeyArn"),
              condition={"StringEquals": {"kms:ViaService": [via_service(s) for s in message_services]}}),
    ]


def _environment(table):
    return {
        "SSM_PREFIX": Ref("SsmPrefix"),
        "STATE_TABLE": Ref(table),
        # The function applies the two-person rule of its environment itself (traffic_shifter/approval.py).
        "ENVIRONMENT": Ref("Environment"),
        # One entry per ALB, blue ALB first; listener i forwards to blue and green target group i.
        "LISTENER_ARNS": Join(",", [Ref(f"{cap(e)}HttpsListenerArn") for e in EDGES]),
        "BLUE_TARGET_GROUP_ARNS": Join(",", [Ref(f"{target_group(e, 'blue')}Arn") for e in EDGES]),
        "GREEN_TARGET_GROUP_ARNS": Join(",", [Ref(f"{target_group(e, 'green')}Arn") for e in EDGES]),
        "HOSTED_ZONE_ID": Ref("HostedZoneId"),
        "RECORD_NAME": Sub("${RecordName}."),
        "GATE_ALARMS": Join(",", [Ref(a) for a in GATE_ALARMS]),
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


def _state(t):
    """The dead-letter queue of failed runs and the table of the plan state, both under the ops key."""
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
    return dlq, table


def _function(t, dlq, table):
    logs = cfn_lambda.function_log_group(t, "FunctionLogGroup", FUNCTION_NAME)
    policy = managed_policy(
        t, "FunctionPolicy", name("policy", "traffic-shifter"),
        "Least privilege of the traffic shifter: two listeners, one record name, one SSM parameter it writes, the "
        "switchover's record, tasks and logins.",
        _policy_statements(logs, table, dlq),
        Metadata={"parliament": {"ignore": [
            {"issue": "RESOURCE_MISMATCH", "actions": cfn_lambda.ENI_ACTIONS,
             "reason": "Lambda creates and deletes the function's network interfaces with this role when it attaches "
                       "the function to the VPC; their IDs are not known in advance, so the writes are held to this "
                       "account and region (ec2:<region>:<account>:*/*) instead of named resources."},
            PARLIAMENT_MODIFY_LISTENER,
        ]}},
    )
    # Attached at creation: Lambda checks the ENI permissions when it creates a VPC function.
    function_role = role(t, "FunctionRole", name("role", "traffic-shifter"),
                         "Execution role of the traffic-shifter Lambda.", cfn_lambda.trust(), policies=[policy])
    function = cfn_lambda.function(
        t, "TrafficShifterFunction", FUNCTION_NAME,
        "Shifts payment traffic blue->green by plan, gated on health alarms; rolls back by itself.",
        HANDLER, "TrafficShifterCodeKey", function_role, logs,
        # A db switchover's forward run ends by SWITCHOVER_BUDGET_SECONDS; what is left is its undo's.
        Timeout=FUNCTION_TIMEOUT_SECONDS,
        MemorySize=256,
        # The concurrency guard: one run at a time, whatever triggered it (0 in an account whose quota leaves
        # no room: the conditional writes of the state table still catch a race).
        ReservedConcurrentExecutions=cfn_lambda.reserved_concurrency(t, 1, "1: one run at a time"),
        DeadLetterConfig=DeadLetterConfig(TargetArn=GetAtt(dlq, "Arn")),
        Environment=Environment(Variables=_environment(table)),
    )
    t.add_resource(EventInvokeConfig(
        "FunctionInvokeConfig",
        FunctionName=Ref(function),
        Qualifier="$LATEST",
        MaximumRetryAttempts=MAX_RETRY_ATTEMPTS,
        MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS,
    ))
    return function


def _triggers(t, function, dlq):
    """The schedule and the gate alarms' state changes run the function; what they cannot hand over
    goes to the DLQ."""
    target = {
        "Arn": GetAtt(function, "Arn"),
        "Id": "traffic-shifter",
        # EventBridge retries only a failed hand-over to Lambda, not a failed run.
        "RetryPolicy": RetryPolicy(MaximumRetryAttempts=2, MaximumEventAgeInSeconds=MAX_EVENT_AGE_SECONDS),
        "DeadLetterConfig": TargetDeadLetterConfig(Arn=GetAtt(dlq, "Arn")),
    }
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
            "resources": [_alarm_arn(a) for a in GATE_ALARMS],
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
        PolicyDocument=policy_document(
            # Events the two rules could not hand to Lambda; the Lambda's own failures arrive with
            # its role (sqs:SendMessage in its policy).
            allow("OurRulesDeadLetter", "sqs:SendMessage", GetAtt(dlq, "Arn"),
                  principal={"Service": "events.amazonaws.com"},
                  condition={"ArnEquals": {"aws:SourceArn": [GetAtt(schedule, "Arn"), GetAtt(alarm_rule, "Arn")]}}),
            deny("DenyWithoutTls", "sqs:*", GetAtt(dlq, "Arn"), condition={"Bool": {"aws:SecureTransport": "false"}}),
        ),
    ))


def _self_alarms(t, function, dlq):
    """The shifter watches the payments; these watch the shifter."""
    notify = [Ref("NotifyTopicArn")]

    def alarm(what, description, namespace, metric, dims, statistic, **props):
        t.add_resource(Alarm(
            f"Shifter{what.capitalize() if what != 'dlq' else 'DeadLetter'}Alarm",
            AlarmName=name("alarm", "shifter", what), AlarmDescription=description,
            Namespace=namespace, MetricName=metric, Dimensions=dims, Statistic=statistic,
            ActionsEnabled=True, AlarmActions=notify, OKActions=notify, Period=60, Tags=tags(), **props))

    by_function = dimensions(FunctionName=Ref(function))
    alarm("errors", "The traffic shifter failed a run: automatic rollback may be impaired (see its log and DLQ).",
          "AWS/Lambda", "Errors", by_function, "Sum",
          EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=0,
          # No invocation, no error datapoint; the heartbeat alarm covers a function that stopped running.
          TreatMissingData="notBreaching")
    alarm("heartbeat", "The traffic shifter has not run for 5 minutes although it is scheduled every minute.",
          "AWS/Lambda", "Invocations", by_function, "Sum",
          EvaluationPeriods=5, DatapointsToAlarm=5, ComparisonOperator="LessThanThreshold", Threshold=1,
          # Lambda publishes Invocations only for minutes with invocations: silence is the failure.
          TreatMissingData="breaching")
    alarm("dlq", "Failed or undeliverable traffic shifter events are waiting in its dead-letter queue.",
          "AWS/SQS", "ApproximateNumberOfMessagesVisible", dimensions(QueueName=GetAtt(dlq, "QueueName")), "Maximum",
          EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=0,
          # SQS stops publishing for a queue idle for hours: an idle DLQ is an empty one.
          TreatMissingData="notBreaching")


def build():
    t = new_template("Traffic-shifter Lambda, its state table, schedule, alarm triggers and self-monitoring "
                     "of the blue-green payment platform.")
    _parameters(t)
    dlq, table = _state(t)
    function = _function(t, dlq, table)
    _triggers(t, function, dlq)
    _self_alarms(t, function, dlq)

    export(t, "TrafficShifterFunctionName", Ref(function), "Name of the traffic-shifter Lambda (operators invoke it).")
    export(t, "TrafficShifterFunctionArn", GetAtt(function, "Arn"), "ARN of the traffic-shifter Lambda.")
    export(t, "StateTableName", Ref(table), "DynamoDB table holding the shift plan state.")
    export(t, "DeadLetterQueueUrl", Ref(dlq), "DLQ of failed traffic-shifter runs and undeliverable events.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
