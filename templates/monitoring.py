"""Monitoring stack: the health alarms the traffic shifter gates on, their topic, and the dashboard.

Per colour (blue, green) four metric alarms watch what a payment customer would feel. A colour's
tasks sit in one target group in each ALB (one ALB per colour, docs/traffic-weights.md), so every
ALB alarm aggregates the colour's two target groups with metric math:
  * 5xx rate   100 * SUM(5XX of both groups) / SUM(RequestCount of both groups) (%)
  * p99        MAX of the two groups' TargetResponseTime p99 (seconds): percentiles do not add,
               and the worse edge is what the gate must see
  * unhealthy  MAX of the two groups' UnHealthyHostCount above a threshold (default 0): both
               groups hold the same tasks, so a sum would count each task twice
  * tasks      ECS Container Insights RunningTaskCount of the colour's service below a minimum
and, the fast line, three alarms on the service's own high-resolution payment metrics (EMF in the
tasks' logs, app/payment_api/metrics.py) in 10-second periods:
  * payments failed  100 * PaymentsFailed / PaymentsAttempted (%), 2 of 3 periods; a period with fewer
               than MinPaymentsPerPeriod payments has no datapoint (metric math IF without a false
               value drops it), so too little traffic is INSUFFICIENT_DATA: the shifter holds on it (it
               is a gate of its own, GreenPaymentsAlarmName), never advances or rolls back on it
  * payments latency  the colour's p90 of PaymentLatency (ms) minus the other colour's, both guarded, 2 of
               3 periods: a regression against the colour serving beside it (a load both share cancels
               out; p90, not p99: a 10 s period holds tens of payments, and a p99 of so few is one
               request, which a task's first connections alone can make slow; at 0 % or 100 % there
               is nothing to compare and the slow line's ALB p99 remains)
  * silent     no payment metrics at all from the colour in a 10-second period (every task dead:
               a live task publishes its counts every second, zeros included), 1 of 1
and a composite alarm per colour (``alarm-<colour>-health-...``) is the OR of all seven. The data composite
(``alarm-data-health-...``) is the OR of the DMS CDC latency alarms (dms stack) and the Aurora
replica lag alarms (database stack). The shifter advances only while green health and data
health are OK and rolls back as soon as either is in ALARM.

Only the composites notify: the member alarms have no actions of their own, so one incident
pages once, with the composite's state reason naming the member that fired.

Every ALB and ECS alarm is evaluated per minute, 2 breaching minutes out of 3 (cfn_alarms.GATE_EVALUATION):
a single bad minute (one slow batch, one task replaced) does not roll a migration back, two do. They
are the second, slower line: they see what the service cannot report about itself (the load
balancer's view, the health checks, the task count).

The dashboard shows the edge share (requests per ALB, which the Route 53 weights decide) beside
the target share (requests per colour through both ALBs, which the listener weights decide).
"""

import json
import re

from troposphere import Ref, Select, Sub
from troposphere.cloudwatch import Alarm, CompositeAlarm, Dashboard

from bluegreen import cfn_parameters as params
from bluegreen.cfn import COLOURS, EDGES, cap, export, name, new_template, tags, target_group, to_json
from bluegreen.cfn_alarms import (
    FAST_EVALUATION,
    FAST_PERIOD,
    GATE_EVALUATION,
    PERIOD,
    SILENT_EVALUATION,
    dimensions,
    expression,
    metric_query,
    payments_namespace,
)
from bluegreen.cfn_iam import allow, deny, this_account
from bluegreen.cfn_storage import topic as encrypted_topic
from payment_api import metrics as emf

ALB = "AWS/ApplicationELB"
NUMBER = "@@%s@@"

#: TreatMissingData per alarm kind, and why (the tests hold the template to this table).
MISSING_DATA = {
    # The error count is FILLed with 0, so the rate is missing only when the target group served
    # no request at all (green at weight 0): no requests, no errors.
    "5xx": "notBreaching",
    # Latency exists only for served requests; an idle target group is not slow.
    "p99": "notBreaching",
    # The ALB publishes host counts every minute while health checks run, traffic or not:
    # silence means we lost sight of the targets, and the gate must not advance blind.
    "unhealthy-hosts": "breaching",
    # Container Insights publishes every minute per service: silence means the service or its
    # metrics are gone, which for a gate is as bad as no tasks.
    "running-tasks": "breaching",
    # Below MinPaymentsPerPeriod the guard drops the datapoint: missing, so a period without enough
    # payments to judge is INSUFFICIENT_DATA when every period lacks it, and holds the shift.
    "payments-failed": "missing",
    "payments-latency": "missing",
    # A live task publishes every second, zeros included: silence is every task dead.
    "silent": "breaching",
}


def _parameters(t):
    params.add(t, "OpsKeyArn", "Ops KMS key (security stack) that encrypts the notification topic.",
               params.KMS_KEY_ARN)
    for edge in EDGES:
        params.add(t, f"{cap(edge)}LoadBalancerFullName", f"LoadBalancer dimension of the {edge} ALB's metrics (alb "
                   f"stack {cap(edge)}LoadBalancerFullName).", params.LOAD_BALANCER_FULL_NAME)
        for colour in COLOURS:
            group = target_group(edge, colour)
            params.add(t, f"{group}FullName", f"TargetGroup dimension of the {edge} ALB's {colour} target group "
                       f"(alb stack {group}FullName).", params.TARGET_GROUP_FULL_NAME)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}ServiceName", f"ECS service of the {colour} colour (compute stack "
                   f"{cap(colour)}ServiceName).", params.ECS_NAME)
    params.add(t, "ClusterName", "ECS cluster of both services (compute stack ClusterName); Container Insights must "
               "be on.", params.ECS_NAME)
    params.add(t, "CdcLatencyAlarmNames", "Exactly two DMS CDC latency alarm names, source then target (dms stack "
               "CdcLatencyAlarmNames).", params.NAMES)
    params.add(t, "ReplicaLagAlarmNames", "Exactly two Aurora replica lag alarm names, blue then green (database "
               "stack ReplicaLagAlarmNames).", params.NAMES)
    params.add(t, "Http5xxRateThresholdPercent", "Alarm when a colour's target 5xx responses exceed this percentage "
               "of its requests (default 1: at 50,000 transactions/hour about 8 failed payments a minute).",
               params.NUMBER, Default=1, MinValue=0, MaxValue=100)
    params.add(t, "P99LatencyThresholdSeconds", "Alarm when a colour's p99 target response time exceeds this many "
               "seconds (default 1: card authorisation must answer well inside the scheme timeouts).",
               params.NUMBER, Default=1, MinValue=0)
    params.add(t, "UnhealthyHostThreshold", "Alarm when a colour's target group reports more unhealthy targets than "
               "this (default 0).", params.NUMBER, Default=0, MinValue=0)
    params.add(t, "PaymentFailureThresholdPercent", "Fast line: alarm when more than this percentage of a colour's "
               "payments fail (5xx answered by the service) in 2 of 3 10-second periods (default 1).",
               params.NUMBER, Default=1, MinValue=0, MaxValue=100)
    params.add(t, "PaymentLatencyRegressionMilliseconds", "Fast line: alarm when a colour's p90 payment latency, as the "
               "service measures it, exceeds the other colour's by more than this in 2 of 3 10-second periods "
               "(default 150).", params.NUMBER, Default=150, MinValue=1)
    params.add(t, "MinPaymentsPerPeriod", "Minimum sample of the fast line: a 10-second period with fewer payments "
               "to a colour is not judged (INSUFFICIENT_DATA, the shift holds); default 10 (docs/rehearsal.md, low "
               "traffic, gives the trade-off).", params.NUMBER, Default=10, MinValue=1)
    params.add(t, "MinRunningTasks", "Alarm when a colour's ECS service runs fewer tasks than this (default 2: one "
               "per AZ).", params.NUMBER, Default=2, MinValue=1)


def _ecs_dims(colour):
    return dimensions(ClusterName=Ref("ClusterName"), ServiceName=Ref(f"{cap(colour)}ServiceName"))


def _per_edge(prefix, colour, metric_name, stat):
    """One hidden query per ALB of a colour's target-group metric: ``<prefix>blue``, ``<prefix>green``."""
    return [
        metric_query(f"{prefix}{edge}", ALB, metric_name, dimensions(
            LoadBalancer=Ref(f"{cap(edge)}LoadBalancerFullName"),
            TargetGroup=Ref(f"{target_group(edge, colour)}FullName")), stat)
        for edge in EDGES
    ]


def across_edges(function, prefix):
    """``SUM([errblue, errgreen])``: an array function works per minute over the series that have a
    datapoint, so a minute in which one edge served nothing (its record at weight 0) still counts."""
    return f"{function}([" + ", ".join(f"{prefix}{edge}" for edge in EDGES) + "])"


def _alarm(t, logical, kind, colour, description, evaluation=GATE_EVALUATION, **props):
    return t.add_resource(Alarm(
        logical,
        AlarmName=name("alarm", colour, kind),
        AlarmDescription=description,
        # Members of a composite carry no actions: the composite notifies (see module docstring).
        **evaluation,
        TreatMissingData=MISSING_DATA[kind],
        Tags=tags(),
        **props,
    ))


def _alb_alarm(t, colour, logical, kind, threshold, description, metrics):
    """Above ``threshold`` (a parameter) through both ALBs: ``metrics`` end in the one judged."""
    return _alarm(t, f"{cap(colour)}{logical}Alarm", kind, colour, f"{colour}: {description}",
                  ComparisonOperator="GreaterThanThreshold", Threshold=Ref(threshold), Metrics=metrics)


def _colour_alarms(t, colour):
    return [
        _alb_alarm(t, colour, "Http5xxRate", "5xx", "Http5xxRateThresholdPercent",
                   "target 5xx responses above Http5xxRateThresholdPercent % of requests (both ALBs)", [
                       *_per_edge("err", colour, "HTTPCode_Target_5XX_Count", "Sum"),
                       *_per_edge("req", colour, "RequestCount", "Sum"),
                       expression("errors", across_edges("SUM", "err"), returned=False),
                       expression("requests", across_edges("SUM", "req"), returned=False),
                       # The ALB publishes no 5XX datapoint in a minute without errors: FILL makes that 0 %.
                       expression("rate", "100 * FILL(errors, 0) / requests", f"{colour} target 5xx rate (%), both ALBs"),
                   ]),
        _alb_alarm(t, colour, "P99Latency", "p99", "P99LatencyThresholdSeconds",
                   "p99 target response time above P99LatencyThresholdSeconds (the worse of the two ALBs)", [
                       *_per_edge("p99", colour, "TargetResponseTime", "p99"),
                       expression("worst", across_edges("MAX", "p99"), f"{colour} p99 (s), worse ALB"),
                   ]),
        _alb_alarm(t, colour, "UnhealthyHosts", "unhealthy-hosts", "UnhealthyHostThreshold",
                   "unhealthy targets above UnhealthyHostThreshold (the worse of the two ALBs)", [
                       *_per_edge("unhealthy", colour, "UnHealthyHostCount", "Maximum"),
                       expression("worst", across_edges("MAX", "unhealthy"), f"{colour} unhealthy targets, worse ALB"),
                   ]),
        _alarm(t, f"{cap(colour)}RunningTasksAlarm", "running-tasks", colour,
               f"{colour}: ECS running tasks below MinRunningTasks",
               Namespace="ECS/ContainerInsights", MetricName="RunningTaskCount", Dimensions=_ecs_dims(colour),
               Statistic="Minimum", Period=PERIOD, ComparisonOperator="LessThanThreshold",
               Threshold=Ref("MinRunningTasks")),
    ]


def _payments(query_id, metric, stat, colour):
    return metric_query(query_id, payments_namespace(), metric, dimensions(**{emf.COLOUR: colour}), stat, FAST_PERIOD)


def _guarded(value):
    """``value`` only in a period with at least MinPaymentsPerPeriod payments; else no datapoint."""
    return Sub(f"IF(attempted >= ${{MinPaymentsPerPeriod}}, {value})")


def _fast_alarms(t, colour):
    """The fast line (module docstring): the service's own per-second payment metrics, 10 s periods."""
    c = cap(colour)
    other = next(x for x in COLOURS if x != colour)
    attempted = _payments("attempted", emf.ATTEMPTED, "Sum", colour)
    return [
        _alarm(t, f"{c}PaymentsFailedAlarm", "payments-failed", colour,
               f"{colour}: more than PaymentFailureThresholdPercent % of payments failed (5xx answered by the service, "
               "any cause) in 2 of 3 10-second periods. Catches error bursts, a 2 % error rate, one task of N "
               "failing; seen 20-30 s after it starts (plus log delivery, ~5 s). Fewer than MinPaymentsPerPeriod "
               "payments in a period: no datapoint, INSUFFICIENT_DATA when no period has enough, and the shift "
               "holds (this alarm is a gate of its own)",
               evaluation=FAST_EVALUATION, ComparisonOperator="GreaterThanThreshold",
               Threshold=Ref("PaymentFailureThresholdPercent"), Metrics=[
                   attempted, _payments("failed", emf.FAILED, "Sum", colour),
                   expression("rate", _guarded("100 * failed / attempted"), f"{colour} payments failed (%)"),
               ]),
        _alarm(t, f"{c}PaymentsLatencyAlarm", "payments-latency", colour,
               f"{colour}: p90 payment latency (as the service measures it) more than "
               f"PaymentLatencyRegressionMilliseconds above {other}'s in 2 of 3 10-second periods. Catches added "
               "latency, a slow database, while both colours serve; seen 20-30 s after it starts (plus log "
               "delivery, ~5 s); both colours need the minimum sample",
               evaluation=FAST_EVALUATION, ComparisonOperator="GreaterThanThreshold",
               Threshold=Ref("PaymentLatencyRegressionMilliseconds"), Metrics=[
                   attempted, _payments("others", emf.ATTEMPTED, "Sum", other),
                   _payments("latency", emf.LATENCY, "p90", colour), _payments("baseline", emf.LATENCY, "p90", other),
                   expression("regression", Sub("IF(attempted >= ${MinPaymentsPerPeriod}, "
                                                "IF(others >= ${MinPaymentsPerPeriod}, latency - baseline))"),
                              f"{colour} p90 payment latency minus {other}'s (ms)"),
               ]),
        _alarm(t, f"{c}SilentAlarm", "silent", colour,
               f"{colour}: no payment metrics from any task in a 10-second period (each live task publishes every "
               "second, zeros included). Catches every task of the colour dead or hung; seen 10-20 s after (plus "
               "log delivery, ~5 s). A stall of log delivery longer than a period also fires it: a rollback, the "
               "safe direction",
               evaluation=SILENT_EVALUATION, Namespace=payments_namespace(), MetricName=emf.ATTEMPTED,
               Dimensions=dimensions(**{emf.COLOUR: colour}), Statistic="SampleCount", Period=FAST_PERIOD,
               ComparisonOperator="LessThanThreshold", Threshold=1),
    ]


def _dashboard_body():
    region = "${AWS::Region}"

    def lb(edge):
        return "${%sLoadBalancerFullName}" % cap(edge)

    def tg_metric(edge, colour, metric, **opts):
        return [ALB, metric, "LoadBalancer", lb(edge), "TargetGroup", "${%sFullName}" % target_group(edge, colour), opts]

    def graph(title, metrics, x, y, w=12, **extra):
        return {"type": "metric", "x": x, "y": y, "width": w, "height": 6,
                "properties": {"title": title, "region": region, "view": "timeSeries", "period": PERIOD,
                               "metrics": metrics, **extra}}

    def alarm_graph(title, alarm_var, x, y):
        # An alarm widget graphs exactly the metric the alarm watches, whatever its dimensions.
        return {"type": "metric", "x": x, "y": y, "width": 6, "height": 6,
                "properties": {"title": title, "region": region, "view": "timeSeries",
                               "annotations": {"alarms": [alarm_var]}}}

    def hidden(edge, colour, metric, query_id):
        return tg_metric(edge, colour, metric, id=query_id, stat="Sum", visible=False)

    # Edge share: what the Route 53 weights decide (which ALB clients reach).
    edges = [[ALB, "RequestCount", "LoadBalancer", lb(e), {"stat": "Sum", "label": f"{e} ALB"}] for e in EDGES]
    # Target share: what the listener weights decide (which colour's tasks serve), through both ALBs.
    targets, rates = [], []
    for colour in COLOURS:
        targets += [[{"expression": across_edges("SUM", f"r{colour}"), "label": f"{colour} tasks", "id": f"t{colour}"}],
                    *(hidden(e, colour, "RequestCount", f"r{colour}{e}") for e in EDGES)]
        rates += [[{"expression": f"100 * FILL({across_edges('SUM', f'e{colour}')}, 0) / "
                                 f"{across_edges('SUM', f'n{colour}')}",
                    "label": f"{colour} 5xx %", "id": f"rate{colour}"}],
                  *(hidden(e, colour, "HTTPCode_Target_5XX_Count", f"e{colour}{e}") for e in EDGES),
                  *(hidden(e, colour, "RequestCount", f"n{colour}{e}") for e in EDGES)]
    widgets = [
        {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 3,
         "properties": {"title": "Gate and health alarms",
                        "alarms": ["${GreenHealthAlarm.Arn}", "${DataHealthAlarm.Arn}", "${BlueHealthAlarm.Arn}"]}},
        graph("Edge share: requests per ALB (Route 53 weights)", edges, 0, 3, stacked=True),
        graph("Target share: requests per colour, both ALBs (listener weights)", targets, 12, 3, stacked=True),
        graph("Target 5xx rate (%), both ALBs", rates, 0, 9,
              yAxis={"left": {"min": 0}},
              annotations={"horizontal": [{"label": "threshold", "value": NUMBER % "Http5xxRateThresholdPercent"}]}),
        graph("Target response time p99 (s) per colour and ALB",
              [tg_metric(e, c, "TargetResponseTime", stat="p99", label=f"{c} via {e} ALB")
               for c in COLOURS for e in EDGES], 12, 9),
        graph("ECS running tasks",
              [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", "${ClusterName}",
                "ServiceName", "${%sServiceName}" % cap(c), {"stat": "Minimum", "label": c}]
               for c in COLOURS], 0, 15),
        alarm_graph("DMS CDC latency: source", "${CdcSourceAlarmArn}", 0, 21),
        alarm_graph("DMS CDC latency: target", "${CdcTargetAlarmArn}", 6, 21),
        alarm_graph("Aurora replica lag: blue", "${BlueLagAlarmArn}", 12, 21),
        alarm_graph("Aurora replica lag: green", "${GreenLagAlarmArn}", 18, 21),
    ]
    text = json.dumps({"widgets": widgets}, sort_keys=True)
    # Numbers from parameters go in unquoted: the dashboard schema wants a number there.
    return re.sub(r'"@@(\w+)@@"', r"${\1}", text)


def _alarm_arn(alarm_name):
    return Sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${N}", N=alarm_name)


def _topic(t):
    return encrypted_topic(
        t, "NotifyTopic", "notify", Sub("Payments blue-green ${Environment}-${EnvironmentSuffix}"),
        # Alarm actions and EventBridge rules of this account only (confused deputy).
        allow("AlarmsAndEventsOfThisAccountPublish", "sns:Publish", Ref("NotifyTopic"),
              principal={"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}, condition=this_account()),
        deny("DenyPublishWithoutTls", "sns:Publish", Ref("NotifyTopic"),
             condition={"Bool": {"aws:SecureTransport": "false"}}),
    )


def _composite(t, logical, qualifier, description, rule, notify, **subs):
    """A composite of member alarms: the one alarm that notifies, and what the shifter gates on."""
    return t.add_resource(CompositeAlarm(
        logical,
        AlarmName=name("alarm", qualifier, "health"),
        AlarmDescription=description,
        AlarmRule=Sub(rule, **subs),
        ActionsEnabled=True,
        AlarmActions=notify,
        OKActions=notify,
        Tags=tags(),
    ))


def build():
    t = new_template("CloudWatch alarms, composite health gates, notification topic and dashboard of the "
                     "blue-green payment platform.")
    _parameters(t)
    notify = [Ref(_topic(t))]
    composites = {
        colour: _composite(
            t, f"{cap(colour)}HealthAlarm", colour,
            f"{colour} colour unhealthy: any of its alarms. Fast line (10 s periods on the service's own payment "
            "metrics): payments failed, payment latency, silent; within 10-30 s. Slow line (per minute, ALB and ECS): "
            "target 5xx rate, target p99, unhealthy hosts, running tasks; within 2-3 minutes",
            " OR ".join(f'ALARM("${{{a.title}}}")' for a in _colour_alarms(t, colour) + _fast_alarms(t, colour)),
            notify)
        for colour in COLOURS
    }
    # The four alarms belong to the dms and database stacks; a name that does not exist fails
    # the composite's creation, so a renamed alarm cannot silently drop out of the gate.
    data_names = {
        "CdcSource": Select(0, Ref("CdcLatencyAlarmNames")),
        "CdcTarget": Select(1, Ref("CdcLatencyAlarmNames")),
        "BlueLag": Select(0, Ref("ReplicaLagAlarmNames")),
        "GreenLag": Select(1, Ref("ReplicaLagAlarmNames")),
    }
    data = _composite(
        t, "DataHealthAlarm", "data",
        "Replication unhealthy: DMS CDC latency (source or target) or Aurora replica lag (blue or green)",
        " OR ".join(f'ALARM("${{{k}}}")' for k in data_names), notify, **data_names)

    dashboard = t.add_resource(Dashboard(
        "Dashboard",
        DashboardName=name("dashboard", "bluegreen"),
        Tags=tags(),
        DashboardBody=Sub(_dashboard_body(), **{f"{k}AlarmArn": _alarm_arn(v) for k, v in data_names.items()}),
    ))

    export(t, "GreenHealthAlarmName", Ref(composites["green"]), "Composite alarm of green's health (a shift gate).")
    export(t, "GreenPaymentsAlarmName", Ref(t.resources["GreenPaymentsFailedAlarm"]),
           "Green's payments-failed alarm (a shift gate of its own: its INSUFFICIENT_DATA, too few payments, holds).")
    export(t, "BlueHealthAlarmName", Ref(composites["blue"]), "Composite alarm of blue's health.")
    export(t, "DataHealthAlarmName", Ref(data), "Composite alarm of replication health (a shift gate).")
    export(t, "DashboardName", Ref(dashboard), "CloudWatch dashboard of the blue/green split and health.")
    export(t, "NotifyTopicArn", notify[0], "KMS-encrypted SNS topic for alarms and traffic-shift notifications.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
