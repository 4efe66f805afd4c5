"""Blue-green traffic shifter: moves the green weight step by step, gated by CloudWatch alarms.

Public surface:

- :class:`Shifter` / :class:`ShifterConfig`: ``Shifter.from_env(environ, session=..., clock=..., kinds=...)``,
  then ``tick(event)``, ``run(command, actor=..., reason=...)``, ``status()``.
- :func:`decide_tick`, :func:`decide_command`: the decisions, pure functions.
- :class:`StepKind`, :class:`StepKinds`: the plan step kinds, passed in (see steps.py).
- :func:`parse_plan`: validate the plan JSON.

The names load on first use (PEP 562), so ``traffic_shifter.model`` (the colours and the green-weight
rule the Sceptre side shares) imports without boto3 or Powertools.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the same names, for type checkers; loaded lazily below
    from .config import ENV_VARS, ShifterConfig
    from .db import DB_ENV_VARS, DbConfig, DbSwitchover, Fence, SqlGrantFence, SwitchoverFailed, SwitchoverRefused
    from .decisions import ALLOWED_FROM, COMMANDS, allowed_commands, decide_command, decide_tick
    from .errors import ApplyFailed, CommandError, ConcurrentUpdateError, ConfigError, PlanError, ShiftError, WeightError
    from .gates import GateVerdict, judge_gates
    from .model import STATUSES, Decision, GateReading, ListenerWeights, ObservedWeights, ShiftState, parse_green_weight
    from .plan import Plan, parse_plan
    from .shifter import Shifter, standard_kinds
    from .steps import Step, StepContext, StepKind, StepKinds, TrafficStep

#: Public name -> the module (of this package) that defines it.
_HOMES = {
    **dict.fromkeys(("DB_ENV_VARS", "DbConfig", "DbSwitchover", "Fence", "SqlGrantFence", "SwitchoverFailed", "SwitchoverRefused"), "db"),
    **dict.fromkeys(("ALLOWED_FROM", "COMMANDS", "allowed_commands", "decide_command", "decide_tick"), "decisions"),
    **dict.fromkeys(("ApplyFailed", "CommandError", "ConcurrentUpdateError", "ConfigError", "PlanError", "ShiftError", "WeightError"),
                    "errors"),
    **dict.fromkeys(("GateVerdict", "judge_gates"), "gates"),
    **dict.fromkeys(("ENV_VARS", "ShifterConfig"), "config"),
    **dict.fromkeys(("STATUSES", "Decision", "GateReading", "ListenerWeights", "ObservedWeights", "ShiftState", "parse_green_weight"),
                    "model"),
    **dict.fromkeys(("Plan", "parse_plan"), "plan"),
    **dict.fromkeys(("Shifter", "standard_kinds"), "shifter"),
    **dict.fromkeys(("Step", "StepContext", "StepKind", "StepKinds", "TrafficStep"), "steps"),
}
#: The same names, spelled out for linters and type checkers (a test holds it equal to _HOMES).
__all__ = ["ALLOWED_FROM", "ApplyFailed", "COMMANDS", "CommandError", "ConcurrentUpdateError", "ConfigError",
    "DB_ENV_VARS", "DbConfig", "DbSwitchover", "Decision", "ENV_VARS", "Fence", "GateReading", "GateVerdict",
    "ListenerWeights", "ObservedWeights", "Plan", "PlanError", "STATUSES", "ShiftError", "ShiftState", "Shifter",
    "ShifterConfig", "SqlGrantFence", "Step", "StepContext", "StepKind", "StepKinds", "SwitchoverFailed",
    "SwitchoverRefused", "TrafficStep", "WeightError", "allowed_commands", "decide_command", "decide_tick",
    "judge_gates", "parse_green_weight", "parse_plan", "standard_kinds"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
