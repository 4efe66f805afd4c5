"""Stack delete for moto models that have no delete: they used to outlive their stack.

moto 5.2 silently keeps, after DeleteStack (or a rollback), every resource of these
types: EC2 EIP, NatGateway, InternetGateway, VPCGatewayAttachment, RouteTable, Route,
FlowLog; ECS Cluster, Service; ELBv2
Listener, ListenerRule, TargetGroup; IAM ManagedPolicy; Route53 HostedZone,
HealthCheck, RecordSetGroup. Because of the leftovers a VPC can then not
be deleted either. ``DELETERS`` maps each type to a function that calls the service
backend's own delete API with the identifiers moto's model object holds; it is used only
when the model has no delete of its own.

Also replaces AWS::Lambda::Permission (no physical ID, never removed).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable

from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ecs.models import ecs_backends
from moto.elbv2.models import elbv2_backends
from moto.iam.models import iam_backends
from moto.route53.models import route53_backends

from ._base import BackendResource, delete_if_present, is_not_found

log = logging.getLogger("bluegreen_emulator.deletes")

EXTENSIONS = [
    ("stack delete (EC2 network types)", "EIP, NatGateway, InternetGateway, VPCGatewayAttachment, RouteTable, Route, FlowLog are deleted with their stack"),
    ("stack delete (ECS, ELBv2)", "ECS Cluster/Service, ELBv2 Listener/ListenerRule/TargetGroup are deleted with their stack"),
    ("stack delete (IAM, Route53)", "IAM ManagedPolicy, Route53 HostedZone/HealthCheck/RecordSetGroup are deleted with their stack"),
    ("AWS::Lambda::Permission", "replaces moto's model: Ref = statement id, remove_permission on delete"),
]

Deleter = Callable[[Any, str, str], None]


def _ec2(account_id: str, region: str):
    return ec2_backends[account_id][region]


def _eip(obj: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    if obj in ec2.addresses:
        ec2.release_address(address=obj.public_ip)


def _nat(obj: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    ec2.delete_nat_gateway(obj.id)
    # AWS shows deleted NAT gateways for an hour; moto keeps them forever.
    ec2.nat_gateways.pop(obj.id, None)


def _igw(obj: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    if obj.vpc is not None:
        ec2.detach_internet_gateway(obj.id, obj.vpc.id)
    ec2.delete_internet_gateway(obj.id)


def _gateway_attachment(obj: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    gateway_id = obj.gateway_id or ""
    if gateway_id.startswith("igw-"):
        igw = ec2.internet_gateways.get(gateway_id)
        if igw is not None and igw.vpc is not None:
            ec2.detach_internet_gateway(gateway_id, obj.vpc_id)
    elif gateway_id.startswith("vgw-"):
        ec2.detach_vpn_gateway(gateway_id, obj.vpc_id)


def _route_table(obj: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    for association_id in list(obj._associations):
        ec2.disassociate_route_table(association_id)
    ec2.delete_route_table(obj.id)


def _route(obj: Any, account_id: str, region: str) -> None:
    ec2 = _ec2(account_id, region)
    ec2.delete_route(
        obj.route_table.id,
        obj.destination_cidr_block,
        getattr(obj, "destination_ipv6_cidr_block", None),
        getattr(obj, "destination_prefix_list_id", None),
    )


def _flow_log(obj: Any, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_flow_logs([obj.id])


def _ecs_cluster(obj: Any, account_id: str, region: str) -> None:
    ecs = ecs_backends[account_id][region]
    ecs.delete_cluster(obj.name)
    # moto keeps deleted clusters as INACTIVE; AWS forgets them soon.
    ecs.clusters.pop(obj.name, None)


def _ecs_service(obj: Any, account_id: str, region: str) -> None:
    ecs = ecs_backends[account_id][region]
    ecs.delete_service(obj.cluster_name, obj.name, force=True)


def _elb_listener(obj: Any, account_id: str, region: str) -> None:
    elbv2_backends[account_id][region].delete_listener(obj.arn)


def _elb_rule(obj: Any, account_id: str, region: str) -> None:
    elbv2_backends[account_id][region].delete_rule(obj.arn)


def _elb_target_group(obj: Any, account_id: str, region: str) -> None:
    elbv2_backends[account_id][region].delete_target_group(obj.arn)


def _managed_policy(obj: Any, account_id: str, region: str) -> None:
    iam = iam_backends[account_id]["global"]
    for role in list(iam.roles.values()):
        if obj.arn in role.managed_policies:
            iam.detach_role_policy(obj.arn, role.name)
    for user in list(iam.users.values()):
        if obj.arn in user.managed_policies:
            iam.detach_user_policy(obj.arn, user.name)
    for group in list(iam.groups.values()):
        if obj.arn in group.managed_policies:
            iam.detach_group_policy(obj.arn, group.name)
    iam.delete_policy(obj.arn)


def _route53(account_id: str):
    return route53_backends[account_id]["global"]


def _hosted_zone(obj: Any, account_id: str, region: str) -> None:
    _route53(account_id).delete_hosted_zone(obj.id)


def _health_check(obj: Any, account_id: str, region: str) -> None:
    _route53(account_id).delete_health_check(obj.id)


def _record_set_group(obj: Any, account_id: str, region: str) -> None:
    backend = _route53(account_id)
    zone = backend.get_hosted_zone(obj.hosted_zone_id)
    from .misc import remove_record_set

    for record_set in obj.record_sets:
        if isinstance(record_set, dict):
            remove_record_set(zone, record_set["Name"], record_set["Type"], record_set.get("SetIdentifier"))
        else:
            remove_record_set(zone, record_set.name, record_set.type, record_set.set_identifier)


DELETERS: dict[str, Deleter] = {
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::NatGateway": _nat,
    "AWS::EC2::InternetGateway": _igw,
    "AWS::EC2::VPCGatewayAttachment": _gateway_attachment,
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::Route": _route,
    "AWS::EC2::FlowLog": _flow_log,
    "AWS::ECS::Cluster": _ecs_cluster,
    "AWS::ECS::Service": _ecs_service,
    "AWS::ElasticLoadBalancingV2::Listener": _elb_listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _elb_rule,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _elb_target_group,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::Route53::HostedZone": _hosted_zone,
    "AWS::Route53::HealthCheck": _health_check,
    "AWS::Route53::RecordSetGroup": _record_set_group,
}


def _has_own_delete(resource: Any) -> bool:
    cls = type(resource)
    if callable(getattr(cls, "delete", None)):
        return True
    return not hasattr(cls.delete_from_cloudformation_json, "__isabstractmethod__")


def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
    deleter = DELETERS.get(resource_json.get("Type", ""))
    if deleter is not None and not _has_own_delete(parsed_resource):
        delete_if_present(deleter, parsed_resource, self._account_id, self._region_name)
        return
    _original_delete_resource(self, parsed_resource, resource_json)


_original_delete_resource = parsing.ResourceMap._delete_resource


class LambdaPermissionResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Lambda::Permission"
    REPLACE_ON = ("Action", "FunctionName", "Principal", "SourceArn", "SourceAccount", "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID")

    def create(self, name: str) -> None:
        p = dict(self.properties)
        sid = name[:100]
        statement = {k: v for k, v in p.items() if k != "FunctionName"}
        statement["StatementId"] = sid
        backend = get_lambda_backend(self.account_id, self.region_name)
        backend.add_permission(p["FunctionName"], None, json.dumps(statement))
        self.physical_id = sid

    def remove(self) -> None:
        backend = get_lambda_backend(self.account_id, self.region_name)
        try:
            backend.remove_permission(self.properties["FunctionName"], self.physical_id)
        except Exception as exc:  # noqa: BLE001 - function already deleted
            if not (is_not_found(exc) or "Function not found" in str(exc)):
                raise


def install(port: int) -> None:
    parsing.ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]
