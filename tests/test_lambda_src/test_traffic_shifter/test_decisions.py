"""The decisions as pure functions: no AWS, no moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from traffic_shifter import (
    CommandError,
    Decision,
    GateReading,
    ObservedWeights,
    Plan,
    PlanError,
    ShiftState,
    Step,
    WeightError,
    decide_command,
    decide_tick,
    judge_gates,
    parse_plan,
)
from traffic_shifter.gates import gate_from_alarm_event, merge_alarm_event
from traffic_shifter.model import LEASE_SECONDS, RecordWeights, iso
from traffic_shifter.shifter import standard_kinds

from .world import PLAN

NOW = 1_750_000_000.0
PLAN_OBJ = parse_plan(json.dumps(PLAN))
GATE_NAMES = ("green-health", "data-replication")


#: When the gates last changed state: long before any bake in these tests (as CloudWatch reports it).
GATES_SINCE = NOW - 86_400


def gates(*states: str, reason: str = "Threshold Crossed: 3 datapoints were greater than 5", since: float | None = GATES_SINCE) -> list[GateReading]:
    return [GateReading(name, state, reason if state != "OK" else "fine", since if state != "MISSING" else None)
            for name, state in zip(GATE_NAMES, states, strict=False)]


def weights(green: int) -> ObservedWeights:
    return ObservedWeights(100 - green, green, (RecordWeights("A", 100 - green, green),), str(green))


def tick(status="running", step=0, baked=0, gate_states=("OK", "OK"), plan=PLAN_OBJ, problems=(), green=None, **state):
    """decide_tick for a state at ``step`` whose bake began ``baked`` seconds ago."""
    s = ShiftState(status=status, step_index=step, step_started_at=NOW - baked, version=3, **state)
    return decide_tick(
        state=s, verdict=judge_gates(gates(*gate_states)), now=NOW, plan=plan, problems=problems,
        weights=weights(plan.weight_at(step) if green is None else green),
    )


def command(name, status="running", step=0, gate_states=("OK", "OK"), plan=PLAN_OBJ, problems=(), actor="ops.alice", **state):
    s = ShiftState(status=status, step_index=step, step_started_at=NOW - 10, version=3, **state)
    return decide_command(
        name, state=s, verdict=judge_gates(gates(*gate_states)), now=NOW, plan=plan, problems=problems, actor=actor
    )


# -- ticks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("step", "baked", "expected"), [
    (0, 300, Decision(action="advance", reason="bake done, every gate OK; advancing to step 2 (green 25, bake 300 s)",
                      new_status="running", new_step_index=1, apply_step=1, green_weight=25)),
    (3, 0, Decision(action="complete", new_status="completed", new_step_index=3,
                    reason="step 4 (green 100, bake 0 s) baked with every gate OK; migration complete at green 100")),
], ids=["advance-to-next-step", "last-step-complete"])
def test_decide_tick__bake_done_gates_ok__next_step_or_complete_at_the_last(step, baked, expected):
    assert tick(step=step, baked=baked) == expected


def test_decide_tick__started_no_step_yet__advance_to_first_step():
    decision = tick(step=-1, baked=0)

    assert (decision.action, decision.apply_step, decision.green_weight) == ("advance", 0, 10)


def test_decide_tick__bake_not_done__hold_with_time_left():
    assert tick(step=1, baked=299) == Decision("hold", "step 2 (green 25, bake 300 s) is baking, 1 s left")


@pytest.mark.parametrize(
    ("gate_states", "reason"),
    [
        (("INSUFFICIENT_DATA", "OK"), "gate green-health is INSUFFICIENT_DATA"),
        (("OK", "MISSING"), "gate data-replication is MISSING"),
        (("INSUFFICIENT_DATA", "MISSING"), "gate green-health is INSUFFICIENT_DATA; "
                                            "gate data-replication is MISSING"),
        ((), "no gate alarms configured (GATE_ALARMS is empty); never advancing without gates"),
    ],
)
def test_decide_tick__data_missing__hold_never_advance(gate_states, reason):
    assert tick(step=0, baked=900, gate_states=gate_states) == Decision("hold", reason)


def test_decide_tick__before_first_step_too_few_samples__advances_but_missing_gate_holds():
    """Green at 0 serves nothing: the minimum-sample guard cannot hold the first step; a MISSING gate can."""
    assert tick(step=-1, baked=0, gate_states=("INSUFFICIENT_DATA", "OK")).action == "advance"
    assert tick(step=-1, baked=0, gate_states=("INSUFFICIENT_DATA", "MISSING")) == Decision(
        "hold", "gate green-health is INSUFFICIENT_DATA; gate data-replication is MISSING")
    assert tick(step=-1, baked=0, gate_states=("ALARM", "OK")).action == "rollback"


def test_decide_tick__bake_not_done_and_data_missing__hold_says_both():
    assert tick(step=0, baked=100, gate_states=("INSUFFICIENT_DATA", "OK")).reason == (
        "step 1 (green 10, bake 300 s) is baking, 200 s left; gate green-health is INSUFFICIENT_DATA"
    )


@pytest.mark.parametrize(("gate_states", "alarm"), [(("ALARM", "OK"), "green-health"), (("OK", "ALARM"), "data-replication")])
def test_decide_tick__gate_in_alarm__rollback_to_zero_naming_the_alarm(gate_states, alarm):
    cause = f"gate {alarm} is ALARM: Threshold Crossed: 3 datapoints were greater than 5 (at step 3 (green 50, bake 600 s), green 50)"
    assert tick(step=2, baked=10, gate_states=gate_states) == Decision(
        action="rollback",
        reason=f"{cause}; rolled back to green 0, waiting for an operator to resume",
        new_status="rolled_back",
        new_step_index=-1,
        green_weight=0,
        causes=(cause,),
    )


def test_decide_tick__alarm_while_paused__rollback():
    assert tick(status="paused", step=1, gate_states=("ALARM", "OK")).action == "rollback"


def test_decide_tick__alarm_with_malformed_plan__still_rollback():
    decision = decide_tick(
        state=ShiftState(status="running", step_index=1, step_started_at=NOW, version=3),
        verdict=judge_gates(gates("ALARM", "OK")), now=NOW, plan=None, problems=(PlanError("plan: not valid JSON"),),
    )

    assert (decision.action, decision.green_weight, decision.new_status) == ("rollback", 0, "rolled_back")


@pytest.mark.parametrize("problem", [PlanError("plan: 'steps' must be a non-empty list"), WeightError("green-weight: 'x' is not")])
def test_decide_tick__malformed_input_gates_ok__raises_the_error(problem):
    with pytest.raises(type(problem), match=str(problem)):
        tick(step=0, baked=900, problems=(problem,))


def test_decide_tick__paused_gates_ok__hold():
    assert tick(status="paused", step=1, baked=9999, reason="paused by bob").action == "hold"


@pytest.mark.parametrize("status", ["idle", "completed"])
def test_decide_tick__not_running__noop(status):
    assert tick(status=status, step=3, baked=9999) == Decision(
        "noop", f"status is {status}; ticks act only while running or paused"
    )


def test_decide_tick__rolled_back_weights_at_zero__noop():
    assert tick(status="rolled_back", step=-1, green=0).action == "noop"


def test_decide_tick__rolled_back_but_green_not_zero__reconcile_to_zero():
    # Behaviour changed (issue 14): a reconcile claims the state like any write, so it cannot race a
    # start or resume committed meanwhile (it used to write the weights without a claim).
    assert tick(status="rolled_back", step=-1, green=25) == Decision(
        action="reconcile",
        reason=(
            "status is rolled_back but ALB blue/green 75/25, expected 100/0; Route 53 A blue/green 75/25, expected 100/0; "
            "SSM green-weight '25', expected '0'; putting green back to 0"
        ),
        new_status="rolled_back",
        new_step_index=-1,
        green_weight=0,
    )


def test_decide_tick__weights_differ_from_step__hold_reports_drift():
    decision = tick(step=1, baked=10, green=10)

    assert decision.drift == (
        "ALB blue/green 90/10, expected 75/25",
        "Route 53 A blue/green 90/10, expected 75/25",
        "SSM green-weight '10', expected '25'",
    )


def test_decide_tick__another_run_holds_the_lease__hold():
    pending = {"action": "advance", "by": "ops.bob", "at": iso(NOW - 5)}

    assert tick(step=0, baked=900, pending=pending) == Decision(
        "hold", f"another run (ops.bob) is applying advance since {iso(NOW - 5)}"
    )


def test_decide_tick__lease_expired__acts():
    pending = {"action": "advance", "by": "ops.bob", "at": iso(NOW - LEASE_SECONDS)}

    assert tick(step=0, baked=900, pending=pending).action == "advance"


def test_decide_tick__state_beyond_plan__plan_error():
    short = parse_plan('{"steps": [{"green_weight": 100, "bake_seconds": 0}]}')

    with pytest.raises(PlanError, match=r"the state is at step 3 but the plan has 1 steps"):
        tick(step=2, baked=900, plan=short, green=0)


# -- alarm events ---------------------------------------------------------------------------------
def alarm_event(name: str, value: str, timestamp: str = "2025-06-15T15:10:00.000+0000") -> dict:
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": name, "state": {"value": value, "reason": "p99 over 2 s", "timestamp": timestamp}},
    }


def test_gate_from_alarm_event__alarm_event__reading():
    assert gate_from_alarm_event(alarm_event("green-health", "ALARM")) == GateReading(
        "green-health", "ALARM", "p99 over 2 s", datetime(2025, 6, 15, 15, 10, tzinfo=UTC).timestamp()
    )


def test_gate_from_alarm_event__scheduled_event__none():
    assert gate_from_alarm_event({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}) is None


def test_merge_alarm_event__event_newer__event_state_wins():
    read = [GateReading("green-health", "OK", "fine", updated_at=0.0), GateReading("data-replication", "OK", "fine", 0.0)]

    merged = merge_alarm_event(read, gate_from_alarm_event(alarm_event("green-health", "ALARM")))

    assert [(g.name, g.state, g.reason) for g in merged] == [
        ("green-health", "ALARM", "p99 over 2 s"),
        ("data-replication", "OK", "fine"),
    ]


def test_merge_alarm_event__event_older__describe_wins():
    read = [GateReading("green-health", "OK", "recovered", updated_at=NOW)]

    merged = merge_alarm_event(read, gate_from_alarm_event(alarm_event("green-health", "ALARM", "2020-01-01T00:00:00.000+0000")))

    assert [(g.state, g.reason) for g in merged] == [("OK", "recovered")]


def test_merge_alarm_event__not_a_gate__ignored():
    read = [GateReading("green-health", "OK", "fine", updated_at=0.0)]

    assert merge_alarm_event(read, gate_from_alarm_event(alarm_event("some-other-alarm", "ALARM"))) == read


# -- operator commands ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("start", "running", "cannot start: status is running; start is allowed when status is idle or rolled_back "
                             r"\(allowed now: status, pause, promote, rollback\)"),
        ("start", "paused", "cannot start: status is paused; start is allowed when status is idle or rolled_back"),
        ("start", "completed", r"cannot start: status is completed; .* \(allowed now: status, rollback\)"),
        ("pause", "idle", "cannot pause: status is idle; pause is allowed when status is running "
                          r"\(allowed now: status, start, rollback\)"),
        ("pause", "paused", "cannot pause: status is paused; pause is allowed when status is running"),
        ("resume", "running", "cannot resume: status is running; resume is allowed when status is paused or rolled_back"),
        ("resume", "idle", "cannot resume: status is idle; resume is allowed when status is paused or rolled_back"),
        ("resume", "completed", "cannot resume: status is completed"),
        ("promote", "idle", "cannot promote: status is idle; promote is allowed when status is running or paused"),
        ("promote", "rolled_back", "cannot promote: status is rolled_back"),
        ("promote", "completed", "cannot promote: status is completed"),
        ("launch", "idle", "unknown command 'launch'; commands: status, start, pause, resume, promote, rollback"),
    ],
)
def test_decide_command__forbidden_in_status__error_names_status_and_allowed(name, status, message):
    with pytest.raises(CommandError, match=message):
        command(name, status=status)


def test_decide_command__no_actor__refused():
    with pytest.raises(CommandError, match="pause needs an actor"):
        command("pause", actor=" ")


def test_decide_command__start_from_idle__running_before_first_step_then_tick():
    assert command("start", status="idle", step=-1) == Decision(
        action="start",
        reason="start by ops.alice: running the plan from its first step",
        new_status="running",
        new_step_index=-1,
        restart_bake=True,
        then_tick=True,
        plan_hash=PLAN_OBJ.fingerprint,  # the shift is bound to the plan it starts on
    )


def test_decide_command__start_gate_in_alarm__refused():
    with pytest.raises(CommandError, match="cannot start: gate data-replication is ALARM"):
        command("start", status="idle", step=-1, gate_states=("OK", "ALARM"))


def test_decide_command__start_malformed_plan__plan_error():
    with pytest.raises(PlanError, match="not valid JSON"):
        command("start", status="idle", step=-1, plan=None, problems=(PlanError("plan: not valid JSON"),))


def test_decide_command__resume_after_rollback__from_the_first_step():
    decision = command("resume", status="rolled_back", step=-1)

    assert (decision.new_status, decision.new_step_index, decision.then_tick) == ("running", -1, True)


def test_decide_command__resume_after_pause__same_step_bake_restarts():
    decision = command("resume", status="paused", step=2)

    assert (decision.new_status, decision.new_step_index, decision.restart_bake, decision.apply_step) == ("running", 2, True, None)


def test_decide_command__pause__paused_weights_untouched():
    assert command("pause", step=1) == Decision(
        "pause", "paused by ops.alice", new_status="paused", new_step_index=1
    )


def test_decide_command__promote_gates_ok__jump_to_100():
    assert command("promote", step=0) == Decision(
        action="promote",
        reason="promoted by ops.alice: jumping to step 4 (green 100, bake 0 s)",
        new_status="running",
        new_step_index=3,
        apply_step=3,
        green_weight=100,
    )


@pytest.mark.parametrize(
    ("gate_states", "message"),
    [
        (("INSUFFICIENT_DATA", "OK"), "cannot promote: every gate must be OK; gate green-health is INSUFFICIENT_DATA"),
        (("OK", "ALARM"), "cannot promote: gate data-replication is ALARM"),
    ],
)
def test_decide_command__promote_gates_not_ok__refused(gate_states, message):
    with pytest.raises(CommandError, match=message):
        command("promote", step=0, gate_states=gate_states)


def test_decide_command__promote_already_at_100__refused():
    with pytest.raises(CommandError, match=r"cannot promote: already at step 4 \(green 100, bake 0 s\) \(green 100\)"):
        command("promote", step=3)


@pytest.mark.parametrize("status", ["idle", "running", "paused", "rolled_back", "completed"])
def test_decide_command__rollback_from_any_status__rolled_back_at_zero(status):
    decision = command("rollback", status=status, step=-1 if status in ("idle", "rolled_back") else 3)

    assert (decision.action, decision.new_status, decision.new_step_index, decision.green_weight) == ("rollback", "rolled_back", -1, 0)
    assert decision.reason.startswith("manual rollback by ops.alice")


def test_decide_command__another_run_holds_the_lease__refused_but_rollback_allowed():
    pending = {"action": "advance", "by": "traffic-shifter", "at": iso(NOW - 1)}

    with pytest.raises(CommandError, match=r"cannot pause now: another run \(traffic-shifter\) is applying advance"):
        command("pause", pending=pending)
    assert command("rollback", pending=pending).action == "rollback"


# -- issue 14: the rules under faults, as pure functions ----------------------------------------------
def test_decide_tick__claim_with_its_own_lease__held_until_it_ends():
    # A db_switchover step claims for its whole run (budget + undo), longer than LEASE_SECONDS.
    pending = {"action": "advance", "by": "traffic-shifter", "at": iso(NOW - 200), "lease_until": iso(NOW + 100)}

    assert tick(step=0, baked=900, pending=pending).action == "hold"
    assert decide_tick(
        state=ShiftState(status="running", step_index=0, step_started_at=NOW - 900, version=3, pending=pending),
        verdict=judge_gates(gates("OK", "OK")), now=NOW + 100, plan=PLAN_OBJ, weights=weights(10),
    ).action == "advance"


@pytest.mark.parametrize("action", ["rollback", "reconcile"])
def test_decide_tick__rollback_claimed_never_committed__finished_whatever_the_gates_and_the_lease(action):
    pending = {"action": action, "by": "ops.carol", "at": iso(NOW - 1)}

    decision = tick(step=2, baked=900, pending=pending, green=25)

    assert (decision.action, decision.new_status, decision.green_weight) == ("rollback", "rolled_back", 0)
    assert decision.reason.startswith(f"finishing the {action} begun by ops.carol at {iso(NOW - 1)}")


def test_decide_tick__alarm_while_a_rollback_is_applied__joins_it_with_every_cause():
    # One rollback, one page: the alarm's run finishes the claimed rollback carrying the claim's causes and its own.
    pending = {"action": "rollback", "by": "ops.carol", "at": iso(NOW - 1), "causes": ["manual rollback by ops.carol"]}

    decision = tick(step=2, baked=900, pending=pending, gate_states=("ALARM", "OK"), green=25)

    assert decision.causes[0] == "manual rollback by ops.carol" and decision.causes[1].startswith("gate green-health is ALARM")
    assert len(decision.causes) == 2


def test_decide_command__rollback_while_one_is_applied__carries_its_causes():
    pending = {"action": "rollback", "by": "traffic-shifter", "at": iso(NOW - 1), "causes": ["gate green-health is ALARM"]}

    decision = command("rollback", pending=pending, actor="ops.dan")

    assert decision.causes[0] == "gate green-health is ALARM" and decision.causes[1].startswith("manual rollback by ops.dan")


def test_decide_tick__claim_of_an_advance__its_causes_not_carried():
    pending = {"action": "advance", "by": "ops.bob", "at": iso(NOW - 900), "causes": ["not a rollback's"]}

    decision = tick(step=2, baked=900, pending=pending, gate_states=("ALARM", "OK"))

    assert decision.action == "rollback" and len(decision.causes) == 1 and "green-health" in decision.causes[0]


def test_decide_tick__gate_changed_after_the_bake_began__restart_from_that_moment():
    read = [GateReading("green-health", "OK", "fine", NOW - 30.5), GateReading("data-replication", "OK", "fine", GATES_SINCE)]
    s = ShiftState(status="running", step_index=1, step_started_at=NOW - 900, version=3, green_weight=25)

    decision = decide_tick(state=s, verdict=judge_gates(read), now=NOW, plan=PLAN_OBJ, weights=weights(25))

    assert (decision.action, decision.new_step_index, decision.restart_bake, decision.bake_from) == ("restart", 1, True, NOW - 30)
    assert decision.reason.startswith(f"gate green-health changed state at {iso(NOW - 30.5)} (now OK), after the bake")


def test_decide_tick__gate_without_timestamp_not_ok__restart_from_this_tick():
    read = [GateReading("green-health", "INSUFFICIENT_DATA", "stand-in", None), GateReading("data-replication", "OK", "fine", None)]
    s = ShiftState(status="running", step_index=0, step_started_at=NOW - 900, version=3)

    decision = decide_tick(state=s, verdict=judge_gates(read), now=NOW, plan=PLAN_OBJ, weights=weights(10))

    assert (decision.action, decision.bake_from) == ("restart", NOW)
    assert "carries no state timestamp (seen by this tick)" in decision.reason


def test_merge_alarm_event__missing_gate__stays_missing_whatever_the_event():
    read = [GateReading("green-health", "MISSING", "alarm not found in CloudWatch")]

    assert merge_alarm_event(read, gate_from_alarm_event(alarm_event("green-health", "OK"))) == read


def test_decide_tick__plan_edited__hold_and_say_so():
    edited = parse_plan('{"steps": [{"green_weight": 25, "bake_seconds": 0}, {"green_weight": 100, "bake_seconds": 0}]}')

    decision = tick(step=1, baked=900, plan=edited, green=25, plan_hash=PLAN_OBJ.fingerprint, green_weight=25)

    assert decision.action == "hold"
    assert decision.reason.startswith(f"the plan was edited after this shift started (the shift runs plan {PLAN_OBJ.fingerprint}, "
                                      f"the parameter now holds {edited.fingerprint}); holding at step 2, green 25")


def test_plan_fingerprint__formatting_and_description_do_not_count_a_bake_does():
    same = parse_plan(json.dumps({"description": "other words", **PLAN}, indent=2))
    longer = parse_plan(json.dumps({"steps": [{**PLAN["steps"][0], "bake_seconds": 301}, *PLAN["steps"][1:]]}))

    assert same.fingerprint == PLAN_OBJ.fingerprint != longer.fingerprint


def test_decide_command__resume_on_an_edited_plan__re_mapped_to_the_step_at_the_current_weight():
    edited = parse_plan('{"steps": [{"green_weight": 5, "bake_seconds": 60}, {"green_weight": 25, "bake_seconds": 120}, '
                        '{"green_weight": 100, "bake_seconds": 0}]}')

    decision = command("resume", status="paused", step=1, plan=edited, plan_hash=PLAN_OBJ.fingerprint, green_weight=25)

    assert (decision.new_step_index, decision.restart_bake, decision.plan_hash) == (1, True, edited.fingerprint)


def test_decide_command__resume_on_an_edited_plan__never_past_a_step_of_another_kind():
    edited = Plan(steps=(Step(0, "db_switchover", 0, None, {"kind": "db_switchover", "to": "green"}),
                         Step(1, "traffic", 60, 25), Step(2, "traffic", 0, 100)))

    with pytest.raises(CommandError, match=r"would pass step 1 \(db_switchover, bake 0 s\) without running it"):
        command("resume", status="paused", step=1, plan=edited, plan_hash=PLAN_OBJ.fingerprint, green_weight=25)


@pytest.mark.parametrize(("requests", "action"), [(None, "hold"), (0, "hold"), (99, "hold"), (100, "advance")])
def test_decide_tick__low_traffic_guard(requests, action):
    s = ShiftState(status="running", step_index=0, step_started_at=NOW - 300, version=3, green_weight=10)

    decision = decide_tick(state=s, verdict=judge_gates(gates("OK", "OK")), now=NOW, plan=PLAN_OBJ, weights=weights(10),
                           requests=requests, min_requests=100)

    assert decision.action == action
    if action == "hold":
        assert decision.reason.endswith("holding (neither advancing nor rolling back)")


def test_decide_tick__low_traffic_guard_off__no_count_needed():
    assert tick(step=0, baked=300).action == "advance"


def test_decide_tick__state_records_its_weight__drift_is_judged_against_it_not_the_plan():
    decision = tick(step=1, baked=10, green=10, green_weight=25)

    assert decision.action == "converge" and decision.green_weight == 25


def _switchover_plan(**db_step):
    return parse_plan(json.dumps({"steps": [{"green_weight": 10, "bake_seconds": 60}, {"green_weight": 100, "bake_seconds": 60},
                                            {"kind": "db_switchover", "to": "green", "bake_seconds": 600, **db_step}]}),
                      kinds=standard_kinds())


def test_decide_tick__alarm_within_the_switchover_grace__holds_and_says_why():
    # Found by the rehearsal: the switchover's write pause stalls both colours and trips green's p99 alarm.
    decision = tick(step=2, baked=30, gate_states=("ALARM", "OK"), plan=_switchover_plan(grace_seconds=120), green=100)
    assert decision.action == "hold" and "within the 120 s grace of step 3 (db_switchover" in decision.reason
    assert decision.new_status is None and decision.green_weight is None  # nothing is written


def test_decide_tick__alarm_after_the_grace__rolls_back():
    assert tick(step=2, baked=121, gate_states=("ALARM", "OK"), plan=_switchover_plan(grace_seconds=120), green=100).action == "rollback"


def test_decide_tick__alarm_at_a_switchover_step_without_grace_or_a_traffic_step__rolls_back():
    assert tick(step=2, baked=5, gate_states=("ALARM", "OK"), plan=_switchover_plan(), green=100).action == "rollback"
    assert tick(step=1, baked=5, gate_states=("ALARM", "OK"), plan=_switchover_plan(grace_seconds=120), green=100).action == "rollback"


@pytest.mark.parametrize("grace", [-1, 3601, 1.5, "60", True])
def test_plan__switchover_grace_not_whole_seconds_in_range__refused(grace):
    with pytest.raises(PlanError, match="grace_seconds must be a whole number"):
        _switchover_plan(grace_seconds=grace)


@pytest.mark.parametrize("changed_after, restarts", [(0.5, False), (1.0, True), (4.2, True)])
def test_decide_tick__gate_changed_in_the_bake_start_second__not_counted_later_ones_restart(changed_after, restarts):
    # The state keeps whole seconds: a change in the start's own second may be before the start (the demo's
    # flake: a start restarting its own bake); one a second or more later is during the bake.
    start = NOW - 10
    s = ShiftState(status="running", step_index=0, step_started_at=start, version=3)
    decision = decide_tick(state=s, verdict=judge_gates(gates("OK", "OK", since=start + changed_after)), now=NOW,
                           plan=PLAN_OBJ, weights=weights(PLAN_OBJ.weight_at(0)))
    assert (decision.action == "restart") is restarts, decision


def test_decide_tick__alarm_while_the_switchover_step_is_being_applied__held_by_its_grace():
    # Found by the fault matrix (worker-killed): the state still names the step before (the advance is claimed,
    # not committed) while the switchover runs, or after its Lambda died inside it; the pause's alarm must be
    # judged with the grace of the step being applied, from the claim, not roll back a live switchover.
    from traffic_shifter.model import iso

    claim = {"action": "advance", "apply_step": 2, "at": iso(NOW - 30), "lease_until": iso(NOW + 60), "by": "tick", "run": "r"}
    held = tick(step=1, baked=200, gate_states=("ALARM", "OK"), plan=_switchover_plan(grace_seconds=120), green=100,
                pending=claim)
    assert held.action == "hold" and "within the 120 s grace of step 3 (db_switchover" in held.reason
    late = {**claim, "at": iso(NOW - 121)}
    assert tick(step=1, baked=200, gate_states=("ALARM", "OK"), plan=_switchover_plan(grace_seconds=120), green=100,
                pending=late).action == "rollback"
    # A traffic step being applied has no grace.
    traffic = {**claim, "apply_step": 1}
    assert tick(step=0, baked=200, gate_states=("ALARM", "OK"), plan=_switchover_plan(grace_seconds=120), green=10,
                pending=traffic).action == "rollback"
