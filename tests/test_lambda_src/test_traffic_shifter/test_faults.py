"""The shifter under faults and races (issue 14): each property, driven against the moto world.

Faults are injected at the boto3 level of the shifters' clients (a ``before-call`` hook raising the
error AWS would send); races by running a second shifter between one run's read and its write.
Nothing in the shifter's own code is replaced.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from traffic_shifter import ApplyFailed, CommandError, ConcurrentUpdateError, Shifter, ShiftState
from traffic_shifter.aws import GreenRequests
from traffic_shifter.decisions import LEASE_SECONDS
from traffic_shifter.model import iso

from .world import ERRORS_GATE, GATES, HEALTH_GATE, PLAN, PREFIX, REPLICATION_GATE, shifter_clients

SERVICE_IDS = {"elbv2": "elastic-load-balancing-v2", "route53": "route-53"}


def at(green: int) -> dict:
    return {"alb": (100 - green, green), "route53": (100 - green, green), "ssm": str(green)}


@pytest.fixture
def fail(world):
    """fail(service, operation, times=1): the shifters' next ``times`` calls of it raise the AWS error."""
    installed = []

    def install(service: str, operation: str, times: int = 1, code: str = "ServiceUnavailable") -> list[int]:
        left = [times]

        def handler(**_):
            if left[0] > 0:
                left[0] -= 1
                raise ClientError({"Error": {"Code": code, "Message": "injected by the test"}}, operation)

        events = shifter_clients()(service).meta.events
        name = f"before-call.{SERVICE_IDS.get(service, service)}.{operation}"
        events.register(name, handler)
        installed.append((events, name, handler))
        return left

    yield install
    for events, name, handler in installed:  # the clients outlive the test
        events.unregister(name, handler)


def other_shifter(world, clock) -> Shifter:
    """A second run (another Lambda invocation, or the CLI) on the same deployment."""
    return Shifter.from_env(world.env, clients=shifter_clients(), clock=clock)


def state(world) -> dict:
    return world.state_item()


def tick_between_read_and_claim(monkeypatch, world, running, clock, *, alarm: str | None = None) -> list[str]:
    """Another run ticks once between ``running``'s read and its claim (after ``alarm`` went to ALARM, if
    given); the returned list receives that tick's action."""
    other = other_shifter(world, clock)
    real_observe = running.observe
    raced: list[str] = []

    def observe_then_race(*args, **kwargs):
        obs = real_observe(*args, **kwargs)
        if not raced:
            if alarm:
                world.set_gate(alarm, "ALARM", "5xx")
            raced.append(other.tick()["decision"]["action"])
        return obs

    monkeypatch.setattr(running, "observe", observe_then_race)
    return raced


def held(shifter) -> tuple[str, dict]:
    """One tick that must hold: its reason, and the status read right after it."""
    result = shifter.tick()
    assert result["decision"]["action"] == "hold"
    return result["decision"]["reason"], shifter.status()


def at_step(shifter, clock, step: int) -> None:
    for _ in range(step):
        clock.advance(PLAN["steps"][shifter.store.load().step_index]["bake_seconds"])
        assert shifter.tick()["decision"]["action"] == "advance"


# == after any run settles, ALB and Route 53 agree and the state tells the truth ====================
@pytest.mark.parametrize(("service", "operation"), [("route53", "ChangeResourceRecordSets"), ("elbv2", "ModifyListener"),
                                                    ("ssm", "PutParameter")])
def test_advance_half_applied__same_run_puts_every_side_back_and_releases_its_claim(world, running, clock, fail, service, operation):
    clock.advance(300)
    fail(service, operation)

    with pytest.raises(ApplyFailed, match=r"advance to green 25 failed .*every side put back to green 10.*the bake restarts"):
        running.tick()

    assert world.weights() == at(10)  # every listener, the records and SSM agree again
    item = state(world)
    assert "pending" not in item and (item["step_index"], item["green_weight"], item["last_action"]) == ("0", "10", "converge")
    # The next run needs no lease to pass: it sees a bake that restarted, not "another run is applying".
    assert running.tick()["decision"]["reason"] == "step 1 (green 10, bake 300 s) is baking, 300 s left"
    clock.advance(300)
    assert running.tick()["decision"]["action"] == "advance"
    assert world.weights() == at(25)


def test_killed_mid_apply__next_run_converges_once_the_claim_lapses(world, running, clock):
    # A run killed after one listener (a Lambda timeout): its claim and a split are left behind.
    current = running.store.load()
    running.store.write(current, ShiftState(**{**current.__dict__, "pending": {"action": "advance", "by": "killed run",
                                                                              "at": iso(clock())}}))
    world.set_listener(0, 25)

    assert running.tick()["decision"]["action"] == "hold"  # it may still be alive: its claim is respected
    clock.advance(LEASE_SECONDS)
    result = running.tick()

    assert result["decision"]["action"] == "converge"
    assert world.weights() == at(10)


def test_green_weight_parameter_deleted__running__recreated_from_the_state_never_read_as_0_or_100(world, running, clock):
    world.client("ssm").delete_parameter(Name=f"{PREFIX}/traffic/green-weight")
    clock.advance(300)

    status = running.status()
    result = running.tick()

    assert any("green-weight: parameter not found" in p for p in status["problems"])
    assert result["decision"]["action"] == "converge"  # not an advance on a guessed weight
    assert "SSM green-weight parameter not found (deleted?), expected '10'" in result["decision"]["reason"]
    assert world.weights() == at(10)


def test_green_weight_parameter_deleted__rolled_back__recreated_as_0(world, running, clock):
    running.run("rollback", actor="ops.carol")
    world.client("ssm").delete_parameter(Name=f"{PREFIX}/traffic/green-weight")

    assert running.tick()["decision"]["action"] == "reconcile"
    assert world.weights() == at(0)


def test_green_weight_parameter_deleted__completed__reported_by_tick_and_status(world, running, clock):
    at_step(running, clock, 3)
    running.tick()
    world.client("ssm").delete_parameter(Name=f"{PREFIX}/traffic/green-weight")

    result = running.tick()

    assert result["decision"]["action"] == "noop"
    assert running.status()["problems"][0].endswith("green-weight: parameter not found (deleted?); the next tick of a running "
                                                    "shift recreates it from the state, a rollback writes it")


# == a rollback, once begun, is finished by whichever run comes next =================================
def test_rollback_interrupted_then_gate_ok__next_tick_finishes_it_never_advances(world, running, clock, fail):
    at_step(running, clock, 1)
    world.set_gate(HEALTH_GATE, "ALARM", "5xx")
    fail("route53", "ChangeResourceRecordSets", times=2)  # the rollback and its retry in the same run

    with pytest.raises(ApplyFailed, match="rollback did not finish .*the next run .* finishes the rollback first"):
        running.tick()
    assert state(world)["status"] == "running" and json.loads(state(world)["pending"])["action"] == "rollback"
    world.set_gate(HEALTH_GATE, "OK", "recovered")  # the alarm flapped back
    clock.advance(3600)

    result = running.tick()

    assert result["decision"]["action"] == "rollback"
    assert result["decision"]["reason"].startswith("finishing the rollback begun by traffic-shifter (tick)")
    assert world.weights() == at(0)
    assert (state(world)["status"], state(world)["green_weight"]) == ("rolled_back", "0")
    clock.advance(3600)
    assert running.tick()["decision"]["action"] == "noop"  # and it stays there
    assert world.weights() == at(0)


def test_rollback_claimed_by_a_live_run__next_run_finishes_it_without_waiting_for_the_lease(world, running, clock):
    current = running.store.load()
    running.store.write(current, ShiftState(**{**current.__dict__, "pending": {"action": "rollback", "by": "ops.carol (cli)",
                                                                              "at": iso(clock())}}))
    world.set_listener(0, 0)  # its first write landed

    result = running.tick()

    assert result["decision"]["action"] == "rollback"
    assert world.weights() == at(0)


@pytest.mark.parametrize("command", ["pause", "resume", "start", "promote"])
def test_unfinished_rollback__any_operator_command_finishes_it_first_and_says_so(world, running, clock, command):
    current = running.store.load()
    running.store.write(current, ShiftState(**{**current.__dict__, "pending": {"action": "rollback", "by": "traffic-shifter",
                                                                              "at": iso(clock() - 600)}}))

    with pytest.raises(CommandError, match=rf"cannot {command}: finishing the rollback begun by traffic-shifter .*"
                                           rf"{command} was not carried out \(status is now rolled_back\)"):
        running.run(command, actor="ops.bob")
    assert world.weights() == at(0)
    assert state(world)["status"] == "rolled_back"


def test_operator_rollback_claim_races_a_tick__read_again_and_applied_not_refused(world, running, clock, monkeypatch):
    clock.advance(300)
    raced = tick_between_read_and_claim(monkeypatch, world, running, clock)  # the tick advances
    result = running.run("rollback", actor="ops.carol", reason="declines")

    assert raced == ["advance"]
    assert result["decision"]["action"] == "rollback"
    assert world.weights() == at(0)
    assert state(world)["status"] == "rolled_back"


def test_operator_rollback_commit_loses_to_an_alarm_rollback__reported_done_because_it_took_effect(world, running, clock, monkeypatch):
    other = other_shifter(world, clock)
    real_set = running.traffic.set_green_weight

    def set_then_race(green, observed):
        changes = real_set(green, observed)
        world.set_gate(ERRORS_GATE, "ALARM", "5xx")
        assert other.tick()["decision"]["action"] == "rollback"  # finishes our claimed rollback and commits first
        return changes

    monkeypatch.setattr(running.traffic, "set_green_weight", set_then_race)
    result = running.run("rollback", actor="ops.carol")

    assert result["ok"] is True and result["decision"]["action"] == "rollback"
    assert result["state"]["status"] == "rolled_back"
    assert "another run committed first" in result["notes"][0]
    assert world.weights() == at(0)


def test_rollback_notification_fails__still_reported_done(world, running, clock, fail):
    fail("sns", "Publish", code="KMSAccessDeniedException")

    result = running.run("rollback", actor="ops.carol")

    assert result["ok"] is True
    assert result["notes"] == ["notification not sent: ClientError: An error occurred (KMSAccessDeniedException) when calling "
                               "the Publish operation: injected by the test"]
    assert world.weights() == at(0) and state(world)["status"] == "rolled_back"


def _idle(world, shifter, clock):
    pass


def _running(world, shifter, clock):
    shifter.run("start", actor="ops.alice")


def _paused(world, shifter, clock):
    _running(world, shifter, clock)
    shifter.run("pause", actor="ops.alice")


def _rolled_back(world, shifter, clock):
    _running(world, shifter, clock)
    shifter.run("rollback", actor="ops.alice")


def _completed(world, shifter, clock):
    _running(world, shifter, clock)
    shifter.run("promote", actor="ops.alice")
    shifter.tick()


def _malformed_plan(world, shifter, clock):
    _running(world, shifter, clock)
    world.put_plan("{broken")


def _weight_deleted(world, shifter, clock):
    _running(world, shifter, clock)
    world.client("ssm").delete_parameter(Name=f"{PREFIX}/traffic/green-weight")


def _weight_malformed(world, shifter, clock):
    _running(world, shifter, clock)
    world.client("ssm").put_parameter(Name=f"{PREFIX}/traffic/green-weight", Value="ten", Type="String", Overwrite=True)


def _another_run_busy(world, shifter, clock):
    _running(world, shifter, clock)
    current = shifter.store.load()
    shifter.store.write(current, ShiftState(**{**current.__dict__, "pending": {"action": "advance", "by": "slow run", "at": iso(clock())}}))


def _plan_edited(world, shifter, clock):
    _running(world, shifter, clock)
    world.put_plan({"steps": [{"green_weight": 50, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]})


SITUATIONS = [_idle, _running, _paused, _rolled_back, _completed, _malformed_plan, _weight_deleted, _weight_malformed,
              _another_run_busy, _plan_edited]


@pytest.mark.parametrize("situation", SITUATIONS, ids=[s.__name__.strip("_") for s in SITUATIONS])
def test_rollback__from_every_status_and_fault__green_0_everywhere(world, shifter, clock, situation):
    situation(world, shifter, clock)

    result = shifter.run("rollback", actor="ops.carol", reason="drill")

    assert result["ok"] is True
    assert world.weights() == at(0)
    assert (state(world)["status"], state(world)["step_index"], state(world)["green_weight"]) == ("rolled_back", "-1", "0")


def test_rollback__gates_unreadable__still_rolls_back_and_no_advance_without_gates(world, running, clock, fail):
    fail("cloudwatch", "DescribeAlarms", times=2)
    clock.advance(300)

    hold = running.tick()
    result = running.run("rollback", actor="ops.carol")

    assert hold["decision"]["action"] == "hold" and "is UNREADABLE" in hold["decision"]["reason"]
    assert result["ok"] is True and world.weights() == at(0)


# == green gains weight only when every gate was OK for the whole bake ==============================
def test_gate_flapped_between_two_ticks__bake_restarts_not_advance(world, running, clock):
    clock.advance(100)
    world.set_gate(REPLICATION_GATE, "ALARM", "lag 40 s")  # no tick sees it: the event was lost
    clock.advance(20)
    world.set_gate(REPLICATION_GATE, "OK", "lag 1 s")
    clock.advance(180)  # the step's 300 s are over

    result = running.tick()

    assert result["decision"]["action"] == "restart"
    assert f"gate {REPLICATION_GATE} changed state at {iso(clock() - 180)} (now OK)" in result["decision"]["reason"]
    assert world.weights() == at(10)
    clock.advance(119)  # 299 s after the gate was OK again
    assert running.tick()["decision"]["reason"].endswith("is baking, 1 s left")
    clock.advance(1)
    assert running.tick()["decision"]["action"] == "advance"


def test_alarm_event_lost_to_a_newer_ok_read__bake_restarts(world, running, clock):
    clock.advance(200)
    alarm_at = clock()
    clock.advance(5)
    world.set_gate(HEALTH_GATE, "OK", "recovered")  # describe_alarms now says OK, newer than the event
    clock.advance(95)
    event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
             "detail": {"alarmName": HEALTH_GATE, "state": {"value": "ALARM", "reason": "5xx",
                                                            "timestamp": datetime.fromtimestamp(alarm_at, tz=UTC).isoformat()}}}

    result = running.tick(event)

    assert result["decision"]["action"] == "restart"
    assert world.weights() == at(10)


def test_gate_insufficient_data_during_the_bake__bake_counts_from_when_it_was_ok_again(world, running, clock):
    clock.advance(100)
    world.set_gate(ERRORS_GATE, "INSUFFICIENT_DATA", "no datapoints")
    assert running.tick()["decision"]["action"] == "restart"
    clock.advance(60)
    assert running.tick()["decision"]["reason"].endswith(f"gate {ERRORS_GATE} is INSUFFICIENT_DATA")
    world.set_gate(ERRORS_GATE, "OK", "datapoints again")
    clock.advance(240)  # 400 s after the step began, 240 s after the gate is OK again

    assert running.tick()["decision"]["action"] == "restart"
    clock.advance(300)
    assert running.tick()["decision"]["action"] == "advance"


def test_missing_gate__an_ok_event_for_it__never_ok(world, running, clock):
    world.client("cloudwatch").delete_alarms(AlarmNames=[REPLICATION_GATE])
    clock.advance(3600)
    event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
             "detail": {"alarmName": REPLICATION_GATE, "state": {"value": "OK", "reason": "forged",
                                                                 "timestamp": datetime.fromtimestamp(clock(), tz=UTC).isoformat()}}}

    result = running.tick(event)

    assert result["decision"]["action"] == "hold"
    assert result["decision"]["reason"] == f"gate {REPLICATION_GATE} is MISSING"
    assert world.weights() == at(10)


def test_event_without_a_timestamp__taken_as_of_its_arrival__bake_restarts(world, running, clock):
    clock.advance(300)
    event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
             "detail": {"alarmName": HEALTH_GATE, "state": {"value": "OK", "reason": "back"}}}

    assert running.tick(event)["decision"]["action"] == "restart"
    assert world.weights() == at(10)


@pytest.mark.parametrize("gate", GATES)
def test_start_onto_a_gate_in_alarm__refused_nothing_written(world, shifter, clock, gate):
    world.set_gate(gate, "ALARM", "5xx")
    world.calls.clear()

    with pytest.raises(CommandError, match=f"cannot start: gate {gate} is ALARM"):
        shifter.run("start", actor="ops.alice")
    assert world.writes() == [] and world.weights() == at(0)


# == the plan is bound to the shift =================================================================
def test_plan_edited_mid_shift__holds_and_says_why_never_skips_a_bake(world, running, clock):
    at_step(running, clock, 1)  # green 25, its 300 s bake just began
    world.put_plan({"steps": [{"green_weight": 10, "bake_seconds": 0}, {"green_weight": 25, "bake_seconds": 0},
                              {"green_weight": 50, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]})
    clock.advance(60)

    reason, status = held(running)

    assert reason.startswith("the plan was edited after this shift started")
    assert "holding at step 2, green 25: put the plan back, or pause and resume" in reason
    assert any(p.startswith("the plan was edited") for p in status["problems"])
    assert world.weights() == at(25)


def test_plan_edited_to_end_at_the_current_step__never_completed_at_25(world, running, clock):
    at_step(running, clock, 1)
    world.put_plan({"steps": [{"green_weight": 10, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]})
    clock.advance(3600)

    assert running.tick()["decision"]["action"] == "hold"
    assert state(world)["status"] == "running" and world.weights() == at(25)


def test_plan_put_back__the_shift_goes_on(world, running, clock):
    world.put_plan({"steps": [{"green_weight": 100, "bake_seconds": 0}]})
    clock.advance(300)
    assert running.tick()["decision"]["action"] == "hold"
    world.put_plan(json.dumps(PLAN, indent=4))  # the same plan, formatted differently

    assert running.tick()["decision"]["action"] == "advance"
    assert world.weights() == at(25)


def test_plan_edited__pause_and_resume__re_mapped_by_weight_and_its_bake_restarts(world, running, clock):
    at_step(running, clock, 1)  # green 25
    world.put_plan({"steps": [{"green_weight": 25, "bake_seconds": 120}, {"green_weight": 60, "bake_seconds": 120},
                              {"green_weight": 100, "bake_seconds": 0}]})
    running.run("pause", actor="ops.bob")

    result = running.run("resume", actor="ops.bob", reason="new plan CHG-88")

    assert "re-mapped by weight to step 1 (green 25, bake 120 s)" in result["decision"]["reason"]
    assert result["tick"]["decision"]["reason"] == "step 1 (green 25, bake 120 s) is baking, 120 s left"
    clock.advance(120)
    assert running.tick()["decision"]["green_weight"] == 60
    assert world.weights() == at(60)


def test_plan_edited_without_the_current_weight__resume_refused_nothing_written(world, running, clock):
    at_step(running, clock, 1)  # green 25
    world.put_plan({"steps": [{"green_weight": 50, "bake_seconds": 60}, {"green_weight": 100, "bake_seconds": 0}]})
    running.run("pause", actor="ops.bob")
    world.calls.clear()

    with pytest.raises(CommandError, match="cannot resume on the edited plan: it has no step at green 25"):
        running.run("resume", actor="ops.bob")
    assert world.writes() == [] and world.weights() == at(25)


def test_plan_edited__promote_refused(world, running, clock):
    world.put_plan({"steps": [{"green_weight": 100, "bake_seconds": 0}]})

    with pytest.raises(CommandError, match="cannot promote: the plan was edited after this shift started"):
        running.run("promote", actor="ops.dave")
    assert world.weights() == at(10)


def test_plan_edited__rollback_and_start__runs_the_new_plan(world, running, clock):
    world.put_plan({"steps": [{"green_weight": 50, "bake_seconds": 60}, {"green_weight": 100, "bake_seconds": 0}]})
    running.run("rollback", actor="ops.bob")

    running.run("start", actor="ops.bob")

    assert world.weights() == at(50)
    clock.advance(60)
    assert running.tick()["decision"]["green_weight"] == 100


# == two runs at once apply one action =============================================================
def test_operator_pause_loses_to_an_alarm_rollback__says_exactly_what_the_world_is(world, running, clock, monkeypatch):
    raced = tick_between_read_and_claim(monkeypatch, world, running, clock, alarm=HEALTH_GATE)  # it rolls back
    with pytest.raises(CommandError) as refused:
        running.run("pause", actor="ops.bob")

    message = str(refused.value)
    assert message.startswith("cannot pause: status is rolled_back")
    assert "another run changed the shift while this command ran" in message
    assert "now: status rolled_back at step - " in message and "green 0 on every listener, record and SSM" in message
    assert raced == ["rollback"] and world.weights() == at(0)


def test_promote_races_an_alarm_rollback__traffic_not_left_on_green(world, running, clock, monkeypatch):
    other = other_shifter(world, clock)
    real_set = running.traffic.set_green_weight
    order = []

    def rollback_lands_first(green, observed):
        if green == 100 and not order:
            world.set_gate(ERRORS_GATE, "ALARM", "5xx")
            order.append(other.tick()["decision"]["action"])  # the alarm's rollback claims over promote's claim
        return real_set(green, observed)                      # ... and promote's writes land after it

    monkeypatch.setattr(running.traffic, "set_green_weight", rollback_lands_first)
    with pytest.raises(CommandError) as refused:
        running.run("promote", actor="ops.dave")

    assert order == ["rollback"]
    assert world.weights() == at(0)  # the losing run put its own writes back where the rollback wants them
    assert state(world)["status"] == "rolled_back"
    assert "cannot promote: status is rolled_back" in str(refused.value)
    assert "promote lost a race" in str(refused.value) and "this run put the weights back to green 0" in str(refused.value)


def test_two_ticks_from_one_read__one_action_applied(world, running, clock):
    clock.advance(300)
    a, b = running, other_shifter(world, clock)
    obs_a, obs_b = a.observe(), b.observe()
    from traffic_shifter import decide_tick

    decisions = [decide_tick(state=o.state, verdict=o.verdict, now=o.now, plan=o.plan, weights=o.weights) for o in (obs_a, obs_b)]
    a.execute(obs_a, decisions[0], actor="run a", trigger="test")
    with pytest.raises(ConcurrentUpdateError):
        b.execute(obs_b, decisions[1], actor="run b", trigger="test")

    assert world.weights() == at(25)
    assert state(world)["updated_by"] == "run a" and state(world)["version"] == str(obs_a.state.version + 2)


# == the low-traffic guard ===========================================================================
@pytest.fixture
def guarded(world, clock):
    world.env["LOW_TRAFFIC_MIN_REQUESTS"] = "100"
    shifter = Shifter.from_env(world.env, clients=shifter_clients(), clock=clock)
    shifter.run("start", actor="ops.alice")
    return shifter


def serve_green(world, clock, requests: float, at_time: float) -> None:
    """RequestCount datapoints on every green target group, as the ALBs publish them."""
    for arn, _, green_tg in world.listeners():
        dims = GreenRequests.dimensions(arn, green_tg)
        world.client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[{
            "MetricName": "RequestCount", "Dimensions": dims, "Value": requests / 2,
            "Timestamp": datetime.fromtimestamp(at_time, tz=UTC)}])


def test_low_traffic__bake_done_too_few_requests__holds_and_status_says_so(world, guarded, clock):
    serve_green(world, clock, 30, clock() + 90)
    clock.advance(300)

    reason, status = held(guarded)

    assert reason.startswith("low traffic: green served 30 request(s) in the bake window")
    assert "fewer than LOW_TRAFFIC_MIN_REQUESTS 100" in reason
    assert status["low_traffic"]["holding"] is True and status["low_traffic"]["green_requests"] == 30
    assert world.weights() == at(10) and state(world)["status"] == "running"  # neither promoted nor rolled back


def test_low_traffic__enough_requests__advances(world, guarded, clock):
    serve_green(world, clock, 60, clock() + 90)
    serve_green(world, clock, 60, clock() + 150)
    clock.advance(300)

    assert guarded.tick()["decision"]["action"] == "advance"
    assert world.weights() == at(25)


def test_low_traffic__requests_before_the_bake_do_not_count(world, guarded, clock):
    serve_green(world, clock, 500, clock() - 120)
    clock.advance(300)

    assert guarded.tick()["decision"]["reason"].startswith("low traffic: green served 0 request(s)")


def test_low_traffic__an_alarm_still_rolls_back(world, guarded, clock):
    clock.advance(300)
    world.set_gate(HEALTH_GATE, "ALARM", "5xx")

    assert guarded.tick()["decision"]["action"] == "rollback"
    assert world.weights() == at(0)


def test_low_traffic__request_count_unreadable__holds(world, guarded, clock, fail):
    clock.advance(300)
    fail("cloudwatch", "GetMetricData")

    assert "could not be read" in guarded.tick()["decision"]["reason"]
    assert world.weights() == at(10)


def test_low_traffic__setting_not_a_number__config_error(world):
    from traffic_shifter import ConfigError, ShifterConfig

    with pytest.raises(ConfigError, match="LOW_TRAFFIC_MIN_REQUESTS='a lot': expected a whole number of requests >= 0"):
        ShifterConfig.from_env({**world.env, "LOW_TRAFFIC_MIN_REQUESTS": "a lot"})


def test_green_requests__dimensions_from_the_arns():
    assert GreenRequests.dimensions(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb-blue-dev-d01/50dc6c495c0c9188/f2f7dc8efc522ab2",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-bluealb-green-dev-d01/943f017f100becff",
    ) == [{"Name": "LoadBalancer", "Value": "app/alb-blue-dev-d01/50dc6c495c0c9188"},
          {"Name": "TargetGroup", "Value": "targetgroup/tg-bluealb-green-dev-d01/943f017f100becff"}]


# == one rollback, one page ===========================================================================
def rolled_back_pages(world) -> list[dict]:
    return [m for m in world.notifications() if "ROLLED BACK" in (m["subject"] or "")]


def test_alarm_while_an_operator_rollback_is_applied__one_page_with_both_causes(world, running, clock, monkeypatch):
    world.notifications()  # what the start sent
    other = other_shifter(world, clock)
    real_set = running.traffic.set_green_weight

    def set_then_alarm(green, observed):
        changes = real_set(green, observed)
        world.set_gate(ERRORS_GATE, "ALARM", "5xx")
        assert other.tick()["decision"]["action"] == "rollback"  # the alarm joins the claimed rollback, commits first
        return changes

    monkeypatch.setattr(running.traffic, "set_green_weight", set_then_alarm)
    result = running.run("rollback", actor="ops.carol", reason="declines")

    pages = rolled_back_pages(world)
    assert len(pages) == 1, [p["subject"] for p in pages]
    causes = pages[0]["causes"]
    assert len(causes) == 2 and "manual rollback by ops.carol (declines)" in causes[0] and ERRORS_GATE in causes[1]
    assert "not notified by this run" in result["notes"][-1]
    assert state(world)["status"] == "rolled_back" and world.weights() == at(0)


def test_operator_rollback_while_an_alarm_rollback_is_applied__one_page_with_both_causes(world, running, clock, monkeypatch):
    world.notifications()
    operator = other_shifter(world, clock)
    real_set = running.traffic.set_green_weight

    def set_then_operator(green, observed):
        changes = real_set(green, observed)
        if green == 0:
            assert operator.run("rollback", actor="ops.dan", reason="pager")["decision"]["action"] == "rollback"
        return changes

    monkeypatch.setattr(running.traffic, "set_green_weight", set_then_operator)
    world.set_gate(ERRORS_GATE, "ALARM", "5xx")
    running.tick()

    pages = rolled_back_pages(world)
    assert len(pages) == 1, [p["subject"] for p in pages]
    causes = pages[0]["causes"]
    assert len(causes) == 2 and ERRORS_GATE in causes[0] and "manual rollback by ops.dan (pager)" in causes[1]


def test_alarm_after_the_rollback_committed__no_second_page(world, running, clock):
    world.notifications()
    running.run("rollback", actor="ops.carol")
    world.set_gate(ERRORS_GATE, "ALARM", "5xx")
    assert other_shifter(world, clock).tick()["decision"]["action"] == "noop"
    assert len(rolled_back_pages(world)) == 1
