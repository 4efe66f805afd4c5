"""The gate alarms judged: together (GateVerdict), merged with an alarm event, and whether any changed
during a bake. Pure functions of GateReading values (aws.GateReader reads them from CloudWatch)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import ALARM, INSUFFICIENT_DATA, MISSING, OK, UNREADABLE, GateReading, from_iso


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

    def waiting_for_data(self, before_first_step: bool) -> tuple[GateReading, ...]:
        """The gates that hold an advance. Before the first step green carries no traffic, so a gate with too
        few samples (INSUFFICIENT_DATA: the fast alarms' minimum sample) cannot be judged yet and does not
        hold the first step (its ALARM still rolls back); MISSING and unreadable gates always hold."""
        if before_first_step:
            return tuple(g for g in self.not_ok if g.state != INSUFFICIENT_DATA)
        return self.not_ok


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

    describe_alarms may lag the event by a moment; a gate not in the list is ignored (not a gate),
    and a MISSING gate stays MISSING.
    """
    out = []
    for gate in gates:
        if gate.state == MISSING:
            # A gate that does not exist is never OK, whatever an event (or a forged one) says about it.
            out.append(gate)
            continue
        if (
            event_gate is not None
            and gate.name == event_gate.name
            and event_gate.updated_at is not None
            and (gate.updated_at is None or event_gate.updated_at >= gate.updated_at)
        ):
            gate = GateReading(gate.name, event_gate.state, event_gate.reason, event_gate.updated_at, gate.alarm_type)
        out.append(gate)
    return out


def changed_gates(gates: Sequence[GateReading], since: float) -> tuple[list[GateReading], list[GateReading]]:
    """Gates whose state changed after ``since`` (by their own timestamp), and gates not OK that carry no
    timestamp (a tick saw them so: the bake counts from this tick).

    The state keeps whole seconds, so a change within the bake start's own second cannot be placed
    before or after it; it is not counted (the run that began the bake saw every gate OK, and a gate
    not OK now holds or rolls back by its state). Counting it made a start restart its own bake."""
    after = math.floor(since) + 1.0
    changed = [g for g in gates if g.updated_at is not None and g.updated_at >= after]
    # MISSING and UNREADABLE carry no timestamp by nature; the alarm they become again has its own.
    blind = [g for g in gates if g.updated_at is None and g.state not in (OK, MISSING, UNREADABLE)]
    return changed, blind
