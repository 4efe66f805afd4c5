"""What one run reads, all at once: the shift state, the plan, the weights on every side, the gates and,
for the low-traffic guard, green's request count. The decisions are taken on an Observation."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from .aws import Clients, GreenRequests, StateStore
from .config import ShifterConfig
from .decisions import state_weight
from .errors import PlanError, ShiftError
from .gates import GateVerdict, judge_gates, merge_alarm_event
from .model import LOG_SERVICE, RUNNING, UNREADABLE, GateReading, ObservedWeights, ShiftState, iso, parse_green_weight
from .plan import Plan, parse_plan
from .ports import GatePort, TrafficPort, VolumePort
from .steps import StepKinds

logger = Logger(service=LOG_SERVICE)


@dataclass(frozen=True)
class Observation:
    """Everything one run read: the inputs of its decision, logged with it."""

    state: ShiftState
    plan: Plan | None
    plan_raw: str | None
    problems: tuple[ShiftError, ...]
    weights: ObservedWeights
    gates: tuple[GateReading, ...]
    now: float
    #: Requests green served in the current bake window (None: not read, or could not be read).
    requests: float | None = None

    @property
    def verdict(self) -> GateVerdict:
        return judge_gates(self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": iso(self.now),
            "state": self.state.to_dict(),
            "plan": self.plan.to_dict() if self.plan else self.plan_raw,
            "plan_hash": self.plan.fingerprint if self.plan else None,
            "problems": [str(p) for p in self.problems],
            "weights": self.weights.to_dict(),
            "gates": [g.to_dict() for g in self.gates],
            "green_requests": self.requests,
        }

    def describe(self) -> str:
        """The shift and the weights in one line, for an operator whose command lost a race."""
        st = self.state
        step = "-" if st.step_index < 0 else str(st.step_index + 1)
        expected = state_weight(st, self.plan)
        if expected is not None and not self.weights.differences(expected):
            weights = f"green {expected} on every listener, record and SSM"
        else:
            weights = "; ".join(self.weights.differences(expected if expected is not None else 0))
        pending = f"; {st.pending.get('action')} by {st.pending.get('by')} in progress since {st.pending.get('at')}" if st.pending else ""
        return (f"status {st.status} at step {step} (version {st.version}, last {st.last_action or '-'} by {st.updated_by or '-'} "
                f"at {iso(st.updated_at) or '-'}: {st.reason or '-'}); {weights}{pending}")


@dataclass
class Observer:
    """Reads everything a decision needs through the shifter's ports."""

    config: ShifterConfig
    clients: Clients
    store: StateStore
    traffic: TrafficPort
    gates: GatePort
    kinds: StepKinds
    clock: Callable[[], float] = time.time
    _volume: VolumePort | None = None

    @property
    def volume(self) -> VolumePort:
        """Made on first use: only the low-traffic guard reads it."""
        if self._volume is None:
            self._volume = GreenRequests(self.clients, self.config.listener_arns, self.config.green_target_group_arns)
        return self._volume

    def read_plan(self) -> str | None:
        try:
            return self.clients("ssm").get_parameter(Name=self.config.plan_parameter)["Parameter"]["Value"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise

    def fresh_plan(self) -> Plan | None:
        """The plan as the parameter holds it now (None: unreadable or invalid)."""
        try:
            return parse_plan(self.read_plan(), self.config.plan_parameter, self.kinds)
        except (PlanError, ClientError):
            return None

    def read_gates(self) -> list[GateReading]:
        # A rollback needs neither the gates nor the plan: a failure to read them holds any advance
        # (UNREADABLE is never OK) and never stops a rollback.
        try:
            return self.gates.read()
        except Exception as err:  # noqa: BLE001 - any reader, any failure: the gate is not OK
            logger.error("gates could not be read", extra={"error": f"{type(err).__name__}: {err}"})
            return [GateReading(n, UNREADABLE, f"could not be read: {type(err).__name__}: {err}") for n in self.config.gate_alarms]

    def observe(self, event_gate: GateReading | None = None) -> Observation:
        """Read state, plan, weights and gates (at once: a rollback should not wait on serial reads)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            state_f = pool.submit(self.store.load)
            plan_f = pool.submit(self.read_plan)
            weights_f = pool.submit(self.traffic.read)
            gates_f = pool.submit(self.read_gates)
        state, weights, gates = state_f.result(), weights_f.result(), gates_f.result()
        now = self.clock()
        problems: list[ShiftError] = []
        plan = plan_raw = None
        try:
            plan_raw = plan_f.result()
            plan = parse_plan(plan_raw, self.config.plan_parameter, self.kinds)
        except PlanError as err:
            problems.append(err)
        except ClientError as err:
            problems.append(PlanError(f"{self.config.plan_parameter}: could not be read ({err}); nothing but a rollback is done"))
        if weights.ssm_raw is not None:
            # A deleted parameter is not a problem but a difference: converged (recreated) like any other.
            try:
                parse_green_weight(weights.ssm_raw, self.config.weight_parameter)
            except ShiftError as err:
                problems.append(err)
        if event_gate is not None and event_gate.updated_at is None:
            # An event without a timestamp is taken as of its arrival (never older than what describe says).
            event_gate = replace(event_gate, updated_at=now)
        gates = merge_alarm_event(gates, event_gate)
        requests = None
        if self.config.low_traffic_min_requests > 0 and state.status == RUNNING and state.step_index >= 0 and state.step_started_at:
            try:
                requests = self.volume.read(state.step_started_at, now)
            except Exception as err:  # noqa: BLE001 - unknown traffic holds the step (decisions.low_traffic)
                logger.error("green's request count could not be read", extra={"error": f"{type(err).__name__}: {err}"})
        return Observation(
            state=state,
            plan=plan,
            plan_raw=plan_raw,
            problems=tuple(problems),
            weights=weights,
            gates=tuple(gates),
            now=now,
            requests=requests,
        )
