"""The shift plan read from SSM (``<prefix>/shift/plan``), validated before anything is done with it.

Shape::

    {"steps": [{"green_weight": 10, "bake_seconds": 300},
               {"green_weight": 25, "bake_seconds": 300},
               {"green_weight": 50, "bake_seconds": 600},
               {"green_weight": 100, "bake_seconds": 0}]}

Rules: at least one step; ``kind`` defaults to ``"traffic"`` and must be one of the kinds passed in
(``parse_plan(text, where, kinds)``; see steps.py);
``bake_seconds`` is an integer >= 0; traffic steps' ``green_weight`` are integers 0..100, strictly
increasing, and the last traffic step is 100. Unknown fields are refused (a typo must not pass).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import PlanError
from .steps import COMMON_FIELDS, TRAFFIC, TRAFFIC_ONLY, Step, StepKinds

TOP_LEVEL_FIELDS = ("steps", "description")


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    description: str = ""

    @property
    def last_index(self) -> int:
        return len(self.steps) - 1

    def weight_at(self, index: int) -> int:
        """Green weight in effect once step ``index`` is applied (-1: before the first step, 0)."""
        for step in reversed(self.steps[: index + 1]):
            if step.green_weight is not None:
                return step.green_weight
        return 0

    def full_traffic_index(self) -> int:
        """Index of the step that brings green to 100 (validation guarantees there is one)."""
        return next(s.index for s in self.steps if s.green_weight == 100)

    @property
    def fingerprint(self) -> str:
        """What binds a shift to its plan: a hash of the steps as validated (whitespace, key order and
        the description do not count; any change to a step, its bake or its weight does)."""
        canonical = json.dumps([s.to_dict() for s in self.steps], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"steps": [s.to_dict() for s in self.steps]}
        if self.description:
            out["description"] = self.description
        return out


def parse_plan(text: str | None, source: str = "plan", kinds: StepKinds = TRAFFIC_ONLY) -> Plan:
    """Parse and validate the plan JSON with the step ``kinds`` it may use; raise :class:`PlanError`
    naming what is wrong (``source``: where the text came from, e.g. the SSM parameter's name)."""
    if text is None:
        raise PlanError(f"{source}: parameter not found")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise PlanError(f"{source}: not valid JSON ({err})") from err
    return validate_plan(doc, source, kinds)


def validate_plan(doc: Any, source: str = "plan", kinds: StepKinds = TRAFFIC_ONLY) -> Plan:
    if not isinstance(doc, Mapping):
        raise PlanError(f"{source}: expected a JSON object with a 'steps' list, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(TOP_LEVEL_FIELDS))
    if unknown:
        raise PlanError(f"{source}: unknown field(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(TOP_LEVEL_FIELDS)})")
    raw_steps = doc.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PlanError(f"{source}: 'steps' must be a non-empty list, got {raw_steps!r}")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise PlanError(f"{source}: 'description' must be a string, got {description!r}")

    steps = tuple(_parse_step(raw, i, source, kinds) for i, raw in enumerate(raw_steps))

    traffic = [s for s in steps if s.green_weight is not None]
    if not traffic:
        raise PlanError(f"{source}: no traffic step; the plan must end with green_weight 100")
    for before, after in zip(traffic, traffic[1:], strict=False):
        if after.green_weight <= before.green_weight:  # type: ignore[operator]  # traffic steps (green_weight not None) only: filtered just above
            raise PlanError(
                f"{source}: green_weight must increase strictly from step to step; "
                f"step {after.index + 1} has {after.green_weight} after {before.green_weight} in step {before.index + 1}"
            )
    if traffic[-1].green_weight != 100:
        raise PlanError(
            f"{source}: the last traffic step must have green_weight 100, "
            f"step {traffic[-1].index + 1} has {traffic[-1].green_weight}"
        )
    return Plan(steps=steps, description=description)


def _parse_step(raw: Any, index: int, source: str, kinds: StepKinds) -> Step:
    where = f"{source}: step {index + 1}"
    if not isinstance(raw, Mapping):
        raise PlanError(f"{where}: expected an object, got {raw!r}")
    kind_name = raw.get("kind", TRAFFIC)
    if not isinstance(kind_name, str):
        raise PlanError(f"{where}: kind must be a string, got {kind_name!r}")
    try:
        kind = kinds.of(kind_name)
    except PlanError as err:
        raise PlanError(f"{where}: {err}") from None
    allowed = COMMON_FIELDS + kind.fields
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise PlanError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} for kind {kind_name!r} (allowed: {', '.join(allowed)})")
    missing = [f for f in ("bake_seconds", *kind.required) if f not in raw]
    if missing:
        raise PlanError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
    bake = raw["bake_seconds"]
    if type(bake) is not int or bake < 0:
        raise PlanError(f"{where}: bake_seconds must be an integer >= 0, got {bake!r}")
    weight = kind.validate(raw, where)
    return Step(index=index, kind=kind_name, bake_seconds=bake, green_weight=weight, raw=dict(raw),
                grace_seconds=kind.grace_seconds(raw), grace_why=kind.grace_why)
