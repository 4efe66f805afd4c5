"""EC2: VPCEndpoint (crash fix + delete), SecurityGroupIngress / SecurityGroupEgress.

moto 5.2's VPCEndpoint model iterates ``RouteTableIds`` unconditionally (a Gateway
endpoint without route tables crashes the stack), stores a dict PolicyDocument as-is,
has no delete (endpoints survive their stack) and no update. Its SecurityGroupIngress
has no physical ID, ignores IPv6 / prefix-list sources and is never revoked, and there
is no SecurityGroupEgress model at all.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends

from ._base import BackendResource, as_bool, tags_to_dict

EXTENSIONS = [
    ("AWS::EC2::VPCEndpoint", "replaces moto's model: no crash without RouteTableIds, JSON policy, update (modify_vpc_endpoint), delete"),
    ("AWS::EC2::SecurityGroupIngress", "replaces moto's model: Ref = rule ID (sgr-...), IPv6/prefix-list sources, revoked on delete"),
    ("AWS::EC2::SecurityGroupEgress", "new model: authorize/revoke_security_group_egress; Ref = rule ID"),
    ("AWS::EC2::SubnetRouteTableAssociation", "replaces moto's model, which never associated the subnet: associate_route_table / disassociate; Ref = rtbassoc-..."),
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
                try:
                    ec2.delete_route(route_table_id, None, destination_prefix_list_id=endpoint.destination_prefix_list_id)
                except Exception:  # noqa: BLE001 - route already gone with its table
                    pass
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


class _SecurityGroupRule(BackendResource):
    EGRESS = False
    REPLACE_ON = (
        "GroupId", "GroupName", "IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6",
        "SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId",
        "DestinationSecurityGroupId", "DestinationPrefixListId",
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
        peer_group = p.get("DestinationSecurityGroupId" if self.EGRESS else "SourceSecurityGroupId")
        peer_name = None if self.EGRESS else p.get("SourceSecurityGroupName")
        source_groups = []
        if peer_group or peer_name:
            entry = {"GroupId": peer_group} if peer_group else {"GroupName": peer_name}
            if p.get("Description"):
                entry["Description"] = p["Description"]
            source_groups.append(entry)
        prefix = p.get("DestinationPrefixListId" if self.EGRESS else "SourcePrefixListId")
        prefix_list_ids = [{"PrefixListId": prefix, "Description": p.get("Description")}] if prefix else []
        authorize = ec2.authorize_security_group_egress if self.EGRESS else ec2.authorize_security_group_ingress
        rules, group = authorize(
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
        rules = group.egress_rules if self.EGRESS else group.ingress_rules
        for rule in list(rules):
            if rule.id in self.rule_ids:
                rules.remove(rule)

    ATTRIBUTES = ("Id",)

    def attribute(self, name: str) -> Any:
        return self.physical_id


class SecurityGroupIngressResource(_SecurityGroupRule, CloudFormationModel):
    TYPE = "AWS::EC2::SecurityGroupIngress"
    EGRESS = False


class SecurityGroupEgressResource(_SecurityGroupRule, CloudFormationModel):
    TYPE = "AWS::EC2::SecurityGroupEgress"
    EGRESS = True


class SubnetRouteTableAssociationResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::EC2::SubnetRouteTableAssociation"
    ATTRIBUTES = ("Id",)
    REPLACE_ON = ("SubnetId", "RouteTableId")

    def create(self, name: str) -> None:
        self.physical_id = _ec2(self).associate_route_table(
            self.properties["RouteTableId"], subnet_id=self.properties["SubnetId"]
        )

    def remove(self) -> None:
        try:
            _ec2(self).disassociate_route_table(self.physical_id)
        except Exception as exc:  # noqa: BLE001 - route table already gone
            if "InvalidAssociationID" not in type(exc).__name__ and "association" not in str(exc).lower():
                raise

    def attribute(self, name: str) -> Any:
        return self.physical_id
