"""Every decision of the traffic shifter, as pure functions of what was read.

No AWS here: the shifter reads the state, plan, weights and gates, calls these functions, and
carries out the :class:`Decision` they return. The tests exercise them without moto.

States (``status`` of the plan-state item)::

    idle --start--> running --(bake done, gates OK)--> running (next step) ... --> completed
                    running --pause--> paused --resume--> running (bake of the step restarts)
    running|paused --gate in ALARM (tick) or rollback (operator)--> rolled_back (green 0)
    rolled_back --start|resume--> running from the first step
    completed|idle --rollback--> rolled_back (an operator may always send traffic back to blue)
    rolled_back --tick, weights not at 0--> rolled_back (weights put back to 0: reconcile)

Rules that hold under faults and races (docs/traffic-shifting.md, "Under faults"):

- a rollback once claimed (``pending``) is finished by whichever run comes next, lease or not;
- green gains weight only after every gate was OK for the whole bake: a gate whose state changed
  after the bake began (its own timestamp, an event, or a tick that saw it without one) restarts it;
- the shift runs the plan it was started on (``plan_hash``): an edited plan holds the shift until an
  operator resumes it on the new plan (re-mapped by weight) or puts the old one back;
- the state records the weight every side carries (``green_weight``); any side that differs is
  converged to it before anything else happens;
- below LOW_TRAFFIC_MIN_REQUESTS requests to green in the bake window, a step holds;
- a gate in INSUFFICIENT_DATA (the fast alarms' minimum sample) holds every advance but the first: before
  the first step green serves nothing, so there is nothing to judge yet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import CommandError, PlanError, ShiftError
from .gates import GateVerdict, changed_gates
from .model import (
    COMPLETED,
    IDLE,
    LEASE_SECONDS,
    PAUSED,
    ROLLED_BACK,
    RUNNING,
    STATUSES,
    Decision,
    ObservedWeights,
    ShiftState,
    from_iso,
    iso,
)
from .plan import Plan
from .steps import TRAFFIC

COMMANDS = ("status", "start", "pause", "resume", "promote", "rollback")
#: Which status each operator command is allowed from.
ALLOWED_FROM: Mapping[str, tuple[str, ...]] = {
    "status": STATUSES,
    "start": (IDLE, ROLLED_BACK),
    "pause": (RUNNING,),
    "resume": (PAUSED, ROLLED_BACK),
    "promote": (RUNNING, PAUSED),
    # The safety button is never refused: from any status, traffic goes back to blue at once.
    "rollback": STATUSES,
}


def allowed_commands(status: str) -> list[str]:
    return [c for c in COMMANDS if status in ALLOWED_FROM[c]]


def lease_until(pending: Mapping[str, Any]) -> float | None:
    """When a claim stops keeping other runs out (its own lease, else LEASE_SECONDS after it was made)."""
    own = from_iso(pending.get("lease_until"))
    if own is not None:
        return own
    started = from_iso(pending.get("at"))
    return None if started is None else started + LEASE_SECONDS


def _busy(state: ShiftState, now: float) -> str:
    """Why another run is still applying an action ("" when none is, or its lease ran out)."""
    pending = state.pending or {}
    until = lease_until(pending) if pending else None
    if until is None or now >= until:
        return ""
    return f"another run ({pending.get('by')}) is applying {pending.get('action')} since {pending.get('at')}"


def state_weight(state: ShiftState, plan: Plan | None) -> int | None:
    """The green weight the state says every side carries (None: it cannot say)."""
    if state.green_weight is not None:
        return state.green_weight
    if state.status in (IDLE, ROLLED_BACK):
        return 0
    if state.status == COMPLETED:
        return 100
    if plan is not None and state.step_index <= plan.last_index:
        return plan.weight_at(state.step_index)
    return None


def _where(state: ShiftState, plan: Plan | None) -> str:
    if state.step_index < 0:
        return "before the first step (green 0)"
    if plan is None or state.step_index > plan.last_index or (state.plan_hash and state.plan_hash != plan.fingerprint):
        weight = state_weight(state, None)
        return f"at step {state.step_index + 1}" + (f", green {weight}" if weight is not None else "")
    return f"at {plan.steps[state.step_index].describe()}, green {plan.weight_at(state.step_index)}"


def alarm_grace(state: ShiftState, plan: Plan | None, now: float) -> str:
    """Why an alarm holds instead of rolling back ("" when it does not): the current step's kind gave it
    a grace (Step.grace_seconds, e.g. a db_switchover's ``grace_seconds``: its write pause stalls both
    colours alike and shows on green's latency alarm, and a rollback would not move the writer back
    anyway) and it has not passed since the step began. Once the grace is over, an alarm rolls back.
    A step being applied (an advance claimed, not committed: its switchover runs, or its run died in it) counts
    as begun at its claim: the state still names the step before."""
    claim = state.pending or {}
    index, began = ((claim.get("apply_step"), from_iso(claim.get("at"))) if claim.get("action") == "advance"
                    else (state.step_index, state.step_started_at))
    if plan is None or began is None or not isinstance(index, int) or not 0 <= index <= plan.last_index:
        return ""
    step = plan.steps[index]
    grace = step.grace_seconds
    ends = began + grace
    if not grace or now >= ends:
        return ""
    return (f"within the {grace} s grace of {step.describe()} (until {iso(ends)}): {step.grace_why}, "
            "so the shift holds instead of rolling back")


def _rolled_back(why: str, instead_of: str = "", causes: tuple[str, ...] = ()) -> Decision:
    """The one shape of every rollback: green 0, status rolled_back, until an operator resumes."""
    return Decision(
        action="rollback",
        reason=f"{why}; rolled back to green 0, waiting for an operator to resume",
        new_status=ROLLED_BACK,
        new_step_index=-1,
        green_weight=0,
        instead_of=instead_of,
        causes=causes,
    )


def carried_causes(state: ShiftState) -> tuple[str, ...]:
    """The causes of a rollback claimed and not yet committed: the run that finishes it pages them all,
    the run that claimed it first does not page again (shifter.execute), so one rollback is one page."""
    if not state.rollback_unfinished:
        return ()
    return tuple(str(c) for c in (state.pending or {}).get("causes") or ())


def _with(causes: tuple[str, ...], cause: str) -> tuple[str, ...]:
    return causes + (cause,) if cause and cause not in causes else causes


def _rollback(state: ShiftState, plan: Plan | None, why: str) -> Decision:
    why = f"{why} ({_where(state, plan)})"
    return _rolled_back(why, causes=_with(carried_causes(state), why))


def _finish_rollback(state: ShiftState, plan: Plan | None, instead_of: str = "", cause: str = "") -> Decision:
    pending = state.pending or {}
    why = (f"finishing the {pending.get('action')} begun by {pending.get('by')} at {pending.get('at')}, which never "
           "recorded its end (a rollback is never left half done, and never waits for a lease)")
    causes = _with(carried_causes(state), cause) or (why,)
    return _rolled_back(why, instead_of, causes)


def _drift(expected: int | None, weights: ObservedWeights | None) -> tuple[str, ...]:
    if expected is None or weights is None:
        return ()
    return tuple(weights.differences(expected))


def plan_changed(state: ShiftState, plan: Plan) -> str:
    """Why a shift bound to another plan does not follow this one ("" when it is the shift's plan)."""
    if not state.plan_hash or state.plan_hash == plan.fingerprint:
        return ""
    weight = state_weight(state, None)
    return (
        f"the plan was edited after this shift started (the shift runs plan {state.plan_hash}, the parameter now holds "
        f"{plan.fingerprint}); holding at step {state.step_index + 1}"
        + (f", green {weight}" if weight is not None else "")
        + ": put the plan back, or pause and resume to continue on the new plan from its step at that weight, "
        "or roll back"
    )


def decide_tick(
    *,
    state: ShiftState,
    verdict: GateVerdict,
    now: float,
    plan: Plan | None,
    problems: Sequence[ShiftError] = (),
    weights: ObservedWeights | None = None,
    requests: float | None = None,
    min_requests: int = 0,
) -> Decision:
    """One scheduled or alarm-triggered tick.

    ``problems`` are the errors met reading the plan and the SSM weight: they stop any advance
    (nothing is changed) but never a rollback, which needs neither. ``requests`` is what green
    served in the bake window, judged against ``min_requests`` (0: the low-traffic guard is off).
    """
    if state.rollback_unfinished:
        # An alarm that arrives while a rollback is applied joins it: one more cause, not another rollback page.
        return _finish_rollback(state, plan, cause=verdict.explain_alarms() if verdict.alarms else "")
    if state.status == ROLLED_BACK and weights is not None and weights.differences(0):
        # A rolled-back shift has green at 0, whatever a raced or interrupted run left behind.
        return Decision(
            "reconcile",
            f"status is rolled_back but {'; '.join(weights.differences(0))}; putting green back to 0",
            new_status=ROLLED_BACK,
            new_step_index=-1,
            green_weight=0,
        )
    if state.status not in (RUNNING, PAUSED):
        reason = f"status is {state.status}; ticks act only while running or paused"
        if problems:
            reason += "; PROBLEM: " + "; ".join(str(p) for p in problems)
        return Decision("noop", reason)
    if verdict.alarms:
        grace = alarm_grace(state, plan, now)
        if grace:
            return Decision("hold", f"{verdict.explain_alarms()}; {grace}")
        return _rollback(state, plan, verdict.explain_alarms())
    busy = _busy(state, now)
    if busy:
        return Decision("hold", busy)
    if problems:
        raise problems[0]
    assert plan is not None
    changed = plan_changed(state, plan)
    if changed:
        return Decision("hold", changed)
    expected = state_weight(state, plan)
    drift = _drift(expected, weights)
    if drift:
        # A half-applied change (one listener, the records or SSM throttled, failed or deleted): put every
        # side at the weight the state records, under a claim, and bake again from here: green had less
        # (or more) than the step's share while the sides disagreed, so that time does not count.
        assert expected is not None
        return Decision(
            "converge",
            f"{'; '.join(drift)}; converging every listener, record and SSM to green {expected} ({_where(state, plan)}), bake restarts",
            new_status=state.status,
            new_step_index=state.step_index,
            green_weight=expected,
            restart_bake=True,
            drift=drift,
        )
    if state.status == PAUSED:
        return Decision("hold", f"paused ({state.reason}); gates are still watched for rollback")

    i = state.step_index
    if i > plan.last_index:
        raise PlanError(f"the state is at step {i + 1} but the plan has {len(plan.steps)} steps; fix the plan or roll back")
    if i >= 0:
        since = state.step_started_at or 0.0
        moved, blind = changed_gates(verdict.gates, since)
        if moved or blind:
            restart_at = max([float(math.ceil(g.updated_at)) for g in moved if g.updated_at is not None] + ([now] if blind else []))
            seen = [f"gate {g.name} changed state at {iso(g.updated_at)} (now {g.state})" for g in moved]
            seen += [f"gate {g.name} is {g.state} and carries no state timestamp (seen by this tick)" for g in blind]
            return Decision(
                "restart",
                f"{'; '.join(seen)}, after the bake of {plan.steps[i].describe()} began at {iso(since)}: "
                f"every gate must be OK for the whole bake, so it restarts from {iso(restart_at)}",
                new_status=RUNNING,
                new_step_index=i,
                restart_bake=True,
                bake_from=restart_at,
            )
    waiting = []
    if i >= 0:
        left = (state.step_started_at or 0) + plan.steps[i].bake_seconds - now
        if left > 0:
            waiting.append(f"{plan.steps[i].describe()} is baking, {left:.0f} s left")
    if verdict.waiting_for_data(before_first_step=i < 0) or not verdict.gates:
        waiting.append(verdict.explain_not_ok())
    if waiting:
        return Decision("hold", "; ".join(waiting))
    if i >= 0 and min_requests > 0 and (expected or 0) > 0:
        low = low_traffic(requests, min_requests, state.step_started_at)
        if low:
            return Decision("hold", low)
    if i == plan.last_index:
        return Decision(
            "complete",
            f"{plan.steps[i].describe()} baked with every gate OK; migration complete at green {plan.weight_at(i)}",
            new_status=COMPLETED,
            new_step_index=i,
        )
    nxt = plan.steps[i + 1]
    return Decision(
        "advance",
        f"{'bake done, ' if i >= 0 else ''}every gate OK; advancing to {nxt.describe()}",
        new_status=RUNNING,
        new_step_index=i + 1,
        apply_step=i + 1,
        green_weight=plan.weight_at(i + 1),
    )


def low_traffic(requests: float | None, min_requests: int, since: float | None) -> str:
    """Why a baked step is not judged yet for lack of traffic ("" when green served enough)."""
    if min_requests <= 0:
        return ""
    if requests is None:
        return (f"green's request count for the bake window (since {iso(since)}) could not be read; a step is judged only "
                f"on at least LOW_TRAFFIC_MIN_REQUESTS {min_requests} requests: holding (neither advancing nor rolling back)")
    if requests < min_requests:
        return (f"low traffic: green served {requests:.0f} request(s) in the bake window (since {iso(since)}), fewer than "
                f"LOW_TRAFFIC_MIN_REQUESTS {min_requests}, too few to judge the step: holding (neither advancing nor rolling back)")
    return ""


def decide_command(
    command: str,
    *,
    state: ShiftState,
    verdict: GateVerdict,
    now: float,
    plan: Plan | None,
    problems: Sequence[ShiftError] = (),
    actor: str = "",
    reason: str = "",
) -> Decision:
    """An operator command; raises :class:`CommandError` when the current status forbids it."""
    if command not in COMMANDS:
        raise CommandError(f"unknown command {command!r}; commands: {', '.join(COMMANDS)}")
    if command not in ("status", "rollback") and state.rollback_unfinished and actor and actor.strip():
        # Whichever run comes next finishes a rollback; this one does, and does not do the command.
        return _finish_rollback(state, plan, instead_of=command)
    if state.status not in ALLOWED_FROM[command]:
        raise CommandError(
            f"cannot {command}: status is {state.status}; {command} is allowed when status is "
            f"{' or '.join(ALLOWED_FROM[command])} (allowed now: {', '.join(allowed_commands(state.status))})"
        )
    if command == "status":
        return Decision("status", "read only")
    if not actor or not actor.strip():
        raise CommandError(f"{command} needs an actor (who is asking), for the audit trail")
    said = f" ({reason})" if reason else ""

    if command == "rollback":
        return _rollback(state, plan, f"manual rollback by {actor}{said}")
    busy = _busy(state, now)
    if busy:
        raise CommandError(f"cannot {command} now: {busy}; try again in a moment (rollback is always allowed)")
    if command == "pause":
        return Decision("pause", f"paused by {actor}{said}", new_status=PAUSED, new_step_index=state.step_index)

    # start, resume and promote go forward: the plan and the SSM weight must be valid.
    if problems:
        raise problems[0]
    assert plan is not None
    if verdict.alarms:
        raise CommandError(f"cannot {command}: {verdict.explain_alarms()}")

    if command == "start" or (command == "resume" and state.status == ROLLED_BACK):
        return Decision(
            command,
            f"{command} by {actor}{said}: running the plan from its first step",
            new_status=RUNNING,
            new_step_index=-1,
            restart_bake=True,
            then_tick=True,
            plan_hash=plan.fingerprint,
        )
    if command == "resume":
        if plan_changed(state, plan):
            return _resume_on_new_plan(state, plan, actor, said)
        if state.step_index > plan.last_index:
            raise CommandError(f"cannot resume: the state is at step {state.step_index + 1} but the plan has {len(plan.steps)} steps")
        return Decision(
            "resume",
            f"resumed by {actor}{said}; the bake of the current step restarts now",
            new_status=RUNNING,
            new_step_index=state.step_index,
            restart_bake=True,
            then_tick=True,
        )

    # promote: straight to the step that brings green to 100, only with every gate OK.
    if plan_changed(state, plan):
        raise CommandError(f"cannot promote: {plan_changed(state, plan)}")
    target = plan.full_traffic_index()
    if not verdict.all_ok:
        raise CommandError(f"cannot promote: every gate must be OK; {verdict.explain_not_ok()}")
    if state.step_index >= target:
        raise CommandError(
            f"cannot promote: already at {plan.steps[state.step_index].describe()} (green {plan.weight_at(state.step_index)}); "
            "the plan completes when its bake is done"
        )
    skipped = [s for s in plan.steps[state.step_index + 1 : target] if s.kind != TRAFFIC]
    if skipped:
        raise CommandError(
            f"cannot promote: it would skip {', '.join(s.describe() for s in skipped)}; "
            "let the plan run those steps first"
        )
    return Decision(
        "promote",
        f"promoted by {actor}{said}: jumping to {plan.steps[target].describe()}",
        new_status=RUNNING,
        new_step_index=target,
        apply_step=target,
        green_weight=100,
    )


def _resume_on_new_plan(state: ShiftState, plan: Plan, actor: str, said: str) -> Decision:
    """The explicit re-map rule: continue at the new plan's step whose weight every side carries now,
    with that step's full bake; never past a step of another kind, never anywhere else."""
    weight = state_weight(state, None)
    where = "the weight the state records" if weight is not None else "no weight recorded"
    if weight is None:
        raise CommandError(f"cannot resume on the edited plan: the state records no green weight ({where}); put the plan back or roll back")
    if weight == 0:
        index = -1
    else:
        index = next((s.index for s in plan.steps if s.green_weight == weight), -2)
        if index == -2:
            raise CommandError(
                f"cannot resume on the edited plan: it has no step at green {weight} ({where}, which every side carries); "
                "add one, put the old plan back, or roll back and start"
            )
    passed = [s for s in plan.steps[: index + 1] if s.kind != TRAFFIC]
    if passed:
        raise CommandError(
            f"cannot resume on the edited plan: continuing at green {weight} would pass "
            f"{', '.join(s.describe() for s in passed)} without running it; put the old plan back, or roll back and start"
        )
    at = plan.steps[index].describe() if index >= 0 else "before the first step"
    return Decision(
        "resume",
        f"resumed by {actor}{said} on the edited plan {plan.fingerprint}: re-mapped by weight to {at} (green {weight}); "
        "its bake restarts now",
        new_status=RUNNING,
        new_step_index=index,
        restart_bake=True,
        then_tick=True,
        plan_hash=plan.fingerprint,
    )
