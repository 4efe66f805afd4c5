"""JSON log lines on stdout: one per request (key, outcome, latency, colour) and the server's own.

Never logged: the card token, the request body, an IAM token or a password. Fields are passed
explicitly (``extra={"fields": ...}``) so nothing reaches a log line by accident.
"""

from __future__ import annotations

import json
import logging
import sys
import time

REQUESTS = logging.getLogger("payment_api.requests")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            # The exception's type and message only: a traceback's locals are not printed, and
            # PyMySQL's messages carry no password or token.
            line["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return json.dumps(line, separators=(",", ":"), default=str)


def configure(stream=sys.stdout, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def request(*, method: str, route: str, status: int, outcome: str, latency_ms: float, colour: str,
            key: str | None = None, payment_id: str | None = None, attempts: int | None = None,
            notes: tuple[str, ...] = ()) -> None:
    fields = {"event": "request", "method": method, "route": route, "status": status, "outcome": outcome,
              "latency_ms": round(latency_ms, 2), "colour": colour}
    if key is not None:
        fields["idempotency_key"] = key
    if payment_id is not None:
        fields["payment_id"] = payment_id
    if attempts is not None:
        fields["attempts"] = attempts
    if notes:
        fields["retries"] = list(notes)
    REQUESTS.info("request", extra={"fields": fields})
