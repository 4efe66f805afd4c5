"""EC2: the data-centre link's types, which moto 5.2 has no CloudFormation model for (customer gateway,
VPN connection, security group egress rule, Transit Gateway VPC attachment), and the delete of its VPN
gateway model (a VGW outlived its stack).

As strict as AWS where the templates rely on it (AWS::EC2::CustomerGateway: IpAddress an IPv4 address,
Type ipsec.1, BgpAsn 1..2,147,483,647; AWS::EC2::VPNConnection: an existing customer gateway and an
existing VGW or TGW, never both, and tunnel options only from the documented value lists
(VpnTunnelOptionsSpecification); a Transit Gateway attachment needs an existing TGW and one subnet per
AZ at most; an egress rule needs an existing group). No tunnel comes up: the emulator has no network.
"""

from __future__ import annotations

import ipaddress
from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import InvalidParameterValueError, InvalidVpnConnectionIdError, InvalidVpnGatewayIdError
from moto.ec2.models import ec2_backends

from ._base import BackendResource, Deleter, tags_to_dict

EXTENSIONS = [
    ("AWS::EC2::CustomerGateway", "new model: IPv4 address, ipsec.1, BGP ASN range; delete"),
    ("AWS::EC2::VPNConnection", "new model: existing customer gateway and VGW or TGW (not both); tunnel options from AWS's value lists; delete"),
    ("AWS::EC2::SecurityGroupEgress", "new model: Ref = rule ID (sgr-...), CIDR / group / prefix-list destinations, revoked on delete"),
    ("AWS::EC2::TransitGatewayAttachment", "new model: the Transit Gateway must exist; one subnet per AZ; delete"),
    ("stack delete (AWS::EC2::VPNGateway)", "moto's VGW model outlived its stack: deleted with it"),
]

#: VpnTunnelOptionsSpecification's allowed values (AWS::EC2::VPNConnection, CloudFormation Template Reference).
TUNNEL_VALUES: dict[str, set[str] | set[int]] = {
    "IKEVersions": {"ikev1", "ikev2"},
    "Phase1EncryptionAlgorithms": {"AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"},
    "Phase2EncryptionAlgorithms": {"AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"},
    "Phase1IntegrityAlgorithms": {"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"},
    "Phase2IntegrityAlgorithms": {"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"},
    "Phase1DHGroupNumbers": {2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24},
    "Phase2DHGroupNumbers": {2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24},
}


def _ec2(resource: BackendResource):
    return ec2_backends[resource.account_id][resource.region_name]


def _invalid(message: str) -> InvalidParameterValueError:
    return InvalidParameterValueError(message)


class CustomerGatewayResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::CustomerGateway"
    ATTRIBUTES = ("CustomerGatewayId",)
    REPLACE_ON = ("BgpAsn", "IpAddress", "Type", "DeviceName", "CertificateArn")

    def create(self, name: str) -> None:
        p = self.properties
        try:
            ipaddress.IPv4Address(str(p.get("IpAddress")))
        except ValueError:
            raise _invalid(f"Value ({p.get('IpAddress')}) for parameter ipAddress is invalid. Invalid IPv4 address") from None
        if p.get("Type") != "ipsec.1":
            raise _invalid(f"Value ({p.get('Type')}) for parameter type is invalid. Only ipsec.1 is supported")
        asn = int(p.get("BgpAsn", 65000))
        if not 1 <= asn <= 2_147_483_647:
            raise _invalid(f"Value ({asn}) for parameter bgpAsn is invalid: 1 to 2,147,483,647 (BgpAsnExtended above)")
        gateway = _ec2(self).create_customer_gateway("ipsec.1", str(p["IpAddress"]), str(asn), tags=tags_to_dict(p.get("Tags")))
        self.physical_id = gateway.id

    def remove(self) -> None:
        ec2 = _ec2(self)
        in_use = [c.id for c in ec2.vpn_connections.values() if c.customer_gateway_id == self.physical_id and c.state != "deleted"]
        if in_use:  # AWS: IncorrectState, the customer gateway is used by a VPN connection
            raise _invalid(f"The customer gateway {self.physical_id} is in use by {', '.join(in_use)}")
        ec2.customer_gateways.pop(self.physical_id, None)

    def attribute(self, name: str) -> Any:
        return self.physical_id


def _tunnel_problem(tunnel: dict[str, Any]) -> str | None:
    for key, allowed in TUNNEL_VALUES.items():
        numbers = key.endswith("DHGroupNumbers")
        for entry in tunnel.get(key) or []:
            raw = entry.get("Value") if isinstance(entry, dict) else entry
            value: str | int = int(str(raw)) if numbers else str(raw)
            if value not in allowed:
                return f"{key} value {value!r} is not one of {sorted(allowed, key=str)}"
    return None


class VPNConnectionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::VPNConnection"
    ATTRIBUTES = ("VpnConnectionId",)
    REPLACE_ON = ("CustomerGatewayId", "VpnGatewayId", "TransitGatewayId", "Type", "StaticRoutesOnly",
                  "VpnTunnelOptionsSpecifications")

    def create(self, name: str) -> None:
        p = self.properties
        ec2 = _ec2(self)
        if p.get("Type") != "ipsec.1":
            raise _invalid(f"Value ({p.get('Type')}) for parameter type is invalid. Only ipsec.1 is supported")
        tunnels = p.get("VpnTunnelOptionsSpecifications") or []
        if len(tunnels) > 2:
            raise _invalid("A VPN connection has two tunnels: at most 2 VpnTunnelOptionsSpecifications")
        for tunnel in tunnels:
            if problem := _tunnel_problem(tunnel):
                raise _invalid(problem)
        gateway = p.get("VpnGatewayId")
        if gateway:
            vgw = ec2.get_vpn_gateway(gateway)  # InvalidVpnGatewayID.NotFound as AWS
            if vgw.state == "deleted":
                raise InvalidVpnGatewayIdError(gateway)
        elif not p.get("TransitGatewayId"):
            raise _invalid("A VPN connection needs a VpnGatewayId or a TransitGatewayId")
        connection = ec2.create_vpn_connection("ipsec.1", p.get("CustomerGatewayId"), vpn_gateway_id=gateway,
                                               transit_gateway_id=p.get("TransitGatewayId"),
                                               tags=tags_to_dict(p.get("Tags")))
        connection.static_routes_only = str(p.get("StaticRoutesOnly", False)).lower() == "true"
        self.physical_id = connection.id

    def remove(self) -> None:
        with suppress(InvalidVpnConnectionIdError):
            _ec2(self).delete_vpn_connection(self.physical_id)
        # AWS lists a deleted connection for a while; the emulator forgets it so leftovers are easy to spot.
        _ec2(self).vpn_connections.pop(self.physical_id, None)

    def attribute(self, name: str) -> Any:
        return self.physical_id


class SecurityGroupEgressResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::SecurityGroupEgress"
    ATTRIBUTES = ("Id",)
    REPLACE_ON = ("GroupId", "IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6",
                  "DestinationSecurityGroupId", "DestinationPrefixListId")

    def create(self, name: str) -> None:
        p = self.properties
        ec2 = _ec2(self)
        group = ec2.get_security_group_by_name_or_id(p.get("GroupId"), None)
        if group is None:
            raise _invalid(f"The security group '{p.get('GroupId')}' does not exist")
        ip_ranges = [{"CidrIp": p["CidrIp"], "Description": p.get("Description")}] if p.get("CidrIp") else []
        groups = [{"GroupId": p["DestinationSecurityGroupId"]}] if p.get("DestinationSecurityGroupId") else []
        prefixes = [{"PrefixListId": p["DestinationPrefixListId"]}] if p.get("DestinationPrefixListId") else []
        if len(ip_ranges) + len(groups) + len(prefixes) != 1:
            raise _invalid("An egress rule needs exactly one of CidrIp, DestinationSecurityGroupId, DestinationPrefixListId")
        rules, group = ec2.authorize_security_group_egress(
            group.id, str(p.get("IpProtocol")), p.get("FromPort"), p.get("ToPort"), ip_ranges,
            source_groups=groups, prefix_list_ids=prefixes, vpc_id=group.vpc_id)
        self.group_id = group.id
        self.rule_ids = [rule.id for rule in rules]
        self.physical_id = self.rule_ids[0]

    def remove(self) -> None:
        group = _ec2(self).get_security_group_by_name_or_id(self.group_id, None)
        if group is not None:
            for rule in list(group.egress_rules):
                if rule.id in self.rule_ids:
                    group.egress_rules.remove(rule)

    def attribute(self, name: str) -> Any:
        return self.physical_id


class TransitGatewayAttachmentResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::TransitGatewayAttachment"
    ATTRIBUTES = ("Id",)
    REPLACE_ON = ("TransitGatewayId", "VpcId")

    def create(self, name: str) -> None:
        p = self.properties
        ec2 = _ec2(self)
        if p.get("TransitGatewayId") not in ec2.transit_gateways:
            raise _invalid(f"Transit Gateway {p.get('TransitGatewayId')} was deleted or does not exist.")
        subnets = [ec2.get_subnet(s) for s in p.get("SubnetIds") or []]
        zones = [s.availability_zone for s in subnets]
        if not subnets or len(set(zones)) != len(zones):
            raise _invalid("A Transit Gateway attachment takes one subnet per Availability Zone")
        attachment = ec2.create_transit_gateway_vpc_attachment(
            transit_gateway_id=p["TransitGatewayId"], vpc_id=p.get("VpcId"), subnet_ids=[s.id for s in subnets],
            tags=[{"Key": k, "Value": v} for k, v in tags_to_dict(p.get("Tags")).items()])
        self.physical_id = attachment.id

    def remove(self) -> None:
        with suppress(KeyError):  # moto: an unknown attachment is a KeyError; gone is what a delete wants
            _ec2(self).delete_transit_gateway_vpc_attachment(self.physical_id)
        _ec2(self).transit_gateway_attachments.pop(self.physical_id, None)

    def attribute(self, name: str) -> Any:
        return self.physical_id


def _vpn_gateway(obj: Any, account_id: str, region: str) -> None:
    ec2 = ec2_backends[account_id][region]
    with suppress(InvalidVpnGatewayIdError):
        ec2.delete_vpn_gateway(obj.id)
    ec2.vpn_gateways.pop(obj.id, None)


DELETERS: dict[str, Deleter] = {"AWS::EC2::VPNGateway": _vpn_gateway}
