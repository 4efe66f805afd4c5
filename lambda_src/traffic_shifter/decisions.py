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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import CommandError, PlanError, ShiftError
from .model import (
    ALARM,
    COMPLETED,
    IDLE,
    OK,
    PAUSED,
    ROLLED_BACK,
    RUNNING,
    STATUSES,
    GateReading,
    ObservedWeights,
    ShiftState,
    from_iso,
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


@dataclass(frozen=True)
class GateVerdict:
    """The gates judged together: OK only when every configured gate is OK."""

    gates: tuple[GateReading, ...]

    @property
    def alarms(self) -> tuple[GateReading, ...]:
        return tuple(g for g in self.gates if g.state == ALARM)

    @property
    def not_ok(self) -> tuple[GateReading, ...]:
        """Gates that are neither OK nor ALARM: INSUFFICIENT_DATA or MISSING (data missing: hold)."""
        return tuple(g for g in self.gates if g.state not in (OK, ALARM))

    @property
    def all_ok(self) -> bool:
        return bool(self.gates) and all(g.state == OK for g in self.gates)

    def explain_alarms(self) -> str:
        return "; ".join(f"gate {g.name} is ALARM: {g.reason or 'no reason given'}" for g in self.alarms)

    def explain_not_ok(self) -> str:
        if not self.gates:
            return "no gate alarms configured (GATE_ALARMS is empty); never advancing without gates"
        return "; ".join(f"gate {g.name} is {g.state}" for g in self.gates if g.state != OK)


def judge_gates(gates: Sequence[GateReading]) -> GateVerdict:
    return GateVerdict(tuple(gates))


def gate_from_alarm_event(event: Mapping[str, Any]) -> GateReading | None:
    """The alarm state carried by a CloudWatch "Alarm State Change" event (None for other events)."""
    if event.get("source") != "aws.cloudwatch" or "detail" not in event:
        return None
    detail = event["detail"]
    state = detail.get("state") or {}
    if not detail.get("alarmName") or not state.get("value"):
        return None
    try:
        updated = from_iso(state.get("timestamp"))
    except ValueError:
        updated = None
    return GateReading(
        name=detail["alarmName"],
        state=state["value"],
        reason=state.get("reason", ""),
        updated_at=updated,
        alarm_type=detail.get("alarmType", "") or "",
    )


def merge_alarm_event(gates: Sequence[GateReading], event_gate: GateReading | None) -> list[GateReading]:
    """Take the event's state for its gate when it is at least as recent as what describe_alarms said.

    describe_alarms may lag the event by a moment; a gate not in the list is ignored (not a gate).
    """
    out = []
    for gate in gates:
        if (
            event_gate is not None
            and gate.name == event_gate.name
            and event_gate.updated_at is not None
            and (gate.updated_at is None or event_gate.updated_at >= gate.updated_at)
        ):
            gate = GateReading(gate.name, event_gate.state, event_gate.reason, event_gate.updated_at, gate.alarm_type)
        out.append(gate)
    return out


@dataclass(frozen=True)
class Decision:
    """What to do. ``new_status`` None means: write nothing, change nothing."""

    # noop | hold | advance | complete | rollback | reconcile | converge | start | pause | resume | promote | status
    action: str
    reason: str
    new_status: str | None = None
    new_step_index: int | None = None
    #: Plan step to carry out (advance, promote); its bake starts now.
    apply_step: int | None = None
    #: Green weight the decision leads to (None: unchanged).
    green_weight: int | None = None
    #: Restart the bake clock of the current step (resume after pause).
    restart_bake: bool = False
    #: Run a tick right after this command is committed (start, resume).
    then_tick: bool = False
    #: What the observed weights say that the state does not (reported, not acted on).
    drift: tuple[str, ...] = field(default=())

    @property
    def writes(self) -> bool:
        """True when the state item changes (a reconcile only puts weights back, state unchanged)."""
        return self.new_status is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "new_status": self.new_status,
            "new_step_index": self.new_step_index,
            "apply_step": self.apply_step,
            "green_weight": self.green_weight,
            "restart_bake": self.restart_bake,
            "drift": list(self.drift),
        }


#: How long a claimed action (``pending``) keeps other runs from acting, unless they roll back.
LEASE_SECONDS = 120


def _busy(state: ShiftState, now: float) -> str:
    """Why another run is still applying an action ("" when none is, or its lease ran out)."""
    pending = state.pending or {}
    started = from_iso(pending.get("at"))
    if not pending or started is None or now - started >= LEASE_SECONDS:
        return ""
    return f"another run ({pending.get('by')}) is applying {pending.get('action')} since {pending.get('at')}"


def _where(state: ShiftState, plan: Plan | None) -> str:
    if state.step_index < 0:
        return "before the first step (green 0)"
    if plan is None or state.step_index > plan.last_index:
        return f"at step {state.step_index + 1}"
    return f"at {plan.steps[state.step_index].describe()}, green {plan.weight_at(state.step_index)}"


def _rollback(state: ShiftState, plan: Plan | None, why: str) -> Decision:
    return Decision(
        action="rollback",
        reason=f"{why} ({_where(state, plan)}); rolled back to green 0, waiting for an operator to resume",
        new_status=ROLLED_BACK,
        new_step_index=-1,
        green_weight=0,
    )


def _drift(plan: Plan | None, state: ShiftState, weights: ObservedWeights | None) -> tuple[str, ...]:
    if plan is None or weights is None or state.step_index > plan.last_index:
        return ()
    return tuple(weights.differences(plan.weight_at(state.step_index)))


def decide_tick(
    *,
    state: ShiftState,
    verdict: GateVerdict,
    now: float,
    plan: Plan | None,
    problems: Sequence[ShiftError] = (),
    weights: ObservedWeights | None = None,
) -> Decision:
    """One scheduled or alarm-triggered tick.

    ``problems`` are the errors met reading the plan and the SSM weight: they stop any advance
    (nothing is changed) but never a rollback, which needs neither.
    """
    if state.status == ROLLED_BACK and weights is not None and weights.differences(0):
        # A rolled-back shift has green at 0, whatever a raced or interrupted run left behind.
        return Decision(
            "reconcile",
            f"status is rolled_back but {'; '.join(weights.differences(0))}; putting green back to 0",
            green_weight=0,
        )
    if state.status not in (RUNNING, PAUSED):
        return Decision("noop", f"status is {state.status}; ticks act only while running or paused")
    if verdict.alarms:
        return _rollback(state, plan, verdict.explain_alarms())
    busy = _busy(state, now)
    if busy:
        return Decision("hold", busy)
    if problems:
        raise problems[0]
    assert plan is not None
    drift = _drift(plan, state, weights)
    if drift:
        # A half-applied change (one listener, the records or SSM throttled or failed): put every side
        # at the current step's weight now, under a claim, and bake again from here: green had less (or
        # more) than the step's share while the sides disagreed, so that time does not count.
        w = plan.weight_at(state.step_index)
        return Decision(
            "converge",
            f"{'; '.join(drift)}; converging every listener, record and SSM to green {w} ({_where(state, plan)}), bake restarts",
            new_status=state.status,
            new_step_index=state.step_index,
            green_weight=w,
            restart_bake=True,
            drift=drift,
        )
    if state.status == PAUSED:
        return Decision("hold", f"paused ({state.reason}); gates are still watched for rollback", drift=drift)

    i = state.step_index
    if i > plan.last_index:
        raise PlanError(f"the state is at step {i + 1} but the plan has {len(plan.steps)} steps; fix the plan or roll back")
    waiting = []
    if i >= 0:
        left = (state.step_started_at or 0) + plan.steps[i].bake_seconds - now
        if left > 0:
            waiting.append(f"{plan.steps[i].describe()} is baking, {left:.0f} s left")
    if not verdict.all_ok:
        waiting.append(verdict.explain_not_ok())
    if waiting:
        return Decision("hold", "; ".join(waiting), drift=drift)
    if i == plan.last_index:
        return Decision(
            "complete",
            f"{plan.steps[i].describe()} baked with every gate OK; migration complete at green {plan.weight_at(i)}",
            new_status=COMPLETED,
            new_step_index=i,
            drift=drift,
        )
    nxt = plan.steps[i + 1]
    return Decision(
        "advance",
        f"{'bake done, ' if i >= 0 else ''}every gate OK; advancing to {nxt.describe()}",
        new_status=RUNNING,
        new_step_index=i + 1,
        apply_step=i + 1,
        green_weight=plan.weight_at(i + 1),
        drift=drift,
    )


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
        )
    if command == "resume":
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
