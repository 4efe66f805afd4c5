"""templates/endpoints.json: the PrivateLink and gateway endpoints, split from network (template size)."""

import pytest

from tests.test_templates import lookup
from tests.test_templates.lookup import of_type

INTERFACE_SERVICES = [
    "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts", "monitoring", "dms",
    "elasticloadbalancing", "sns", "rds",
]


def _endpoint(template, service):
    wanted = {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"}
    found = [v["Properties"] for v in of_type(template, "AWS::EC2::VPCEndpoint").values()
             if v["Properties"]["ServiceName"] == wanted]
    assert len(found) == 1, f"{service}: {len(found)} endpoints"
    return found[0]


@pytest.mark.parametrize("service", INTERFACE_SERVICES)
def test_interface_endpoint__service__private_dns_in_app_subnets_behind_endpoint_sg(endpoints, service):
    props = _endpoint(endpoints, service)
    assert (props["VpcEndpointType"], props["PrivateDnsEnabled"]) == ("Interface", True)
    assert props["SubnetIds"] == {"Ref": "AppSubnetIds"}
    assert props["SecurityGroupIds"] == [{"Ref": "EndpointSecurityGroupId"}]


@pytest.mark.parametrize("service", INTERFACE_SERVICES)
def test_interface_endpoint__policy__only_principals_of_this_account(endpoints, service):
    (statement,) = _endpoint(endpoints, service)["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}}


@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_gateway_endpoint__route_tables__private_tiers_only(endpoints, service):
    props = _endpoint(endpoints, service)
    assert props["VpcEndpointType"] == "Gateway"
    assert props["RouteTableIds"] == {"Ref": "PrivateRouteTableIds"}


def test_s3_gateway_endpoint__policy__own_buckets_plus_named_aws_buckets(endpoints):
    statements = lookup.statements(_endpoint(endpoints, "s3")["PolicyDocument"])
    assert statements["BucketsOfThisAccount"]["Condition"] == {
        "StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statements["EcrImageLayers"]["Action"] == "s3:GetObject"
    assert statements["CloudFormationCustomResourceResponses"]["Action"] == "s3:PutObject"
    assert set(statements) == {"BucketsOfThisAccount", "EcrImageLayers", "CloudFormationCustomResourceResponses"}


def test_endpoints__every_endpoint__interface_or_gateway_listed_here(endpoints):
    assert len(of_type(endpoints, "AWS::EC2::VPCEndpoint")) == len(INTERFACE_SERVICES) + 2
