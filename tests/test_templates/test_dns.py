"""The dns stack's properties, one test each, on the committed JSON: the zone is created only
when no existing zone is given, and a created zone logs its queries to an encrypted log group."""

import json

import pytest

from tests.test_templates.intrinsics import Evaluation

CREATED = ("HostedZone", "QueryLogGroup", "QueryLogResourcePolicy", "QueryLogging")


@pytest.mark.parametrize("existing,created", [("", True), ("Z0123456789ABCDEFGHIJ", False)])
def test_zone__existing_zone_id__decides_whether_one_is_created(dns, resources, existing, created):
    evaluation = Evaluation(dns, ExistingHostedZoneId=existing)
    for logical in CREATED:
        assert resources[logical]["Condition"] == "CreateZone"
    assert evaluation.condition("CreateZone") is created


@pytest.mark.parametrize("existing,zone", [("", {"Ref": "HostedZone"}), ("Z0123456789ABCDEFGHIJ", {"Ref": "ExistingHostedZoneId"})])
def test_outputs__hosted_zone_id__created_or_existing(dns, existing, zone):
    evaluation = Evaluation(dns, ExistingHostedZoneId=existing)
    assert evaluation.resolve(dns["Outputs"]["HostedZoneId"]["Value"]) == zone


def test_zone__name__payment_hostname_with_environment_and_suffix(resources, dns):
    hostname = "${HostLabel}-${Environment}-${EnvironmentSuffix}.${DomainName}"
    assert resources["HostedZone"]["Properties"]["Name"] == {"Fn::Sub": hostname}
    assert dns["Outputs"]["PaymentHostname"]["Value"] == {"Fn::Sub": hostname}


def test_zone__tags__environment_project_costcenter(resources):
    tags = {t["Key"]: t["Value"] for t in resources["HostedZone"]["Properties"]["HostedZoneTags"]}
    for key in ("Environment", "Project", "CostCenter"):
        assert tags[key] == {"Ref": key}


def test_query_logging__zone__logs_to_the_query_log_group(resources):
    props = resources["QueryLogging"]["Properties"]
    assert props == {"HostedZoneId": {"Ref": "HostedZone"},
                     "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": ["QueryLogGroup", "Arn"]}}
    assert resources["QueryLogging"]["DependsOn"] == ["QueryLogResourcePolicy"]


def test_query_log_group__encryption_and_retention__ops_key_one_year(resources):
    props = resources["QueryLogGroup"]["Properties"]
    assert props["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert props["RetentionInDays"] >= 365


def test_query_log_policy__writer__route53_of_this_account_to_this_group_only(resources):
    template, values = resources["QueryLogResourcePolicy"]["Properties"]["PolicyDocument"]["Fn::Sub"]
    (statement,) = json.loads(template)["Statement"]
    assert statement["Principal"] == {"Service": "route53.amazonaws.com"}
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == "${LogGroupArn}"
    assert values == {"LogGroupArn": {"Fn::GetAtt": ["QueryLogGroup", "Arn"]}}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}}


def test_outputs__contract__exported(dns):
    for key in ("HostedZoneId", "DomainName", "PaymentHostname"):
        assert dns["Outputs"][key]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + key}
