"""Blue-green traffic shifter: moves the green weight step by step, gated by CloudWatch alarms.

Public surface:

- :class:`Shifter` / :class:`ShifterConfig`: ``Shifter.from_env(environ, session=..., clock=...)``,
  then ``tick(event)``, ``run(command, actor=..., reason=...)``, ``status()``.
- :func:`decide_tick`, :func:`decide_command`: the decisions, pure functions.
- :class:`StepKind`, :func:`register_step_kind`: add a plan step kind (see steps.py).
- :func:`parse_plan`: validate the plan JSON.
"""

from .decisions import ALLOWED_FROM, COMMANDS, Decision, GateVerdict, allowed_commands, decide_command, decide_tick, judge_gates
from .errors import ApplyFailed, CommandError, ConcurrentUpdateError, ConfigError, PlanError, ShiftError, WeightError
from .model import STATUSES, GateReading, ListenerWeights, ObservedWeights, ShiftState, parse_green_weight
from .plan import Plan, parse_plan
from .shifter import ENV_VARS, Shifter, ShifterConfig
from .steps import Step, StepContext, StepKind, TrafficStep, known_step_kinds, register_step_kind
from .db import DB_ENV_VARS, DbConfig, DbSwitchover, Fence, SqlGrantFence, SwitchoverFailed, SwitchoverRefused  # registers db_switchover

__all__ = [
    "ALLOWED_FROM",
    "ApplyFailed",
    "COMMANDS",
    "ENV_VARS",
    "STATUSES",
    "CommandError",
    "DB_ENV_VARS",
    "DbConfig",
    "DbSwitchover",
    "Fence",
    "SqlGrantFence",
    "SwitchoverFailed",
    "SwitchoverRefused",
    "ConcurrentUpdateError",
    "ConfigError",
    "Decision",
    "GateReading",
    "GateVerdict",
    "ObservedWeights",
    "Plan",
    "PlanError",
    "ShiftError",
    "ShiftState",
    "Shifter",
    "ShifterConfig",
    "ListenerWeights",
    "Step",
    "StepContext",
    "StepKind",
    "TrafficStep",
    "WeightError",
    "allowed_commands",
    "decide_command",
    "decide_tick",
    "judge_gates",
    "known_step_kinds",
    "parse_green_weight",
    "parse_plan",
    "register_step_kind",
]
