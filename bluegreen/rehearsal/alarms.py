"""The deployed alarms, read from the rendered monitoring template and evaluated as CloudWatch evaluates them.

Nothing here restates an alarm: metric, statistic, period, threshold, comparison, datapoints to alarm,
evaluation periods, missing-data treatment and metric math come from ``templates/monitoring.json``
(parameters at their defaults; the template's Subs and Refs resolved against the rehearsal's names).
Evaluation follows AWS's rules (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):

* periods aligned to whole multiples of the period, and only complete ones: a period is judged
  ``delay`` after it ends (the data must have arrived), never while it is in progress;
* the N most recent periods, M of them breaching (the template's EvaluationPeriods / DatapointsToAlarm);
* a period without a datapoint is treated as the alarm says: breaching, notBreaching, missing (if
  every period lacks one: INSUFFICIENT_DATA, otherwise only the ones present count) or ignore;
* metric math: SUM/MAX/MIN/AVG of arrays skip series without a datapoint, FILL, arithmetic (a missing
  operand: no datapoint), comparisons, and IF, whose datapoint is dropped when the condition is false
  and no false value is given (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#using-IF-expressions).

``scale`` compresses time: every period (and delay) is divided by it, so the rehearsal's minutes are
AWS's tens of minutes; the thresholds and counts are untouched.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "templates" / "monitoring.json"
OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"

#: Values of a metric in one period -> the statistic (CloudWatch's names).
Values = Sequence[float]


def percentile(values: Values, q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def statistic(name: str, values: Values) -> float | None:
    """CloudWatch's statistic of the raw values published in a period (None: no datapoint)."""
    if not values:
        return None
    if name == "Sum":
        return float(sum(values))
    if name == "SampleCount":
        return float(len(values))
    if name == "Maximum":
        return float(max(values))
    if name == "Minimum":
        return float(min(values))
    if name == "Average":
        return float(sum(values) / len(values))
    if re.fullmatch(r"p\d+(\.\d+)?", name):
        return float(percentile(values, float(name[1:])))
    raise ValueError(f"statistic {name!r} is not modelled by the rehearsal")


@dataclass(frozen=True)
class MetricRef:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int  # AWS seconds


@dataclass(frozen=True)
class AlarmDef:
    logical: str
    name: str
    description: str
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints: int
    missing: str
    #: id -> MetricRef (metric queries) or expression text, in the template's order; ``returned`` is judged.
    queries: tuple[tuple[str, MetricRef | str], ...]
    returned: str

    @property
    def period(self) -> int:
        return max(q.period for _, q in self.queries if isinstance(q, MetricRef))

    @property
    def metrics(self) -> list[MetricRef]:
        return [q for _, q in self.queries if isinstance(q, MetricRef)]


@dataclass(frozen=True)
class Composite:
    logical: str
    name: str
    members: tuple[str, ...]  # logical ids of member metric alarms (ALARM(...) OR ALARM(...))


@dataclass
class Definitions:
    alarms: dict[str, AlarmDef] = field(default_factory=dict)
    composites: dict[str, Composite] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


class Resolver:
    """Resolves the template's intrinsics: a parameter to its Default, or to a local name from ``names``."""

    def __init__(self, parameters: Mapping[str, Any], names: Mapping[str, str]) -> None:
        self.parameters, self.names = parameters, names

    def ref(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        if name in self.parameters and "Default" in self.parameters[name]:
            return self.parameters[name]["Default"]
        raise KeyError(f"the rehearsal has no value for {name!r} (add it to the names it resolves)")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and "Ref" in value:
            return self.ref(value["Ref"])
        if isinstance(value, dict) and "Fn::Sub" in value:
            text, extra = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self(extra[m.group(1)]) if m.group(1) in extra
                                                          else self.ref(m.group(1))), text)
        return value


def load(names: Mapping[str, str], path: Path = MONITORING) -> Definitions:
    """Every metric alarm and composite of the monitoring template, resolved."""
    template = json.loads(path.read_text())
    resolve = Resolver(template["Parameters"], names)
    out = Definitions(parameters={k: v.get("Default") for k, v in template["Parameters"].items()})
    for logical, res in template["Resources"].items():
        p = res.get("Properties", {})
        if res["Type"] == "AWS::CloudWatch::Alarm":
            out.alarms[logical] = _alarm(logical, p, resolve)
        elif res["Type"] == "AWS::CloudWatch::CompositeAlarm":
            rule = p["AlarmRule"]
            text = rule["Fn::Sub"] if isinstance(rule["Fn::Sub"], str) else rule["Fn::Sub"][0]
            members = tuple(re.findall(r'ALARM\("\$\{(\w+)\}"\)', text))
            out.composites[logical] = Composite(logical, resolve(p["AlarmName"]), members)
    return out


def sample_guard(overrides: Mapping[str, Any], path: Path = MONITORING) -> tuple[int, int]:
    """(MinPaymentsPerPeriod as deployed or overridden, the shortest period of an alarm it guards): what one
    period of the shift's first step must carry for the fast alarms to judge at all."""
    template = json.loads(path.read_text())
    guarded = [r["Properties"] for r in template["Resources"].values()
               if r["Type"] == "AWS::CloudWatch::Alarm" and "${MinPaymentsPerPeriod}" in json.dumps(r["Properties"])]
    periods = [int(q["MetricStat"]["Period"]) for p in guarded for q in p.get("Metrics", []) if "MetricStat" in q]
    minimum = overrides.get("MinPaymentsPerPeriod", template["Parameters"]["MinPaymentsPerPeriod"]["Default"])
    return int(minimum), min(periods)


def _metric(stat: Mapping[str, Any], resolve: Resolver) -> MetricRef:
    m = stat["Metric"]
    dims = tuple((d["Name"], str(resolve(d["Value"]))) for d in m.get("Dimensions", []))
    return MetricRef(resolve(m["Namespace"]), m["MetricName"], dims, stat["Stat"], int(stat["Period"]))


def _alarm(logical: str, p: Mapping[str, Any], resolve: Resolver) -> AlarmDef:
    if "Metrics" in p:
        queries = []
        for q in p["Metrics"]:
            queries.append((q["Id"], _metric(q["MetricStat"], resolve) if "MetricStat" in q else resolve(q["Expression"])))
        returned = next(q["Id"] for q in p["Metrics"] if q.get("ReturnData", True))
    else:
        metric = {"Metric": {k: p[k] for k in ("Namespace", "MetricName", "Dimensions") if k in p},
                  "Stat": p["Statistic"], "Period": p["Period"]}
        queries, returned = [("m", _metric(metric, resolve))], "m"
    return AlarmDef(
        logical=logical, name=str(resolve(p["AlarmName"])), description=str(resolve(p.get("AlarmDescription", ""))),
        comparison=p["ComparisonOperator"], threshold=float(resolve(p["Threshold"])),
        evaluation_periods=int(p["EvaluationPeriods"]), datapoints=int(p.get("DatapointsToAlarm", p["EvaluationPeriods"])),
        missing=p.get("TreatMissingData", "missing"), queries=tuple(queries), returned=returned)


# -- metric math ------------------------------------------------------------------------------------
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}
_ARRAY: dict[str, Callable[[list[float]], float]] = {"SUM": sum, "MAX": max, "MIN": min, "AVG": lambda xs: sum(xs) / len(xs)}


def math_value(expression: str, values: Mapping[str, float | None]) -> float | None:
    """One period's value of a metric-math expression; None is "no datapoint"."""
    return _eval(ast.parse(expression, mode="eval").body, values)


def _eval(node: ast.AST, v: Mapping[str, float | None]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return v[node.id]
    if isinstance(node, ast.List):
        return [_eval(e, v) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        x = _eval(node.operand, v)
        return None if x is None else -x
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _eval(node.left, v), _eval(node.right, v)
        if a is None or b is None or (isinstance(node.op, ast.Div) and b == 0):
            return None
        return _BINARY[type(node.op)](a, b)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        a, b = _eval(node.left, v), _eval(node.comparators[0], v)
        return None if a is None or b is None else float(_COMPARE[type(node.ops[0])](a, b))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        fn, args = node.func.id, [_eval(a, v) for a in node.args]
        if fn in _ARRAY and len(args) == 1 and isinstance(args[0], list):
            present = [x for x in args[0] if x is not None]
            return _ARRAY[fn](present) if present else None
        if fn == "FILL" and len(args) == 2:
            return args[1] if args[0] is None else args[0]
        if fn == "IF" and len(args) in (2, 3):
            if args[0] is None:
                return None
            if args[0]:
                return 0.0 if args[1] is None else args[1]
            return args[2] if len(args) == 3 else None
    raise ValueError(f"metric math not modelled by the rehearsal: {ast.unparse(node)}")


# -- evaluation ---------------------------------------------------------------------------------------
#: (metric, start, end) -> the raw values published in [start, end) (real seconds).
Source = Callable[[MetricRef, float, float], Values]

_BREACH = {"GreaterThanThreshold": operator.gt, "GreaterThanOrEqualToThreshold": operator.ge,
           "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le}


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    values: tuple[float | None, ...]  # newest first


def period_value(alarm: AlarmDef, source: Source, start: float, end: float) -> float | None:
    values: dict[str, float | None] = {}
    for qid, q in alarm.queries:
        values[qid] = statistic(q.stat, source(q, start, end)) if isinstance(q, MetricRef) else math_value(q, values)
    return values[alarm.returned]


def evaluate(alarm: AlarmDef, source: Source, now: float, *, scale: float, delay: float, since: float,
             current: str = INSUFFICIENT) -> Verdict:
    """The alarm's state at ``now`` (real seconds). ``delay``: AWS seconds between a period's end and its
    judgment; ``since``: when the alarm was created (earlier periods do not exist for it)."""
    period = alarm.period / scale
    last_end = math.floor((now - delay / scale) / period) * period
    ends = [last_end - k * period for k in range(alarm.evaluation_periods)]
    ends = [e for e in ends if e - period >= since]
    if not ends:
        return Verdict(current, "not evaluated yet (no complete period since the alarm exists)", ())
    values = tuple(period_value(alarm, source, e - period, e) for e in ends)
    breaching = _BREACH[alarm.comparison]
    present = [x for x in values if x is not None]
    if alarm.missing == "missing" and not present:
        return Verdict(INSUFFICIENT, f"no datapoint in the last {len(values)} period(s) (minimum sample or no data)",
                       values)
    if alarm.missing == "ignore" and not present:
        return Verdict(current, "no datapoint: state kept (ignore)", values)
    fill = {"breaching": True, "notBreaching": False}.get(alarm.missing)
    hits = sum(breaching(x, alarm.threshold) if x is not None else bool(fill) for x in values)
    shown = ", ".join("-" if x is None else f"{x:.4g}" for x in values)
    if hits >= alarm.datapoints:
        return Verdict(ALARM, f"{hits} of {len(values)} periods breaching {alarm.comparison} {alarm.threshold:g} "
                              f"(newest first: {shown})", values)
    return Verdict(OK, f"{hits} of {len(values)} periods breaching (newest first: {shown})", values)


def composite_state(composite: Composite, states: Mapping[str, str]) -> str:
    """``ALARM(a) OR ALARM(b) ...``: ALARM when any member is; INSUFFICIENT_DATA members count as not ALARM."""
    return ALARM if any(states.get(m) == ALARM for m in composite.members) else OK
