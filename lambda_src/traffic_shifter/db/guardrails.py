"""Guardrail judgments: pure functions of what was read, so they are tested without any AWS.

A switchover old -> ``to`` may begin only when every check holds: exactly one path replicates into
the target and it is current (latency below the limit), no table is in error, validation is clean,
the target is healthy, the path back out of the target is idle, and the old writer is the only
unfenced one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import COLOURS, other
from .ports import ReplicationSnapshot

#: TableState values of a healthy table (full load done, changes flowing).
TABLE_OK = frozenset({"Table completed"})
#: ValidationState values of a clean table ("Pending records": rows changed moments ago, not yet compared).
VALIDATION_OK = frozenset({"Validated", "Pending records"})
#: Path states that replicate nothing.
IDLE = frozenset({"stopped", "ready", "failed", "created"})


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    saw: Any

    def to_dict(self) -> dict[str, Any]:
        return {"guardrail": self.name, "ok": self.ok, "saw": self.saw}


def judge(
    to: str,
    replication: ReplicationSnapshot,
    health: Mapping[str, Any],
    fenced: Mapping[str, bool],
    *,
    max_latency_seconds: float,
) -> list[Check]:
    frm = other(to)
    running = [k for k, status in replication.into.items() if status == "running"]
    checks = [
        Check("replication running", len(running) == 1, dict(replication.into)),
        Check("reverse task idle", all(s in IDLE for s in replication.reverse.values()), dict(replication.reverse)),
    ]
    if running:
        latest = dict(replication.latency)
        checks.append(Check("cdc latency", bool(latest) and all(v is not None and v <= max_latency_seconds for v in latest.values()),
                            {**latest, "max_seconds": max_latency_seconds}))
        tables = replication.tables
        bad_tables = {t["table"]: t.get("state") for t in tables if t.get("state") not in TABLE_OK}
        checks.append(Check("table errors", bool(tables) and not bad_tables, bad_tables or f"{len(tables)} table(s) completed"))
        bad_validation = {
            t["table"]: {"ValidationState": t.get("validation"), "ValidationFailedRecords": t.get("failed", 0),
                         "ValidationSuspendedRecords": t.get("suspended", 0)}
            for t in tables
            if t.get("validation") not in VALIDATION_OK or t.get("failed", 0) or t.get("suspended", 0)
        }
        checks.append(Check("validation clean", bool(tables) and not bad_validation, bad_validation or f"{len(tables)} table(s) validated"))
    checks.append(Check("target cluster healthy", health.get("status") == "available" and health.get("writer_status") == "available", dict(health)))
    checks.append(Check("one writer", dict(fenced) == {frm: False, to: True}, {f"{c}_fenced": fenced.get(c) for c in COLOURS}))
    return checks
