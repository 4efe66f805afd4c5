"""extensions/deletes.py: resources moto never deleted go with their stack."""

from __future__ import annotations

import pytest

from .parts import alb_template

pytestmark = pytest.mark.emulator



def zone_with_cname(zone: str, logical: str, record: str) -> dict:
    """Template resources: hosted zone ``Zone`` and, as ``logical``, a CNAME ``record`` in it pointing at blue."""
    return {
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": zone}},
        logical: {"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "Name": record, "Type": "CNAME", "TTL": "60", "ResourceRecords": ["blue.example.internal"]}},
    }


def delete_cname(route53, zone_id: str, record: str) -> None:
    """Delete, through the API, the CNAME ``record`` (fully qualified) that zone_with_cname created."""
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": record, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "blue.example.internal"}]}}]})


def test_network_and_alb__stack_deleted__no_leftovers_and_vpc_gone(emulator, stacks):
    template = alb_template(blue=100, green=0)
    template["Resources"].update({
        "Igw": {"Type": "AWS::EC2::InternetGateway"},
        "Attach": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Igw"}}},
        "Eip": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
        "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "SubnetA"}, "AllocationId": {"Fn::GetAtt": ["Eip", "AllocationId"]}}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Default": {"Type": "AWS::EC2::Route", "DependsOn": "Attach", "Properties": {
            "RouteTableId": {"Ref": "Routes"}, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": {"Ref": "Igw"}}},
        "Assoc": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "SubnetA"}, "RouteTableId": {"Ref": "Routes"}}},
        "Cluster": {"Type": "AWS::ECS::Cluster"},
    })
    deployed = stacks.create(template)
    ec2 = emulator.client("ec2")
    r = deployed.resources
    associated = ec2.describe_route_tables(RouteTableIds=[r["Routes"]])["RouteTables"][0]["Associations"]

    stacks.delete(deployed)

    assert [a["SubnetId"] for a in associated] == [r["SubnetA"]]
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [r["Vpc"]]}])["Vpcs"] == []
    assert ec2.describe_internet_gateways(Filters=[{"Name": "internet-gateway-id", "Values": [r["Igw"]]}])["InternetGateways"] == []
    assert ec2.describe_addresses(Filters=[{"Name": "public-ip", "Values": [r["Eip"]]}])["Addresses"] == []
    assert [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["NatGatewayId"] == r["Nat"]] == []
    assert emulator.client("elbv2").describe_target_groups()["TargetGroups"] == [] or r["Blue"] not in [
        t["TargetGroupArn"] for t in emulator.client("elbv2").describe_target_groups()["TargetGroups"]]
    clusters = emulator.client("ecs").describe_clusters(clusters=[r["Cluster"]])["clusters"]
    assert [c for c in clusters if c["status"] == "ACTIVE"] == []


def test_delete_stack__zone_record_and_parameter_already_gone__delete_complete(emulator, stacks):
    deployed = stacks.create({"Resources": {
        **zone_with_cname("gone.example.internal", "Record", "api.gone.example.internal"),
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "x"}},
    }})
    route53, ssm = emulator.client("route53"), emulator.client("ssm")
    zone_id = deployed.resources["Zone"]
    delete_cname(route53, zone_id, "api.gone.example.internal.")
    route53.delete_hosted_zone(Id=zone_id)
    ssm.delete_parameter(Name=deployed.resources["Param"])

    stacks.delete(deployed)

    assert zone_id not in [z["Id"].split("/")[-1] for z in route53.list_hosted_zones()["HostedZones"]]


def test_record_set__created_by_the_stack__listed_fully_qualified_and_deletable_through_the_api(emulator, stacks):
    deployed = stacks.create({"Resources": {
        **zone_with_cname("api-delete.example.internal", "Blue", "pay.api-delete.example.internal"),
    }})
    route53 = emulator.client("route53")
    zone_id = deployed.resources["Zone"]
    names = [r["Name"] for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "CNAME"]

    delete_cname(route53, zone_id, "pay.api-delete.example.internal.")

    assert names == ["pay.api-delete.example.internal."]
    assert [r for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "CNAME"] == []
