"""The rehearsal's alarms: read from the rendered monitoring template (not restated) and evaluated as
CloudWatch evaluates them (complete aligned periods, M of N, missing data, metric math, time compression)."""

from __future__ import annotations

import json

import pytest

from bluegreen.rehearsal import alarms as al
from bluegreen.rehearsal import cloudwatch as cw
from bluegreen.rehearsal.monitor import TimeModel
from bluegreen.rehearsal.world import GATE_SOURCES

COLOURS = ("blue", "green")
NAMES = cw.local_names(COLOURS, COLOURS)
TEMPLATE = json.loads(al.MONITORING.read_text())


@pytest.fixture(scope="module")
def defs():
    return al.load(NAMES)


def test_definitions__every_alarm_of_the_template__with_its_own_settings(defs):
    alarms = {k: v["Properties"] for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(defs.alarms) == set(alarms)
    for logical, p in alarms.items():
        a = defs.alarms[logical]
        assert (a.comparison, a.evaluation_periods, a.datapoints, a.missing) == (
            p["ComparisonOperator"], p["EvaluationPeriods"], p["DatapointsToAlarm"], p["TreatMissingData"]), logical
        periods = {q["MetricStat"]["Period"] for q in p.get("Metrics", []) if "MetricStat" in q} or {p.get("Period")}
        assert a.period == max(periods), logical


def test_definitions__changed_template__changes_what_is_evaluated(tmp_path):
    """A threshold, a period and the evaluation edited in a copy of the template reach the rehearsal."""
    t = json.loads(al.MONITORING.read_text())
    t["Parameters"]["PaymentFailureThresholdPercent"]["Default"] = 7
    p = t["Resources"]["GreenPaymentsFailedAlarm"]["Properties"]
    p["DatapointsToAlarm"], p["EvaluationPeriods"] = 4, 5
    for q in p["Metrics"]:
        if "MetricStat" in q:
            q["MetricStat"]["Period"] = 30
    path = tmp_path / "monitoring.json"
    path.write_text(json.dumps(t))
    a = al.load(NAMES, path).alarms["GreenPaymentsFailedAlarm"]
    assert (a.threshold, a.datapoints, a.evaluation_periods, a.period) == (7.0, 4, 5, 30)


def test_definitions__intrinsics_resolved_to_local_names(defs):
    a = defs.alarms["GreenPaymentsFailedAlarm"]
    assert a.name == "alarm-green-payments-failed-rehearsal-local"
    assert a.metrics[0].namespace == "PaymentService/rehearsal-local"
    assert dict(a.queries)["rate"] == "IF(attempted >= 10, 100 * failed / attempted)"
    assert defs.composites["GreenHealthAlarm"].members[-3:] == (
        "GreenPaymentsFailedAlarm", "GreenPaymentsLatencyAlarm", "GreenSilentAlarm")


def test_gates__the_shifters_three_gates__named_as_the_template_names_them(defs):
    import importlib.util

    spec = importlib.util.spec_from_file_location("automation_t", al.ROOT / "templates" / "automation.py")
    automation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(automation)
    assert len(GATE_SOURCES) == len(automation.GATE_ALARMS) == 3
    names = {defs.composites[name].name if k == "composite" else defs.alarms[name].name if k == "alarm" else "data"
             for k, name in GATE_SOURCES.values()}
    assert names == {"alarm-green-health-rehearsal-local", "alarm-green-payments-failed-rehearsal-local", "data"}


@pytest.mark.parametrize(("expression", "values", "expected"), [
    ("IF(attempted >= 10, 100 * failed / attempted)", {"attempted": 50.0, "failed": 1.0}, 2.0),
    ("IF(attempted >= 10, 100 * failed / attempted)", {"attempted": 9.0, "failed": 9.0}, None),  # dropped
    ("IF(attempted >= 10, 100 * failed / attempted)", {"attempted": None, "failed": None}, None),
    ("IF(a > 1, 5, b)", {"a": 0.0, "b": 3.0}, 3.0),
    ("SUM([x, y])", {"x": None, "y": 4.0}, 4.0),
    ("MAX([x, y])", {"x": None, "y": None}, None),
    ("100 * FILL(errors, 0) / requests", {"errors": None, "requests": 20.0}, 0.0),
    ("100 * FILL(errors, 0) / requests", {"errors": None, "requests": None}, None),
    ("IF(a >= 10, IF(b >= 10, x - y))", {"a": 12.0, "b": 30.0, "x": 400.0, "y": 150.0}, 250.0),
])
def test_math_value__cloudwatch_semantics(expression, values, expected):
    assert al.math_value(expression, values) == expected


def test_math_value__unknown_function__refused_not_guessed():
    with pytest.raises(ValueError, match="not modelled"):
        al.math_value("ANOMALY_DETECTION_BAND(m1)", {"m1": 1.0})


def store_with(points):
    store = cw.MetricStore()
    for namespace, name, dims, at, value in points:
        store.put(namespace, name, dims, at, value)
    return store


NS = "PaymentService/rehearsal-local"
GREEN = [("Colour", "green")]


def payments(store_points, start, end, per_period, failed, period=1.0):
    t = start
    while t < end:
        store_points += [(NS, "PaymentsAttempted", GREEN, t + 0.5, float(per_period)),
                         (NS, "PaymentsFailed", GREEN, t + 0.5, float(failed))]
        t += period
    return store_points


def test_evaluate__failed_payments__two_complete_periods_needed_never_the_one_in_progress(defs):
    a = defs.alarms["GreenPaymentsFailedAlarm"]  # 10 s periods, 2 of 3, compressed 10x: 1 s periods
    points = payments([], 0, 10, 50, 0) + payments([], 10, 12, 50, 5) + [(NS, "PaymentsAttempted", GREEN, 12.2, 50.0),
                                                                          (NS, "PaymentsFailed", GREEN, 12.2, 50.0)]
    store = store_with(points)
    kw = {"scale": 10, "delay": 0.0, "since": 0.0}
    assert al.evaluate(a, store, 11.9, **kw).state == al.OK        # one complete bad period
    assert al.evaluate(a, store, 12.0, **kw).state == al.ALARM     # two
    # The period in progress ([12, 13), every payment failed so far) is never judged.
    assert al.evaluate(a, store, 12.9, **kw).values == (10.0, 10.0, 0.0)
    # The delay before a period is judged holds the second bad period back by 0.5 s (5 AWS seconds).
    assert al.evaluate(a, store, 12.4, scale=10, delay=5.0, since=0.0).state == al.OK
    assert al.evaluate(a, store, 12.5, scale=10, delay=5.0, since=0.0).state == al.ALARM


def test_evaluate__below_minimum_sample__insufficient_data_never_ok_or_alarm(defs):
    a = defs.alarms["GreenPaymentsFailedAlarm"]
    store = store_with(payments([], 0, 10, 3, 3))  # every payment failed, but only 3 a period
    assert al.evaluate(a, store, 9.0, scale=10, delay=0.0, since=0.0).state == al.INSUFFICIENT


def test_evaluate__silent_colour__one_empty_period_alarms_and_before_creation_nothing_counts(defs):
    a = defs.alarms["GreenSilentAlarm"]  # SampleCount < 1, breaching when missing, 1 of 1
    store = store_with(payments([], 0, 5, 20, 0))
    assert al.evaluate(a, store, 5.5, scale=10, delay=0.0, since=0.0).state == al.OK
    assert al.evaluate(a, store, 6.0, scale=10, delay=0.0, since=0.0).state == al.ALARM
    assert al.evaluate(a, store, 6.0, scale=10, delay=0.0, since=5.5).state == al.INSUFFICIENT


def test_evaluate__latency_regression_against_the_other_colour(defs):
    a = defs.alarms["GreenPaymentsLatencyAlarm"]
    points = []
    for second in range(6):
        for colour, ms in (("green", 260.0), ("blue", 40.0)):
            points.append((NS, "PaymentsAttempted", [("Colour", colour)], second + 0.5, 20.0))
            points += [(NS, "PaymentLatency", [("Colour", colour)], second + 0.5, ms)] * 20
    assert al.evaluate(a, store_with(points), 6.0, scale=10, delay=0.0, since=0.0).state == al.ALARM
    # Both colours slow alike (the machine, a shared database): no regression.
    same = [(ns, n, d, t, 260.0 if n == "PaymentLatency" else v) for ns, n, d, t, v in points]
    assert al.evaluate(a, store_with(same), 6.0, scale=10, delay=0.0, since=0.0).state == al.OK


def test_evaluate__target_5xx_only__the_load_balancers_own_503s_are_not_seen(defs):
    a = defs.alarms["GreenHttp5xxRateAlarm"]  # 60 s periods: 6 s at scale 10
    store = cw.MetricStore()
    for i in range(600):  # every green request refused by the proxy (dead targets): the ALB's own 503
        cw.put_request(store, "green", i / 50, 503, 0.0, "SC")
    assert al.evaluate(a, store, 12.0, scale=10, delay=0.0, since=0.0).state == al.OK
    for i in range(600):
        cw.put_request(store, "green", 12 + i / 50, 500, 0.01, "--")  # the target answered 500
    assert al.evaluate(a, store, 24.0, scale=10, delay=0.0, since=0.0).state == al.ALARM


def test_put_emf__every_value_of_every_dimension_set_at_the_documents_time():
    store = cw.MetricStore()
    doc = {"_aws": {"Timestamp": 5000, "CloudWatchMetrics": [{"Namespace": NS, "Dimensions": [["Colour"]],
                                                              "Metrics": [{"Name": "PaymentLatency", "Unit": "Milliseconds",
                                                                           "StorageResolution": 1}]}]},
           "Colour": "green", "PaymentLatency": [3.0, 4.0]}
    assert cw.put_emf(store, doc) == 2
    ref = al.MetricRef(NS, "PaymentLatency", (("Colour", "green"),), "p99", 10)
    assert store.values(ref, 5.0, 5.001) == [3.0, 4.0] and store.values(ref, 4.0, 5.0) == []


def test_time_model__one_factor_for_every_period_and_delay():
    t = TimeModel(scale=10, emf_delay=5, ecs_restart=60)
    assert (t.real(10), t.real(60), t.real(t.emf_delay), t.real(t.ecs_restart)) == (1.0, 6.0, 0.5, 6.0)
    assert set(t.as_dict()) == {"scale", "emf_delay", "alb_delay", "ecs_restart"}
