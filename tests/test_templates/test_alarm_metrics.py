"""Every alarm watches a metric its service publishes, with a dimension set it publishes, for our resources.

An alarm on a metric name or a dimension set the service does not publish never receives a data
point: it sits in INSUFFICIENT_DATA for ever (or in ALARM, with ``breaching``) and no test on a
stand-in notices (https://repost.aws/knowledge-center/cloudwatch-alarm-insufficient-data-state).
``PUBLISHED`` is taken from each service's CloudWatch documentation (cited per namespace): the
metric names and the dimension sets each is published with. Every alarm of every stack of dev and
prod (a single metric, or each MetricStat member of a metric-math alarm) is checked against it, and
each dimension value against what our stacks create (tests/cfn_model.py: evaluated with the
environment's real names): the LoadBalancer dimension is the full name ``app/<name>/<id>`` of one of
our ALBs, ReplicationTaskIdentifier the task's resource ID (the last part of its ARN), and so on.
Metrics of our own namespaces must be those a metric filter of the stacks publishes; composite
alarms may only name alarms the stacks create.
"""

from __future__ import annotations

import re

import pytest

from payment_api import metrics as service_metrics
from tests import cfn_model

ENVS = ("dev", "prod")

_ALB = frozenset({"LoadBalancer"}), frozenset({"LoadBalancer", "TargetGroup"}), \
    frozenset({"LoadBalancer", "AvailabilityZone"}), frozenset({"LoadBalancer", "TargetGroup", "AvailabilityZone"})
_ALB_TARGETS = frozenset({"LoadBalancer", "TargetGroup"}), frozenset({"LoadBalancer", "TargetGroup", "AvailabilityZone"})
_AURORA = (frozenset({"DBInstanceIdentifier"}), frozenset({"DBClusterIdentifier"}),
           frozenset({"DBClusterIdentifier", "Role"}), frozenset({"DatabaseClass"}), frozenset({"EngineName"}))
_DMS_TASK = (frozenset({"ReplicationInstanceIdentifier", "ReplicationTaskIdentifier"}),)
_LAMBDA = (frozenset({"FunctionName"}), frozenset({"FunctionName", "Resource"}),
           frozenset({"FunctionName", "Resource", "ExecutedVersion"}))

#: namespace -> (the AWS document, {metric: the dimension sets it is published with}).
PUBLISHED: dict[str, tuple[str, dict[str, tuple[frozenset[str], ...]]]] = {
    "AWS/ApplicationELB": (
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
        {"RequestCount": _ALB, "HTTPCode_Target_5XX_Count": _ALB, "HTTPCode_ELB_5XX_Count": _ALB,
         "TargetResponseTime": _ALB, "UnHealthyHostCount": _ALB_TARGETS, "HealthyHostCount": _ALB_TARGETS}),
    "AWS/RDS": (
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html; "
        "dimensions: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html",
        {"AuroraReplicaLag": _AURORA, "AuroraReplicaLagMaximum": _AURORA, "CPUUtilization": _AURORA,
         "DatabaseConnections": _AURORA, "FreeableMemory": _AURORA}),
    "AWS/DMS": (
        "https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html (replication task metrics)",
        {"CDCLatencySource": _DMS_TASK, "CDCLatencyTarget": _DMS_TASK, "CDCIncomingChanges": _DMS_TASK}),
    "ECS/ContainerInsights": (
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html "
        "(only for a cluster with containerInsights enabled)",
        {"RunningTaskCount": (frozenset({"ClusterName"}), frozenset({"ClusterName", "ServiceName"})),
         "DesiredTaskCount": (frozenset({"ClusterName", "ServiceName"}),)}),
    "AWS/ECS": (
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html",
        {"CPUUtilization": (frozenset({"ClusterName"}), frozenset({"ClusterName", "ServiceName"})),
         "MemoryUtilization": (frozenset({"ClusterName"}), frozenset({"ClusterName", "ServiceName"}))}),
    "AWS/Lambda": (
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
        {"Invocations": _LAMBDA, "Errors": _LAMBDA, "Throttles": _LAMBDA, "Duration": _LAMBDA}),
    "AWS/SQS": (
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html",
        {"ApproximateNumberOfMessagesVisible": (frozenset({"QueueName"}),),
         "ApproximateAgeOfOldestMessage": (frozenset({"QueueName"}),)}),
    "AWS/Events": (
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html",
        {"FailedInvocations": (frozenset({"RuleName"}),), "Invocations": (frozenset({"RuleName"}),)}),
    "AWS/Logs": (
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html",
        {"IncomingLogEvents": (frozenset({"LogGroupName"}),), "DeliveryErrors": (frozenset({"LogGroupName", "DestinationType", "FilterName"}),)}),
}

#: dimension -> (resource type, how its value is read from that resource): the values our stacks make.
DIMENSION_VALUES = {
    "LoadBalancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"),
    "TargetGroup": ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"),
    "DBClusterIdentifier": ("AWS::RDS::DBCluster", "Ref"),
    "DBInstanceIdentifier": ("AWS::RDS::DBInstance", "Ref"),
    "ReplicationInstanceIdentifier": ("AWS::DMS::ReplicationInstance", "Properties.ReplicationInstanceIdentifier"),
    "ReplicationTaskIdentifier": ("AWS::DMS::ReplicationTask", "ArnTail"),
    "FunctionName": ("AWS::Lambda::Function", "Ref"),
    "QueueName": ("AWS::SQS::Queue", "QueueName"),
    "ClusterName": ("AWS::ECS::Cluster", "Ref"),
    "ServiceName": ("AWS::ECS::Service", "Name"),
    "RuleName": ("AWS::Events::Rule", "Ref"),
    "LogGroupName": ("AWS::Logs::LogGroup", "Ref"),
}


@pytest.fixture(scope="module", params=ENVS)
def environment(request):
    return cfn_model.Environment(request.param)


def resources(env, rtype):
    for stack in env.stacks.values():
        for logical, resource in stack.resources().items():
            if resource["Type"] == rtype:
                yield stack, logical, resource


def dimension_values(env, dimension) -> set[str]:
    rtype, how = DIMENSION_VALUES[dimension]
    found = set()
    for stack, logical, resource in resources(env, rtype):
        ref, attributes, _ = cfn_model.described(stack, logical)
        if how == "Ref":
            found.add(ref)
        elif how == "ArnTail":
            found.add(ref.split(":")[-1])
        elif how.startswith("Properties."):
            found.add(stack.evaluate(resource["Properties"][how.split(".", 1)[1]]))
        else:
            found.add(attributes[how])
    return found


def alarm_metrics(env):
    """(stack, alarm, namespace, metric name, {dimension: value}) of every metric an alarm reads."""
    for stack, logical, alarm in resources(env, "AWS::CloudWatch::Alarm"):
        props = stack.evaluate(alarm["Properties"])
        if "MetricName" in props:
            yield stack, logical, props["Namespace"], props["MetricName"], {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        for member in props.get("Metrics", []):
            if "MetricStat" in member:
                metric = member["MetricStat"]["Metric"]
                yield stack, logical, metric["Namespace"], metric["MetricName"], {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


def filter_metrics(env) -> set[tuple[str, str, frozenset[str]]]:
    """(namespace, metric, dimension names) every metric filter of the stacks publishes."""
    found = set()
    for stack, _, resource in resources(env, "AWS::Logs::MetricFilter"):
        for transformation in stack.evaluate(resource["Properties"])["MetricTransformations"]:
            found.add((transformation["MetricNamespace"], transformation["MetricName"],
                       frozenset(transformation.get("Dimensions") or {})))
    return found


def service_published() -> set[tuple[str, str, frozenset[str]]]:
    """(metric, dimension names) the payment service itself publishes as EMF (payment_api.metrics.PUBLISHED,
    the one list), in the environment's own namespace only: dev's alarms may not watch prod's tasks."""
    return {(name.split(" by ")[0], frozenset(dims)) for name, dims in service_metrics.PUBLISHED.items()}


def test_alarms__every_stack__found(environment):
    metrics = list(alarm_metrics(environment))

    assert len({(s.name, a) for s, a, *_ in metrics}) >= 20
    assert {ns for _, _, ns, *_ in metrics} >= {"AWS/ApplicationELB", "AWS/RDS", "AWS/DMS", "AWS/Lambda", "AWS/SQS"}


def test_alarms__each_metric_and_dimension_set__published_by_its_service(environment):
    ours = filter_metrics(environment)
    problems = []
    for stack, alarm, namespace, metric, dims in alarm_metrics(environment):
        where = f"{stack.name} {alarm}: {namespace} {metric} {sorted(dims)}"
        if namespace in PUBLISHED:
            metrics = PUBLISHED[namespace][1]
            if metric not in metrics:
                problems.append(f"{where}: {namespace} publishes no metric {metric!r} ({PUBLISHED[namespace][0]})")
            elif frozenset(dims) not in metrics[metric]:
                problems.append(f"{where}: published only with {[sorted(s) for s in metrics[metric]]}")
        elif namespace.startswith(f"{service_metrics.NAMESPACE_PREFIX}{stack.name.split('/')[0]}-"):
            if (metric, frozenset(dims)) not in service_published():
                problems.append(f"{where}: the payment service publishes no such metric (payment_api.metrics.PUBLISHED)")
        elif (namespace, metric, frozenset(dims)) not in ours:
            problems.append(f"{where}: neither an AWS namespace of PUBLISHED nor a metric filter of the stacks")

    assert problems == [], "\n".join(problems)


def test_alarms__each_dimension_value__names_a_resource_of_the_stacks(environment):
    problems = []
    for stack, alarm, namespace, metric, dims in alarm_metrics(environment):
        for name, value in dims.items():
            if name in DIMENSION_VALUES:
                if value not in dimension_values(environment, name):
                    problems.append(f"{stack.name} {alarm}: {namespace} {metric} {name}={value!r} is none of "
                                    f"{sorted(dimension_values(environment, name))}")
            elif namespace in PUBLISHED and name not in ("Role", "AvailabilityZone", "Resource", "ExecutedVersion"):
                problems.append(f"{stack.name} {alarm}: no rule for the value of dimension {name} (add it to DIMENSION_VALUES)")

    assert problems == [], "\n".join(problems)


def test_container_insights_alarms__cluster_has_container_insights_enabled(environment):
    clusters = {}
    for stack, logical, resource in resources(environment, "AWS::ECS::Cluster"):
        settings = stack.evaluate(resource["Properties"]).get("ClusterSettings", [])
        clusters[cfn_model.described(stack, logical)[0]] = {s["Name"]: s["Value"] for s in settings}
    used = {dims["ClusterName"] for *_, ns, _, dims in alarm_metrics(environment) if ns == "ECS/ContainerInsights"}

    for name in used:
        assert clusters[name].get("containerInsights") in ("enabled", "enhanced"), f"{name}: no Container Insights metrics"


def test_composite_alarms__rule_names_only_alarms_the_stacks_create(environment):
    names = {cfn_model.described(s, lg)[0] for t in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
             for s, lg, _ in resources(environment, t)}
    problems = []
    for stack, logical, resource in resources(environment, "AWS::CloudWatch::CompositeAlarm"):
        rule = stack.evaluate(resource["Properties"]["AlarmRule"])
        for name in re.findall(r'(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)', rule):
            if name not in names:
                problems.append(f"{stack.name} {logical}: AlarmRule names {name!r}, which no stack creates")

    assert problems == [], "\n".join(problems)


def test_published_table__a_made_up_metric_and_a_wrong_dimension_set__refused():
    albs = PUBLISHED["AWS/ApplicationELB"][1]

    assert "HTTPCode_Target_5XX" not in albs
    assert frozenset({"LoadBalancer"}) not in albs["UnHealthyHostCount"]
    assert frozenset({"DBClusterIdentifier"}) in PUBLISHED["AWS/RDS"][1]["AuroraReplicaLag"]
