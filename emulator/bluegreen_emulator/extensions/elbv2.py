"""ELBv2: weighted forward actions, the GetAtt attributes moto lacks, deletes with the stack.

moto 5.2's listener model read ``TargetGroupArn`` of every ``forward`` default action,
so a ``ForwardConfig`` with weighted target groups -- the blue/green split -- failed with
KeyError 'TargetGroupArn'. GetAtt CanonicalHostedZoneID / LoadBalancerFullName /
SecurityGroups of a load balancer was missing (Route 53 aliases need the first), and any
GetAtt of a target group crashed. Listeners, rules and target groups outlived their stack.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.elbv2.exceptions import InvalidActionTypeError, ListenerNotFoundError, TargetGroupNotFoundError
from moto.elbv2.models import ALLOWED_ACTIONS, ELBv2Backend, FakeLoadBalancer, elbv2_backends

from ..moto_internals import patch
from ._base import Deleter, as_int, getatt

EXTENSIONS = [
    ("AWS::ElasticLoadBalancingV2::Listener", "fix: forward actions with ForwardConfig (weighted target groups) are kept as given"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "fix: Fn::GetAtt CanonicalHostedZoneID (real us-east-1 zone IDs, for Route 53 aliases), "
                                                  "LoadBalancerFullName, SecurityGroups"),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "fix: Fn::GetAtt TargetGroupFullName, TargetGroupName, LoadBalancerArns (moto crashed on any GetAtt)"),
    ("stack delete (ELBv2)", "Listener, ListenerRule, TargetGroup are deleted with their stack"),
]

#: Route 53 hosted zone IDs of Elastic Load Balancing in us-east-1 (alias targets).
ELB_HOSTED_ZONE_IDS = {"application": "Z35SXDOTRQ7X7K", "network": "Z26RNL4JYFTOTI", "gateway": "Z26RNL4JYFTOTI"}


def _convert_and_validate_properties(self: ELBv2Backend, properties: dict[str, Any]) -> list[dict[str, Any]]:
    actions = []
    for i, action in enumerate(properties["DefaultActions"]):
        if action["Type"] not in ALLOWED_ACTIONS:
            raise InvalidActionTypeError(action["Type"], i + 1)
        action = dict(action)
        forward = action.get("ForwardConfig")
        if forward:
            forward = dict(forward)
            forward["TargetGroups"] = [
                {**tg, "Weight": as_int(tg.get("Weight"), 1)} for tg in forward.get("TargetGroups") or []
            ]
            action["ForwardConfig"] = forward
        actions.append(action)
    return actions


_lb_get_cfn_attribute = getatt(
    {
        "CanonicalHostedZoneID": lambda lb: ELB_HOSTED_ZONE_IDS.get(lb.type, ELB_HOSTED_ZONE_IDS["application"]),
        "LoadBalancerFullName": lambda lb: lb.arn.split(":loadbalancer/", 1)[1],
        "SecurityGroups": lambda lb: list(lb.security_groups or []),
        "LoadBalancerArn": lambda lb: lb.arn,
    },
    fallback=FakeLoadBalancer.get_cfn_attribute,
)

_tg_get_cfn_attribute = getatt(
    {
        "TargetGroupFullName": lambda tg: tg.arn.split(":", 5)[5],
        "TargetGroupName": lambda tg: tg.name,
        "TargetGroupArn": lambda tg: tg.arn,
        "LoadBalancerArns": lambda tg: list(getattr(tg, "load_balancer_arns", []) or []),
    }
)


# ----------------------------------------------------------------------------- stack delete


def _listener(obj: Any, account_id: str, region: str) -> None:
    with suppress(ListenerNotFoundError):
        elbv2_backends[account_id][region].delete_listener(obj.arn)


def _rule(obj: Any, account_id: str, region: str) -> None:
    elbv2_backends[account_id][region].delete_rule(obj.arn)  # moto: no error when gone


def _target_group(obj: Any, account_id: str, region: str) -> None:
    with suppress(TargetGroupNotFoundError):
        elbv2_backends[account_id][region].delete_target_group(obj.arn)


DELETERS: dict[str, Deleter] = {
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _rule,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
}


def install(port: int) -> None:
    models = "moto.elbv2.models"
    patch(f"{models}.ELBv2Backend.convert_and_validate_properties", _convert_and_validate_properties)
    patch(f"{models}.FakeLoadBalancer.get_cfn_attribute", _lb_get_cfn_attribute)
    patch(f"{models}.FakeTargetGroup.get_cfn_attribute", _tg_get_cfn_attribute)
