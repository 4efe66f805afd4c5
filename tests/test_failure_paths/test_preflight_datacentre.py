"""The data-centre leg's switch: where ``datacentre_link`` is off its stacks are absent (not empty) from
every reading of the environment, and where it is on the preflight refuses each placeholder."""

import pytest

from bluegreen import environments, nested
from bluegreen.datacentre_preflight import PLACEHOLDER_CIDRS, PreflightError, checks
from bluegreen.nested_group import ROOT
from bluegreen.preflight import problems
from tests.test_failure_paths.test_preflight_checks import GOOD

CA_FREE = {"datacentre_db_host": "mysql-pay-01.dc.payments.internal", "datacentre_db_port": "3306"}
VPN = {**GOOD, **CA_FREE, "datacentre_link": "vpn", "datacentre_cidrs": ["172.20.0.0/16"],
       "datacentre_vpn_customer_gateway_ip": "18.0.0.1", "datacentre_vpn_bgp_asn": "65010",
       "datacentre_transit_gateway_id": ""}
DATACENTRE_STACKS = {"datacentre-link", "datacentre-dms"}


def messages(values) -> list[str]:
    found = []
    for check in checks(values):
        try:
            check()
        except PreflightError as err:
            found.append(str(err))
    return found


def test_checks__real_vpn_values__pass():
    assert messages(VPN) == []
    assert problems(VPN) == []


def test_checks__link_off__only_the_switch_is_looked_at():
    assert messages({**GOOD, "datacentre_link": "off", "datacentre_vpn_customer_gateway_ip": "203.0.113.1"}) == []


def test_checks__unknown_switch__refused_with_the_choices():
    assert messages({**VPN, "datacentre_link": "on"}) == [
        "datacentre_link must be one of off, vpn, transit-gateway, got 'on': set it in config/dev/config.yaml"]


@pytest.mark.parametrize("key,value,expected", [
    ("datacentre_cidrs", PLACEHOLDER_CIDRS, "datacentre_cidrs is still the placeholder"),
    ("datacentre_cidrs", [], "datacentre_cidrs is empty"),
    ("datacentre_cidrs", ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16"],
     "datacentre_cidrs has 5 networks; the datacentre-link stack routes to at most 4"),
    ("datacentre_db_host", "mysql-pay.dc.example.com", "datacentre_db_host 'mysql-pay.dc.example.com' is a placeholder"),
    ("datacentre_db_port", "0", "datacentre_db_port must be a TCP port"),
    ("datacentre_vpn_customer_gateway_ip", "203.0.113.1", "'203.0.113.1' is not a public address"),
    ("datacentre_vpn_customer_gateway_ip", "10.1.2.3", "'10.1.2.3' is not a public address"),
    ("datacentre_vpn_customer_gateway_ip", "vpn.dc", "must be the data centre VPN device's IPv4 address"),
    ("datacentre_vpn_bgp_asn", "64512", "not the AWS side's 64512"),
])
def test_checks__vpn_placeholder_or_bad_value__refused_naming_the_key(key, value, expected):
    found = messages({**VPN, key: value})
    assert len(found) == 1 and expected in found[0]
    assert found[0].startswith(key)


def test_checks__transit_gateway_without_id__refused():
    found = messages({**VPN, "datacentre_link": "transit-gateway", "datacentre_transit_gateway_id": ""})
    assert len(found) == 1 and found[0].startswith("datacentre_transit_gateway_id must be an existing Transit Gateway")
    assert messages({**VPN, "datacentre_link": "transit-gateway",
                     "datacentre_transit_gateway_id": "tgw-0123456789abcdef0"}) == []


def test_dev__link_off_by_default__datacentre_stacks_absent_from_the_group_and_the_parent():
    names = {s.name.rsplit("/", 1)[-1] for s in environments.stacks(ROOT, "dev")}
    parent = nested.generate("dev").template.to_dict()["Resources"]

    assert names & DATACENTRE_STACKS == set() and "dms" in names
    assert not [logical for logical in parent if logical.startswith("Datacentre")]


def test_dev__link_turned_on_with_var__both_stacks_present_and_nested():
    names = {s.name.rsplit("/", 1)[-1] for s in environments.stacks(ROOT, "dev", {"datacentre_link": "vpn"})}
    parent = nested.generate("dev", variables={"datacentre_link": "vpn"}).template.to_dict()["Resources"]

    assert DATACENTRE_STACKS <= names
    assert {"DatacentreLinkStack", "DatacentreDmsStack"} <= set(parent)
    link = parent["DatacentreLinkStack"]["Properties"]["Parameters"]
    assert (link["DatacentreCidr1"], link["DatacentreCidr2"], link["ExistingTransitGatewayId"]) == (
        "10.0.0.0/14", "192.168.0.0/16", "")


def test_prod__link_on__datacentre_stacks_in_the_committed_parent():
    parent = nested.generate("prod").template.to_dict()["Resources"]
    dms = parent["DatacentreDmsStack"]["Properties"]["Parameters"]

    assert dms["DatacentreDbCaPem"] == "/payments-migration/prod-p01/datacentre/db-ca-pem"
    assert dms["BlueTargetEndpointArn"] == {"Fn::GetAtt": ["DmsStack", "Outputs.BlueTargetEndpointArn"]}
