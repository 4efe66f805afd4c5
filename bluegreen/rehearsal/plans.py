"""The scenarios a rehearsal can run (their names and the faults the detection ones inject), its
options, and the shift plan each scenario hands the project's shifter (scenario.py says what each does)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .monitor import TimeModel

#: Detection scenarios: what is done to green (payment_api/faults.py, or a kill) during the 50 % bake.
FAULTS: dict[str, dict[str, Any]] = {
    "hard-fault": {"kill": True},
    "errors": {"every": {"error_rate": 0.02}},
    "one-task": {"one": {"error_rate": 1.0}},
    "latency": {"every": {"added_latency_ms": 200}},
    "slow-db": {"every": {"db_delay_ms": 50}},
}
#: The fault matrix's scenarios on the procedure itself (procedure_faults.py runs them, matrix.py judges them).
PROCEDURE_FAULTS = ("rollback-10", "rollback-50", "finish", "lease-lost", "worker-killed", "drain-timeout",
                    "replication-broken", "db-cut", "db-restart", "switch-back-50", "operator-race", "overload")
SCENARIOS = ("default", "crash", "pause", *FAULTS, "clean", "low-traffic", *PROCEDURE_FAULTS)


@dataclass
class Options:
    scenario: str = "default"
    rate: float = 140.0
    #: Seconds of each bake (a step's hold with the gates watched) and of each steady phase.
    bake: float = 10.0
    #: The one time-compression factor and AWS's declared delays (monitor.AWS_DELAYS).
    timing: TimeModel = field(default_factory=TimeModel)
    #: Monitoring-stack parameters set as a deployment would set them (the template's defaults otherwise).
    alarm_parameters: dict[str, str] = field(default_factory=dict)
    tick_seconds: float = 1.0
    warmup: float = 3.0
    port: int | None = None
    keep: bool = False
    say: Callable[[str], None] = print
    #: The delay profile of the shifter's processes (delays.py: none | aws) and overrides of single values.
    delays: str = "none"
    delay_overrides: dict[str, float] = field(default_factory=dict)
    #: The stack's measured capacity (payments/s): the overload scenario runs at twice it (overload.py).
    capacity: float | None = None



def grace_for(timing: TimeModel) -> int:
    """The db switchover step's grace (StepKind.grace_seconds, judged by decisions.alarm_grace): the switchover,
    the payments it held draining out of the queue (on this shared 2-core machine the pause alone can take
    several seconds), then four fast periods (judged after the EMF delay) for an alarm the pause tripped to
    clear. The pause stalls both colours alike, so the latency alarm (green against blue) barely moves."""
    return max(10, math.ceil(timing.real(40 + timing.emf_delay)))


def advised_grace(timing: TimeModel) -> int:
    """The grace docs/rehearsal.md advises for AWS (the switchover's budget plus three of the slow line's
    one-minute periods, judged after the EMF delay), the periods compressed, the budget not (the switchover
    runs at real speed). Longer than grace_for, which leaves out the slow line and a dead run's recovery."""
    from .world import db_config  # world.py holds the rehearsal's switchover tunables

    return math.ceil(db_config().budget_seconds + timing.real(3 * 60 + timing.emf_delay))


def plan_for(scenario: str, bake: float, timing: TimeModel | None = None) -> dict[str, Any]:
    b = max(1, round(bake))
    timing = timing or TimeModel()
    steps: list[dict[str, Any]]
    if scenario == "rollback-10":
        # The fault comes during the 10 % bake, which outlasts the run.
        steps = [{"green_weight": 10, "bake_seconds": 3600}, {"green_weight": 50, "bake_seconds": b},
                 {"green_weight": 100, "bake_seconds": b}]
    elif scenario == "switch-back-50":
        # Both switchovers with traffic 50/50; the second one's bake outlasts the run (a plan ends at 100 %).
        # Two pauses back to back can trip the slow line's per-minute p99 twice: the grace advised for AWS.
        grace = advised_grace(timing)
        steps = [{"green_weight": 10, "bake_seconds": b}, {"green_weight": 50, "bake_seconds": b},
                 {"kind": "db_switchover", "to": "green", "bake_seconds": b, "grace_seconds": grace},
                 {"kind": "db_switchover", "to": "blue", "bake_seconds": 3600, "grace_seconds": grace},
                 {"green_weight": 100, "bake_seconds": b}]
    elif scenario in FAULTS or scenario == "rollback-50":
        # The fault comes during the 50 % bake, which outlasts the run.
        steps = [{"green_weight": 10, "bake_seconds": b}, {"green_weight": 50, "bake_seconds": 3600},
                 {"green_weight": 100, "bake_seconds": b}]
    elif scenario in ("clean", "low-traffic"):
        steps = [{"green_weight": 10, "bake_seconds": b}, {"green_weight": 50, "bake_seconds": b},
                 {"green_weight": 100, "bake_seconds": b}]
    else:
        # The last step's bake outlasts the run: the fault comes during it, while the shift still runs.
        # A run that dies inside the step is recovered by a later one (the lease, a tick) and the step runs again
        # once its claim lapses (the switchover's budget): the grace advised for AWS covers that.
        grace = advised_grace(timing) if scenario == "worker-killed" else grace_for(timing)
        steps = [{"green_weight": 10, "bake_seconds": b}, {"green_weight": 50, "bake_seconds": b},
                 {"green_weight": 100, "bake_seconds": b},
                 {"kind": "db_switchover", "to": "green", "bake_seconds": 3600, "grace_seconds": grace}]
    return {"steps": steps, "description": f"rehearsal ({scenario})"}


__all__ = ["FAULTS", "PROCEDURE_FAULTS", "SCENARIOS", "Options", "advised_grace", "grace_for", "plan_for"]
