"""extensions/route53.py: weighted record sets updated one by one."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


def weighted_dns_template(zone: str, blue: int, green: int) -> dict:
    def record(color: str, weight: int) -> dict:
        return {"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "Name": f"api.{zone}", "Type": "CNAME", "TTL": "60",
            "SetIdentifier": color, "Weight": weight, "ResourceRecords": [f"{color}.{zone}"]}}

    return {"Resources": {
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": zone}},
        "Blue": record("blue", blue),
        "Green": record("green", green),
    }}


def test_weighted_record_sets__one_weight_changed__only_that_record_updated(emulator, stacks):
    zone = f"{stacks.unique('pay')}.example.com"
    name = stacks.unique("dns")
    deployed = stacks.create(weighted_dns_template(zone, blue=100, green=0), name=name)

    stacks.update(name, weighted_dns_template(zone, blue=100, green=25))

    records = emulator.client("route53").list_resource_record_sets(HostedZoneId=deployed.resources["Zone"])["ResourceRecordSets"]
    weights = {r["SetIdentifier"]: r["Weight"] for r in records if r["Type"] == "CNAME"}
    assert weights == {"blue": 100, "green": 25}
