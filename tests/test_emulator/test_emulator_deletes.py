"""Stack delete when a resource is already gone: what the delete wants, not an error.

The extensions' deletes suppress exactly moto's not-found error of each call (no broad except);
these resources are deleted behind the stack's back first, then the stack is deleted. (moto's
own S3 bucket model is not so lenient: a bucket deleted by hand fails the stack's delete.)
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


def test_delete_stack__zone_record_and_parameter_already_gone__delete_complete(emulator, stacks):
    deployed = stacks.create({"Resources": {
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "gone.example.internal"}},
        "Record": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "Name": "api.gone.example.internal", "Type": "CNAME", "TTL": "60",
            "ResourceRecords": ["blue.example.internal"]}},
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "x"}},
    }})
    route53, ssm = emulator.client("route53"), emulator.client("ssm")
    zone_id = deployed.resources["Zone"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": "api.gone.example.internal.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "blue.example.internal"}]}}]})
    route53.delete_hosted_zone(Id=zone_id)
    ssm.delete_parameter(Name=deployed.resources["Param"])

    stacks.delete(deployed)

    assert zone_id not in [z["Id"].split("/")[-1] for z in route53.list_hosted_zones()["HostedZones"]]


def test_record_set__created_by_the_stack__listed_fully_qualified_and_deletable_through_the_api(emulator, stacks):
    deployed = stacks.create({"Resources": {
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": "api-delete.example.internal"}},
        "Blue": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "Name": "pay.api-delete.example.internal", "Type": "CNAME", "TTL": "60",
            "ResourceRecords": ["blue.example.internal"]}},
    }})
    route53 = emulator.client("route53")
    zone_id = deployed.resources["Zone"]
    names = [r["Name"] for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "CNAME"]

    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
        "Name": "pay.api-delete.example.internal.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "blue.example.internal"}]}}]})

    assert names == ["pay.api-delete.example.internal."]
    assert [r for r in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Type"] == "CNAME"] == []
