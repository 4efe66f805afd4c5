"""extensions/ec2.py: VPC endpoints created, modified in place and deleted with their stack."""

from __future__ import annotations

import json

import pytest

from .parts import network

pytestmark = pytest.mark.emulator


def vpc_endpoints_template(with_route_table: bool) -> dict:
    gateway = {"VpcId": {"Ref": "Vpc"}, "ServiceName": "com.amazonaws.us-east-1.s3"}
    if with_route_table:
        gateway["RouteTableIds"] = [{"Ref": "Routes"}]
    return {"Resources": {
        **network("10.51"),
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "endpoints", "VpcId": {"Ref": "Vpc"}}},
        "S3Gateway": {"Type": "AWS::EC2::VPCEndpoint", "Properties": gateway},
        "SecretsInterface": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "ServiceName": "com.amazonaws.us-east-1.secretsmanager", "VpcEndpointType": "Interface",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "SecurityGroupIds": [{"Ref": "Sg"}], "PrivateDnsEnabled": True,
            "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}}},
    }}


def test_vpc_endpoint__gateway_without_route_tables__created(emulator, stacks):
    deployed = stacks.create(vpc_endpoints_template(with_route_table=False))
    ec2 = emulator.client("ec2")

    endpoints = {e["VpcEndpointId"]: e for e in ec2.describe_vpc_endpoints(
        VpcEndpointIds=[deployed.resources["S3Gateway"], deployed.resources["SecretsInterface"]])["VpcEndpoints"]}

    gateway, interface = endpoints[deployed.resources["S3Gateway"]], endpoints[deployed.resources["SecretsInterface"]]
    assert gateway["VpcEndpointType"] == "Gateway" and gateway["RouteTableIds"] == []
    assert interface["VpcEndpointType"] == "Interface" and len(interface["NetworkInterfaceIds"]) == 2
    assert json.loads(interface["PolicyDocument"])["Statement"][0]["Action"] == "secretsmanager:GetSecretValue"


def test_vpc_endpoint__route_table_added__modified_in_place_then_deleted_with_stack(emulator, stacks):
    name = stacks.unique("vpce")
    deployed = stacks.create(vpc_endpoints_template(with_route_table=False), name=name)
    ec2 = emulator.client("ec2")

    updated = stacks.update(name, vpc_endpoints_template(with_route_table=True))
    gateway = ec2.describe_vpc_endpoints(VpcEndpointIds=[updated.resources["S3Gateway"]])["VpcEndpoints"][0]
    stacks.delete(updated)

    assert updated.resources["S3Gateway"] == deployed.resources["S3Gateway"]
    assert gateway["RouteTableIds"] == [updated.resources["Routes"]]
    remaining = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [deployed.resources["Vpc"]]}])["VpcEndpoints"]
    assert remaining == []
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [deployed.resources["Vpc"]]}])["Vpcs"] == []
