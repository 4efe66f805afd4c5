"""The traffic shifter: read everything, decide (pure functions), carry the decision out, audit it.

Build it from the Lambda environment (the CLI does the same with the function's configuration)::

    shifter = Shifter.from_env(os.environ)            # or from_env(env, session=boto3.Session(...))
    shifter.tick(event)                               # scheduled / alarm event
    shifter.run("pause", actor="jane", reason="...")  # operator command
    shifter.status()

Apply order of an action: claim the state (conditional write, version + 1, ``pending`` set), then
ALB and Route 53 together, then SSM green-weight, then the state (conditional write, version + 1).
A run that read a stale version is refused at the claim, before it touches any weight. A run whose
apply fails puts every side back to the weight the state records and releases its claim, in the same
run; a run whose commit loses to another run (only a rollback may claim over a live claim) puts its
own weight writes back the way the winner wants them (docs/traffic-shifting.md, "Under faults").
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

from .aws import Clients, GateReader, GreenRequests, Notifier, StateStore, TrafficControls
from .db import DbConfig
from .decisions import (
    LEASE_SECONDS,
    Decision,
    GateVerdict,
    decide_command,
    decide_tick,
    gate_from_alarm_event,
    judge_gates,
    low_traffic,
    merge_alarm_event,
    plan_changed,
    state_weight,
)
from .errors import ApplyFailed, CommandError, ConcurrentUpdateError, ConfigError, PlanError, ShiftError
from .model import ROLLED_BACK, RUNNING, UNREADABLE, GateReading, ObservedWeights, ShiftState, iso, parse_green_weight
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
#: Optional: variable -> (ShifterConfig field, default). LOW_TRAFFIC_MIN_REQUESTS: requests green must
#: serve in a step's bake window before the step is judged (0: the guard is off; docs/traffic-shifting.md).
OPTIONAL_ENV_VARS = {"LOW_TRAFFIC_MIN_REQUESTS": ("low_traffic_min_requests", 0)}
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


class VolumePort(Protocol):
    """How many requests green served between two moments (aws.GreenRequests: the ALB's RequestCount)."""

    def read(self, since: float, until: float) -> float: ...


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
    #: The low-traffic guard (LOW_TRAFFIC_MIN_REQUESTS; 0: off).
    low_traffic_min_requests: int = 0

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
        for var, (name, default) in OPTIONAL_ENV_VARS.items():
            raw = (environ.get(var) or "").strip()
            if not raw:
                values[name] = default
            elif not raw.isdigit():
                raise ConfigError(f"{var}={raw!r}: expected a whole number of requests >= 0 (0 turns the guard off)")
            else:
                values[name] = int(raw)
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
        volume: VolumePort | None = None,
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
        self._volume = volume
        self.store = StateStore(self.clients, config.state_table)
        self.notifier = Notifier(self.clients, config.notify_topic_arn, config.label)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Shifter:
        """A shifter configured by the Lambda's environment variables (see ENV_VARS)."""
        return cls(ShifterConfig.from_env(os.environ if environ is None else environ), **kwargs)

    # -- reading -------------------------------------------------------------------------------
    @property
    def volume(self) -> VolumePort:
        """Made on first use: only the low-traffic guard reads it."""
        if self._volume is None:
            self._volume = GreenRequests(self.clients, self.config.listener_arns, self.config.green_target_group_arns)
        return self._volume

    def _read_plan(self) -> str | None:
        try:
            return self.clients("ssm").get_parameter(Name=self.config.plan_parameter)["Parameter"]["Value"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise

    def _read_gates(self) -> list[GateReading]:
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
            plan_f = pool.submit(self._read_plan)
            weights_f = pool.submit(self.traffic.read)
            gates_f = pool.submit(self._read_gates)
        state, weights, gates = state_f.result(), weights_f.result(), gates_f.result()
        now = self.clock()
        problems: list[ShiftError] = []
        plan = plan_raw = None
        try:
            plan_raw = plan_f.result()
            plan = parse_plan(plan_raw, self.config.plan_parameter)
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

    def _decide_tick(self, obs: Observation) -> Decision:
        return decide_tick(
            state=obs.state, verdict=obs.verdict, now=obs.now, plan=obs.plan, problems=obs.problems,
            weights=obs.weights, requests=obs.requests, min_requests=self.config.low_traffic_min_requests,
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
                decision = self._decide_tick(obs)
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
        """An operator command: status, start, pause, resume, promote, rollback.

        A command that loses a race with another run (its claim or its commit refused) reads
        everything again and decides again: it either applies, or says what the world now is.
        """
        if command == "status":
            return self.status()
        trigger = f"command {command}"
        lost: ConcurrentUpdateError | None = None
        for attempt in range(1, TICK_ATTEMPTS + 1):
            obs = self.observe()
            try:
                decision = decide_command(
                    command, state=obs.state, verdict=obs.verdict, now=obs.now, plan=obs.plan,
                    problems=obs.problems, actor=actor, reason=reason,
                )
            except ShiftError as err:
                self._audit(trigger, actor, obs, None, error=err)
                if lost is not None and isinstance(err, CommandError):
                    raise CommandError(f"{err}; another run changed the shift while this command ran ({lost}); now: {describe_world(obs)}") from err
                raise
            self._audit(trigger, actor, obs, decision)
            try:
                result = self.execute(obs, decision, actor=actor, trigger=trigger)
            except ConcurrentUpdateError as err:
                lost = err
                logger.warning("the state changed under this command; reading again", extra={"attempt": attempt, "error": str(err)})
                continue
            break
        else:
            obs = self.observe()
            raise ConcurrentUpdateError(f"{command}: the shift kept changing under this command ({lost}); now: {describe_world(obs)}")
        if decision.instead_of:
            raise CommandError(
                f"cannot {command}: {decision.reason}; changed: {'; '.join(result['changes']) or 'nothing'}; "
                f"{command} was not carried out (status is now {result['state']['status']})"
            )
        if decision.then_tick:
            result["tick"] = self.tick(trigger=f"after {command}")
            result["state"] = result["tick"]["state"]
        return result

    def status(self) -> dict[str, Any]:
        """State, weights as seen on ALB / Route 53 / SSM, gates, plan, and what the next tick would do."""
        obs = self.observe()
        try:
            preview = self._decide_tick(obs).to_dict()
        except ShiftError as err:
            preview = {"action": "error", "reason": str(err)}
        expected = state_weight(obs.state, obs.plan)
        self._record_weight(None, obs)
        problems = [str(p) for p in obs.problems]
        if obs.weights.ssm_raw is None:
            problems.append(f"{self.config.weight_parameter}: parameter not found (deleted?); the next tick of a running "
                            "shift recreates it from the state, a rollback writes it")
        if obs.plan and plan_changed(obs.state, obs.plan):
            problems.append(plan_changed(obs.state, obs.plan))
        result = {
            "ok": True,
            "command": "status",
            **obs.to_dict(),
            "problems": problems,
            "expected_green_weight": expected,
            "in_sync": expected is not None and not obs.weights.differences(expected),
            "next_tick": preview,
        }
        minimum = self.config.low_traffic_min_requests
        if minimum > 0:
            # What green served in this bake so far, and whether the next tick holds for lack of it.
            low = low_traffic(obs.requests, minimum, obs.state.step_started_at)
            result["low_traffic"] = {"min_requests": minimum, "green_requests": obs.requests,
                                     "since": iso(obs.state.step_started_at) if obs.requests is not None else None,
                                     "holding": bool(low) and low in str(preview.get("reason")), "why": low}
        return result

    # -- acting --------------------------------------------------------------------------------
    def _claim_seconds(self, obs: Observation, decision: Decision) -> float:
        """How long this run's claim keeps other runs out (a rollback is never kept out)."""
        if decision.apply_step is not None and obs.plan is not None:
            step = obs.plan.steps[decision.apply_step]
            return step_kind(step.kind).claim_seconds(step, self.config)
        return LEASE_SECONDS

    def execute(self, obs: Observation, decision: Decision, *, actor: str, trigger: str) -> dict[str, Any]:
        """Carry out ``decision`` taken on ``obs``; refused (ConcurrentUpdateError) if the state moved on."""
        changes: list[str] = []
        state = obs.state
        notes: list[str] = []
        if decision.writes:
            now = self.clock()
            claimed = self.store.write(
                obs.state,
                replace(
                    obs.state,
                    pending={"action": decision.action, "by": actor, "at": iso(now), "run": uuid.uuid4().hex,
                             "apply_step": decision.apply_step, "green_weight": decision.green_weight,
                             "lease_until": iso(now + self._claim_seconds(obs, decision))},
                    updated_by=actor,
                    updated_at=now,
                ),
            )
            ctx = StepContext(traffic=self.traffic, observed=obs.weights, client=self.clients, actor=actor, now=now,
                              config=self.config)
            try:
                changes = self._apply(obs, decision, ctx)
            except Exception as err:
                if not decision.towards_blue:
                    self._put_back(obs, decision, claimed, err, actor)  # raises ApplyFailed
                changes = self._retry_towards_blue(obs, decision, claimed, err, ctx)
            restart = decision.apply_step is not None or decision.restart_bake
            weight = decision.green_weight if decision.green_weight is not None else state_weight(obs.state, obs.plan)
            final = ShiftState(
                status=decision.new_status,  # type: ignore[arg-type]
                step_index=decision.new_step_index if decision.new_step_index is not None else obs.state.step_index,
                step_started_at=(decision.bake_from or now) if restart else obs.state.step_started_at,
                reason=decision.reason,
                updated_by=actor,
                updated_at=now,
                last_action=decision.action,
                green_weight=weight,
                plan_hash=decision.plan_hash or obs.state.plan_hash or (obs.plan.fingerprint if obs.plan else ""),
            )
            try:
                state = self.store.write(claimed, final)
            except ConcurrentUpdateError as err:
                state, more = self._lost_commit(obs, decision, changes, err)
                changes += more
                notes.append(f"another run committed first ({state.updated_by}: {state.last_action}); this run's weights were kept as it wants them")
        result = {
            "ok": True,
            "trigger": trigger,
            "decision": decision.to_dict(),
            "changes": changes,
            "state": state.to_dict(),
        }
        if notes:
            result["notes"] = notes
        if changes or decision.writes:
            logger.info("traffic shift applied", extra={"trigger": trigger, "actor": actor, "result": result})
            if decision.action != "restart" or changes:
                self._notify(decision, obs, state, changes, actor, result)
        self._record_metrics(decision, obs)
        return result

    def _apply(self, obs: Observation, decision: Decision, ctx: StepContext) -> list[str]:
        if decision.towards_blue:
            changes = self.traffic.set_green_weight(0, obs.weights)
            return changes + self._undo_steps(obs, ctx)
        if decision.action == "converge":
            assert decision.green_weight is not None
            return self.traffic.set_green_weight(decision.green_weight, obs.weights)
        if decision.apply_step is not None:
            assert obs.plan is not None
            step = obs.plan.steps[decision.apply_step]
            return step_kind(step.kind).apply(step, ctx)
        return []

    def _retry_towards_blue(self, obs: Observation, decision: Decision, claimed: ShiftState, err: Exception, ctx: StepContext) -> list[str]:
        """A rollback that failed half way tries once more on a fresh read, in the same run; if that fails
        too, its claim stays and whichever run comes next finishes it (decisions: rollback_unfinished)."""
        logger.warning("rollback half applied; trying again on a fresh read", extra={"error": f"{type(err).__name__}: {err}"})
        try:
            weights = self.traffic.read()
            return self.traffic.set_green_weight(0, weights) + self._undo_steps(obs, replace(ctx, observed=weights))
        except Exception as again:
            where = self._where_weights(0)
            raise ApplyFailed(
                f"rollback did not finish ({type(err).__name__}: {err}; again: {type(again).__name__}: {again}); {where}; "
                "the claim is kept, and the next run (any tick, or any command) finishes the rollback first"
            ) from again

    def _put_back(self, obs: Observation, decision: Decision, claimed: ShiftState, err: Exception, actor: str) -> None:
        """The same run converges what it half applied: every side back to the weight the state records,
        the claim released (the next run needs no lease to pass), the bake restarted. Always raises."""
        target = state_weight(obs.state, obs.plan)
        what = f"{decision.action}" + (f" to green {decision.green_weight}" if decision.green_weight is not None else "")
        put_back = "the weights were left as they are (the state records no weight)"
        try:
            if target is not None:
                fixed = self.traffic.set_green_weight(target, self.traffic.read())
                put_back = f"every side put back to green {target}" + (f" ({'; '.join(fixed)})" if fixed else " (none had moved)")
        except Exception as again:  # noqa: BLE001 - reported; the next run converges without waiting
            put_back = f"putting every side back to green {target} failed too ({type(again).__name__}: {again}); the next run converges it"
        now = self.clock()
        reason = f"{what} failed ({type(err).__name__}: {err}); {put_back}; the bake restarts"
        try:
            self.store.write(claimed, replace(claimed, pending=None, step_started_at=now, reason=reason[:2000], updated_by=actor,
                                              updated_at=now, last_action="converge",
                                              green_weight=target if target is not None else claimed.green_weight))
        except ShiftError as lost:
            reason += f"; the claim could not be released ({lost})"
        logger.error("traffic shift action failed; put back", extra={"decision": decision.to_dict(), "reason": reason})
        raise ApplyFailed(reason) from err

    def _lost_commit(self, obs: Observation, decision: Decision, changes: list[str], err: ConcurrentUpdateError) -> tuple[ShiftState, list[str]]:
        """Our weights are written but another run committed first (only a rollback claims over a live
        claim). Put the weights where the winner wants them; a rollback that lost is still a rollback."""
        fresh = self.store.load()
        weights = self.traffic.read()
        if decision.towards_blue or fresh.status == ROLLED_BACK or fresh.rollback_unfinished:
            target: int | None = 0
        elif fresh.pending:
            target = None  # another run holds a claim and sets the weights itself
        else:
            target = state_weight(fresh, self._fresh_plan())
        more = self.traffic.set_green_weight(target, weights) if target is not None and weights.differences(target) else []
        if decision.towards_blue:
            if not fresh.rollback_unfinished and fresh.status != ROLLED_BACK:
                # Nobody else records it: write the rollback over whatever won (it took effect on the weights).
                fresh = self.store.write(fresh, replace(fresh, status=ROLLED_BACK, step_index=-1, green_weight=0, reason=decision.reason,
                                                        last_action=decision.action, pending=None, updated_at=self.clock()))
            return fresh, more
        raise ConcurrentUpdateError(
            f"{decision.action} lost a race: {fresh.updated_by or 'another run'} changed the shift first "
            f"(status {fresh.status}, {fresh.last_action}: {fresh.reason}); "
            + (f"this run put the weights back to green {target}" if target is not None else "the other run is still applying")
            + f" ({err})"
        ) from err

    def _fresh_plan(self) -> Plan | None:
        try:
            return parse_plan(self._read_plan(), self.config.plan_parameter)
        except (PlanError, ClientError):
            return None

    def _where_weights(self, green: int) -> str:
        try:
            differences = self.traffic.read().differences(green)
        except Exception as err:  # noqa: BLE001 - only for the message
            return f"the weights could not be read back ({type(err).__name__}: {err})"
        return f"still differing from green {green}: {'; '.join(differences)}" if differences else f"every side is at green {green}"

    def _undo_steps(self, obs: Observation, ctx: StepContext) -> list[str]:
        """Give steps of other kinds that were carried out a chance to undo themselves (newest first).
        An undo that fails is reported; it never makes the rollback (traffic on blue) count as failed."""
        if obs.plan is None:
            return []
        changes: list[str] = []
        for step in reversed(obs.plan.steps[: obs.state.step_index + 1]):
            try:
                changes += step_kind(step.kind).on_rollback(step, ctx)
            except Exception as err:  # noqa: BLE001 - the traffic rollback stands; the failure is reported
                logger.error("a step's undo failed during the rollback", extra={"step": step.describe(), "error": str(err)})
                changes.append(f"UNDO FAILED for {step.describe()}: {type(err).__name__}: {err}")
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

    def _notify(self, decision: Decision, obs: Observation, state: ShiftState, changes: list[str], actor: str,
                result: dict[str, Any] | None = None) -> None:
        """Best effort: an action that took effect is never reported as failed because SNS was not reachable."""
        try:
            self._publish(decision, obs, state, changes, actor)
        except Exception as err:  # noqa: BLE001 - logged (the audit line above already has the action)
            logger.error("could not publish the notification", extra={"error": f"{type(err).__name__}: {err}"})
            if result is not None:
                result.setdefault("notes", []).append(f"notification not sent: {type(err).__name__}: {err}")

    def _publish(self, decision: Decision, obs: Observation, state: ShiftState, changes: list[str], actor: str) -> None:
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


def describe_world(obs: Observation) -> str:
    """The shift and the weights in one line, for an operator whose command lost a race."""
    st = obs.state
    step = "-" if st.step_index < 0 else str(st.step_index + 1)
    expected = state_weight(st, obs.plan)
    if expected is not None and not obs.weights.differences(expected):
        weights = f"green {expected} on every listener, record and SSM"
    else:
        weights = "; ".join(obs.weights.differences(expected if expected is not None else 0))
    pending = f"; {st.pending.get('action')} by {st.pending.get('by')} in progress since {st.pending.get('at')}" if st.pending else ""
    return (f"status {st.status} at step {step} (version {st.version}, last {st.last_action or '-'} by {st.updated_by or '-'} "
            f"at {iso(st.updated_at) or '-'}: {st.reason or '-'}); {weights}{pending}")
