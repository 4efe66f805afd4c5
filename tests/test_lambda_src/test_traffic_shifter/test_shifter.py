"""The shifter against moto: real boto3 calls on an ALB, Route 53, SSM, DynamoDB, CloudWatch, SNS."""

from __future__ import annotations

import pytest

from traffic_shifter import CommandError, ConcurrentUpdateError, PlanError, Shifter, WeightError, decide_tick

from .world import ERRORS_GATE, GATES, HEALTH_GATE, PLAN, REPLICATION_GATE, shifter_clients

AT = {-1: 0, 0: 10, 1: 25, 2: 50, 3: 100}


def at(green: int) -> dict:
    """The world's weights when green is ``green`` everywhere."""
    return {"alb": (100 - green, green), "route53": (100 - green, green), "ssm": str(green)}


def assert_full_bake_then_green_25(world, shifter: Shifter, clock) -> None:
    """Step 1's bake (300 s) runs in full from now: a hold one second before its end, then the advance."""
    clock.advance(299)
    assert shifter.tick()["decision"]["action"] == "hold"
    clock.advance(1)
    assert shifter.tick()["decision"]["action"] == "advance"
    assert world.weights() == at(25)


def run_to_step(shifter: Shifter, clock, step: int) -> None:
    """From a started shift (step 0) advance with healthy gates until ``step`` is applied."""
    for _ in range(step):
        clock.advance(PLAN["steps"][shifter.store.load().step_index]["bake_seconds"])
        assert shifter.tick()["decision"]["action"] == "advance"


# -- start and the full run -----------------------------------------------------------------------
def test_shifter_start__idle_gates_ok__first_step_applied_everywhere(world, shifter):
    result = shifter.run("start", actor="ops.alice")

    assert world.weights() == at(10)
    assert (result["decision"]["action"], result["tick"]["decision"]["action"]) == ("start", "advance")
    assert {k: world.state_item()[k] for k in ("status", "step_index", "updated_by")} == {
        "status": "running", "step_index": "0", "updated_by": "traffic-shifter (after start)",
    }


def test_shifter_tick__healthy_gates_time_passing__full_run_0_10_25_50_100_completed(world, running, clock):
    history = []
    for _ in range(30):  # one tick a minute, as the schedule does
        clock.advance(60)
        action = running.tick()["decision"]["action"]
        history.append((action, world.weights()))
        if action == "complete":
            break

    assert [(action, w["ssm"]) for action, w in history if action != "hold"] == [
        ("advance", "25"), ("advance", "50"), ("advance", "100"), ("complete", "100"),
    ]
    assert [i + 1 for i, (action, _) in enumerate(history) if action != "hold"] == [5, 10, 20, 21]  # the bakes: 300, 300, 600, 0 s
    assert all(w == at(int(w["ssm"])) for _, w in history)  # ALB, Route 53 and SSM agree at every tick
    assert world.state_item()["status"] == "completed"
    assert [n["headline"] for n in world.notifications()] == [
        "traffic shift advance: green 25",
        "traffic shift advance: green 50",
        "traffic shift advance: green 100",
        "traffic shift COMPLETED (green 100)",
    ]


def test_shifter_tick__completed__noop_no_writes(world, running, clock):
    run_to_step(running, clock, 3)
    running.tick()
    world.calls.clear()

    assert running.tick()["decision"]["action"] == "noop"
    assert world.writes() == []


# -- holds and idempotency -------------------------------------------------------------------------
def test_shifter_tick__bake_not_done__hold_nothing_written(world, running, clock):
    clock.advance(299)

    result = running.tick()

    assert result["decision"]["reason"] == "step 1 (green 10, bake 300 s) is baking, 1 s left"
    assert world.writes() == []
    assert world.weights() == at(10)


def test_shifter_tick__same_tick_twice__second_sends_no_write(world, running, clock):
    clock.advance(300)
    running.tick()
    world.calls.clear()

    second = running.tick()

    assert second["decision"]["action"] == "hold"
    assert world.writes() == []
    assert world.weights() == at(25)


@pytest.mark.parametrize("gate", GATES)
def test_shifter_tick__gate_insufficient_data__hold_no_writes(world, running, clock, gate):
    world.set_gate(gate, "INSUFFICIENT_DATA", "no datapoints")
    clock.advance(3600)

    result = running.tick()

    assert result["decision"]["reason"] == f"gate {gate} is INSUFFICIENT_DATA"
    assert world.writes() == []
    assert world.weights() == at(10)


def test_shifter_tick__gate_alarm_deleted__hold_as_missing(world, running, clock):
    world.client("cloudwatch").delete_alarms(AlarmNames=[REPLICATION_GATE])
    clock.advance(3600)

    result = running.tick()

    assert result["decision"]["reason"] == f"gate {REPLICATION_GATE} is MISSING"
    assert world.writes() == []


def test_shifter_tick__listeners_ahead_of_the_state__only_they_are_put_back_and_the_bake_restarts(world, running, clock):
    # Behaviour changed (issue 14): a half-applied change is converged to the state's step before any
    # advance, and the step bakes again (it used to advance, writing only the sides not yet at 25).
    world.set_listener(0, 25)
    world.set_listener(1, 25)
    clock.advance(300)

    result = running.tick()

    assert result["decision"]["action"] == "converge"
    assert result["changes"] == [f"ALB alb-{edge}-dev-d01 blue/green 75/25 -> 90/10" for edge in ("blue", "green")]
    assert ("route53", "ChangeResourceRecordSets") not in world.calls
    assert world.weights() == at(10)
    assert_full_bake_then_green_25(world, running, clock)


def test_shifter_advance__stickiness_config__kept_on_the_listener(world, running, clock):
    clock.advance(300)
    running.tick()

    for arn, _, _ in world.listeners():
        listener = world.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"][0]
        assert listener["DefaultActions"][0]["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 300}


# -- rollbacks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("gate", GATES)
def test_shifter_tick__gate_in_alarm__alb_route53_ssm_to_zero_and_rolled_back(world, running, clock, gate):
    world.set_gate(gate, "ALARM", "Threshold Crossed: 5xx > 5 for 3 datapoints")

    result = running.tick()

    assert world.weights() == at(0)
    item = world.state_item()
    assert (item["status"], item["step_index"]) == ("rolled_back", "-1")
    assert item["reason"] == (
        f"gate {gate} is ALARM: Threshold Crossed: 5xx > 5 for 3 datapoints (at step 1 (green 10, bake 300 s), green 10); "
        "rolled back to green 0, waiting for an operator to resume"
    )
    # Both ALBs' listeners go to blue in the same run (issue 16).
    assert result["changes"] == [
        *(f"ALB alb-{edge}-dev-d01 blue/green 90/10 -> 100/0" for edge in ("blue", "green")),
        "Route 53 A blue/green 90/10 -> 100/0",
        "SSM /payments-migration/dev-d01/traffic/green-weight '10' -> '0'",
    ]
    [note] = world.notifications()
    assert (note["subject"], note["reason"]) == ("[payments-migration/dev-d01] traffic ROLLED BACK to blue (green 0)", item["reason"])


@pytest.mark.parametrize("step", [0, 1, 2, 3])
def test_shifter_tick__alarm_at_each_step__back_to_zero(world, running, clock, step):
    run_to_step(running, clock, step)
    assert world.weights() == at(AT[step])
    world.set_gate(HEALTH_GATE, "ALARM", "p99 latency > 2 s")

    assert running.tick()["decision"]["action"] == "rollback"
    assert world.weights() == at(0)
    assert world.state_item()["status"] == "rolled_back"


def test_shifter_tick__rolled_back__stays_until_an_operator_resumes(world, running, clock):
    world.set_gate(ERRORS_GATE, "ALARM", "5xx")
    running.tick()
    world.set_gate(ERRORS_GATE, "OK", "recovered")
    world.calls.clear()
    clock.advance(3600)

    assert running.tick()["decision"]["action"] == "noop"
    assert world.writes() == []
    assert world.weights() == at(0)


def test_shifter_resume__after_rollback__plan_restarts_at_first_step(world, running, clock):
    world.set_gate(HEALTH_GATE, "ALARM", "5xx")
    running.tick()
    world.set_gate(HEALTH_GATE, "OK", "recovered")

    result = running.run("resume", actor="ops.bob", reason="fixed the connection pool")

    assert result["tick"]["decision"]["action"] == "advance"
    assert world.weights() == at(10)
    assert (world.state_item()["status"], world.state_item()["step_index"]) == ("running", "0")


def test_shifter_resume__gate_still_in_alarm__refused_nothing_changed(world, running, clock):
    world.set_gate(HEALTH_GATE, "ALARM", "5xx")
    running.tick()
    world.calls.clear()

    with pytest.raises(CommandError, match=f"cannot resume: gate {HEALTH_GATE} is ALARM: 5xx"):
        running.run("resume", actor="ops.bob")
    assert world.writes() == []


def test_shifter_rollback__manual_from_completed__back_to_zero(world, running, clock):
    run_to_step(running, clock, 3)
    running.tick()

    running.run("rollback", actor="ops.carol", reason="card declines up on green")

    assert world.weights() == at(0)
    assert world.state_item()["reason"] == (
        "manual rollback by ops.carol (card declines up on green) (at step 4 (green 100, bake 0 s), green 100); "
        "rolled back to green 0, waiting for an operator to resume"
    )


def test_shifter_tick__rolled_back_but_weights_moved__put_back_to_zero(world, running, clock):
    running.run("rollback", actor="ops.carol")
    world.set_weights(25)  # e.g. a raced advance that landed after the rollback

    result = running.tick()

    assert result["decision"]["action"] == "reconcile"
    assert world.weights() == at(0)
    assert world.state_item()["status"] == "rolled_back"


# -- pause, resume, promote ------------------------------------------------------------------------
def test_shifter_pause__bake_done__holds(world, running, clock):
    running.run("pause", actor="ops.bob", reason="card network maintenance")
    clock.advance(3600)
    world.calls.clear()

    assert running.tick()["decision"]["action"] == "hold"
    assert world.writes() == []
    assert world.weights() == at(10)


def test_shifter_pause__gate_in_alarm__still_rolls_back(world, running, clock):
    running.run("pause", actor="ops.bob")
    world.set_gate(REPLICATION_GATE, "ALARM", "replica lag 30 s")

    assert running.tick()["decision"]["action"] == "rollback"
    assert world.weights() == at(0)


def test_shifter_resume__after_pause__bake_restarts(world, running, clock):
    clock.advance(250)
    running.run("pause", actor="ops.bob")
    clock.advance(100)

    running.run("resume", actor="ops.bob")
    assert_full_bake_then_green_25(world, running, clock)


def test_shifter_promote__gates_ok__100_then_completes(world, running, clock):
    result = running.run("promote", actor="ops.dave")

    assert result["changes"][:2] == [f"ALB alb-{edge}-dev-d01 blue/green 90/10 -> 0/100" for edge in ("blue", "green")]
    assert world.weights() == at(100)
    assert running.tick()["decision"]["action"] == "complete"


def test_shifter_promote__gate_insufficient_data__refused_weights_unchanged(world, running):
    world.set_gate(REPLICATION_GATE, "INSUFFICIENT_DATA", "no datapoints")

    with pytest.raises(CommandError, match=f"cannot promote: every gate must be OK; gate {REPLICATION_GATE} is INSUFFICIENT_DATA"):
        running.run("promote", actor="ops.dave")
    assert world.writes() == []
    assert world.weights() == at(10)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("pause", r"cannot pause: status is idle; pause is allowed when status is running \(allowed now: status, start, rollback\)"),
        ("resume", "cannot resume: status is idle; resume is allowed when status is paused or rolled_back"),
        ("promote", "cannot promote: status is idle; promote is allowed when status is running or paused"),
    ],
)
def test_shifter_run__command_forbidden_when_idle__clear_error_nothing_written(world, shifter, name, message):
    with pytest.raises(CommandError, match=message):
        shifter.run(name, actor="ops.alice")
    assert world.writes() == []
    assert world.state_item() == {}


def test_shifter_run__start_while_running__refused(world, running):
    with pytest.raises(CommandError, match="cannot start: status is running; start is allowed when status is idle or rolled_back"):
        running.run("start", actor="ops.alice")


# -- malformed input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ('{"steps": [{"green_weight": 50, "bake_seconds": 0}, {"green_weight": 25, "bake_seconds": 0}]}',
         "step 2 has 25 after 50 in step 1"),
        ('{"steps": [{"green_weight": 10, "bake_seconds": 60}]}', "the last traffic step must have green_weight 100, step 1 has 10"),
        ("not json", "not valid JSON"),
    ],
)
def test_shifter_tick__malformed_plan__plan_error_no_weight_changed(world, running, clock, plan, message):
    world.put_plan(plan)
    world.calls.clear()
    clock.advance(3600)

    with pytest.raises(PlanError, match=rf"^/payments-migration/dev-d01/shift/plan: .*{message}"):
        running.tick()
    assert world.writes() == []
    assert world.weights() == at(10)


def test_shifter_start__malformed_plan__plan_error_nothing_changed(world, shifter):
    world.put_plan('{"steps": []}')

    with pytest.raises(PlanError, match="'steps' must be a non-empty list"):
        shifter.run("start", actor="ops.alice")
    assert world.writes() == []
    assert world.state_item() == {}


def test_shifter_tick__malformed_plan_and_alarm__rollback_still_happens(world, running):
    world.put_plan("{broken")
    world.set_gate(HEALTH_GATE, "ALARM", "5xx")

    assert running.tick()["decision"]["action"] == "rollback"
    assert world.weights() == at(0)


def test_shifter_tick__malformed_ssm_weight__weight_error_nothing_changed(world, running, clock):
    world.client("ssm").put_parameter(Name="/payments-migration/dev-d01/traffic/green-weight", Value="ten", Type="String", Overwrite=True)
    world.calls.clear()
    clock.advance(3600)

    with pytest.raises(WeightError, match=r"/traffic/green-weight: 'ten' is not a whole number from 0 to 100"):
        running.tick()
    assert world.writes() == []
    assert (world.alb_weights(), world.route53_weights()) == ((90, 10), (90, 10))


# -- concurrency -----------------------------------------------------------------------------------
def test_shifter_execute__stale_version__refused_before_any_weight_changes(world, running, clock, shifter):
    clock.advance(300)
    other = Shifter.from_env(world.env, clients=shifter_clients(), clock=clock)
    obs = running.observe()  # this run reads version N ...
    decision = decide_tick(state=obs.state, verdict=obs.verdict, now=obs.now, plan=obs.plan, weights=obs.weights)
    other.tick()  # ... another run advances to 25 first (version N + 2)
    world.calls.clear()

    with pytest.raises(ConcurrentUpdateError, match=r"is no longer at version \d+ \(another run changed it\)"):
        running.execute(obs, decision, actor="stale run", trigger="test")
    assert world.writes() == [("dynamodb", "PutItem")]  # the refused claim, nothing else
    assert world.weights() == at(25)
    assert world.state_item()["updated_by"] == "traffic-shifter (tick)"


def test_shifter_tick__state_changed_between_read_and_claim__reads_again_and_acts_once(world, running, clock, monkeypatch):
    clock.advance(300)
    other = Shifter.from_env(world.env, clients=shifter_clients(), clock=clock)
    real_observe = running.observe
    calls = []

    def observe_then_race(*args, **kwargs):
        obs = real_observe(*args, **kwargs)
        if not calls:
            other.tick()  # the other run advances 10 -> 25 between our read and our claim
        calls.append(obs.state.version)
        return obs

    monkeypatch.setattr(running, "observe", observe_then_race)
    result = running.tick()

    assert len(calls) == 2
    assert result["decision"]["action"] == "hold"  # re-read: 25 just applied, its bake has begun
    assert world.weights() == at(25)


# -- status ----------------------------------------------------------------------------------------
def test_shifter_status__running__weights_from_alb_route53_ssm_and_gates(world, running):
    world.set_gate(REPLICATION_GATE, "INSUFFICIENT_DATA", "no datapoints")

    status = running.status()

    assert status["weights"] == {
        "alb": {"blue": 90, "green": 10},
        "listeners": [{"listener": arn, "blue": 90, "green": 10} for arn, _, _ in world.listeners()],
        "route53": [{"type": "A", "blue": 90, "green": 10}],
        "ssm": "10",
    }
    assert [(g["name"], g["state"]) for g in status["gates"]] == [
        (HEALTH_GATE, "OK"), (REPLICATION_GATE, "INSUFFICIENT_DATA"), (ERRORS_GATE, "OK"),
    ]
    assert (status["state"]["status"], status["expected_green_weight"], status["in_sync"]) == ("running", 10, True)
    assert status["next_tick"]["reason"] == f"step 1 (green 10, bake 300 s) is baking, 300 s left; gate {REPLICATION_GATE} is INSUFFICIENT_DATA"
    assert world.writes() == []


# -- two ALBs (issue 16) -----------------------------------------------------------------------------
def test_shifter_tick__one_listener_half_applied__same_run_converges_it_and_reports_it(world, running, clock):
    world.set_listener(1, 0)  # the green ALB's listener left behind (a throttled write)

    status = running.status()
    assert status["in_sync"] is False
    result = running.tick()

    assert result["decision"]["action"] == "converge"
    assert result["changes"] == ["ALB alb-green-dev-d01 blue/green 100/0 -> 90/10"]
    assert world.listener_weights() == [(90, 10), (90, 10)]
    assert world.weights() == at(10)


def test_shifter_rollback__listeners_split__every_listener_to_blue_in_one_run(world, running, clock):
    world.set_listener(0, 25)

    result = running.run("rollback", actor="ops.dave", reason="drill")

    assert world.listener_weights() == [(100, 0), (100, 0)]
    assert world.weights() == at(0)
    assert len([c for c in result["changes"] if c.startswith("ALB alb-")]) == 2


def test_shifter_config__listener_and_target_group_counts_differ__config_error_names_the_counts(world):
    from traffic_shifter import ConfigError, ShifterConfig

    env = {**world.env, "GREEN_TARGET_GROUP_ARNS": world.env["GREEN_TARGET_GROUP_ARNS"].split(",")[0]}
    with pytest.raises(ConfigError, match=r"one entry per ALB.*'green_target_group_arns': 1"):
        ShifterConfig.from_env(env)
