"""Plain values the decisions work on (the shift state, gate readings, observed weights, the decision
itself) and the constants both the shifter and its step kinds need.

Nothing here imports another module of the package but ``errors``, so every module may import it.
The Sceptre side (``bluegreen``) imports it too: ``COLOURS`` and the green-weight rule have one source.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import WeightError

#: The two colours, blue (the data centre's side) first.
COLOURS = ("blue", "green")
#: The name the shifter acts under (audit ``actor``, metrics service).
SERVICE = "traffic-shifter"
#: The Powertools logger's service: every module's ``Logger(service=LOG_SERVICE)`` is the same logger.
LOG_SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE)
#: How long a claimed action (``pending``) keeps other runs from acting, unless they roll back; a
#: claim may carry its own ``lease_until`` (a step kind says how long its step claims: StepKind.claim_seconds).
LEASE_SECONDS = 120

IDLE = "idle"
RUNNING = "running"
PAUSED = "paused"
ROLLED_BACK = "rolled_back"
COMPLETED = "completed"
STATUSES = (IDLE, RUNNING, PAUSED, ROLLED_BACK, COMPLETED)

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
MISSING = "MISSING"  # named in GATE_ALARMS but not found in CloudWatch
UNREADABLE = "UNREADABLE"  # the gates could not be read this run (never OK; a rollback does not need them)


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ``2025-01-31T12:00:00Z`` (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str | None) -> float | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(frozen=True)
class ShiftState:
    """The plan-state item (DynamoDB, plan_id "traffic"); an absent item reads as idle, version 0."""

    status: str = IDLE
    #: Index of the plan step applied last (-1: none yet, traffic at 0).
    step_index: int = -1
    #: When that step was applied (epoch seconds); its bake counts from here.
    step_started_at: float | None = None
    #: Bumped by every write; every write is conditional on the version read.
    version: int = 0
    reason: str = ""
    updated_by: str = ""
    updated_at: float | None = None
    last_action: str = ""
    #: Set by a claimed action until it is committed (an interrupted run leaves it for the audit).
    pending: Mapping[str, Any] | None = None
    #: The green weight this state says every side carries (None: an item written before it was kept).
    green_weight: int | None = None
    #: Plan.fingerprint of the plan this shift runs (bound at start; "" for an item written before it was kept).
    plan_hash: str = ""

    @property
    def rollback_unfinished(self) -> bool:
        """A rollback was claimed and never committed: whichever run comes next finishes it."""
        return self.pending is not None and self.pending.get("action") in ("rollback", "reconcile")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["step_started_at"] = iso(self.step_started_at)
        out["updated_at"] = iso(self.updated_at)
        out["pending"] = dict(self.pending) if self.pending else None
        return out


@dataclass(frozen=True)
class GateReading:
    """One gate alarm as read from CloudWatch (or from an alarm event)."""

    name: str
    state: str
    reason: str = ""
    updated_at: float | None = None
    alarm_type: str = ""  # MetricAlarm | CompositeAlarm | "" when missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "updated_at": iso(self.updated_at),
            "type": self.alarm_type,
        }


@dataclass(frozen=True)
class RecordWeights:
    """The blue and green weighted records of one record type (A, AAAA) of the payment hostname."""

    record_type: str
    blue: int | None
    green: int | None


@dataclass(frozen=True)
class ListenerWeights:
    """The blue and green forward weights of one ALB's HTTPS listener (one ALB per colour, issue 16)."""

    listener_arn: str
    blue: int | None
    green: int | None


@dataclass(frozen=True)
class ObservedWeights:
    """Weights as they are on the ALB listener(s), in Route 53, and in SSM.

    ``alb_blue``/``alb_green`` are the first (blue ALB's) listener; with ``listeners`` set, every
    listener must match for the ALB side to match, and each one that does not is a difference.
    """

    alb_blue: int | None
    alb_green: int | None
    route53: tuple[RecordWeights, ...]
    #: The SSM green-weight value as stored (validated separately).
    ssm_raw: str | None
    # What the writer needs to rewrite without re-reading (not part of the comparison).
    alb_action: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    route53_records: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, repr=False)
    #: Every listener read (empty: a single-listener adapter such as a stand-in, alb_* says it all).
    listeners: tuple[ListenerWeights, ...] = ()
    #: Each listener's forward action, in ``listeners`` order (for rewriting with its stickiness).
    listener_actions: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, repr=False)

    def listener_matches(self, green: int) -> tuple[bool, ...]:
        if not self.listeners:
            return ((self.alb_blue, self.alb_green) == (100 - green, green),)
        return tuple((lw.blue, lw.green) == (100 - green, green) for lw in self.listeners)

    def alb_matches(self, green: int) -> bool:
        return all(self.listener_matches(green))

    def route53_matches(self, green: int) -> bool:
        return bool(self.route53) and all((r.blue, r.green) == (100 - green, green) for r in self.route53)

    def ssm_matches(self, green: int) -> bool:
        return self.ssm_raw == str(green)

    def differences(self, green: int) -> list[str]:
        """What differs from ``green`` (empty: ALB, Route 53 and SSM all say ``green``)."""
        out = []
        if not self.listeners and not self.alb_matches(green):
            out.append(f"ALB blue/green {self.alb_blue}/{self.alb_green}, expected {100 - green}/{green}")
        for lw in self.listeners:
            if (lw.blue, lw.green) != (100 - green, green):
                out.append(f"ALB listener {lw.listener_arn} blue/green {lw.blue}/{lw.green}, expected {100 - green}/{green}")
        if not self.route53:
            out.append("Route 53: no blue/green weighted records found")
        for r in self.route53:
            if (r.blue, r.green) != (100 - green, green):
                out.append(f"Route 53 {r.record_type} blue/green {r.blue}/{r.green}, expected {100 - green}/{green}")
        if self.ssm_raw is None:
            out.append(f"SSM green-weight parameter not found (deleted?), expected '{green}'")
        elif not self.ssm_matches(green):
            out.append(f"SSM green-weight {self.ssm_raw!r}, expected '{green}'")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "alb": {"blue": self.alb_blue, "green": self.alb_green},
            "listeners": [{"listener": lw.listener_arn, "blue": lw.blue, "green": lw.green} for lw in self.listeners],
            "route53": [{"type": r.record_type, "blue": r.blue, "green": r.green} for r in self.route53],
            "ssm": self.ssm_raw,
        }


@dataclass(frozen=True)
class Decision:
    """What to do. ``new_status`` None means: write nothing, change nothing."""

    # noop | hold | advance | complete | rollback | reconcile | converge | restart | start | pause | resume | promote | status
    action: str
    reason: str
    new_status: str | None = None
    new_step_index: int | None = None
    #: Plan step to carry out (advance, promote); its bake starts now.
    apply_step: int | None = None
    #: Green weight the decision leads to (None: unchanged).
    green_weight: int | None = None
    #: Restart the bake clock of the current step (resume after pause, a converge, a gate that changed).
    restart_bake: bool = False
    #: Run a tick right after this command is committed (start, resume).
    then_tick: bool = False
    #: What the observed weights say that the state does not.
    drift: tuple[str, ...] = field(default=())
    #: When the restarted bake begins (None: now), e.g. the moment a gate changed state.
    bake_from: float | None = None
    #: Bind the shift to this plan (Plan.fingerprint; None: keep the binding it has).
    plan_hash: str | None = None
    #: The operator command this decision was taken instead of (an unfinished rollback comes first).
    instead_of: str = ""
    #: A rollback's every cause: those carried by the claim it finishes, then its own (one rollback, one page).
    causes: tuple[str, ...] = field(default=())

    @property
    def writes(self) -> bool:
        """True when the state item changes (every action but noop, hold and status)."""
        return self.new_status is not None

    @property
    def towards_blue(self) -> bool:
        """A rollback or a reconcile: green to 0, the direction that is always safe to repeat."""
        return self.new_status == ROLLED_BACK

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "new_status": self.new_status,
            "new_step_index": self.new_step_index,
            "apply_step": self.apply_step,
            "green_weight": self.green_weight,
            "restart_bake": self.restart_bake,
            "bake_from": iso(self.bake_from),
            "plan_hash": self.plan_hash,
            "instead_of": self.instead_of or None,
            "drift": list(self.drift),
            "causes": list(self.causes),
        }


_DIGITS = re.compile(r"[0-9]+", re.ASCII)
GREEN_WEIGHT_MIN, GREEN_WEIGHT_MAX = 0, 100


def green_percent(value: object) -> int | None:
    """The green-weight rule both sides share: an int, or ASCII digits (surrounding whitespace ignored, as
    an SSM value or a CLI argument may carry a newline), from 0 to 100; None for anything else (floats,
    signs, booleans, words), so a typo never becomes a silently rounded traffic split.

    The Sceptre side (bluegreen.weights.parse_green_weight) and this package (parse_green_weight) each
    word their own refusal around this one rule."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if GREEN_WEIGHT_MIN <= number <= GREEN_WEIGHT_MAX else None


def other(colour: str) -> str:
    return "green" if colour == "blue" else "blue"


def parse_green_weight(raw: str | None, source: str = "green-weight") -> int:
    """The SSM green weight (a string, as SSM stores it) by the shared rule (green_percent)."""
    if raw is None:
        raise WeightError(f"{source}: parameter not found")
    number = green_percent(raw) if isinstance(raw, str) else None
    if number is None:
        raise WeightError(f"{source}: {raw!r} is not a whole number from 0 to 100 (percent of traffic for green)")
    return number
