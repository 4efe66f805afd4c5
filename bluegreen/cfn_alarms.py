"""CloudWatch alarm pieces: dimensions, metric-math queries, and the evaluation every gate alarm uses.

The traffic shifter gates on these alarms (directly or through the composites of the monitoring
stack), so they are all judged alike: per minute, two breaching minutes out of three. A single bad
minute (one slow batch, one task replaced) does not roll a migration back, two do.
"""

from __future__ import annotations

from typing import Any

from troposphere.cloudwatch import Metric, MetricDataQuery, MetricDimension, MetricStat

PERIOD = 60
#: Evaluation of every gate alarm: 2 breaching minutes out of 3.
GATE_EVALUATION = {"EvaluationPeriods": 3, "DatapointsToAlarm": 2}


def dimensions(**values: Any) -> list[MetricDimension]:
    return [MetricDimension(Name=key, Value=value) for key, value in values.items()]


def metric_query(query_id: str, namespace: str, metric: str, dims: list[MetricDimension], stat: str,
                 period: int = PERIOD) -> MetricDataQuery:
    """A hidden query of one metric, the input of an expression."""
    return MetricDataQuery(
        Id=query_id, ReturnData=False,
        MetricStat=MetricStat(Metric=Metric(Namespace=namespace, MetricName=metric, Dimensions=dims),
                              Period=period, Stat=stat))


def expression(query_id: str, text: str, label: str | None = None, *, returned: bool = True) -> MetricDataQuery:
    """A metric-math query; the one an alarm judges is ``returned``."""
    extra = {"Label": label} if label is not None else {}
    return MetricDataQuery(Id=query_id, Expression=text, ReturnData=returned, **extra)
