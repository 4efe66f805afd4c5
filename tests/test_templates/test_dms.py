"""The DMS stack's properties, one test each, on the committed JSON.

Three tasks, created stopped: the initial blue -> green full load + CDC, and one CDC-only task per
direction that the database switchover starts from its point in time (docs/db-switchover.md).
"""

import json
import re

import pytest

from tests.test_templates.intrinsics import Evaluation
from tests.test_templates.lookup import of_type

COLOURS = ("Blue", "Green")
PAYMENT_TABLES = ("payments", "transactions", "ledger_entries", "idempotency_keys")


@pytest.fixture(scope="module")
def instance(resources):
    return resources["ReplicationInstance"]["Properties"]


@pytest.fixture(scope="module")
def task(resources):
    return resources["ReplicationTask"]["Properties"]


@pytest.fixture(scope="module")
def settings(task):
    return json.loads(task["ReplicationTaskSettings"])


@pytest.fixture(scope="module")
def mappings(task):
    return json.loads(task["TableMappings"])


def deployed(dms, **parameters):
    return Evaluation(dms, **parameters).resources()


def endpoint_name(resources, ref):
    return resources[ref["Ref"]]["Properties"]["EndpointIdentifier"]["Fn::Sub"]


# ---------------------------------------------------------------- replication instance
@pytest.mark.parametrize("setting,expected", [
    ("KmsKeyId", {"Ref": "DataKeyArn"}),  # storage encrypted with the data key
    ("PubliclyAccessible", False),
    ("MultiAZ", True),
    ("AutoMinorVersionUpgrade", True),
    ("VpcSecurityGroupIds", [{"Ref": "DmsSecurityGroupId"}]),  # only the DMS group
])
def test_instance__setting__the_designed_value(instance, setting, expected):
    # A type check too: a "false" string or 0 is not False.
    assert (instance[setting], type(instance[setting])) == (expected, type(expected))


def test_instance__subnets__the_private_db_subnets(resources, instance):
    group = resources[instance["ReplicationSubnetGroupIdentifier"]["Ref"]]
    assert group["Type"] == "AWS::DMS::ReplicationSubnetGroup"
    assert group["Properties"]["SubnetIds"] == {"Ref": "DbSubnetIds"}


def test_instance__class__a_parameter(dms, instance):
    assert instance["ReplicationInstanceClass"] == {"Ref": "ReplicationInstanceClass"}
    assert dms["Parameters"]["ReplicationInstanceClass"]["AllowedValues"]


def test_task_log_group__dms_tasks_group_of_the_instance__encrypted_with_the_ops_key(resources, instance):
    (group,) = of_type(resources, "AWS::Logs::LogGroup").values()
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": "dms-tasks-" + instance["ReplicationInstanceIdentifier"]["Fn::Sub"]}
    assert group["Properties"]["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert group["Properties"]["RetentionInDays"] >= 365


# ---------------------------------------------------------------- endpoints
@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("kind", ["Source", "Target"])
def test_endpoint__credentials__from_its_clusters_secret_through_the_access_role(resources, colour, kind):
    props = resources[f"{colour}{kind}Endpoint"]["Properties"]
    assert props["MySqlSettings"]["SecretsManagerSecretId"] == {"Ref": f"{colour}DbSecretArn"}
    assert props["MySqlSettings"]["SecretsManagerAccessRoleArn"] == {"Fn::GetAtt": ["SecretsAccessRole", "Arn"]}
    assert not {"Password", "Username", "ServerName", "Port"} & set(props)


def test_template__credentials__no_password_or_username_parameter(dms):
    assert not [p for p in dms["Parameters"] if re.search("password|username", p, re.I)]


@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("kind", ["Source", "Target"])
def test_endpoint__engine__aurora_of_the_declared_type(resources, colour, kind):
    props = resources[f"{colour}{kind}Endpoint"]["Properties"]
    assert props["EngineName"] == "aurora"
    assert props["EndpointType"] == kind.lower()


@pytest.mark.parametrize("certificate,mode", [("", "require"),
                                              ("arn:aws:dms:us-east-1:123456789012:cert:RDSCA", "verify-full")])
@pytest.mark.parametrize("logical", ["BlueSourceEndpoint", "BlueTargetEndpoint", "GreenSourceEndpoint", "GreenTargetEndpoint"])
def test_endpoint__ssl_mode__tls_always_verified_when_a_certificate_is_given(dms, logical, certificate, mode):
    props = deployed(dms, DmsCertificateArn=certificate)[logical]["Properties"]
    assert props["SslMode"] == mode
    assert props.get("CertificateArn", "") == ("" if not certificate else {"Ref": "DmsCertificateArn"})


@pytest.mark.parametrize("logical", ["BlueSourceEndpoint", "BlueTargetEndpoint", "GreenSourceEndpoint", "GreenTargetEndpoint"])
def test_endpoint__connection_settings__encrypted_with_the_data_key(resources, logical):
    assert resources[logical]["Properties"]["KmsKeyId"] == {"Ref": "DataKeyArn"}


# ---------------------------------------------------------------- secrets access role
def test_secrets_role__policy__reads_only_the_two_cluster_secrets(resources):
    role = resources["SecretsAccessRole"]["Properties"]
    (policy_ref,) = role["ManagedPolicyArns"]
    statements = resources[policy_ref["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    secret_statements = [s for s in statements if any(a.startswith("secretsmanager:") for a in _actions(s))]
    assert secret_statements == [{
        "Sid": "ReadTheTwoClusterSecrets",
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": [{"Ref": "BlueDbSecretArn"}, {"Ref": "GreenDbSecretArn"}],
    }]


def test_secrets_role__policy__decrypts_only_with_the_data_key_through_secrets_manager(resources):
    role = resources["SecretsAccessRole"]["Properties"]
    statements = resources[role["ManagedPolicyArns"][0]["Ref"]]["Properties"]["PolicyDocument"]["Statement"]
    (kms,) = [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]
    assert _actions(kms) == ["kms:Decrypt"]
    assert kms["Resource"] == {"Ref": "DataKeyArn"}
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}


def test_secrets_role__policy__no_wildcard_action_or_resource(resources):
    role = resources["SecretsAccessRole"]["Properties"]
    for statement in resources[role["ManagedPolicyArns"][0]["Ref"]]["Properties"]["PolicyDocument"]["Statement"]:
        assert not [a for a in _actions(statement) if "*" in a]
        assert statement["Resource"] != "*"


def test_secrets_role__trust__regional_dms_of_this_account_only(resources):
    (statement,) = resources["SecretsAccessRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": {"Fn::Sub": "dms.${AWS::Region}.amazonaws.com"}}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def _actions(statement):
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


# ---------------------------------------------------------------- account-level DMS roles
@pytest.mark.parametrize("create,expected", [("true", {"DmsVpcRole", "DmsCloudWatchLogsRole"}), ("false", set())])
def test_service_roles__created__only_when_the_parameter_says_so(dms, create, expected):
    roles = {k for k, v in deployed(dms, CreateDmsServiceRoles=create).items()
             if v["Type"] == "AWS::IAM::Role" and v["Properties"]["RoleName"] in ("dms-vpc-role", "dms-cloudwatch-logs-role")}
    assert roles == expected


def test_service_roles__parameter_default__expects_existing_roles(dms):
    assert dms["Parameters"]["CreateDmsServiceRoles"]["Default"] == "false"


def test_subnet_group__vpc_role__waits_for_the_role_when_this_stack_creates_it(dms):
    tags = {t["Key"]: t["Value"] for t in deployed(dms, CreateDmsServiceRoles="true")["ReplicationSubnetGroup"]["Properties"]["Tags"]}
    assert tags["DmsVpcRole"] == {"Fn::GetAtt": ["DmsVpcRole", "Arn"]}


# ---------------------------------------------------------------- tasks: one per path
TASK_PATHS = [
    ("ReplicationTask", "dms-endpoint-blue-source", "dms-endpoint-green-target", "full-load-and-cdc"),
    ("CdcBlueToGreenTask", "dms-endpoint-blue-source", "dms-endpoint-green-target", "cdc"),
    ("CdcGreenToBlueTask", "dms-endpoint-green-source", "dms-endpoint-blue-target", "cdc"),
]


@pytest.mark.parametrize("logical,source,target,migration", TASK_PATHS)
def test_tasks__each__its_source_and_target(dms, resources, logical, source, target, migration):
    props = deployed(dms)[logical]["Properties"]
    assert endpoint_name(resources, props["SourceEndpointArn"]).startswith(source + "-")
    assert endpoint_name(resources, props["TargetEndpointArn"]).startswith(target + "-")


def test_tasks__reverse__swaps_source_and_target_clusters(dms, resources):
    def clusters(logical):
        props = deployed(dms)[logical]["Properties"]
        return tuple(_endpoint_cluster(resources, props[k]) for k in ("SourceEndpointArn", "TargetEndpointArn"))
    forward, back = clusters("ReplicationTask"), clusters("CdcGreenToBlueTask")
    assert forward == ({"Ref": "BlueClusterIdentifier"}, {"Ref": "GreenClusterIdentifier"})
    assert back == tuple(reversed(forward))


def _endpoint_cluster(resources, ref):
    tags = {t["Key"]: t["Value"] for t in resources[ref["Ref"]]["Properties"]["Tags"]}
    secret = resources[ref["Ref"]]["Properties"]["MySqlSettings"]["SecretsManagerSecretId"]["Ref"]
    assert secret.replace("DbSecretArn", "") == tags["DbCluster"]["Ref"].replace("ClusterIdentifier", "")
    return tags["DbCluster"]


@pytest.mark.parametrize("logical,source,target,migration", TASK_PATHS)
def test_tasks__migration_type__full_load_once_then_changes_only_from_a_point_in_time(resources, logical, source, target, migration):
    assert resources[logical]["Properties"]["MigrationType"] == migration


def test_tasks__identifiers__name_the_path(resources):
    assert [resources[k]["Properties"]["ReplicationTaskIdentifier"]["Fn::Sub"] for k, *_ in TASK_PATHS] == [
        "dms-task-initial-blue-to-green-${Environment}-${EnvironmentSuffix}",
        "dms-task-cdc-blue-to-green-${Environment}-${EnvironmentSuffix}",
        "dms-task-cdc-green-to-blue-${Environment}-${EnvironmentSuffix}",
    ]


@pytest.mark.parametrize("logical", [k for k, *_ in TASK_PATHS])
def test_tasks__never_started_by_cloudformation__no_start_or_cdc_position(resources, logical):
    props = resources[logical]["Properties"]
    assert not {"CdcStartTime", "CdcStartPosition", "CdcStopPosition"} & set(props)


def test_tasks__same_mappings_and_settings__every_path_replicates_alike(resources):
    props = [resources[k]["Properties"] for k, *_ in TASK_PATHS]
    assert len({(p["TableMappings"], p["ReplicationTaskSettings"]) for p in props}) == 1


def test_direction_parameter__gone__the_switchover_chooses_the_running_task(dms):
    assert "ReplicationDirection" not in dms["Parameters"]


# ---------------------------------------------------------------- task: what and how
@pytest.mark.parametrize("table", PAYMENT_TABLES)
def test_table_mappings__payment_table__included(mappings, table):
    def matches(pattern, value):
        return re.fullmatch(re.escape(pattern).replace("%", ".*"), value) is not None
    included = [r for r in mappings["rules"] if r["rule-type"] == "selection" and r["rule-action"] == "include"
                and matches(r["object-locator"]["schema-name"], "payments")
                and matches(r["object-locator"]["table-name"], table)]
    assert included


def test_table_mappings__switchover_marker__included_alone_from_its_schema(mappings):
    # The drain waits for this row on the new writer: without the rule it would never arrive.
    assert [r["object-locator"] for r in mappings["rules"]
            if r["rule-type"] == "selection" and r["rule-action"] == "include"
            and r["object-locator"]["schema-name"] == "bluegreen_ops"] == [
        {"schema-name": "bluegreen_ops", "table-name": "switchover_marker"}]


def test_table_mappings__exclusions__none(mappings):
    assert [r for r in mappings["rules"] if r.get("rule-action") == "exclude"] == []
    assert all(not r.get("filters") for r in mappings["rules"] if r["rule-type"] == "selection")


def test_settings__logging__on_at_default_severity_without_debug(settings):
    logging = settings["Logging"]
    assert logging["EnableLogging"] is True
    components = {c["Id"]: c["Severity"] for c in logging["LogComponents"]}
    assert {"SOURCE_CAPTURE", "SOURCE_UNLOAD", "TARGET_APPLY", "TARGET_LOAD", "TASK_MANAGER"} <= set(components)
    assert not [i for i, s in components.items() if "DEBUG" in s]


def test_settings__validation__enabled_row_level_including_lobs(settings):
    validation = settings["ValidationSettings"]
    assert validation["EnableValidation"] is True
    assert validation["ValidationMode"] == "ROW_LEVEL"
    assert validation["SkipLobColumns"] is False


def test_settings__target_table_prep__never_drops_or_truncates(settings):
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"


def test_settings__lob_mode__full_so_no_lob_is_truncated(settings):
    target = settings["TargetMetadata"]
    assert target["SupportLobs"] is True
    assert target["FullLobMode"] is True
    assert target["LimitedSizeLobMode"] is False


@pytest.mark.parametrize("policy", [
    "DataErrorPolicy", "DataTruncationErrorPolicy", "DataErrorEscalationPolicy", "TableErrorPolicy",
    "TableErrorEscalationPolicy", "ApplyErrorDeletePolicy", "ApplyErrorInsertPolicy", "ApplyErrorUpdatePolicy",
    "ApplyErrorEscalationPolicy",
])
def test_settings__error_policy__stops_the_task_instead_of_skipping_data(settings, policy):
    assert settings["ErrorBehavior"][policy] == "STOP_TASK"


def test_settings__conflicts_and_empty_mappings__fail_the_task(settings):
    behaviour = settings["ErrorBehavior"]
    assert behaviour["FullLoadIgnoreConflicts"] is False
    assert behaviour["FailOnNoTablesCaptured"] is True


def test_settings__source_drop_or_truncate__not_replayed_on_the_target(settings):
    ddl = settings["ChangeProcessingDdlHandlingPolicy"]
    assert ddl["HandleSourceTableDropped"] is False
    assert ddl["HandleSourceTableTruncated"] is False


def test_settings__apply__transactional_in_commit_order(settings):
    assert settings["TargetMetadata"]["BatchApplyEnabled"] is False


# ---------------------------------------------------------------- alarms
@pytest.mark.parametrize("logical,metric,threshold", [
    ("CdcLatencySourceAlarm", "CDCLatencySource", "CdcLatencySourceThresholdSeconds"),
    ("CdcLatencyTargetAlarm", "CDCLatencyTarget", "CdcLatencyTargetThresholdSeconds"),
])
def test_cdc_alarm__metric__task_latency_against_the_threshold_parameter(resources, instance, logical, metric, threshold):
    alarm = resources[logical]["Properties"]
    stats = [q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q]
    assert [(s["Metric"]["Namespace"], s["Metric"]["MetricName"], s["Stat"]) for s in stats] == [("AWS/DMS", metric, "Maximum")] * 3
    assert [s["Metric"]["Dimensions"] for s in stats] == [[
        {"Name": "ReplicationInstanceIdentifier", "Value": instance["ReplicationInstanceIdentifier"]},
        {"Name": "ReplicationTaskIdentifier", "Value": {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": task}]}]}},
    ] for task in ("ReplicationTask", "CdcBlueToGreenTask", "CdcGreenToBlueTask")]
    assert [q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData")] == ["MAX([t0, t1, t2])"]
    assert alarm["Threshold"] == {"Ref": threshold}
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("logical", ["CdcLatencySourceAlarm", "CdcLatencyTargetAlarm"])
def test_cdc_alarm__missing_data__breaching(resources, logical):
    assert resources[logical]["Properties"]["TreatMissingData"] == "breaching"


def test_cdc_alarm__defaults__target_is_the_30_second_rpo_and_source_fires_first(dms):
    params = dms["Parameters"]
    assert params["CdcLatencyTargetThresholdSeconds"]["Default"] == 30
    assert params["CdcLatencySourceThresholdSeconds"]["Default"] < params["CdcLatencyTargetThresholdSeconds"]["Default"]


def test_outputs__cdc_latency_alarm_names__both_alarms_comma_joined(dms):
    value = dms["Outputs"]["CdcLatencyAlarmNames"]["Value"]
    assert value == {"Fn::Join": [",", [{"Ref": "CdcLatencySourceAlarm"}, {"Ref": "CdcLatencyTargetAlarm"}]]}


@pytest.mark.parametrize("output", ["ReplicationInstanceArn", "ReplicationTaskArn", "CdcLatencyAlarmNames"])
def test_outputs__stack_contract__exported_under_the_stack_name(dms, output):
    assert dms["Outputs"][output]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{output}"}
