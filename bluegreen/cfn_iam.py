"""IAM pieces of the template handlers: policy documents, statements, trust policies, roles.

Every role of the platform is a role plus a *managed* policy rather than an inline one: reviewers
and IAM Access Analyzer see the policy on its own (PCI guard IAM_NO_INLINE_POLICY_CHECK).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from troposphere import Ref, Sub, Template
from troposphere.iam import ManagedPolicy, Role

from bluegreen.cfn import name, tags

VERSION = "2012-10-17"


def policy_document(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def allow(sid: str, action: Any, resource: Any, *, principal: Any = None, condition: dict | None = None) -> dict:
    """One Allow statement; ``action`` and ``resource`` are written as given (a string or a list)."""
    return _statement(sid, "Allow", action, resource, principal, condition)


def deny(sid: str, action: Any, resource: Any, *, condition: dict, principal: Any = "*") -> dict:
    """One Deny statement, to everyone unless said otherwise."""
    return _statement(sid, "Deny", action, resource, principal, condition)


def _statement(sid, effect, action, resource, principal, condition) -> dict:
    statement = {"Sid": sid, "Effect": effect}
    if principal is not None:
        statement["Principal"] = principal
    statement.update(Action=action, Resource=resource)
    if condition:
        statement["Condition"] = condition
    return statement


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """``arn:<partition>:<service>:<this region>:<this account>:<resource>`` (region/account left empty on request)."""
    return Sub("arn:${AWS::Partition}:%s:%s:%s:%s" % (
        service, "${AWS::Region}" if region else "", "${AWS::AccountId}" if account else "", resource))


def via_service(service: str) -> Sub:
    """The ``kms:ViaService`` value of a service in this region, e.g. ssm.us-east-1.amazonaws.com."""
    return Sub(f"{service}.${{AWS::Region}}.amazonaws.com")


def this_account() -> dict:
    """The ``aws:SourceAccount`` condition: a service acting for this account only (confused deputy)."""
    return {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}


def service_trust(service: Any, *, source_account: bool = False, source_arn: Any = None) -> dict:
    """A trust policy that lets one AWS service assume the role.

    ``source_account`` and ``source_arn`` hold it to this account's requests (the confused-deputy
    guard); leave them off only where the service documents no such keys for AssumeRole.
    """
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    condition = this_account() if source_account else {}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return policy_document(statement)


def managed_policy(t: Template, logical: str, policy_name: Any, description: str, statements: Sequence[dict],
                   **props: Any) -> ManagedPolicy:
    return t.add_resource(ManagedPolicy(
        logical, ManagedPolicyName=policy_name, Description=description,
        PolicyDocument=policy_document(*statements), **props))


def role(t: Template, logical: str, role_name: Any, description: str, trust: dict, *,
         policies: Sequence[ManagedPolicy] = (), **props: Any) -> Role:
    """A role with its managed policies attached at creation (tags: the mandatory three)."""
    if policies:
        props["ManagedPolicyArns"] = [Ref(p) for p in policies]
    props.setdefault("Tags", tags())
    return t.add_resource(Role(logical, RoleName=role_name, Description=description,
                               AssumeRolePolicyDocument=trust, **props))


def policy_and_role(t: Template, logical: str, qualifiers: Sequence[str], trust: dict, statements: Sequence[dict], *,
                    policy_description: str, role_description: str, policy_props: dict | None = None,
                    **role_props: Any) -> tuple[ManagedPolicy, Role]:
    """``<logical>Policy`` attached to ``<logical>Role``, named policy-/role-<qualifiers>-<environment>-<suffix>."""
    policy = managed_policy(t, f"{logical}Policy", name("policy", *qualifiers), policy_description, statements,
                            **(policy_props or {}))
    return policy, role(t, f"{logical}Role", name("role", *qualifiers), role_description, trust,
                        policies=[policy], **role_props)
