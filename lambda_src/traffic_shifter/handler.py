"""Lambda entry point: Handler ``traffic_shifter.handler.lambda_handler`` (the zip built by
bluegreen.lambda_zip keeps the package folder, ``traffic_shifter/``, with the dependencies at its root).

Events: the EventBridge schedule (every minute), CloudWatch "Alarm State Change" events for the gate
alarms (immediate reaction), and direct operator invocations::

    {"command": "status" | "start" | "pause" | "resume" | "promote" | "rollback",
     "actor": "jane.doe", "reason": "optional free text"}
    {"command": "db status"}    {"command": "db switchover", "to": "green", "actor": ..., "reason": ..., "caller": ...}

In prod (the function's ENVIRONMENT), ``start``, ``promote`` and ``db switchover`` are refused unless the
event names its ``change_id`` and ``caller`` and another identity approved that change (approval.py).

The ``db`` commands are answered by the step kind that declares them (``StepKind.commands``): they
need the databases, which only code inside the VPC reaches (``bluegreen db`` invokes this function).

A refused command returns ``{"ok": false, "error": "..."}``; an unexpected failure is logged,
published to the SNS topic and re-raised (the DLQ takes failed async invocations). When IAM denied a
call, the answer says so by name: ``"denied": [{"action", "resource", "principal", "code", "why"}]`` beside
``error`` (whose words start with the denial), in a finished run's answer too (a note such as a
notification that could not be sent), and a failure is re-raised as AwsCallDenied naming it.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import approval
from .aws_errors import denial_of, explain, parse
from .errors import AwsCallDenied, CommandError, ConfigError, ShiftError
from .model import LOG_SERVICE, SERVICE
from .shifter import Shifter

logger = Logger(service=LOG_SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PaymentsBlueGreen"), service=SERVICE)

_shifter: Shifter | None = None


def get_shifter() -> Shifter:
    """The shifter (and its clients) built once per execution environment."""
    global _shifter
    if _shifter is None:
        _shifter = Shifter.from_env(os.environ, metrics=metrics)
    return _shifter


def reset_shifter() -> None:
    """Forget the cached shifter (tests change the environment between cases)."""
    global _shifter
    _shifter = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        shifter = get_shifter()
    except Exception:
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        logger.exception("traffic shifter cannot start (its configuration); nothing was done")
        raise
    command = event.get("command") if isinstance(event, dict) else None
    try:
        if command is None:
            return with_denials(shifter.tick(event))
        try:
            require_approval(shifter, event)
            kind = next((k for k in shifter.kinds.values() if command in getattr(k, "commands", ())), None)
            if kind is not None:
                return with_denials(kind.command(shifter.clients, shifter.config, event))  # type: ignore[attr-defined]  # a kind that lists commands has command()
            return with_denials(shifter.run(str(command), actor=str(event.get("actor") or ""),
                                            reason=str(event.get("reason") or "")))
        except ShiftError as err:
            if isinstance(err, ConfigError):
                raise
            metrics.add_metric(name="CommandsRefused", unit=MetricUnit.Count, value=1)
            logger.warning(f"command refused: {err}", extra={"command": command, "actor": event.get("actor")})
            answer = {"ok": False, "command": command, "error": explain(err), "error_type": type(err).__name__}
            denied = denial_of(err)
            return {**answer, "denied": [denied.as_dict()]} if denied is not None else answer
    except Exception as err:
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        denied = denial_of(err)
        logger.exception("traffic shifter run failed", extra={"event": event, **({"denied": denied.as_dict()} if denied else {})})
        shifter.notify_failure(err, {"event": event})
        if denied is not None:  # the invocation's errorMessage names it (FunctionError, the Errors alarm)
            raise AwsCallDenied(explain(err)) from err
        raise


def require_approval(shifter: Shifter, event: dict[str, Any]) -> None:
    """The two-person rule, held here too: a direct invocation must not bypass ``bluegreen``'s check."""
    environment = os.environ.get(approval.ENVIRONMENT_VARIABLE, "")
    wanted = approval.wanted(event, environment)
    found = approval.read(shifter.clients("dynamodb"), shifter.config.state_table, wanted) if wanted else None
    refused = approval.event_refusal(event, environment, found, approval.now())
    if refused:
        raise CommandError(refused)


def with_denials(answer: dict[str, Any]) -> dict[str, Any]:
    """A finished run's answer, with ``denied`` when one of its notes reports a denied call."""
    denied = [found.as_dict() for note in answer.get("notes") or () if (found := parse(str(note))) is not None]
    return {**answer, "denied": denied} if denied else answer
