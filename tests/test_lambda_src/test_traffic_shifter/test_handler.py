"""The Lambda entry point: schedule, alarm events, operator commands, failures, metrics, rollback time."""

from __future__ import annotations

import json
import time

import pytest

from traffic_shifter import ConfigError, Shifter, handler

from .world import HEALTH_GATE, REPLICATION_GATE, lambda_context, shifter_clients

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def alarm_event(name: str, value: str = "ALARM", reason: str = "Threshold Crossed: 1 datapoint [9.0] > 5.0") -> dict:
    return {
        "version": "0",
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {
            "alarmName": name,
            "state": {"value": value, "reason": reason, "timestamp": "2099-01-01T00:00:00.000+0000"},
            "previousState": {"value": "OK"},
        },
    }


@pytest.fixture
def warm(lambda_env, running, monkeypatch):
    """A warm Lambda whose shifter has a running shift (green 10) and the test's clock."""
    monkeypatch.setattr(handler, "_shifter", Shifter.from_env(lambda_env, clients=shifter_clients(), clock=running.clock, metrics=handler.metrics))
    return handler._shifter


def emf_metrics(out: str) -> dict:
    """Metric values from the EMF blobs Powertools printed."""
    values = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = blob[metric["Name"]]
                values[metric["Name"]] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return values


def test_lambda_handler__scheduled_tick_bake_done__advances_and_emits_metrics(world, warm, clock, capsys):
    clock.advance(300)

    result = handler.lambda_handler(SCHEDULED, lambda_context())

    assert (result["ok"], result["trigger"], result["decision"]["action"]) == (True, "Scheduled Event", "advance")
    assert emf_metrics(capsys.readouterr().out) == {"GreenWeight": 25.0, "Decisions": 1.0, "DecisionAdvance": 1.0}


def test_lambda_handler__decision__logged_as_json_with_all_inputs(world, warm, caplog):
    handler.lambda_handler(SCHEDULED, lambda_context())

    [record] = [
        json.loads(handler.logger.registered_formatter.format(r)) for r in caplog.records if r.getMessage() == "decision: hold"
    ]
    assert record["decision"]["reason"] == "step 1 (green 10, bake 300 s) is baking, 300 s left"
    assert sorted(record["inputs"]) == ["gates", "green_requests", "now", "plan", "plan_hash", "problems", "state", "weights"]
    assert record["inputs"]["weights"]["alb"] == {"blue": 90, "green": 10}
    assert (record["service"], record["function_name"]) == ("traffic-shifter", "lambda-traffic-shifter-dev-d01")


def test_lambda_handler__alarm_event__rolls_back_alb_and_route53_fast(world, warm, capsys, record_property):
    world.set_gate(REPLICATION_GATE, "ALARM", "replica lag 45 s > 10 s")
    done = {}

    def mark(model, **_):
        done[model.name] = time.perf_counter()

    hooks = [
        (shifter_clients()("elbv2").meta.events, "after-call.elastic-load-balancing-v2.ModifyListener"),
        (shifter_clients()("route53").meta.events, "after-call.route-53.ChangeResourceRecordSets"),
    ]
    for events, name in hooks:
        events.register(name, mark)
    try:
        start = time.perf_counter()
        result = handler.lambda_handler(alarm_event(REPLICATION_GATE, reason="replica lag 45 s > 10 s"), lambda_context())
        end = time.perf_counter()
    finally:
        for events, name in hooks:
            events.unregister(name, mark)

    both_changed = max(done["ModifyListener"], done["ChangeResourceRecordSets"]) - start
    record_property("rollback_both_weights_seconds", round(both_changed, 4))
    record_property("rollback_handler_seconds", round(end - start, 4))
    with capsys.disabled():  # shown with -s; docs/traffic-shifting.md records it
        print(f"\nrollback: both weights changed after {both_changed * 1000:.1f} ms, handler done after {(end - start) * 1000:.1f} ms")
    assert result["decision"]["action"] == "rollback"
    assert result["trigger"] == f"alarm {REPLICATION_GATE} -> ALARM"
    assert world.weights() == {"alb": (100, 0), "route53": (100, 0), "ssm": "0"}
    assert both_changed < 1.0
    assert emf_metrics(capsys.readouterr().out)["Rollbacks"] == 1.0


def test_lambda_handler__alarm_event_ahead_of_describe__event_state_used(world, warm):
    # describe_alarms still says OK (it can lag the event); the event is newer, so it wins.
    result = handler.lambda_handler(alarm_event(HEALTH_GATE), lambda_context())

    assert result["decision"]["action"] == "rollback"
    assert world.weights()["alb"] == (100, 0)


def test_lambda_handler__operator_command__runs_it(world, warm):
    result = handler.lambda_handler({"command": "pause", "actor": "ops.bob", "reason": "peak hour"}, lambda_context())

    assert (result["ok"], result["state"]["status"], result["state"]["reason"]) == (True, "paused", "paused by ops.bob (peak hour)")


def test_lambda_handler__forbidden_command__ok_false_with_the_reason(world, warm):
    result = handler.lambda_handler({"command": "start", "actor": "ops.bob"}, lambda_context())

    assert result == {
        "ok": False,
        "command": "start",
        "error": "cannot start: status is running; start is allowed when status is idle or rolled_back "
                 "(allowed now: status, pause, promote, rollback)",
        "error_type": "CommandError",
    }
    assert world.notifications() == []


def test_lambda_handler__unexpected_failure__published_and_reraised(world, warm):
    world.client("elbv2").delete_listener(ListenerArn=world.listeners()[0][0])

    with pytest.raises(Exception, match="ListenerNotFound"):
        handler.lambda_handler(SCHEDULED, lambda_context())
    [note] = world.notifications()
    assert note["subject"] == "[payments-migration/dev-d01] traffic shifter FAILED: ListenerNotFoundException"
    assert note["event"] == SCHEDULED


def test_lambda_handler__malformed_plan_on_tick__published_and_reraised(world, warm, clock):
    world.put_plan('{"steps": [{"green_weight": 10, "bake_seconds": 60}]}')
    clock.advance(300)

    with pytest.raises(Exception, match="the last traffic step must have green_weight 100"):
        handler.lambda_handler(SCHEDULED, lambda_context())
    assert [n["error_type"] for n in world.notifications()] == ["PlanError"]
    assert world.weights()["alb"] == (90, 10)


def test_lambda_handler__cold_start__builds_the_shifter_from_its_environment(world, lambda_env):
    result = handler.lambda_handler({"command": "status"}, lambda_context())

    assert (result["ok"], result["state"]["status"], result["weights"]["ssm"]) == (True, "idle", "0")


def test_shifter_config__missing_environment__names_every_missing_variable(world, lambda_env, monkeypatch):
    monkeypatch.delenv("LISTENER_ARNS")
    monkeypatch.setenv("GATE_ALARMS", " ")

    with pytest.raises(ConfigError, match=r"missing environment variable\(s\): LISTENER_ARNS, GATE_ALARMS \(expected all of: SSM_PREFIX,"):
        handler.lambda_handler(SCHEDULED, lambda_context())
