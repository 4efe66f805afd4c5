"""EC2: VPCEndpoint (crash fix + delete), SecurityGroupIngress, SubnetRouteTableAssociation, deletes.

moto 5.2's VPCEndpoint model iterates ``RouteTableIds`` unconditionally (a Gateway
endpoint without route tables crashes the stack), stores a dict PolicyDocument as-is,
has no delete (endpoints survive their stack) and no update. Its SecurityGroupIngress
has no physical ID, ignores IPv6 / prefix-list sources and is never revoked. EIPs, NAT and internet gateways, their
attachments, route tables, routes and flow logs outlived their stack; they are deleted with
it (``DELETERS``, see deletes.py).
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import (
    InvalidAssociationIdError,
    InvalidFlowLogIdError,
    InvalidInternetGatewayIdError,
    InvalidRouteError,
    InvalidRouteTableIdError,
    InvalidVpnGatewayIdError,
)
from moto.ec2.models import ec2_backends

from ._base import BackendResource, Deleter, as_bool, tags_to_dict

EXTENSIONS = [
    ("AWS::EC2::VPCEndpoint", "replaces moto's model: no crash without RouteTableIds, JSON policy, update (modify_vpc_endpoint), delete"),
    ("AWS::EC2::SecurityGroupIngress", "replaces moto's model: Ref = rule ID (sgr-...), IPv6/prefix-list sources, revoked on delete"),
    ("stack delete (EC2 network types)", "EIP, NatGateway, InternetGateway, VPCGatewayAttachment, RouteTable, Route, FlowLog are deleted with their stack"),
    ("AWS::EC2::SubnetRouteTableAssociation", "replaces moto's model, which never associated the subnet: associate_route_table / disassociate; Ref = "
                                              "rtbassoc-..."),
]


def _ec2(resource: BackendResource):
    return ec2_backends[resource.account_id][resource.region_name]


class VPCEndpointResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::VPCEndpoint"
    ATTRIBUTES = ("CreationTimestamp", "DnsEntries", "Id", "NetworkInterfaceIds")
    REPLACE_ON = ("VpcId", "ServiceName", "VpcEndpointType")

    @staticmethod
    def _policy(value: Any) -> str | None:
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def create(self, name: str) -> None:
        p = self.properties
        ec2 = _ec2(self)
        endpoint = ec2.create_vpc_endpoint(
            vpc_id=p.get("VpcId"),
            service_name=p.get("ServiceName"),
            endpoint_type=p.get("VpcEndpointType") or "Gateway",
            policy_document=self._policy(p.get("PolicyDocument")),
            route_table_ids=list(p.get("RouteTableIds") or []),
            subnet_ids=list(p.get("SubnetIds") or []),
            security_group_ids=list(p.get("SecurityGroupIds") or []),
            private_dns_enabled=as_bool(p.get("PrivateDnsEnabled")),
            tags=tags_to_dict(p.get("Tags")) or None,
        )
        self.physical_id = endpoint.id

    @property
    def endpoint(self):
        return _ec2(self).vpc_end_points[self.physical_id]

    def update(self, new_properties: dict[str, Any]) -> None:
        old = self.properties

        def diff(key: str) -> tuple[list[str], list[str]]:
            before, after = set(old.get(key) or []), set(new_properties.get(key) or [])
            return sorted(after - before), sorted(before - after)

        add_subnets, remove_subnets = diff("SubnetIds")
        add_rts, remove_rts = diff("RouteTableIds")
        add_sgs, remove_sgs = diff("SecurityGroupIds")
        endpoint = self.endpoint
        endpoint.modify(
            self._policy(new_properties.get("PolicyDocument")),
            add_subnets,
            remove_subnets,
            add_rts,
            remove_rts,
            add_sgs,
            remove_sgs,
        )
        if "PrivateDnsEnabled" in new_properties:
            endpoint.private_dns_enabled = as_bool(new_properties.get("PrivateDnsEnabled"))

    def remove(self) -> None:
        ec2 = _ec2(self)
        endpoint = ec2.vpc_end_points.get(self.physical_id)
        if endpoint is None or endpoint.state == "deleted":
            return
        if (endpoint.vpc_endpoint_type or "").lower() == "interface":
            for eni_id in endpoint.network_interface_ids:
                ec2.enis.pop(eni_id, None)
        elif endpoint.destination_prefix_list_id:
            for route_table_id in endpoint.route_table_ids or []:
                with suppress(InvalidRouteTableIdError, InvalidRouteError):  # gone with its table
                    ec2.delete_route(route_table_id, None, destination_prefix_list_id=endpoint.destination_prefix_list_id)
        endpoint.state = "deleted"
        # AWS lists a deleted endpoint for a while in state "deleted"; the emulator
        # forgets it at once so leftovers are easy to spot.
        ec2.vpc_end_points.pop(self.physical_id, None)

    def attribute(self, name: str) -> Any:
        endpoint = self.endpoint
        if name == "Id":
            return endpoint.id
        if name == "CreationTimestamp":
            return endpoint.creation_timestamp.isoformat()
        if name == "NetworkInterfaceIds":
            return list(endpoint.network_interface_ids)
        if name == "DnsEntries":
            return [f"{e.get('hosted_zone_id', 'Z7HUB22UULQXV')}:{e.get('dns_name')}" for e in endpoint.dns_entries or []]
        raise KeyError(name)


class SecurityGroupIngressResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::SecurityGroupIngress"
    REPLACE_ON = (
        "GroupId", "GroupName", "IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6",
        "SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId",
    )

    def create(self, name: str) -> None:
        p = self.properties
        ec2 = _ec2(self)
        group_ref = p.get("GroupId") or p.get("GroupName")
        group = ec2.get_security_group_by_name_or_id(group_ref, None)
        if group is None:
            raise ValueError(f"security group {group_ref} not found")
        ip_ranges: list[dict[str, Any]] = []
        if p.get("CidrIp"):
            ip_ranges.append({"CidrIp": p["CidrIp"], "Description": p.get("Description")})
        if p.get("CidrIpv6"):
            ip_ranges.append({"CidrIpv6": p["CidrIpv6"], "Description": p.get("Description")})
        peer_group = p.get("SourceSecurityGroupId")
        peer_name = p.get("SourceSecurityGroupName")
        source_groups = []
        if peer_group or peer_name:
            entry = {"GroupId": peer_group} if peer_group else {"GroupName": peer_name}
            if p.get("Description"):
                entry["Description"] = p["Description"]
            source_groups.append(entry)
        prefix = p.get("SourcePrefixListId")
        prefix_list_ids = [{"PrefixListId": prefix, "Description": p.get("Description")}] if prefix else []
        rules, group = ec2.authorize_security_group_ingress(
            group_name_or_id=group.id,
            ip_protocol=str(p.get("IpProtocol")),
            from_port=p.get("FromPort", -1 if str(p.get("IpProtocol")) == "-1" else None),
            to_port=p.get("ToPort", -1 if str(p.get("IpProtocol")) == "-1" else None),
            ip_ranges=ip_ranges,
            source_groups=source_groups,
            prefix_list_ids=prefix_list_ids,
            vpc_id=group.vpc_id,
        )
        self.group_id = group.id
        self.rule_ids = [rule.id for rule in rules]
        self.physical_id = self.rule_ids[0] if self.rule_ids else f"{group.id}-rule"

    def remove(self) -> None:
        ec2 = _ec2(self)
        group = ec2.get_security_group_by_name_or_id(self.group_id, None)
        if group is None or not self.rule_ids:
            return
        rules = group.ingress_rules
        for rule in list(rules):
            if rule.id in self.rule_ids:
                rules.remove(rule)

    ATTRIBUTES = ("Id",)

    def attribute(self, name: str) -> Any:
        return self.physical_id


class SubnetRouteTableAssociationResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::SubnetRouteTableAssociation"
    ATTRIBUTES = ("Id",)
    REPLACE_ON = ("SubnetId", "RouteTableId")

    def create(self, name: str) -> None:
        self.physical_id = _ec2(self).associate_route_table(
            self.properties["RouteTableId"], subnet_id=self.properties["SubnetId"]
        )

    def remove(self) -> None:
        with suppress(InvalidAssociationIdError):  # gone with its route table
            _ec2(self).disassociate_route_table(self.physical_id)

    def attribute(self, name: str) -> Any:
        return self.physical_id


# ----------------------------------------------------------------------------- stack delete


def _eip(obj: Any, account_id: str, region: str) -> None:
    ec2 = ec2_backends[account_id][region]
    if obj in ec2.addresses:
        ec2.release_address(address=obj.public_ip)


def _nat(obj: Any, account_id: str, region: str) -> None:
    ec2 = ec2_backends[account_id][region]
    if obj.id in ec2.nat_gateways:  # moto's delete of an unknown ID is an AttributeError
        ec2.delete_nat_gateway(obj.id)
        # AWS shows deleted NAT gateways for an hour; moto keeps them forever.
        ec2.nat_gateways.pop(obj.id, None)


def _igw(obj: Any, account_id: str, region: str) -> None:
    ec2 = ec2_backends[account_id][region]
    with suppress(InvalidInternetGatewayIdError):
        if obj.vpc is not None:
            ec2.detach_internet_gateway(obj.id, obj.vpc.id)
        ec2.delete_internet_gateway(obj.id)


def _gateway_attachment(obj: Any, account_id: str, region: str) -> None:
    ec2 = ec2_backends[account_id][region]
    gateway_id = obj.gateway_id or ""
    if gateway_id.startswith("igw-"):
        igw = ec2.internet_gateways.get(gateway_id)
        if igw is not None and igw.vpc is not None:
            ec2.detach_internet_gateway(gateway_id, obj.vpc_id)
    elif gateway_id.startswith("vgw-"):
        with suppress(InvalidVpnGatewayIdError):
            ec2.detach_vpn_gateway(gateway_id, obj.vpc_id)


def _route_table(obj: Any, account_id: str, region: str) -> None:
    ec2 = ec2_backends[account_id][region]
    for association_id in list(obj._associations):
        with suppress(InvalidAssociationIdError):
            ec2.disassociate_route_table(association_id)
    with suppress(InvalidRouteTableIdError):
        ec2.delete_route_table(obj.id)


def _route(obj: Any, account_id: str, region: str) -> None:
    with suppress(InvalidRouteTableIdError, InvalidRouteError):  # gone with its table
        ec2_backends[account_id][region].delete_route(
            obj.route_table.id,
            obj.destination_cidr_block,
            getattr(obj, "destination_ipv6_cidr_block", None),
            getattr(obj, "destination_prefix_list_id", None),
        )


def _flow_log(obj: Any, account_id: str, region: str) -> None:
    with suppress(InvalidFlowLogIdError):
        ec2_backends[account_id][region].delete_flow_logs([obj.id])


DELETERS: dict[str, Deleter] = {
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::NatGateway": _nat,
    "AWS::EC2::InternetGateway": _igw,
    "AWS::EC2::VPCGatewayAttachment": _gateway_attachment,
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::Route": _route,
    "AWS::EC2::FlowLog": _flow_log,
}
