"""Step kinds of a shift plan, pluggable.

A plan step is a JSON object with a ``kind`` (default ``"traffic"``), a ``bake_seconds`` and the
fields of its kind. Each kind is a :class:`StepKind` registered under its name; the plan parser
asks the kind to validate the step's own fields, and the shifter asks it to carry the step out
when the plan advances onto it. ``traffic`` (below) moves the weights; ``db_switchover``
(``db/step.py``, the one other kind) moves the database writer. A new kind subclasses
:class:`StepKind` the way ``db/step.py`` does, with its ``name``, its ``fields``, ``validate``
(raise :class:`PlanError` naming ``where``; return None when the step leaves the weights alone),
an idempotent ``apply`` and, where a rollback must undo it, ``on_rollback``; then
``register_step_kind`` it.

The decisions (advance after bake when every gate is OK, roll back on ALARM) are the same for
every kind; a kind only says how its step is validated, carried out, and undone on rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import PlanError

if TYPE_CHECKING:  # pragma: no cover
    from .aws import ObservedWeights, TrafficControls

TRAFFIC = "traffic"
#: Fields every step may have, whatever its kind.
COMMON_FIELDS = ("kind", "bake_seconds")


@dataclass(frozen=True)
class Step:
    """One validated plan step."""

    index: int
    kind: str
    bake_seconds: int
    #: The green weight this step applies; None for kinds that leave the traffic weights alone.
    green_weight: int | None
    #: The step as written in the plan (the kind's own fields are read from here).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        what = f"green {self.green_weight}" if self.green_weight is not None else self.kind
        return f"step {self.index + 1} ({what}, bake {self.bake_seconds} s)"

    def to_dict(self) -> dict[str, Any]:
        return {**self.raw, "kind": self.kind, "bake_seconds": self.bake_seconds}


@dataclass
class StepContext:
    """What a step kind may use to carry out its step."""

    traffic: TrafficControls
    #: Weights as read at the start of this run (so unchanged weights are not re-sent).
    observed: ObservedWeights
    #: ``client("rds")``: a boto3 client with the shifter's retry configuration.
    client: Callable[[str], Any]
    actor: str
    now: float
    #: The shifter's configuration (ShifterConfig; ``config.db`` for the database switchover).
    config: Any = None


class StepKind:
    """Base class of a step kind; subclass it and :func:`register_step_kind` an instance."""

    #: The value of the step's ``kind`` field.
    name: str = ""
    #: The kind's own fields, besides ``kind`` and ``bake_seconds``.
    fields: tuple[str, ...] = ()
    #: The kind's fields that must be present.
    required: tuple[str, ...] = ()

    def validate(self, raw: Mapping[str, Any], where: str) -> int | None:
        """Check the kind's own fields (raise :class:`PlanError` naming ``where``).

        Returns the green weight the step applies, or None when it leaves traffic alone.
        """
        return None

    def apply(self, step: Step, ctx: StepContext) -> list[str]:
        """Carry the step out, idempotently; return the changes made (empty when none were needed)."""
        raise NotImplementedError(f"step kind {self.name!r} does not implement apply()")

    def on_rollback(self, step: Step, ctx: StepContext) -> list[str]:
        """Undo what this step did, after traffic went back to blue. Default: nothing to undo."""
        return []

    def claim_seconds(self, step: Step, config: Any) -> float:
        """How long a run carrying this step out keeps other runs from acting (a rollback always may).
        Default: the shifter's LEASE_SECONDS; a kind whose apply takes longer says how long."""
        from .decisions import LEASE_SECONDS  # noqa: PLC0415 - decisions imports this module

        return float(LEASE_SECONDS)


class TrafficStep(StepKind):
    """Shift ``green_weight`` percent of the traffic to green (ALB and Route 53, then SSM)."""

    name = TRAFFIC
    fields = ("green_weight",)
    required = ("green_weight",)

    def validate(self, raw: Mapping[str, Any], where: str) -> int | None:
        weight = raw["green_weight"]
        if type(weight) is not int or not 0 <= weight <= 100:
            raise PlanError(f"{where}: green_weight must be an integer 0..100, got {weight!r}")
        return weight

    def apply(self, step: Step, ctx: StepContext) -> list[str]:
        assert step.green_weight is not None
        return ctx.traffic.set_green_weight(step.green_weight, ctx.observed)


_KINDS: dict[str, StepKind] = {}


def register_step_kind(kind: StepKind) -> StepKind:
    """Make ``kind`` usable in plans under ``kind.name`` (replacing a kind of the same name)."""
    if not kind.name or not isinstance(kind.name, str):
        raise ValueError(f"a step kind needs a non-empty name, got {kind.name!r}")
    _KINDS[kind.name] = kind
    return kind


def step_kind(name: str) -> StepKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise PlanError(f"unknown step kind {name!r} (known: {', '.join(known_step_kinds())})") from None


def known_step_kinds() -> list[str]:
    return sorted(_KINDS)


register_step_kind(TrafficStep())
