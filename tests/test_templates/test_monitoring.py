"""templates/monitoring.json: the health alarms, composite gates, topic and dashboard.

Each test reads the committed template and fails when the property it names is removed or changed.
"""

import json
import os
import re

import pytest

from bluegreen import cfn, environments
from tests.test_templates import policy

TAIL = policy.NAME_TAIL
COLOURS = ("blue", "green")
EDGES = ("blue", "green")


def tg_dims(edge, colour):
    return [
        {"Name": "LoadBalancer", "Value": {"Ref": f"{edge.capitalize()}LoadBalancerFullName"}},
        {"Name": "TargetGroup", "Value": {"Ref": f"{edge.capitalize()}Alb{colour.capitalize()}TargetGroupFullName"}},
    ]


def per_edge(p, prefix):
    """The alarm's hidden query of each ALB (``<prefix>blue``, ``<prefix>green``): id -> MetricStat."""
    return {q["Id"]: q["MetricStat"] for q in p["Metrics"] if q["Id"] in {prefix + e for e in EDGES}}


def expected_per_edge(prefix, colour, metric, stat):
    return {f"{prefix}{e}": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric,
                                        "Dimensions": tg_dims(e, colour)}, "Period": 60, "Stat": stat}
            for e in EDGES}


ECS_DIMS = lambda c: [  # noqa: E731 - a table of expected dimensions, one per colour
    {"Name": "ClusterName", "Value": {"Ref": "ClusterName"}},
    {"Name": "ServiceName", "Value": {"Ref": f"{c.capitalize()}ServiceName"}},
]


@pytest.fixture(scope="module")
def resources(monitoring):
    return monitoring["Resources"]


def props(resources, logical):
    return resources[logical]["Properties"]


def member_alarms(resources, colour):
    c = colour.capitalize()
    return [f"{c}Http5xxRateAlarm", f"{c}P99LatencyAlarm", f"{c}UnhealthyHostsAlarm", f"{c}RunningTasksAlarm",
            *fast_alarms(colour)]


def fast_alarms(colour):
    c = colour.capitalize()
    return [f"{c}PaymentsFailedAlarm", f"{c}PaymentsLatencyAlarm", f"{c}SilentAlarm"]


NAMESPACE = {"Fn::Sub": "PaymentService/${Environment}-${EnvironmentSuffix}"}


def payments_query(query_id, metric, stat, colour):
    return {"Id": query_id, "ReturnData": False, "MetricStat": {"Metric": {
        "Namespace": NAMESPACE, "MetricName": metric, "Dimensions": [{"Name": "Colour", "Value": colour}]},
        "Period": 10, "Stat": stat}}


# ---------------------------------------------------------------- the fast line (service's EMF metrics)
@pytest.mark.parametrize("colour", COLOURS)
def test_payments_failed_alarm__colour__guarded_rate_in_10s_periods_2_of_3(resources, colour):
    p = props(resources, f"{colour.capitalize()}PaymentsFailedAlarm")
    assert p["Metrics"] == [
        payments_query("attempted", "PaymentsAttempted", "Sum", colour),
        payments_query("failed", "PaymentsFailed", "Sum", colour),
        {"Id": "rate", "ReturnData": True, "Label": f"{colour} payments failed (%)",
         "Expression": {"Fn::Sub": "IF(attempted >= ${MinPaymentsPerPeriod}, 100 * failed / attempted)"}},
    ]
    assert {k: p[k] for k in ("EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData", "ComparisonOperator",
                              "Threshold")} == {
        "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "TreatMissingData": "missing",
        "ComparisonOperator": "GreaterThanThreshold", "Threshold": {"Ref": "PaymentFailureThresholdPercent"}}


@pytest.mark.parametrize("colour", COLOURS)
def test_payments_latency_alarm__colour__p90_above_the_other_colours_both_guarded(resources, colour):
    other = "green" if colour == "blue" else "blue"
    p = props(resources, f"{colour.capitalize()}PaymentsLatencyAlarm")
    assert p["Metrics"][:4] == [payments_query("attempted", "PaymentsAttempted", "Sum", colour),
                                payments_query("others", "PaymentsAttempted", "Sum", other),
                                payments_query("latency", "PaymentLatency", "p90", colour),
                                payments_query("baseline", "PaymentLatency", "p90", other)]
    assert p["Metrics"][4]["Expression"] == {"Fn::Sub": "IF(attempted >= ${MinPaymentsPerPeriod}, "
                                                        "IF(others >= ${MinPaymentsPerPeriod}, latency - baseline))"}
    assert (p["Threshold"], p["TreatMissingData"]) == ({"Ref": "PaymentLatencyRegressionMilliseconds"}, "missing")


@pytest.mark.parametrize("colour", COLOURS)
def test_silent_alarm__colour__no_sample_in_one_10s_period_breaches(resources, colour):
    p = props(resources, f"{colour.capitalize()}SilentAlarm")
    assert {k: p[k] for k in ("Namespace", "MetricName", "Dimensions", "Statistic", "Period", "ComparisonOperator",
                              "Threshold", "TreatMissingData", "EvaluationPeriods", "DatapointsToAlarm")} == {
        "Namespace": NAMESPACE, "MetricName": "PaymentsAttempted", "Dimensions": [{"Name": "Colour", "Value": colour}],
        "Statistic": "SampleCount", "Period": 10, "ComparisonOperator": "LessThanThreshold", "Threshold": 1,
        "TreatMissingData": "breaching", "EvaluationPeriods": 1, "DatapointsToAlarm": 1}


@pytest.mark.parametrize("colour", COLOURS)
def test_fast_alarms__metrics__ones_the_service_publishes(resources, colour):
    from payment_api import metrics as emf

    for logical in fast_alarms(colour):
        p = props(resources, logical)
        stats = [q["MetricStat"] for q in p.get("Metrics", []) if "MetricStat" in q] or [
            {"Metric": {k: p[k] for k in ("Namespace", "MetricName", "Dimensions")}}]
        for stat in stats:
            metric = stat["Metric"]
            assert metric["Namespace"] == {"Fn::Sub": emf.NAMESPACE_PREFIX + "${Environment}-${EnvironmentSuffix}"}
            assert tuple(d["Name"] for d in metric["Dimensions"]) == emf.PUBLISHED[metric["MetricName"]], logical


@pytest.mark.parametrize("logical", [a for c in COLOURS for a in fast_alarms(c)] + ["GreenHealthAlarm"])
def test_fast_alarms__description__says_what_it_catches_and_how_fast(resources, logical):
    text = props(resources, logical)["AlarmDescription"]
    assert "Catches" in text or "Fast line" in text
    assert re.search(r"\d+-\d+ s", text), text


def test_compute__task_namespace__the_one_the_alarms_read():
    compute = json.loads((policy.ROOT / "templates" / "compute.json").read_text())
    for logical in ("BlueTaskDefinition", "GreenTaskDefinition"):
        env = {e["Name"]: e["Value"] for e in
               compute["Resources"][logical]["Properties"]["ContainerDefinitions"][0]["Environment"]}
        assert env["METRICS_NAMESPACE"] == NAMESPACE


# ---------------------------------------------------------------- metric alarms
@pytest.mark.parametrize("colour", COLOURS)
def test_p99_alarm__colour__worse_of_both_albs_p99_over_threshold(resources, colour):
    p = props(resources, f"{colour.capitalize()}P99LatencyAlarm")
    assert per_edge(p, "p99") == expected_per_edge("p99", colour, "TargetResponseTime", "p99")
    assert [(q["Id"], q["Expression"]) for q in p["Metrics"] if q["ReturnData"]] == [("worst", "MAX([p99blue, p99green])")]
    assert {k: p.get(k) for k in ("ComparisonOperator", "Threshold", "AlarmName")} == {
        "ComparisonOperator": "GreaterThanThreshold", "Threshold": {"Ref": "P99LatencyThresholdSeconds"},
        "AlarmName": {"Fn::Sub": f"alarm-{colour}-p99-{TAIL}"},
    }


@pytest.mark.parametrize("colour", COLOURS)
def test_unhealthy_hosts_alarm__colour__worse_of_both_albs_over_threshold(resources, colour):
    # Both groups hold the same tasks: a sum would count each unhealthy task twice.
    p = props(resources, f"{colour.capitalize()}UnhealthyHostsAlarm")
    assert per_edge(p, "unhealthy") == expected_per_edge("unhealthy", colour, "UnHealthyHostCount", "Maximum")
    assert [(q["Id"], q["Expression"]) for q in p["Metrics"] if q["ReturnData"]] == [
        ("worst", "MAX([unhealthyblue, unhealthygreen])")]
    assert (p["ComparisonOperator"], p["Threshold"]) == ("GreaterThanThreshold", {"Ref": "UnhealthyHostThreshold"})


@pytest.mark.parametrize("colour", COLOURS)
def test_running_tasks_alarm__colour__container_insights_below_minimum(resources, colour):
    p = props(resources, f"{colour.capitalize()}RunningTasksAlarm")
    assert {k: p.get(k) for k in ("Namespace", "MetricName", "Statistic", "Dimensions", "ComparisonOperator",
                                   "Threshold")} == {
        "Namespace": "ECS/ContainerInsights", "MetricName": "RunningTaskCount", "Statistic": "Minimum",
        "Dimensions": ECS_DIMS(colour), "ComparisonOperator": "LessThanThreshold",
        "Threshold": {"Ref": "MinRunningTasks"},
    }


@pytest.mark.parametrize("colour", COLOURS)
def test_5xx_alarm__colour__percent_of_both_albs_requests_with_missing_errors_as_zero(resources, colour):
    p = props(resources, f"{colour.capitalize()}Http5xxRateAlarm")
    queries = {q["Id"]: q for q in p["Metrics"]}
    assert queries["errors"]["Expression"] == "SUM([errblue, errgreen])"
    assert queries["requests"]["Expression"] == "SUM([reqblue, reqgreen])"
    assert queries["rate"]["Expression"] == "100 * FILL(errors, 0) / requests"
    assert [q["Id"] for q in p["Metrics"] if q["ReturnData"]] == ["rate"]
    assert per_edge(p, "err") == expected_per_edge("err", colour, "HTTPCode_Target_5XX_Count", "Sum")
    assert per_edge(p, "req") == expected_per_edge("req", colour, "RequestCount", "Sum")
    assert (p["ComparisonOperator"], p["Threshold"]) == ("GreaterThanThreshold", {"Ref": "Http5xxRateThresholdPercent"})


@pytest.mark.parametrize("alarm", ["Http5xxRateAlarm", "P99LatencyAlarm", "UnhealthyHostsAlarm"])
def test_alb_alarms__blue_and_green__watch_only_their_own_colours_target_groups(resources, alarm):
    def groups(colour):
        return {d["Value"]["Ref"] for q in props(resources, colour.capitalize() + alarm)["Metrics"] if "MetricStat" in q
                for d in q["MetricStat"]["Metric"]["Dimensions"] if d["Name"] == "TargetGroup"}
    assert groups("blue") == {"BlueAlbBlueTargetGroupFullName", "GreenAlbBlueTargetGroupFullName"}
    assert groups("green") == {"BlueAlbGreenTargetGroupFullName", "GreenAlbGreenTargetGroupFullName"}


@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("alarm,expected", [
    ("Http5xxRateAlarm", "notBreaching"),   # no requests, no errors
    ("P99LatencyAlarm", "notBreaching"),    # no requests, no latency
    ("UnhealthyHostsAlarm", "breaching"),   # published every minute: silence is lost visibility
    ("RunningTasksAlarm", "breaching"),     # published every minute per service: silence is no service
])
def test_member_alarm__missing_data__treated_as_justified(resources, colour, alarm, expected):
    assert props(resources, colour.capitalize() + alarm)["TreatMissingData"] == expected


@pytest.mark.parametrize("colour", COLOURS)
def test_member_alarms__colour__two_of_three_periods_but_silence_one(resources, colour):
    assert {a: (props(resources, a)["EvaluationPeriods"], props(resources, a)["DatapointsToAlarm"])
            for a in member_alarms(resources, colour)} == {
        a: (1, 1) if a.endswith("SilentAlarm") else (3, 2) for a in member_alarms(resources, colour)}


@pytest.mark.parametrize("colour", COLOURS)
def test_member_alarms__colour__no_actions_of_their_own(resources, colour):
    for alarm in member_alarms(resources, colour):
        p = props(resources, alarm)
        assert not {"AlarmActions", "OKActions", "InsufficientDataActions"} & set(p), alarm


@pytest.mark.parametrize("parameter,default", [
    ("Http5xxRateThresholdPercent", 1), ("P99LatencyThresholdSeconds", 1),
    ("UnhealthyHostThreshold", 0), ("MinRunningTasks", 2), ("PaymentFailureThresholdPercent", 1),
    ("PaymentLatencyRegressionMilliseconds", 150), ("MinPaymentsPerPeriod", 10),
])
def test_threshold_parameter__declared__number_with_documented_default(monitoring, parameter, default):
    p = monitoring["Parameters"][parameter]
    assert (p["Type"], p["Default"]) == ("Number", default)
    assert f"default {default}" in p["Description"]


# ---------------------------------------------------------------- composites
@pytest.mark.parametrize("colour", COLOURS)
def test_health_composite__colour__or_of_its_seven_alarms(resources, colour):
    c = colour.capitalize()
    p = props(resources, f"{c}HealthAlarm")
    assert p["AlarmName"] == {"Fn::Sub": f"alarm-{colour}-health-{TAIL}"}
    assert p["AlarmRule"] == {"Fn::Sub": " OR ".join(f'ALARM("${{{a}}}")' for a in member_alarms(resources, colour))}


def test_data_composite__rule__or_of_two_cdc_and_two_replica_lag_alarms(resources):
    p = props(resources, "DataHealthAlarm")
    assert p["AlarmName"] == {"Fn::Sub": f"alarm-data-health-{TAIL}"}
    assert p["AlarmRule"] == {"Fn::Sub": [
        'ALARM("${CdcSource}") OR ALARM("${CdcTarget}") OR ALARM("${BlueLag}") OR ALARM("${GreenLag}")',
        {
            "CdcSource": {"Fn::Select": [0, {"Ref": "CdcLatencyAlarmNames"}]},
            "CdcTarget": {"Fn::Select": [1, {"Ref": "CdcLatencyAlarmNames"}]},
            "BlueLag": {"Fn::Select": [0, {"Ref": "ReplicaLagAlarmNames"}]},
            "GreenLag": {"Fn::Select": [1, {"Ref": "ReplicaLagAlarmNames"}]},
        },
    ]}


@pytest.mark.parametrize("parameter", ["CdcLatencyAlarmNames", "ReplicaLagAlarmNames"])
def test_data_alarm_names__parameter__comma_delimited_list(monitoring, parameter):
    assert monitoring["Parameters"][parameter]["Type"] == "CommaDelimitedList"


@pytest.mark.parametrize("composite", ["BlueHealthAlarm", "GreenHealthAlarm", "DataHealthAlarm"])
def test_composite__alarm_and_ok__notify_topic(resources, composite):
    p = props(resources, composite)
    assert (p["ActionsEnabled"], p["AlarmActions"], p["OKActions"]) == (
        True, [{"Ref": "NotifyTopic"}], [{"Ref": "NotifyTopic"}])


# ---------------------------------------------------------------- topic
def test_topic__encryption__ops_key(resources):
    assert props(resources, "NotifyTopic")["KmsMasterKeyId"] == {"Ref": "OpsKeyArn"}


def test_topic_policy__publishers__alarms_and_events_of_this_account_only(resources):
    statements = {s["Sid"]: s for s in props(resources, "NotifyTopicPolicy")["PolicyDocument"]["Statement"]}
    assert statements["AlarmsAndEventsOfThisAccountPublish"] == {
        "Sid": "AlarmsAndEventsOfThisAccountPublish", "Effect": "Allow",
        "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
        "Action": "sns:Publish", "Resource": {"Ref": "NotifyTopic"},
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }


def test_topic_policy__without_tls__publish_denied(resources):
    statements = {s["Sid"]: s for s in props(resources, "NotifyTopicPolicy")["PolicyDocument"]["Statement"]}
    deny = statements["DenyPublishWithoutTls"]
    assert (deny["Effect"], deny["Principal"], deny["Condition"]) == (
        "Deny", "*", {"Bool": {"aws:SecureTransport": "false"}})


# ---------------------------------------------------------------- dashboard
@pytest.fixture(scope="module")
def dashboard(resources):
    p = props(resources, "Dashboard")
    text, variables = p["DashboardBody"]["Fn::Sub"]
    # The one unquoted substitution (a number) is made a literal so the body parses as JSON.
    body = json.loads(re.sub(r"\$\{Http5xxRateThresholdPercent\}", "0", text))
    return {"name": p["DashboardName"], "widgets": body["widgets"], "variables": variables}


def _titled(dashboard, title):
    (widget,) = [w for w in dashboard["widgets"] if w["properties"].get("title") == title]
    return widget["properties"]


def test_dashboard__name__bluegreen(dashboard):
    assert dashboard["name"] == {"Fn::Sub": f"dashboard-bluegreen-{TAIL}"}


def test_dashboard__edge_share__requests_per_alb(dashboard):
    metrics = _titled(dashboard, "Edge share: requests per ALB (Route 53 weights)")["metrics"]
    assert [m[:4] for m in metrics] == [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", f"${{{e.capitalize()}LoadBalancerFullName}}"] for e in EDGES]


def test_dashboard__target_share__requests_per_colour_summed_over_both_albs(dashboard):
    metrics = _titled(dashboard, "Target share: requests per colour, both ALBs (listener weights)")["metrics"]
    shown = [m[0] for m in metrics if isinstance(m[0], dict)]
    assert [(e["label"], e["expression"]) for e in shown] == [
        ("blue tasks", "SUM([rblueblue, rbluegreen])"), ("green tasks", "SUM([rgreenblue, rgreengreen])")]
    hidden = {m[-1]["id"]: m[5] for m in metrics if not isinstance(m[0], dict)}
    assert hidden == {f"r{c}{e}": f"${{{e.capitalize()}Alb{c.capitalize()}TargetGroupFullName}}"
                      for c in COLOURS for e in EDGES}


def test_dashboard__error_rates__5xx_expression_per_colour_over_both_albs(dashboard):
    metrics = _titled(dashboard, "Target 5xx rate (%), both ALBs")["metrics"]
    assert [m[0]["expression"] for m in metrics if isinstance(m[0], dict)] == [
        f"100 * FILL(SUM([e{c}blue, e{c}green]), 0) / SUM([n{c}blue, n{c}green])" for c in COLOURS]


def test_dashboard__latency__p99_per_colour_and_alb(dashboard):
    metrics = _titled(dashboard, "Target response time p99 (s) per colour and ALB")["metrics"]
    assert [(m[1], m[-1]["stat"], m[3], m[5]) for m in metrics] == [
        ("TargetResponseTime", "p99", f"${{{e.capitalize()}LoadBalancerFullName}}",
         f"${{{e.capitalize()}Alb{c.capitalize()}TargetGroupFullName}}") for c in COLOURS for e in EDGES]


def test_dashboard__replication__four_lag_alarms_side_by_side(dashboard):
    titles = ["DMS CDC latency: source", "DMS CDC latency: target",
              "Aurora replica lag: blue", "Aurora replica lag: green"]
    alarms = [_titled(dashboard, t)["annotations"]["alarms"] for t in titles]
    assert alarms == [["${CdcSourceAlarmArn}"], ["${CdcTargetAlarmArn}"], ["${BlueLagAlarmArn}"], ["${GreenLagAlarmArn}"]]
    assert dashboard["variables"]["CdcTargetAlarmArn"] == {"Fn::Sub": [
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${N}",
        {"N": {"Fn::Select": [1, {"Ref": "CdcLatencyAlarmNames"}]}}]}


# ---------------------------------------------------------------- outputs and config
def test_outputs__contract__exported(monitoring):
    assert {k: v["Export"]["Name"] for k, v in monitoring["Outputs"].items()} == {
        k: {"Fn::Sub": "${AWS::StackName}-" + k}
        for k in ("GreenHealthAlarmName", "GreenPaymentsAlarmName", "BlueHealthAlarmName", "DataHealthAlarmName",
                  "DashboardName", "NotifyTopicArn")
    }


def test_monitoring_config__prod__is_a_symlink_to_dev():
    prod = policy.ROOT / "config" / "prod" / "operations" / "monitoring.yaml"
    assert prod.is_symlink() and os.readlink(prod) == "../../dev/operations/monitoring.yaml"


@pytest.mark.parametrize("environment,min_tasks", [("dev", "1"), ("prod", "2")])
def test_monitoring_config__environment__inputs_from_contract_stacks(environment, min_tasks):
    # Sceptre's stack: the group's values rendered in, the !stack_output resolvers with their arguments.
    (stack,) = environments.stacks(policy.ROOT, f"{environment}/operations/monitoring.yaml")
    config = {"template": stack.template_handler_config,
              "parameters": {k: getattr(v, "argument", v) for k, v in environments.unresolved_parameters(stack).items()
                             if k not in cfn.IDENTITY_PARAMETERS}}
    assert config["template"] == {"path": "monitoring.py"}
    e = environment
    assert config["parameters"] == {
        "OpsKeyArn": f"{e}/security/security.yaml::OpsKeyArn",
        **{f"{edge}LoadBalancerFullName": f"{e}/compute/alb.yaml::{edge}LoadBalancerFullName" for edge in ("Blue", "Green")},
        **{f"{edge}Alb{c}TargetGroupFullName": f"{e}/compute/alb.yaml::{edge}Alb{c}TargetGroupFullName"
           for edge in ("Blue", "Green") for c in ("Blue", "Green")},
        "ClusterName": f"{e}/compute/compute.yaml::ClusterName",
        "BlueServiceName": f"{e}/compute/compute.yaml::BlueServiceName",
        "GreenServiceName": f"{e}/compute/compute.yaml::GreenServiceName",
        "CdcLatencyAlarmNames": f"{e}/database/dms.yaml::CdcLatencyAlarmNames",
        "ReplicaLagAlarmNames": f"{e}/database/database.yaml::ReplicaLagAlarmNames",
        "MinRunningTasks": min_tasks,
    }
