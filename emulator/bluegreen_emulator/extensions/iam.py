"""IAM: managed policies are deleted with their stack (moto 5.2 kept them)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends

from ._base import Deleter

EXTENSIONS = [
    ("stack delete (IAM)", "ManagedPolicy is detached from its roles, users and groups and deleted with its stack"),
]


def _managed_policy(obj: Any, account_id: str, region: str) -> None:
    iam = iam_backends[account_id]["aws"]
    for role in list(iam.roles.values()):
        if obj.arn in role.managed_policies:
            iam.detach_role_policy(obj.arn, role.name)
    for user in list(iam.users.values()):
        if obj.arn in user.managed_policies:
            iam.detach_user_policy(obj.arn, user.name)
    for group in list(iam.groups.values()):
        if obj.arn in group.managed_policies:
            iam.detach_group_policy(obj.arn, group.name)
    with suppress(NotFoundException):
        iam.delete_policy(obj.arn)


DELETERS: dict[str, Deleter] = {"AWS::IAM::ManagedPolicy": _managed_policy}
