"""Step kinds of a shift plan, passed in.

A plan step is a JSON object with a ``kind`` (default ``"traffic"``), a ``bake_seconds`` and the
fields of its kind. Each kind is a :class:`StepKind`; the kinds a plan may use are a
:class:`StepKinds` handed to ``parse_plan(text, where, kinds)`` and ``Shifter(config, kinds=...)``
(no global registry: a test or the rehearsal passes its own). The plan parser asks the kind to
validate the step's own fields, and the shifter asks it to carry the step out when the plan advances
onto it. ``traffic`` (below) moves the weights and is always there; ``db_switchover`` (``db/step.py``)
moves the database writer. A new kind subclasses :class:`StepKind` the way ``db/step.py`` does, with
its ``name``, its ``fields``, ``validate`` (raise :class:`PlanError` naming ``where``; return None
when the step leaves the weights alone), an idempotent ``apply`` and, where it needs them, its hooks:
``on_rollback`` (undo on a rollback), ``claim_seconds`` (how long its run keeps others out),
``grace_seconds``/``grace_why`` (how long after it began an alarm holds instead of rolling back) and
``recover`` (finish or undo a run of it that died, called at every tick).

The decisions (advance after bake when every gate is OK, roll back on ALARM) are the same for
every kind; nothing outside a kind names it by its string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import PlanError
from .model import LEASE_SECONDS, ObservedWeights

if TYPE_CHECKING:  # pragma: no cover - ports imports model only; kept out of the runtime graph all the same
    from .ports import TrafficPort

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
    #: Seconds after the step began during which an alarm holds the shift (StepKind.grace_seconds).
    grace_seconds: int = field(default=0, compare=False)
    #: Why an alarm within that grace is not the step's fault (StepKind.grace_why).
    grace_why: str = field(default="", compare=False)

    def describe(self) -> str:
        what = f"green {self.green_weight}" if self.green_weight is not None else self.kind
        return f"step {self.index + 1} ({what}, bake {self.bake_seconds} s)"

    def to_dict(self) -> dict[str, Any]:
        return {**self.raw, "kind": self.kind, "bake_seconds": self.bake_seconds}


@dataclass
class StepContext:
    """What a step kind may use to carry out its step."""

    traffic: TrafficPort
    #: Weights as read at the start of this run (so unchanged weights are not re-sent).
    observed: ObservedWeights
    #: ``client("rds")``: a boto3 client with the shifter's retry configuration.
    client: Callable[[str], Any]
    actor: str
    now: float
    #: The shifter's configuration (ShifterConfig; ``config.db`` for the database switchover).
    config: Any = None


class StepKind:
    """Base class of a step kind; subclass it and pass an instance in a :class:`StepKinds`."""

    #: The value of the step's ``kind`` field.
    name: str = ""
    #: The kind's own fields, besides ``kind`` and ``bake_seconds``.
    fields: tuple[str, ...] = ()
    #: The kind's fields that must be present.
    required: tuple[str, ...] = ()
    #: Why an alarm within the step's grace is not the step's fault (said in the hold's reason).
    grace_why: str = ""

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
        Default: LEASE_SECONDS; a kind whose apply takes longer says how long."""
        return float(LEASE_SECONDS)

    def grace_seconds(self, raw: Mapping[str, Any]) -> int:
        """How long after the step began an alarm holds the shift instead of rolling it back. Default: 0."""
        return 0

    def recover(self, clients: Callable[[str], Any], config: Any, actor: str) -> list[str]:
        """Finish or undo a run of this kind that died (every tick asks, before deciding); [] when there is none."""
        return []


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


class StepKinds(Mapping[str, StepKind]):
    """The step kinds a plan may use, by name: ``traffic`` always, and the kinds passed in."""

    def __init__(self, *kinds: StepKind) -> None:
        self._kinds: dict[str, StepKind] = {TRAFFIC: TrafficStep()}
        for kind in kinds:
            if not kind.name or not isinstance(kind.name, str):
                raise ValueError(f"a step kind needs a non-empty name, got {kind.name!r}")
            self._kinds[kind.name] = kind

    def __getitem__(self, name: str) -> StepKind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def of(self, name: str) -> StepKind:
        """The kind called ``name``; PlanError naming the known ones when there is none."""
        try:
            return self._kinds[name]
        except KeyError:
            raise PlanError(f"unknown step kind {name!r} (known: {', '.join(sorted(self._kinds))})") from None


#: Only the traffic kind: what a plan is parsed with when no kinds are passed.
TRAFFIC_ONLY = StepKinds()
