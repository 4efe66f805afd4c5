"""IAM roles and managed policies from CloudFormation as IAM enforcement needs them.

moto 5.2.5's ``AWS::IAM::Role`` model drops ``ManagedPolicyArns`` (the role has no attached policy:
every role of this project, whose grants are managed policies, would be denied everything), and
its update changes only the description; ``AWS::IAM::ManagedPolicy`` has no update at all. Here a
role's managed policies are attached on create and detached before its delete, and an update brings the trust policy, the inline
``Policies`` and the attachments to the template's; a managed policy's update makes the new
document its default version (as IAM's CreatePolicyVersion, the oldest non-default one removed
at IAM's five-version limit). Installed by enforcement.install, listed in moto_internals.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import Role, iam_backends

ROLE_CREATE = "moto.iam.models.Role.create_from_cloudformation_json"
ROLE_UPDATE = "moto.iam.models.Role.update_from_cloudformation_json"
ROLE_DELETE = "moto.iam.models.Role.delete_from_cloudformation_json"
POLICY_UPDATE = "moto.iam.models.ManagedPolicy.update_from_cloudformation_json"
#: IAM keeps at most five versions of a managed policy.
MAX_VERSIONS = 5

_original_create = Role.create_from_cloudformation_json.__func__
_original_delete = Role.delete_from_cloudformation_json.__func__


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _sync_managed(iam: Any, role: Any, wanted: list[str]) -> None:
    """Attach / detach on the role itself: IAMBackend's attach/detach_role_policy iterate every managed
    policy of the account, which the stacks CloudFormation deploys in parallel threads are changing."""
    for arn, policy in list(role.managed_policies.items()):
        if arn not in wanted:
            policy.detach_from(role)
    for arn in wanted:
        if arn not in role.managed_policies:
            policy = iam.managed_policies.get(arn)
            if policy is None:
                raise NotFoundException(f"Policy {arn} does not exist or is not attachable.")
            policy.attach_to(role)


def create_role(cls: Any, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str, **kwargs: Any) -> Any:
    role = _original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    wanted = list(cloudformation_json.get("Properties", {}).get("ManagedPolicyArns") or [])
    _sync_managed(iam_backends[account_id]["aws"], role, wanted)
    return role


def update_role(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict, account_id: str,
                region_name: str) -> Any:
    properties = cloudformation_json.get("Properties", {})
    iam = iam_backends[account_id]["aws"]
    role = original_resource
    if properties.get("RoleName", role.name) != role.name:  # a new name: CloudFormation replaces the role
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
    iam.update_role(role.name, properties.get("Description", ""), int(properties.get("MaxSessionDuration", 3600)))
    iam.update_assume_role_policy(role.name, _text(properties["AssumeRolePolicyDocument"]))
    inline = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies") or []}
    for name in [n for n in role.policies if n not in inline]:
        iam.delete_role_policy(role.name, name)
    for name, document in inline.items():
        iam.put_role_policy(role.name, name, _text(document))
    _sync_managed(iam, role, list(properties.get("ManagedPolicyArns") or []))
    return role


def delete_role(cls: Any, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str) -> None:
    iam = iam_backends[account_id]["aws"]
    role = next((r for r in iam.roles.values() if r.name == resource_name), None)
    if role is not None:
        _sync_managed(iam, role, [])  # IAM refuses to delete a role with attached policies (as AWS does)
    _original_delete(cls, resource_name, cloudformation_json, account_id, region_name)


def update_policy(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict, account_id: str,
                  region_name: str) -> Any:
    properties = cloudformation_json.get("Properties", {})
    policy = original_resource
    if properties.get("ManagedPolicyName", policy.name) != policy.name:  # a new name: a new policy
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
    iam = iam_backends[account_id]["aws"]
    document = _text(properties.get("PolicyDocument"))
    if document != next(v.document for v in policy.versions if v.is_default):
        if len(policy.versions) >= MAX_VERSIONS:
            oldest = next(v for v in policy.versions if not v.is_default)
            iam.delete_policy_version(policy.arn, oldest.version_id)
        iam.create_policy_version(policy.arn, document, set_as_default=True)
    return policy


def install() -> None:
    from ..moto_internals import patch

    patch(ROLE_CREATE, classmethod(create_role))
    patch(ROLE_UPDATE, classmethod(update_role))
    patch(ROLE_DELETE, classmethod(delete_role))
    patch(POLICY_UPDATE, classmethod(update_policy))
