"""extensions/cloudwatch.py: metric and composite alarms and the dashboard."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator


# ----------------------------------------------------------------------------- CloudWatch


def alarms_template(threshold: int = 5) -> dict:
    return {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Errors": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmDescription": "5xx on the green target group",
                    "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": [{"Name": "TargetGroup", "Value": "targetgroup/green/0123456789abcdef"}],
                    "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
                    "Threshold": threshold, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "Topic"}],
                },
            },
            "ErrorRate": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "EvaluationPeriods": 3, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
                    "Metrics": [
                        {"Id": "errors", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
                            "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count"}}},
                        {"Id": "requests", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
                            "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"}}},
                        {"Id": "rate", "Expression": "100 * errors / requests", "ReturnData": True, "Label": "error %"},
                    ],
                },
            },
            "Rollback": {
                "Type": "AWS::CloudWatch::CompositeAlarm",
                "Properties": {
                    "AlarmRule": {"Fn::Sub": "ALARM(${Errors}) OR ALARM(${ErrorRate})"},
                    "AlarmActions": [{"Ref": "Topic"}],
                },
            },
            "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": json.dumps({"widgets": []})}},
        },
        "Outputs": {"ErrorsArn": {"Value": {"Fn::GetAtt": ["Errors", "Arn"]}}},
    }


def test_alarms__stack_created__metric_composite_alarms_and_dashboard_exist(emulator, stacks):
    deployed = stacks.create(alarms_template())
    cw = emulator.client("cloudwatch")
    r = deployed.resources

    found = cw.describe_alarms(AlarmNames=[r["Errors"], r["ErrorRate"], r["Rollback"]], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    metric = {a["AlarmName"]: a for a in found["MetricAlarms"]}
    composite = found["CompositeAlarms"]

    assert metric[r["Errors"]]["Threshold"] == 5.0
    assert metric[r["Errors"]]["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/green/0123456789abcdef"}]
    assert metric[r["Errors"]]["AlarmActions"] == [r["Topic"]]
    assert metric[r["Errors"]]["AlarmArn"] == deployed.outputs["ErrorsArn"]
    assert [m["Id"] for m in metric[r["ErrorRate"]]["Metrics"]] == ["errors", "requests", "rate"]
    assert composite[0]["AlarmName"] == r["Rollback"]
    assert composite[0]["AlarmRule"] == f"ALARM({r['Errors']}) OR ALARM({r['ErrorRate']})"
    assert cw.get_dashboard(DashboardName=r["Dashboard"])["DashboardBody"] == json.dumps({"widgets": []})


def test_alarm__threshold_changed__updated_in_place(emulator, stacks):
    name = stacks.unique("alarms")
    deployed = stacks.create(alarms_template(), name=name)

    updated = stacks.update(name, alarms_template(threshold=10))

    alarm = emulator.client("cloudwatch").describe_alarms(AlarmNames=[updated.resources["Errors"]])["MetricAlarms"][0]
    assert updated.resources["Errors"] == deployed.resources["Errors"]
    assert alarm["Threshold"] == 10.0


def test_alarms__stack_deleted__alarms_and_dashboard_gone(emulator, stacks):
    deployed = stacks.create(alarms_template())
    cw = emulator.client("cloudwatch")
    r = deployed.resources

    stacks.delete(deployed)

    found = cw.describe_alarms(AlarmNames=[r["Errors"], r["ErrorRate"], r["Rollback"]], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert found["MetricAlarms"] == [] and found["CompositeAlarms"] == []
    with pytest.raises(ClientError, match="ResourceNotFound"):
        cw.get_dashboard(DashboardName=r["Dashboard"])
