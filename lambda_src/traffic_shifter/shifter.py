"""The traffic shifter: read everything, decide (pure functions), carry the decision out, audit it.

Build it from the Lambda environment (the CLI does the same with the function's configuration)::

    shifter = Shifter.from_env(os.environ)            # or from_env(env, session=boto3.Session(...))
    shifter.tick(event)                               # scheduled / alarm event
    shifter.run("pause", actor="jane", reason="...")  # operator command
    shifter.status()

Apply order of an action: claim the state (conditional write, version + 1, ``pending`` set), then
ALB and Route 53 together, then SSM green-weight, then the state (conditional write, version + 1).
A run that read a stale version is refused at the claim, before it touches any weight.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from .aws import Clients, GateReader, Notifier, StateStore, TrafficControls
from .db import DbConfig
from .decisions import (
    Decision,
    GateVerdict,
    decide_command,
    decide_tick,
    gate_from_alarm_event,
    judge_gates,
    merge_alarm_event,
)
from .errors import CommandError, ConcurrentUpdateError, ConfigError, PlanError, ShiftError
from .model import ROLLED_BACK, GateReading, ObservedWeights, ShiftState, iso, parse_green_weight
from .plan import Plan, parse_plan
from .steps import StepContext, step_kind

SERVICE = "traffic-shifter"
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))

#: Lambda environment variable -> ShifterConfig field (templates/automation.json sets them).
ENV_VARS = {
    "SSM_PREFIX": "ssm_prefix",
    "STATE_TABLE": "state_table",
    "LISTENER_ARNS": "listener_arns",
    "BLUE_TARGET_GROUP_ARNS": "blue_target_group_arns",
    "GREEN_TARGET_GROUP_ARNS": "green_target_group_arns",
    "HOSTED_ZONE_ID": "hosted_zone_id",
    "RECORD_NAME": "record_name",
    "GATE_ALARMS": "gate_alarms",
    "NOTIFY_TOPIC_ARN": "notify_topic_arn",
}
#: The one-ALB names these replaced (issue 16); read only when the plural one is absent, so a stack
#: deployed before the second ALB keeps working until it is updated.
LEGACY_ENV_VARS = {
    "LISTENER_ARNS": "LISTENER_ARN",
    "BLUE_TARGET_GROUP_ARNS": "BLUE_TARGET_GROUP_ARN",
    "GREEN_TARGET_GROUP_ARNS": "GREEN_TARGET_GROUP_ARN",
}
ARN_LISTS = ("listener_arns", "blue_target_group_arns", "green_target_group_arns")
TICK_ATTEMPTS = 3
HEADLINES = {
    "rollback": "traffic ROLLED BACK to blue (green 0)",
    "reconcile": "green weight put back to 0 (status rolled_back)",
    "complete": "traffic shift COMPLETED (green 100)",
}


class MetricsSink(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> None: ...


class TrafficPort(Protocol):
    """Where the weights live: the ALB listener(s), Route 53 and SSM (aws.TrafficControls), or a
    stand-in such as the rehearsal's HAProxy. The decisions never know which."""

    def read(self) -> ObservedWeights: ...

    def set_green_weight(self, green: int, observed: ObservedWeights) -> list[str]: ...


class GatePort(Protocol):
    """The gate alarms (aws.GateReader from CloudWatch, or a stand-in computing them from its own measurements)."""

    def read(self) -> list[GateReading]: ...


@dataclass(frozen=True)
class ShifterConfig:
    ssm_prefix: str
    state_table: str
    #: One per ALB, blue ALB first; the target groups in the same order (each ALB's own).
    listener_arns: tuple[str, ...]
    blue_target_group_arns: tuple[str, ...]
    green_target_group_arns: tuple[str, ...]
    hosted_zone_id: str
    record_name: str
    gate_alarms: tuple[str, ...]
    notify_topic_arn: str
    #: The database switchover's settings (None: no DB_* variables, the db_switchover step refuses).
    db: DbConfig | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ShifterConfig:
        environ = dict(environ)
        for plural, singular in LEGACY_ENV_VARS.items():
            if not (environ.get(plural) or "").strip() and (environ.get(singular) or "").strip():
                environ[plural] = environ[singular]
        missing = [k for k in ENV_VARS if not (environ.get(k) or "").strip()]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)} (expected all of: {', '.join(ENV_VARS)})")
        values: dict[str, Any] = {field: environ[var].strip() for var, field in ENV_VARS.items()}
        values["ssm_prefix"] = values["ssm_prefix"].rstrip("/")
        values["gate_alarms"] = tuple(n.strip() for n in values["gate_alarms"].split(",") if n.strip())
        for name in ARN_LISTS:
            values[name] = tuple(a.strip() for a in values[name].split(",") if a.strip())
        counts = {name: len(values[name]) for name in ARN_LISTS}
        if len(set(counts.values())) != 1:
            raise ConfigError(
                "LISTENER_ARNS, BLUE_TARGET_GROUP_ARNS and GREEN_TARGET_GROUP_ARNS need one entry per ALB, "
                f"in the same order (blue ALB first); got {counts}"
            )
        values["db"] = DbConfig.from_env(environ)
        return cls(**values)

    @property
    def weight_parameter(self) -> str:
        return f"{self.ssm_prefix}/traffic/green-weight"

    @property
    def plan_parameter(self) -> str:
        return f"{self.ssm_prefix}/shift/plan"

    @property
    def label(self) -> str:
        """``payments-migration/dev-d01``: names the deployment in notifications."""
        return self.ssm_prefix.strip("/")


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

    @property
    def verdict(self) -> GateVerdict:
        return judge_gates(self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": iso(self.now),
            "state": self.state.to_dict(),
            "plan": self.plan.to_dict() if self.plan else self.plan_raw,
            "problems": [str(p) for p in self.problems],
            "weights": self.weights.to_dict(),
            "gates": [g.to_dict() for g in self.gates],
        }


class Shifter:
    def __init__(
        self,
        config: ShifterConfig,
        *,
        session: boto3.Session | None = None,
        clients: Clients | None = None,
        clock: Callable[[], float] = time.time,
        metrics: MetricsSink | None = None,
        traffic: TrafficPort | None = None,
        gates: GatePort | None = None,
    ) -> None:
        self.config = config
        self.clients = clients or Clients(session)
        self.clock = clock
        self.metrics = metrics
        # The adapters default to AWS; the rehearsal passes its local stand-ins (bluegreen/rehearsal).
        self.traffic: TrafficPort = traffic or TrafficControls(
            self.clients,
            listener_arns=config.listener_arns,
            blue_target_group_arns=config.blue_target_group_arns,
            green_target_group_arns=config.green_target_group_arns,
            hosted_zone_id=config.hosted_zone_id,
            record_name=config.record_name,
            weight_parameter=config.weight_parameter,
        )
        self.gates: GatePort = gates or GateReader(self.clients, config.gate_alarms)
        self.store = StateStore(self.clients, config.state_table)
        self.notifier = Notifier(self.clients, config.notify_topic_arn, config.label)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Shifter:
        """A shifter configured by the Lambda's environment variables (see ENV_VARS)."""
        return cls(ShifterConfig.from_env(os.environ if environ is None else environ), **kwargs)

    # -- reading -------------------------------------------------------------------------------
    def _read_plan(self) -> str | None:
        try:
            return self.clients("ssm").get_parameter(Name=self.config.plan_parameter)["Parameter"]["Value"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise

    def observe(self, event_gate: GateReading | None = None) -> Observation:
        """Read state, plan, weights and gates (at once: a rollback should not wait on serial reads)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            state_f = pool.submit(self.store.load)
            plan_f = pool.submit(self._read_plan)
            weights_f = pool.submit(self.traffic.read)
            gates_f = pool.submit(self.gates.read)
        state, plan_raw, weights, gates = state_f.result(), plan_f.result(), weights_f.result(), gates_f.result()
        problems: list[ShiftError] = []
        plan = None
        try:
            plan = parse_plan(plan_raw, self.config.plan_parameter)
        except PlanError as err:
            problems.append(err)
        try:
            parse_green_weight(weights.ssm_raw, self.config.weight_parameter)
        except ShiftError as err:
            problems.append(err)
        return Observation(
            state=state,
            plan=plan,
            plan_raw=plan_raw,
            problems=tuple(problems),
            weights=weights,
            gates=tuple(merge_alarm_event(gates, event_gate)),
            now=self.clock(),
        )

    # -- entry points --------------------------------------------------------------------------
    def tick(self, event: Mapping[str, Any] | None = None, *, trigger: str | None = None) -> dict[str, Any]:
        """A scheduled tick or an alarm state change: advance, hold, roll back, or finish."""
        event = event or {}
        event_gate = gate_from_alarm_event(event)
        if trigger is None:
            if event_gate:
                trigger = f"alarm {event_gate.name} -> {event_gate.state}"
            else:
                trigger = str(event.get("detail-type") or "tick")
        actor = f"{SERVICE} ({trigger})"
        recovered = self._recover_switchover(actor)
        for attempt in range(1, TICK_ATTEMPTS + 1):
            obs = self.observe(event_gate)
            try:
                decision = decide_tick(
                    state=obs.state, verdict=obs.verdict, now=obs.now, plan=obs.plan,
                    problems=obs.problems, weights=obs.weights,
                )
            except ShiftError as err:
                self._audit(trigger, actor, obs, None, error=err)
                raise
            self._audit(trigger, actor, obs, decision)
            try:
                result = self.execute(obs, decision, actor=actor, trigger=trigger)
                if recovered:
                    result["db_switchover_recovered"] = recovered
                return result
            except ConcurrentUpdateError:
                if attempt == TICK_ATTEMPTS:
                    raise
                logger.warning("state changed under this tick; reading again", extra={"attempt": attempt})
        raise AssertionError("unreachable")  # pragma: no cover

    def _recover_switchover(self, actor: str) -> list[str]:
        """A database switchover whose run died is finished or undone by the next tick (db/journal.py),
        before the traffic decision; a failure to recover is logged and never blocks a traffic rollback."""
        if self.config.db is None:
            return []
        try:
            return step_kind("db_switchover").recover(self.clients, self.config, actor)  # type: ignore[attr-defined]
        except ShiftError as err:
            logger.error("db switchover recovery did not run to the end", extra={"error": str(err)})
            return [f"db switchover recovery: {err}"]

    def run(self, command: str, *, actor: str = "", reason: str = "") -> dict[str, Any]:
        """An operator command: status, start, pause, resume, promote, rollback."""
        if command == "status":
            return self.status()
        trigger = f"command {command}"
        obs = self.observe()
        try:
            decision = decide_command(
                command, state=obs.state, verdict=obs.verdict, now=obs.now, plan=obs.plan,
                problems=obs.problems, actor=actor, reason=reason,
            )
        except ShiftError as err:
            self._audit(trigger, actor, obs, None, error=err)
            raise
        self._audit(trigger, actor, obs, decision)
        result = self.execute(obs, decision, actor=actor, trigger=trigger)
        if decision.then_tick:
            result["tick"] = self.tick(trigger=f"after {command}")
            result["state"] = result["tick"]["state"]
        return result

    def status(self) -> dict[str, Any]:
        """State, weights as seen on ALB / Route 53 / SSM, gates, plan, and what the next tick would do."""
        obs = self.observe()
        try:
            preview = decide_tick(
                state=obs.state, verdict=obs.verdict, now=obs.now, plan=obs.plan,
                problems=obs.problems, weights=obs.weights,
            ).to_dict()
        except ShiftError as err:
            preview = {"action": "error", "reason": str(err)}
        expected = obs.plan.weight_at(obs.state.step_index) if obs.plan and obs.state.step_index <= obs.plan.last_index else None
        self._record_weight(None, obs)
        return {
            "ok": True,
            "command": "status",
            **obs.to_dict(),
            "expected_green_weight": expected,
            "in_sync": expected is not None and not obs.weights.differences(expected),
            "next_tick": preview,
        }

    # -- acting --------------------------------------------------------------------------------
    def execute(self, obs: Observation, decision: Decision, *, actor: str, trigger: str) -> dict[str, Any]:
        """Carry out ``decision`` taken on ``obs``; refused (ConcurrentUpdateError) if the state moved on."""
        changes: list[str] = []
        state = obs.state
        if decision.action == "reconcile":
            # Towards blue only (green 0), no claim: safe whatever else is running.
            changes = self.traffic.set_green_weight(0, obs.weights)
        elif decision.writes:
            now = self.clock()
            claimed = self.store.write(
                obs.state,
                replace(
                    obs.state,
                    pending={"action": decision.action, "by": actor, "at": iso(now), "run": uuid.uuid4().hex,
                             "apply_step": decision.apply_step, "green_weight": decision.green_weight},
                    updated_by=actor,
                    updated_at=now,
                ),
            )
            ctx = StepContext(traffic=self.traffic, observed=obs.weights, client=self.clients, actor=actor, now=now,
                              config=self.config)
            if decision.new_status == ROLLED_BACK:
                changes = self.traffic.set_green_weight(0, obs.weights)
                changes += self._undo_steps(obs, ctx)
            elif decision.action == "converge":
                assert decision.green_weight is not None
                changes = self.traffic.set_green_weight(decision.green_weight, obs.weights)
            elif decision.apply_step is not None:
                assert obs.plan is not None
                step = obs.plan.steps[decision.apply_step]
                changes = step_kind(step.kind).apply(step, ctx)
            restart = decision.apply_step is not None or decision.restart_bake
            state = self.store.write(
                claimed,
                ShiftState(
                    status=decision.new_status,  # type: ignore[arg-type]
                    step_index=decision.new_step_index if decision.new_step_index is not None else obs.state.step_index,
                    step_started_at=now if restart else obs.state.step_started_at,
                    reason=decision.reason,
                    updated_by=actor,
                    updated_at=now,
                    last_action=decision.action,
                ),
            )
        result = {
            "ok": True,
            "trigger": trigger,
            "decision": decision.to_dict(),
            "changes": changes,
            "state": state.to_dict(),
        }
        if changes or decision.writes:
            logger.info("traffic shift applied", extra={"trigger": trigger, "actor": actor, "result": result})
            self._notify(decision, obs, state, changes, actor)
        self._record_metrics(decision, obs)
        return result

    def _undo_steps(self, obs: Observation, ctx: StepContext) -> list[str]:
        """Give steps of other kinds that were carried out a chance to undo themselves (newest first)."""
        if obs.plan is None:
            return []
        changes: list[str] = []
        for step in reversed(obs.plan.steps[: obs.state.step_index + 1]):
            changes += step_kind(step.kind).on_rollback(step, ctx)
        return changes

    # -- audit, notifications, metrics ---------------------------------------------------------
    def _audit(self, trigger: str, actor: str, obs: Observation, decision: Decision | None, error: Exception | None = None) -> None:
        """The audit trail: every decision with all the inputs it saw, one JSON log line."""
        record = {"trigger": trigger, "actor": actor, "inputs": obs.to_dict()}
        if decision is not None:
            logger.info(f"decision: {decision.action}", extra={**record, "decision": decision.to_dict()})
        else:
            # A refused operator command is routine; a plan or weight that cannot be used is not.
            log = logger.warning if isinstance(error, CommandError) else logger.error
            log(f"decision refused: {error}", extra={**record, "error": str(error), "error_type": type(error).__name__})

    def _notify(self, decision: Decision, obs: Observation, state: ShiftState, changes: list[str], actor: str) -> None:
        if decision.action in HEADLINES:
            headline = HEADLINES[decision.action]
        elif decision.green_weight is not None:
            headline = f"traffic shift {decision.action}: green {decision.green_weight}"
        else:
            headline = f"traffic shift {decision.action}: status {state.status}"
        self.notifier.publish(
            headline,
            {
                "reason": decision.reason,
                "actor": actor,
                "decision": decision.to_dict(),
                "changes": changes,
                "state": state.to_dict(),
                "weights_before": obs.weights.to_dict(),
                "gates": [g.to_dict() for g in obs.gates],
            },
        )

    def notify_failure(self, error: BaseException, context: Mapping[str, Any]) -> None:
        """Best effort: tell the team a run failed (the caller logs and re-raises)."""
        try:
            self.notifier.publish(
                f"traffic shifter FAILED: {type(error).__name__}",
                {"error": str(error), "error_type": type(error).__name__, **context},
            )
        except Exception:  # noqa: BLE001 - the original error matters more than the notification's
            logger.exception("could not publish the failure notification")

    def _record_weight(self, decision: Decision | None, obs: Observation) -> None:
        """GreenWeight: the weight this run applied, else the one SSM holds (when it is valid)."""
        if self.metrics is None:
            return
        green = decision.green_weight if decision is not None else None
        if green is None:
            try:
                green = parse_green_weight(obs.weights.ssm_raw)
            except ShiftError:
                return
        self.metrics.add_metric(name="GreenWeight", unit="Percent", value=green)

    def _record_metrics(self, decision: Decision, obs: Observation) -> None:
        if self.metrics is None:
            return
        self._record_weight(decision, obs)
        self.metrics.add_metric(name="Decisions", unit="Count", value=1)
        self.metrics.add_metric(name=f"Decision{decision.action.title()}", unit="Count", value=1)
        if decision.action == "rollback":
            self.metrics.add_metric(name="Rollbacks", unit="Count", value=1)
