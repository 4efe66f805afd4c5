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
from dataclasses import replace
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from .aws import Clients, GateReader, Notifier, StateStore, TrafficControls
from .config import ShifterConfig
from .db import DbSwitchover
from .decisions import decide_command, decide_tick, low_traffic, plan_changed, state_weight
from .errors import ApplyFailed, CommandError, ConcurrentUpdateError, ShiftError
from .gates import gate_from_alarm_event
from .model import LEASE_SECONDS, LOG_SERVICE, ROLLED_BACK, SERVICE, Decision, GateReading, ShiftState, iso
from .notification import Notifications, audit
from .observation import Observation, Observer
from .ports import GatePort, MetricsSink, TrafficPort, VolumePort
from .steps import StepContext, StepKinds

logger = Logger(service=LOG_SERVICE)

TICK_ATTEMPTS = 3


def standard_kinds() -> StepKinds:
    """The step kinds the deployed Lambda runs: traffic and the database writer switchover (on AWS)."""
    return StepKinds(DbSwitchover())


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
        kinds: StepKinds | None = None,
    ) -> None:
        self.config = config
        self.clients = clients or Clients(session)
        self.clock = clock
        self.metrics = metrics
        #: The step kinds its plans may use (default: standard_kinds(); a test or the rehearsal passes its own).
        self.kinds = standard_kinds() if kinds is None else kinds
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
        self.observer = Observer(config, self.clients, self.store, self.traffic, self.gates, self.kinds, clock, volume)
        self.notifications = Notifications(self.notifier, metrics)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Shifter:
        """A shifter configured by the Lambda's environment variables (see ENV_VARS)."""
        return cls(ShifterConfig.from_env(os.environ if environ is None else environ), **kwargs)

    # -- reading -------------------------------------------------------------------------------
    def observe(self, event_gate: GateReading | None = None) -> Observation:
        """Read state, plan, weights and gates (observation.py)."""
        return self.observer.observe(event_gate)

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
        recovered = self._recover(actor)
        for attempt in range(1, TICK_ATTEMPTS + 1):
            obs = self.observe(event_gate)
            try:
                decision = self._decide_tick(obs)
            except ShiftError as err:
                audit(trigger, actor, obs, None, error=err)
                raise
            audit(trigger, actor, obs, decision)
            try:
                result = self.execute(obs, decision, actor=actor, trigger=trigger)
                result.update({f"{name}_recovered": changes for name, changes in recovered.items()})
                return result
            except ConcurrentUpdateError:
                if attempt == TICK_ATTEMPTS:
                    raise
                logger.warning("state changed under this tick; reading again", extra={"attempt": attempt})
        raise AssertionError("unreachable")  # pragma: no cover

    def _recover(self, actor: str) -> dict[str, list[str]]:
        """A step whose run died (a database switchover, db/journal.py) is finished or undone by its kind
        at the next tick, before the traffic decision; a failure to recover is logged and never blocks a
        traffic rollback. Returns what each kind that had something to recover did, by kind name."""
        recovered: dict[str, list[str]] = {}
        for kind in self.kinds.values():
            what = kind.name.replace("_", " ")
            try:
                changes = kind.recover(self.clients, self.config, actor)
            except ShiftError as err:
                logger.error(f"{what} recovery did not run to the end", extra={"error": str(err)})
                changes = [f"{what} recovery: {err}"]
            if changes:
                recovered[kind.name] = changes
        return recovered

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
                audit(trigger, actor, obs, None, error=err)
                if lost is not None and isinstance(err, CommandError):
                    raise CommandError(f"{err}; another run changed the shift while this command ran ({lost}); now: {obs.describe()}") from err
                raise
            audit(trigger, actor, obs, decision)
            try:
                result = self.execute(obs, decision, actor=actor, trigger=trigger)
            except ConcurrentUpdateError as err:
                lost = err
                logger.warning("the state changed under this command; reading again", extra={"attempt": attempt, "error": str(err)})
                continue
            break
        else:
            obs = self.observe()
            raise ConcurrentUpdateError(f"{command}: the shift kept changing under this command ({lost}); now: {obs.describe()}")
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
        self.notifications.record_weight(None, obs)
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
            return self.kinds.of(step.kind).claim_seconds(step, self.config)
        return LEASE_SECONDS

    def execute(self, obs: Observation, decision: Decision, *, actor: str, trigger: str) -> dict[str, Any]:
        """Carry out ``decision`` taken on ``obs``; refused (ConcurrentUpdateError) if the state moved on."""
        changes: list[str] = []
        state = obs.state
        notes: list[str] = []
        paged_by_other = False
        if decision.writes:
            now = self.clock()
            claimed = self.store.write(
                obs.state,
                replace(
                    obs.state,
                    pending={"action": decision.action, "by": actor, "at": iso(now), "run": uuid.uuid4().hex,
                             "apply_step": decision.apply_step, "green_weight": decision.green_weight,
                             "lease_until": iso(now + self._claim_seconds(obs, decision)),
                             **({"causes": list(decision.causes)} if decision.causes else {})},
                    updated_by=actor,
                    updated_at=now,
                ),
            )
            ctx = StepContext(traffic=self.traffic, observed=obs.weights, client=self.clients, actor=actor, now=now,
                              config=self.config)
            try:
                changes = self._apply(obs, decision, ctx)
            except Exception as err:  # noqa: BLE001 - any failure half way: put back or finish the rollback (both report it)
                if not decision.towards_blue:
                    self._put_back(obs, decision, claimed, err, actor)  # raises ApplyFailed
                changes = self._retry_towards_blue(obs, decision, claimed, err, ctx)
            restart = decision.apply_step is not None or decision.restart_bake
            weight = decision.green_weight if decision.green_weight is not None else state_weight(obs.state, obs.plan)
            final = ShiftState(
                status=decision.new_status,  # type: ignore[arg-type]  # decision.writes: a decision that writes has a new_status
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
                state, more, recorded = self._lost_commit(obs, decision, changes, err)
                changes += more
                notes.append(f"another run committed first ({state.updated_by}: {state.last_action}); this run's weights were kept as it wants them")
                if decision.towards_blue and not recorded:
                    # The run that took our claim over finishes this rollback and pages it, with our cause
                    # (carried in the claim): one rollback, one page.
                    paged_by_other = True
                    notes.append("not notified by this run: the run that finished the rollback sends its one "
                                 "notification, with this run's cause in it")
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
            if (decision.action != "restart" or changes) and not paged_by_other:
                self.notifications.notify(decision, obs, state, changes, actor, result)
        self.notifications.record(decision, obs)
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
            return self.kinds.of(step.kind).apply(step, ctx)
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

    def _lost_commit(self, obs: Observation, decision: Decision, changes: list[str],
                     err: ConcurrentUpdateError) -> tuple[ShiftState, list[str], bool]:
        """Our weights are written but another run committed first (only a rollback claims over a live
        claim). Put the weights where the winner wants them; a rollback that lost is still a rollback.
        The flag: this run recorded the rollback itself (nobody else will, so this run notifies)."""
        fresh = self.store.load()
        weights = self.traffic.read()
        if decision.towards_blue or fresh.status == ROLLED_BACK or fresh.rollback_unfinished:
            target: int | None = 0
        elif fresh.pending:
            target = None  # another run holds a claim and sets the weights itself
        else:
            target = state_weight(fresh, self.observer.fresh_plan())
        more = self.traffic.set_green_weight(target, weights) if target is not None and weights.differences(target) else []
        if decision.towards_blue:
            if not fresh.rollback_unfinished and fresh.status != ROLLED_BACK:
                # Nobody else records it: write the rollback over whatever won (it took effect on the weights).
                fresh = self.store.write(fresh, replace(fresh, status=ROLLED_BACK, step_index=-1, green_weight=0, reason=decision.reason,
                                                        last_action=decision.action, pending=None, updated_at=self.clock()))
                return fresh, more, True
            return fresh, more, False
        raise ConcurrentUpdateError(
            f"{decision.action} lost a race: {fresh.updated_by or 'another run'} changed the shift first "
            f"(status {fresh.status}, {fresh.last_action}: {fresh.reason}); "
            + (f"this run put the weights back to green {target}" if target is not None else "the other run is still applying")
            + f" ({err})"
        ) from err

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
                changes += self.kinds.of(step.kind).on_rollback(step, ctx)
            except Exception as err:  # noqa: BLE001 - the traffic rollback stands; the failure is reported
                logger.error("a step's undo failed during the rollback", extra={"step": step.describe(), "error": str(err)})
                changes.append(f"UNDO FAILED for {step.describe()}: {type(err).__name__}: {err}")
        return changes

    def notify_failure(self, error: BaseException, context: Mapping[str, Any]) -> None:
        """Best effort: tell the team a run failed (the caller logs and re-raises)."""
        self.notifications.failure(error, context)
