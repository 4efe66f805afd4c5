"""Lambda entry point: Handler ``traffic_shifter.handler.lambda_handler`` (the zip built by
bluegreen.lambda_zip keeps the package folder, ``traffic_shifter/``, with the dependencies at its root).

Events: the EventBridge schedule (every minute), CloudWatch "Alarm State Change" events for the gate
alarms (immediate reaction), and direct operator invocations::

    {"command": "status" | "start" | "pause" | "resume" | "promote" | "rollback",
     "actor": "jane.doe", "reason": "optional free text"}

A refused command returns ``{"ok": false, "error": "..."}``; an unexpected failure is logged,
published to the SNS topic and re-raised (the DLQ takes failed async invocations).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .errors import ConfigError, ShiftError
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
            return shifter.tick(event)
        try:
            return shifter.run(str(command), actor=str(event.get("actor") or ""), reason=str(event.get("reason") or ""))
        except ShiftError as err:
            if isinstance(err, ConfigError):
                raise
            metrics.add_metric(name="CommandsRefused", unit=MetricUnit.Count, value=1)
            logger.warning(f"command refused: {err}", extra={"command": command, "actor": event.get("actor")})
            return {"ok": False, "command": command, "error": str(err), "error_type": type(err).__name__}
    except Exception as err:
        metrics.add_metric(name="Failures", unit=MetricUnit.Count, value=1)
        logger.exception("traffic shifter run failed", extra={"event": event})
        shifter.notify_failure(err, {"event": event})
        raise
