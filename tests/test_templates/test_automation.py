"""templates/automation.json: the traffic-shifter Lambda, its role, state, triggers and alarms.

Each test reads the committed template and fails when the property it names is removed or changed.
"""

import os
import re

import pytest

from bluegreen import cfn, environments, lambda_zip, nested
from tests.test_templates import policy
from traffic_shifter.config import ShifterConfig
from traffic_shifter.db.config import DbConfig

TAIL = policy.NAME_TAIL
OPS_KEY = {"Ref": "OpsKeyArn"}
ALARM_ARN = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${%s}"
ZONE_ARN = {"Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/${HostedZoneId}"}

#: The whole of the role's permissions: Sid -> (actions, resource, condition).
EXPECTED_STATEMENTS = {
    "WriteOwnLog": (["logs:CreateLogStream", "logs:PutLogEvents"],
                    {"Fn::GetAtt": ["FunctionLogGroup", "Arn"]}, None),
    "DescribeVpcNetworkInterfaces": (["ec2:DescribeNetworkInterfaces"], "*", None),
    "ManageVpcNetworkInterfaces": (
        ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
         "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
        {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:*/*"}, None),
    "ReadListenerWeights": (["elasticloadbalancing:DescribeListeners"], "*", None),
    # Both edges' listeners (one ALB per colour), and nothing else of ELB.
    "SetListenerWeights": (["elasticloadbalancing:ModifyListener"],
                           [{"Ref": "BlueHttpsListenerArn"}, {"Ref": "GreenHttpsListenerArn"}], None),
    "ReadWeightedRecords": (["route53:ListResourceRecordSets"], ZONE_ARN, None),
    "SetWeightedRecords": (["route53:ChangeResourceRecordSets"], ZONE_ARN, {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [{"Ref": "RecordName"}],
        "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
        "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
    }}),
    "ReadAndSetGreenWeight": (
        ["ssm:GetParameter", "ssm:PutParameter"],
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SsmPrefix}/traffic/green-weight"},
        None),
    "ReadShiftPlan": (
        ["ssm:GetParameter"],
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SsmPrefix}/shift/plan"},
        None),
    "ReadGateAlarms": (["cloudwatch:DescribeAlarms"],
                       [{"Fn::Sub": ALARM_ARN % "GreenHealthAlarmName"}, {"Fn::Sub": ALARM_ARN % "DataHealthAlarmName"},
                        {"Fn::Sub": ALARM_ARN % "GreenPaymentsAlarmName"}],
                       None),
    "ReadAndWriteShiftState": (["dynamodb:GetItem", "dynamodb:PutItem"], {"Fn::GetAtt": ["StateTable", "Arn"]}, None),
    "Notify": (["sns:Publish"], {"Ref": "NotifyTopicArn"}, None),
    # The database switchover (docs/db-switchover.md): one CNAME, three tasks, two clusters, two secrets.
    "ReadWriterName": (["route53:ListResourceRecordSets"],
                       {"Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/${WriterZoneId}"}, None),
    "MoveWriterName": (["route53:ChangeResourceRecordSets"],
                       {"Fn::Sub": "arn:${AWS::Partition}:route53:::hostedzone/${WriterZoneId}"},
                       {"ForAllValues:StringEquals": {
                           "route53:ChangeResourceRecordSetsNormalizedRecordNames": [{"Ref": "WriterHostname"}],
                           "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"],
                           "route53:ChangeResourceRecordSetsActions": ["UPSERT"]}}),
    "StartStopTheReplicationTasks": (["dms:StartReplicationTask", "dms:StopReplicationTask", "dms:DescribeTableStatistics"],
                                     [{"Ref": "ReplicationTaskArn"}, {"Ref": "CdcBlueToGreenTaskArn"}, {"Ref": "CdcGreenToBlueTaskArn"}],
                                     None),
    "ReadReplicationTasks": (["dms:DescribeReplicationTasks"], "*", None),
    "ReadTheClusters": (["rds:DescribeDBClusters", "rds:DescribeDBInstances"], [
        {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:${BlueClusterIdentifier}"},
        {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:${GreenClusterIdentifier}"},
        {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:aurora-blue-*-${Environment}-${EnvironmentSuffix}"},
        {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:aurora-green-*-${Environment}-${EnvironmentSuffix}"}], None),
    "ReadReplicationMetrics": (["cloudwatch:GetMetricData"], "*", None),
    # A String parameter (the bundle is public): no kms:Decrypt goes with it.
    "ReadDbCaBundle": (["ssm:GetParameter"], {"Fn::Sub": (
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${DbCaBundleParameterName}")}, None),
    "FenceLogin": (["secretsmanager:GetSecretValue"], [{"Ref": "BlueDbSecretArn"}, {"Ref": "GreenDbSecretArn"}], None),
    "DataKeyForFenceLogin": (["kms:Decrypt"], {"Ref": "DataKeyArn"},
                             {"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}),
    "DeadLetter": (["sqs:SendMessage"], {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, None),
    "OpsKeyForStateTable": (
        ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], OPS_KEY,
        {"StringEquals": {"kms:ViaService": {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}}}),
    "OpsKeyForMessages": (
        ["kms:Decrypt", "kms:GenerateDataKey"], OPS_KEY,
        {"StringEquals": {"kms:ViaService": [{"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"},
                                             {"Fn::Sub": "sqs.${AWS::Region}.amazonaws.com"}]}}),
}
#: Actions IAM cannot scope to a resource: the only statements allowed "Resource": "*".
UNSCOPABLE = {"ec2:DescribeNetworkInterfaces", "elasticloadbalancing:DescribeListeners", "dms:DescribeReplicationTasks",
              "cloudwatch:GetMetricData"}


@pytest.fixture(scope="module")
def resources(automation):
    return automation["Resources"]


def props(resources, logical):
    return resources[logical]["Properties"]


@pytest.fixture(scope="module")
def function(resources):
    return props(resources, "TrafficShifterFunction")


@pytest.fixture(scope="module")
def statements(resources):
    return props(resources, "FunctionPolicy")["PolicyDocument"]["Statement"]


# ---------------------------------------------------------------- IAM
def test_role_policy__statements__exactly_the_expected_table(statements):
    actual = {s["Sid"]: (s["Action"], s["Resource"], s.get("Condition")) for s in statements}
    assert actual == EXPECTED_STATEMENTS
    assert {s["Effect"] for s in statements} == {"Allow"}


def test_role_policy__actions__no_wildcards(statements):
    assert [a for s in statements for a in s["Action"] if "*" in a] == []


def test_role_policy__resource_star__only_for_unscopable_describes(statements):
    star = {a for s in statements if s["Resource"] == "*" for a in s["Action"]}
    assert star == UNSCOPABLE


def test_role__trust__lambda_service_only(resources):
    assert props(resources, "FunctionRole")["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]


def test_role__policies__only_the_managed_policy_of_this_stack(resources):
    role = props(resources, "FunctionRole")
    assert role["ManagedPolicyArns"] == [{"Ref": "FunctionPolicy"}]
    assert "Policies" not in role


def test_function__role__its_own(function):
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}


# ---------------------------------------------------------------- function
def test_function__concurrency__one_run_at_a_time_unless_the_account_has_no_room(function, automation):
    # 1 by default and in both environments' configs; 0 (none) only where the preflight finds the account's quota
    # leaves no room (AWS keeps 100 unreserved: docs/aws-constraints.md).
    assert function["ReservedConcurrentExecutions"] == {"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"},
                                                                   {"Ref": "AWS::NoValue"}]}
    parameter = automation["Parameters"]["ReservedConcurrency"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (1, 0, 1)
    for env in ("dev", "prod"):
        assert str(environments.group_config(policy.ROOT, env)["shifter_reserved_concurrency"]) == "1"


def test_function__runtime__python312_x86_64_matching_the_zip(function):
    assert (function["Runtime"], function["Architectures"]) == ("python3.12", ["x86_64"])
    assert (lambda_zip.PYTHON_VERSION, lambda_zip.PLATFORM) == ("3.12", "manylinux2014_x86_64")


def test_function__limits__timeout_300_memory_256(function):
    assert (function["Timeout"], function["MemorySize"]) == (300, 256)


def test_function__timeout__leaves_the_switchover_undo_100_s_after_its_budget(function):
    # The forward run ends by SWITCHOVER_BUDGET_SECONDS; a run cut off by the Lambda timeout
    # before its undo could finish would leave the next tick to recover it (journal).
    budget = float(function["Environment"]["Variables"]["SWITCHOVER_BUDGET_SECONDS"])
    assert function["Timeout"] - budget >= 100
    assert budget == DbConfig.budget_seconds  # the value the Lambda assumes without the variable


def test_function__handler__exists_in_lambda_src(function):
    module, func = function["Handler"].rsplit(".", 1)
    source = (policy.ROOT / "lambda_src" / (module.replace(".", "/") + ".py")).read_text()
    assert re.search(rf"^def {func}\(event", source, re.MULTILINE)


def test_function__code__artifact_bucket_and_content_key(function):
    assert function["Code"] == {"S3Bucket": {"Ref": "ArtifactBucketName"}, "S3Key": {"Ref": "TrafficShifterCodeKey"}}


def test_code_key_parameter__pattern__accepts_only_the_resolvers_keys(automation):
    pattern = automation["Parameters"]["TrafficShifterCodeKey"]["AllowedPattern"]
    assert re.match(pattern, lambda_zip.code_key("traffic_shifter", "ab" * 32))
    assert not re.match(pattern, "lambda/traffic_shifter/latest.zip")


def test_function__dead_letters__to_the_encrypted_dlq(function, resources):
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_function__network__private_app_subnets_and_lambda_sg(function):
    assert function["VpcConfig"] == {"SubnetIds": {"Ref": "AppSubnetIds"},
                                     "SecurityGroupIds": [{"Ref": "LambdaSecurityGroupId"}]}


def test_function__environment__the_shifter_contract(function):
    assert function["Environment"]["Variables"] == {
        "SSM_PREFIX": {"Ref": "SsmPrefix"},
        "STATE_TABLE": {"Ref": "StateTable"},
        # The function applies its environment's two-person rule itself (traffic_shifter/approval.py).
        "ENVIRONMENT": {"Ref": "Environment"},
        "LISTENER_ARNS": {"Fn::Join": [",", [{"Ref": "BlueHttpsListenerArn"}, {"Ref": "GreenHttpsListenerArn"}]]},
        "BLUE_TARGET_GROUP_ARNS": {"Fn::Join": [",", [{"Ref": "BlueAlbBlueTargetGroupArn"},
                                                      {"Ref": "GreenAlbBlueTargetGroupArn"}]]},
        "GREEN_TARGET_GROUP_ARNS": {"Fn::Join": [",", [{"Ref": "BlueAlbGreenTargetGroupArn"},
                                                       {"Ref": "GreenAlbGreenTargetGroupArn"}]]},
        "HOSTED_ZONE_ID": {"Ref": "HostedZoneId"},
        "RECORD_NAME": {"Fn::Sub": "${RecordName}."},
        "GATE_ALARMS": {"Fn::Join": [",", [{"Ref": "GreenHealthAlarmName"}, {"Ref": "DataHealthAlarmName"},
                                          {"Ref": "GreenPaymentsAlarmName"}]]},
        "NOTIFY_TOPIC_ARN": {"Ref": "NotifyTopicArn"},
        "WRITER_ZONE_ID": {"Ref": "WriterZoneId"},
        "WRITER_RECORD_NAME": {"Fn::Sub": "${WriterHostname}."},
        "BLUE_CLUSTER_ID": {"Ref": "BlueClusterIdentifier"},
        "GREEN_CLUSTER_ID": {"Ref": "GreenClusterIdentifier"},
        "DMS_INSTANCE_ID": {"Ref": "ReplicationInstanceIdentifier"},
        "DMS_TASK_INITIAL_ARN": {"Ref": "ReplicationTaskArn"},
        "DMS_TASK_BLUE_TO_GREEN_ARN": {"Ref": "CdcBlueToGreenTaskArn"},
        "DMS_TASK_GREEN_TO_BLUE_ARN": {"Ref": "CdcGreenToBlueTaskArn"},
        "BLUE_DB_SECRET_ARN": {"Ref": "BlueDbSecretArn"},
        "GREEN_DB_SECRET_ARN": {"Ref": "GreenDbSecretArn"},
        "DB_CA_BUNDLE_PARAMETER": {"Ref": "DbCaBundleParameterName"},
        "SWITCHOVER_BUDGET_SECONDS": "200",
        "MARKER_SCHEMA": "bluegreen_ops",
        "POWERTOOLS_SERVICE_NAME": "traffic-shifter",
        "POWERTOOLS_METRICS_NAMESPACE": "PaymentsBlueGreen",
    }


#: Deployed values of prod with the longest suffix (8 characters), for the parameters the
#: environment uses: what CloudFormation would hand the function.
ACCOUNT, REGION, TAIL_VALUE = "123456789012", "us-east-1", "prod-abcdefgh"
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
DEPLOYED = {
    "SsmPrefix": f"/payments-migration/{TAIL_VALUE}",
    "StateTable": f"ddb-shift-state-{TAIL_VALUE}",
    **{f"{e}HttpsListenerArn": f"{ELB}:listener/app/alb-{e.lower()}-{TAIL_VALUE}/0123456789abcdef/fedcba9876543210" for e in ("Blue", "Green")},
    **{
        f"{e}Alb{c}TargetGroupArn": f"{ELB}:targetgroup/tg-{c.lower()}-{e.lower()}alb-{TAIL_VALUE}/0123456789abcdef"
        for e in ("Blue", "Green")
        for c in ("Blue", "Green")
    },
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
    "RecordName": f"pay-{TAIL_VALUE}.payments.example-financial-services.com",
    "GreenHealthAlarmName": f"alarm-green-health-{TAIL_VALUE}",
    "GreenPaymentsAlarmName": f"alarm-green-payments-failed-{TAIL_VALUE}",
    "DataHealthAlarmName": f"alarm-data-health-{TAIL_VALUE}",
    "NotifyTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:sns-notify-{TAIL_VALUE}",
    "WriterZoneId": "Z9876543210ABCDEFGHIJ",
    "WriterHostname": f"writer.db-{TAIL_VALUE}.internal",
    "BlueClusterIdentifier": f"aurora-blue-{TAIL_VALUE}",
    "GreenClusterIdentifier": f"aurora-green-{TAIL_VALUE}",
    "ReplicationInstanceIdentifier": f"dms-{TAIL_VALUE}",
    **dict.fromkeys(
        ("ReplicationTaskArn", "CdcBlueToGreenTaskArn", "CdcGreenToBlueTaskArn"), f"arn:aws:dms:{REGION}:{ACCOUNT}:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ),
    **{f"{c}DbSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:secret-db-{c.lower()}-{TAIL_VALUE}-AbCdEf" for c in ("Blue", "Green")},
    "DbCaBundleParameterName": f"/payments-migration/{TAIL_VALUE}/db/rds-ca-bundle",
    "Environment": "prod",
}


def deployed(node):
    """Ref, Fn::Sub (no variable map) and Fn::Join over DEPLOYED, as CloudFormation resolves them."""
    if isinstance(node, str):
        return node
    ((fn, arg),) = node.items()
    if fn == "Ref":
        return DEPLOYED[arg]
    if fn == "Fn::Sub":
        return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: DEPLOYED[m.group(1)], arg)
    if fn == "Fn::Join":
        return arg[0].join(deployed(item) for item in arg[1])
    raise ValueError(f"unexpected {fn} in the function's environment")


@pytest.fixture(scope="module")
def deployed_environment(function):
    return {key: deployed(value) for key, value in function["Environment"]["Variables"].items()}


def test_function__environment__read_by_the_shifter_one_listener_per_alb_with_its_own_groups(deployed_environment):
    config = ShifterConfig.from_env(deployed_environment)
    pairs = list(zip(config.listener_arns, config.blue_target_group_arns, config.green_target_group_arns, strict=False))
    # listener/app/<alb name>/..., targetgroup/<name>/...
    names = [(listener.split("/")[2], blue.split("/")[1], green.split("/")[1]) for listener, blue, green in pairs]
    assert names == [
        ("alb-blue-" + TAIL_VALUE, "tg-blue-bluealb-" + TAIL_VALUE, "tg-green-bluealb-" + TAIL_VALUE),
        ("alb-green-" + TAIL_VALUE, "tg-blue-greenalb-" + TAIL_VALUE, "tg-green-greenalb-" + TAIL_VALUE),
    ]


#: The one-ALB variables the ARN lists replaced (issue 16); the shifter no longer reads them.
LEGACY_ENV_VARS = {"LISTENER_ARNS": "LISTENER_ARN", "BLUE_TARGET_GROUP_ARNS": "BLUE_TARGET_GROUP_ARN", "GREEN_TARGET_GROUP_ARNS": "GREEN_TARGET_GROUP_ARN"}


def test_function__environment__no_one_alb_names_left(function):
    assert set(LEGACY_ENV_VARS.values()) & set(function["Environment"]["Variables"]) == set()


def test_function__environment__switchover_verifies_tls_against_the_ssm_bundle(deployed_environment):
    db = ShifterConfig.from_env(deployed_environment).db
    assert (db.ca_bundle_parameter, db.ca_bundle, db.verify_tls) == (DEPLOYED["DbCaBundleParameterName"], "", True)
    assert "DB_TLS_VERIFY" not in deployed_environment


def test_function__environment__within_lambdas_4_kb_for_the_longest_names(deployed_environment):
    # Lambda refuses a function whose variables (names and values) exceed 4 KB in total.
    assert sum(len(k) + len(v) for k, v in deployed_environment.items()) <= 4096


def test_function__marker_schema__the_one_dms_replicates(deployed_environment, dms):
    import json as _json

    rules = _json.loads(dms["Resources"]["ReplicationTask"]["Properties"]["TableMappings"])["rules"]
    assert {"schema-name": deployed_environment["MARKER_SCHEMA"], "table-name": "switchover_marker"} in [
        r["object-locator"] for r in rules if r["rule-action"] == "include"
    ]


def test_function__logs__to_its_declared_group(function, resources):
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionLogGroup"}}
    assert props(resources, "FunctionLogGroup")["LogGroupName"] == {"Fn::Sub": "/aws/lambda/" + function["FunctionName"]["Fn::Sub"]}


def test_log_group__retention__one_year(resources):
    assert props(resources, "FunctionLogGroup")["RetentionInDays"] == 365


def test_invoke_config__failed_run__not_retried(resources):
    p = props(resources, "FunctionInvokeConfig")
    assert (p["FunctionName"], p["MaximumRetryAttempts"], p["MaximumEventAgeInSeconds"]) == ({"Ref": "TrafficShifterFunction"}, 0, 120)


# ---------------------------------------------------------------- encryption
@pytest.mark.parametrize(
    "logical,path",
    [
        ("TrafficShifterFunction", "KmsKeyArn"),
        ("DeadLetterQueue", "KmsMasterKeyId"),
        ("FunctionLogGroup", "KmsKeyId"),
        ("StateTable", "SSESpecification.KMSMasterKeyId"),
    ],
)
def test_encryption__resource__ops_key(resources, logical, path):
    assert policy.dig(props(resources, logical), path) == OPS_KEY


# ---------------------------------------------------------------- state table
def test_state_table__shape__plan_id_string_on_demand(resources):
    p = props(resources, "StateTable")
    assert p["TableName"] == {"Fn::Sub": f"ddb-shift-state-{TAIL}"}
    assert (p["KeySchema"], p["AttributeDefinitions"], p["BillingMode"]) == (
        [{"AttributeName": "plan_id", "KeyType": "HASH"}],
        [{"AttributeName": "plan_id", "AttributeType": "S"}],
        "PAY_PER_REQUEST",
    )


def test_state_table__sse__kms_enabled(resources):
    sse = props(resources, "StateTable")["SSESpecification"]
    assert (sse["SSEEnabled"], sse["SSEType"]) == (True, "KMS")


def test_state_table__point_in_time_recovery__on(resources):
    assert props(resources, "StateTable")["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_state_table__deletion_protection__parameter_defaulting_to_on(resources, automation):
    assert props(resources, "StateTable")["DeletionProtectionEnabled"] == {"Ref": "StateTableDeletionProtection"}
    assert automation["Parameters"]["StateTableDeletionProtection"]["Default"] == "true"


def test_dlq__retention__fourteen_days(resources):
    assert props(resources, "DeadLetterQueue")["MessageRetentionPeriod"] == 1209600


def test_dlq_policy__events__only_our_two_rules(resources):
    (allow,) = [s for s in props(resources, "DeadLetterQueuePolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert (allow["Principal"], allow["Action"], allow["Condition"]) == (
        {"Service": "events.amazonaws.com"},
        "sqs:SendMessage",
        {"ArnEquals": {"aws:SourceArn": [{"Fn::GetAtt": ["ScheduleRule", "Arn"]}, {"Fn::GetAtt": ["GateAlarmRule", "Arn"]}]}},
    )


def test_dlq_policy__without_tls__denied(resources):
    (deny,) = [s for s in props(resources, "DeadLetterQueuePolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert (deny["Principal"], deny["Action"], deny["Condition"]) == ("*", "sqs:*", {"Bool": {"aws:SecureTransport": "false"}})


# ---------------------------------------------------------------- triggers
def test_schedule__rate__every_minute(resources):
    p = props(resources, "ScheduleRule")
    assert (p["ScheduleExpression"], p["State"]) == ("rate(1 minute)", "ENABLED")


def test_alarm_rule__event_pattern__state_changes_of_the_two_gate_alarms(resources):
    assert props(resources, "GateAlarmRule")["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [{"Fn::Sub": ALARM_ARN % "GreenHealthAlarmName"}, {"Fn::Sub": ALARM_ARN % "DataHealthAlarmName"},
                        {"Fn::Sub": ALARM_ARN % "GreenPaymentsAlarmName"}],
    }


@pytest.mark.parametrize("rule", ["ScheduleRule", "GateAlarmRule"])
def test_rule__target__the_function_with_dead_letters(resources, rule):
    (target,) = props(resources, rule)["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["TrafficShifterFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


@pytest.mark.parametrize("rule", ["ScheduleRule", "GateAlarmRule"])
def test_invoke_permission__rule__scoped_by_source_arn_and_account(resources, rule):
    p = props(resources, f"{rule}InvokePermission")
    assert p == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": ["TrafficShifterFunction", "Arn"]},
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
        "SourceAccount": {"Ref": "AWS::AccountId"},
    }


def test_invoke_permissions__all__only_the_two_rules(resources):
    perms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert sorted(p["SourceArn"]["Fn::GetAtt"][0] for p in perms) == ["GateAlarmRule", "ScheduleRule"]


# ---------------------------------------------------------------- self-monitoring
@pytest.mark.parametrize(
    "alarm,metric,comparison,threshold,periods,missing",
    [
        ("ShifterErrorsAlarm", "Errors", "GreaterThanThreshold", 0, 1, "notBreaching"),
        ("ShifterHeartbeatAlarm", "Invocations", "LessThanThreshold", 1, 5, "breaching"),
        ("ShifterDeadLetterAlarm", "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0, 1, "notBreaching"),
    ],
)
def test_self_alarm__shifter__watched_and_notifies(resources, alarm, metric, comparison, threshold, periods, missing):
    p = props(resources, alarm)
    assert (p["MetricName"], p["ComparisonOperator"], p["Threshold"], p["EvaluationPeriods"], p["TreatMissingData"]) == (
        metric,
        comparison,
        threshold,
        periods,
        missing,
    )
    assert p["AlarmActions"] == p["OKActions"] == [{"Ref": "NotifyTopicArn"}]


# ---------------------------------------------------------------- outputs and config
def test_outputs__contract__exported(automation):
    assert set(automation["Outputs"]) == {"TrafficShifterFunctionName", "TrafficShifterFunctionArn", "StateTableName", "DeadLetterQueueUrl"}


def test_automation_config__prod__is_a_symlink_to_dev():
    prod = policy.ROOT / "config" / "prod" / "operations" / "automation.yaml"
    assert prod.is_symlink() and os.readlink(prod) == "../../dev/operations/automation.yaml"


@pytest.fixture(params=["dev", "prod"])
def automation_config(request):
    """Sceptre's stack of <env>/operations/automation.yaml: its parameters (identity left out, resolvers as
    (tag, argument)) and its own hooks as (tag, argument)."""
    (stack,) = environments.stacks(policy.ROOT, f"{request.param}/operations/automation.yaml")

    def tagged(value):
        if nested.tag_of(value) in ("stack_output", "lambda_code_key", "package_lambda"):
            return (nested.tag_of(value), {k: tagged(v) for k, v in value._argument.items()} if isinstance(value._argument, dict) else value._argument)
        return value

    parameters = {k: tagged(v) for k, v in environments.unresolved_parameters(stack).items() if k not in cfn.IDENTITY_PARAMETERS}
    # The group's hooks (preflight, change control: every stack has them) are left out.
    hooks = {point: [tagged(h) for h in hooks if nested.tag_of(h) not in ("preflight", "change_control")]
             for point, hooks in stack.hooks.items()}
    return request.param, stack.stack_group_config, {"parameters": parameters, "hooks": {p: h for p, h in hooks.items() if h}}


def test_automation_config__hooks__package_before_create_update_and_change_set(automation_config):
    env, _, config = automation_config
    expected = [
        ("package_lambda", {"source": "lambda_src/traffic_shifter", "bucket": ("stack_output", f"{env}/operations/artifacts.yaml::ArtifactBucketName")})
    ]
    assert config["hooks"] == {"before_create": expected, "before_update": expected, "before_create_change_set": expected}


def test_automation_config__code_key__resolved_from_the_same_source(automation_config):
    _, _, config = automation_config
    assert config["parameters"]["TrafficShifterCodeKey"] == ("lambda_code_key", "lambda_src/traffic_shifter")
    assert config["parameters"]["ArtifactBucketName"] == config["hooks"]["before_create"][0][1]["bucket"]


def test_automation_config__deletion_protection__on_in_prod_only(automation_config):
    env, _, config = automation_config
    assert config["parameters"]["StateTableDeletionProtection"] == {"dev": "false", "prod": "true"}[env]


def test_automation_config__parameters__every_template_parameter_but_identity(automation_config, automation):
    _, _, config = automation_config
    identity = {"Environment", "EnvironmentSuffix", "Project", "CostCenter"}
    assert set(config["parameters"]) == set(automation["Parameters"]) - identity
