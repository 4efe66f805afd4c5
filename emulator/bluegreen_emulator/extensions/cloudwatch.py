"""CloudWatch: Alarm (metric and metric-math), CompositeAlarm, Dashboard.

moto 5.2 has no CloudFormation model for alarms (phantoms); its Dashboard model works
but ignores generated names and the update/delete contract of this package, so it is
replaced too. Alarms are created with put_metric_alarm, exactly like the API call;
they never change state on their own (moto does not evaluate metrics).
"""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel

from ._base import BackendResource, as_bool, as_float, as_int, tags_to_list

EXTENSIONS = [
    ("AWS::CloudWatch::Alarm", "new model: put_metric_alarm (single metric or Metrics math), delete_alarms; Ref = name, GetAtt Arn"),
    ("AWS::CloudWatch::CompositeAlarm", "new model: put_metric_alarm with AlarmRule (describe_alarms AlarmTypes=CompositeAlarm)"),
    ("AWS::CloudWatch::Dashboard", "replaces moto's model: generated names, put_dashboard/delete_dashboards"),
]


def _backend(resource: BackendResource):
    return cloudwatch_backends[resource.account_id][resource.region_name]


def _metric_data_queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
    if not metrics:
        return None
    queries = []
    for metric in metrics:
        stat = metric.get("MetricStat")
        metric_stat = None
        if stat:
            inner = stat.get("Metric") or {}
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=inner.get("MetricName"),
                    namespace=inner.get("Namespace"),
                    dimensions=[Dimension(name=d.get("Name"), value=d.get("Value")) for d in inner.get("Dimensions") or []],
                ),
                period=as_int(stat.get("Period")),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=metric.get("Id"),
                label=metric.get("Label"),
                period=as_int(metric.get("Period")),
                return_data=as_bool(metric.get("ReturnData"), True),
                expression=metric.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


class _Alarm(BackendResource):
    """An alarm made by PutMetricAlarm, which overwrites an alarm of the same name: updates in place."""

    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    def _arguments(self, p: dict[str, Any]) -> dict[str, Any]:
        """put_metric_alarm's arguments of this kind of alarm."""
        raise NotImplementedError

    def _put(self, name: str, p: dict[str, Any]) -> None:
        alarm = _backend(self).put_metric_alarm(
            name=name,
            description=p.get("AlarmDescription"),
            alarm_actions=list(p.get("AlarmActions") or []),
            ok_actions=list(p.get("OKActions") or []),
            insufficient_data_actions=list(p.get("InsufficientDataActions") or []),
            actions_enabled=as_bool(p.get("ActionsEnabled"), True),
            tags=tags_to_list(p.get("Tags")) or None,
            **self._arguments(p),
        )
        self.physical_id = alarm.name

    def create(self, name: str) -> None:
        self._put(name, self.properties)

    def update(self, new_properties: dict[str, Any]) -> None:
        _backend(self).tagger.delete_all_tags_for_resource(self.attribute("Arn"))
        self._put(self.physical_id, new_properties)

    def remove(self) -> None:
        backend = _backend(self)
        alarm = backend.alarms.get(self.physical_id)
        if alarm is not None:
            backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)
        backend.delete_alarms([self.physical_id])

    def attribute(self, name: str) -> Any:
        return _backend(self).alarms[self.physical_id].alarm_arn


class AlarmResource(_Alarm, CloudFormationModel):
    TYPE = "AWS::CloudWatch::Alarm"

    def _arguments(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "namespace": p.get("Namespace"),
            "metric_name": p.get("MetricName"),
            "metric_data_queries": _metric_data_queries(p.get("Metrics")),
            "comparison_operator": p.get("ComparisonOperator"),
            "evaluation_periods": as_int(p.get("EvaluationPeriods")),
            "datapoints_to_alarm": as_int(p.get("DatapointsToAlarm")),
            "period": as_int(p.get("Period")),
            "threshold": as_float(p.get("Threshold")),
            "statistic": p.get("Statistic"),
            "extended_statistic": p.get("ExtendedStatistic"),
            "dimensions": [{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions") or []],
            "unit": p.get("Unit"),
            "treat_missing_data": p.get("TreatMissingData"),
            "evaluate_low_sample_count_percentile": p.get("EvaluateLowSampleCountPercentile"),
            "threshold_metric_id": p.get("ThresholdMetricId"),
            "rule": None,
        }


class CompositeAlarmResource(_Alarm, CloudFormationModel):
    TYPE = "AWS::CloudWatch::CompositeAlarm"

    def _arguments(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "namespace": None, "metric_name": None, "comparison_operator": None, "evaluation_periods": None, "period": None,
            "threshold": None, "statistic": None, "dimensions": [], "rule": p.get("AlarmRule"),
        }


class DashboardResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::CloudWatch::Dashboard"
    NAME_PROPERTY = "DashboardName"

    def create(self, name: str) -> None:
        body = self.properties.get("DashboardBody") or "{}"
        self.physical_id = _backend(self).put_dashboard(name=name, body=body).name

    def update(self, new_properties: dict[str, Any]) -> None:
        _backend(self).put_dashboard(name=self.physical_id, body=new_properties.get("DashboardBody") or "{}")

    def remove(self) -> None:
        backend = _backend(self)
        if self.physical_id in backend.dashboards:
            backend.delete_dashboards([self.physical_id])
