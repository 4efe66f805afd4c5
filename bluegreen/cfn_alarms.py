"""CloudWatch alarm pieces: dimensions, metric-math queries, and the evaluation every gate alarm uses.

The traffic shifter gates on these alarms (directly or through the composites of the monitoring
stack), so they are all judged alike: per minute, two breaching minutes out of three. A single bad
minute (one slow batch, one task replaced) does not roll a migration back, two do.
"""

from __future__ import annotations

from typing import Any

from troposphere import Sub
from troposphere.cloudwatch import Metric, MetricDataQuery, MetricDimension, MetricStat

from payment_api.metrics import NAMESPACE_PREFIX

PERIOD = 60
#: Evaluation of every gate alarm: 2 breaching minutes out of 3.
GATE_EVALUATION = {"EvaluationPeriods": 3, "DatapointsToAlarm": 2}
#: The fast line: the service's own high-resolution (EMF, StorageResolution 1) metrics in 10-second
#: periods, evaluated every 10 s (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html),
#: 2 breaching periods out of 3 as AWS advises for EMF metrics whose logs may arrive late
#: (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Alarms.html).
FAST_PERIOD = 10
FAST_EVALUATION = {"EvaluationPeriods": 3, "DatapointsToAlarm": 2}
#: A colour whose every task fell silent for one whole period: no payment metrics at all.
SILENT_EVALUATION = {"EvaluationPeriods": 1, "DatapointsToAlarm": 1}


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


def payments_namespace() -> Sub:
    """The namespace of the payment service's own metrics: the compute stack hands it to the tasks
    (METRICS_NAMESPACE), the monitoring stack alarms on it. One per environment: dev and prod may share
    an account, and their colours must not mix."""
    return Sub(NAMESPACE_PREFIX + "${Environment}-${EnvironmentSuffix}")
