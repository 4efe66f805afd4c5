"""The route53 stack's properties, one test each, on the committed JSON: weighted alias records,
each of its own colour's ALB (the weights pick the edge), their health checks, and the weight limits."""

import pytest

from tests.test_templates.lookup import holds

COLOURS = ("Blue", "Green")


@pytest.mark.parametrize("colour", COLOURS)
def test_record__weighted_alias__of_its_own_colours_alb_in_the_payment_zone(resources, colour):
    props = resources[f"{colour}Record"]["Properties"]
    assert (props["Type"], props["SetIdentifier"]) == ("A", colour.lower())
    assert props["HostedZoneId"] == {"Ref": "HostedZoneId"}
    assert props["Name"] == {"Ref": "RecordName"}
    assert props["Weight"] == {"Ref": f"{colour}Weight"}
    assert props["AliasTarget"]["DNSName"] == {"Ref": f"{colour}LoadBalancerDnsName"}
    assert props["AliasTarget"]["HostedZoneId"] == {"Ref": f"{colour}LoadBalancerHostedZoneId"}


def test_records__alias_targets__two_different_albs(resources):
    targets = {resources[f"{c}Record"]["Properties"]["AliasTarget"]["DNSName"]["Ref"] for c in COLOURS}
    assert targets == {"BlueLoadBalancerDnsName", "GreenLoadBalancerDnsName"}


@pytest.mark.parametrize("colour", COLOURS)
def test_record__target_health__evaluated(resources, colour):
    assert resources[f"{colour}Record"]["Properties"]["AliasTarget"]["EvaluateTargetHealth"] is True


@pytest.mark.parametrize("colour", COLOURS)
def test_record__health_check__attached(resources, colour):
    assert resources[f"{colour}Record"]["Properties"]["HealthCheckId"] == {"Ref": f"{colour}HealthCheck"}


@pytest.mark.parametrize("colour", COLOURS)
def test_health_check__https__its_own_albs_hostname_and_health_path(resources, colour):
    config = resources[f"{colour}HealthCheck"]["Properties"]["HealthCheckConfig"]
    assert (config["Type"], config["Port"], config["EnableSNI"]) == ("HTTPS", 443, True)
    assert config["FullyQualifiedDomainName"] == {"Ref": f"{colour}LoadBalancerDnsName"}
    assert config["ResourcePath"] == {"Ref": "HealthCheckPath"}


@pytest.mark.parametrize("colour", COLOURS)
def test_health_check__tags__environment_project_costcenter(resources, colour):
    tags = {t["Key"]: t["Value"] for t in resources[f"{colour}HealthCheck"]["Properties"]["HealthCheckTags"]}
    for key in ("Environment", "Project", "CostCenter"):
        assert tags[key] == {"Ref": key}


@pytest.mark.parametrize("colour", COLOURS)
def test_parameters__weight__number_within_route53_limits(route53, colour):
    param = route53["Parameters"][f"{colour}Weight"]
    assert (param["Type"], param["MinValue"], param["MaxValue"]) == ("Number", 0, 255)


@pytest.mark.parametrize("blue,green,allowed", [("0", "0", False), ("0", "100", True), ("100", "0", True)])
def test_rules__weights__not_both_zero(route53, blue, green, allowed):
    (assertion,) = route53["Rules"]["WeightsNotBothZero"]["Assertions"]
    assert holds(route53, assertion["Assert"], BlueWeight=blue, GreenWeight=green) is allowed


def test_outputs__contract__exported(route53):
    for key in ("RecordName", "BlueRecordSetId", "GreenRecordSetId"):
        assert route53["Outputs"][key]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + key}
    assert route53["Outputs"]["GreenRecordSetId"]["Value"] == "green"
