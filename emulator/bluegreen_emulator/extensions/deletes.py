"""Stack delete for moto models that have no delete: they used to outlive their stack.

moto 5.2 silently keeps, after DeleteStack (or a rollback), every resource whose model has
no delete of its own (EC2 gateways and routes, ECS clusters, ELBv2 listeners, IAM managed
policies, Route 53 zones, ...); because of the leftovers a VPC can then not be deleted
either. Each service module declares ``DELETERS``: resource type -> a function that calls
the service backend's own delete API with the identifiers moto's model object holds (a
resource already gone is not an error there). This module wraps moto's
``ResourceMap._delete_resource`` to use them, only when the model has no delete of its own.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing

from ..moto_internals import patch
from . import ec2, ec2_vpn, ecs, elbv2, iam, route53
from ._base import Deleter

DELETERS: dict[str, Deleter] = {
    **ec2.DELETERS,
    **ec2_vpn.DELETERS,
    **ecs.DELETERS,
    **elbv2.DELETERS,
    **iam.DELETERS,
    **route53.DELETERS,
}


def _has_own_delete(resource: Any) -> bool:
    cls = type(resource)
    if callable(getattr(cls, "delete", None)):
        return True
    return not hasattr(cls.delete_from_cloudformation_json, "__isabstractmethod__")


_original_delete_resource = parsing.ResourceMap._delete_resource


def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
    deleter = DELETERS.get(resource_json.get("Type", ""))
    if deleter is not None and not _has_own_delete(parsed_resource):
        deleter(parsed_resource, self._account_id, self._region_name)
        return
    _original_delete_resource(self, parsed_resource, resource_json)


def install(port: int) -> None:
    patch("moto.cloudformation.parsing.ResourceMap._delete_resource", _delete_resource)
