"""What a run tells: the audit line of every decision (with all its inputs), the SNS notification of
every action that took effect or failed, and the metrics. Best effort where the action already stands:
an action that took effect is never reported as failed because SNS was not reachable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from .aws import Notifier
from .aws_errors import explain
from .errors import CommandError, ShiftError
from .model import LOG_SERVICE, Decision, ShiftState, parse_green_weight
from .observation import Observation
from .ports import MetricsSink

logger = Logger(service=LOG_SERVICE)

HEADLINES = {
    "rollback": "traffic ROLLED BACK to blue (green 0)",
    "reconcile": "green weight put back to 0 (status rolled_back)",
    "complete": "traffic shift COMPLETED (green 100)",
}


def audit(trigger: str, actor: str, obs: Observation, decision: Decision | None, error: Exception | None = None) -> None:
    """The audit trail: every decision with all the inputs it saw, one JSON log line."""
    record = {"trigger": trigger, "actor": actor, "inputs": obs.to_dict()}
    if decision is not None:
        logger.info(f"decision: {decision.action}", extra={**record, "decision": decision.to_dict()})
    else:
        # A refused operator command is routine; a plan or weight that cannot be used is not.
        log = logger.warning if isinstance(error, CommandError) else logger.error
        log(f"decision refused: {error}", extra={**record, "error": str(error), "error_type": type(error).__name__})


class Notifications:
    """SNS (through aws.Notifier) and the metrics sink of one shifter."""

    def __init__(self, notifier: Notifier, metrics: MetricsSink | None) -> None:
        self.notifier = notifier
        self.metrics = metrics

    def notify(self, decision: Decision, obs: Observation, state: ShiftState, changes: list[str], actor: str,
               result: dict[str, Any] | None = None) -> None:
        """Best effort: a failure to publish is logged, and noted in ``result``."""
        try:
            self._publish(decision, obs, state, changes, actor)
        except Exception as err:  # noqa: BLE001 - logged (the audit line already has the action)
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
                # Every cause of a rollback (alarms and operators that joined it while it was applied).
                "causes": list(decision.causes),
                "actor": actor,
                "decision": decision.to_dict(),
                "changes": changes,
                "state": state.to_dict(),
                "weights_before": obs.weights.to_dict(),
                "gates": [g.to_dict() for g in obs.gates],
            },
        )

    def failure(self, error: BaseException, context: Mapping[str, Any]) -> None:
        """Best effort: tell the team a run failed (the caller logs and re-raises)."""
        try:
            self.notifier.publish(
                f"traffic shifter FAILED: {type(error).__name__}",
                {"error": explain(error), "error_type": type(error).__name__, **context},  # a denial named first
            )
        except Exception:  # the original error matters more than the notification's
            logger.exception("could not publish the failure notification")

    def record_weight(self, decision: Decision | None, obs: Observation) -> None:
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

    def record(self, decision: Decision, obs: Observation) -> None:
        """The metrics of one decision (and the weight it leaves)."""
        if self.metrics is None:
            return
        self.record_weight(decision, obs)
        self.metrics.add_metric(name="Decisions", unit="Count", value=1)
        self.metrics.add_metric(name=f"Decision{decision.action.title()}", unit="Count", value=1)
        if decision.action == "rollback":
            self.metrics.add_metric(name="Rollbacks", unit="Count", value=1)
