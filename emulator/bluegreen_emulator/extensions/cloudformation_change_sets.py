"""CloudFormation change sets are named per stack, as on AWS.

A change-set name is unique within its stack, not within the account: ``bluegreen.change_sets``
creates one change set of the same name (``<change id>-<commit>``) on every stack of a group. moto
5.2's DescribeChangeSet, DeleteChangeSet and ExecuteChangeSet ignored ``StackName`` and took the
first change set of that name in the account: executing the second stack's change set executed the
first stack's again, and the second stack stayed REVIEW_IN_PROGRESS for ever (Sceptre then waits
without end). AWS (ExecuteChangeSet, StackName): "If you specified the name of a change set, specify the stack
name or Amazon Resource Name (ARN) that's associated with the change set you want to execute"
(the CloudFormation API reference; botocore's model carries the same text).

The three actions are answered here (moto's backend methods, given the ARN): a name is resolved with
its ``StackName`` (a stack name or ID) to that stack's change set ARN; a name without a stack, or a name the stack has no change set of, is
refused with ``ChangeSetNotFound`` as AWS does, not matched against other stacks.
"""

from __future__ import annotations

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

from ..moto_internals import patch

EXTENSIONS = [
    ("change sets", "Describe/Delete/ExecuteChangeSet find the change set of the named stack (moto: the first of that name in the account)"),
]

#: The three actions, answered here: moto's own looked the name up in the whole account.
METHODS = ("describe_change_set", "delete_change_set", "execute_change_set")


class ChangeSetNotFound(CloudFormationError):
    """AWS's error code for a change set that is not there (ChangeSetNotFoundException, HTTP 404)."""

    code = "ChangeSetNotFound"

    def __init__(self, name: str, stack: str | None) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist" + (f" for stack [{stack}]" if stack else ""))


def _arn_of(self: CloudFormationResponse, name: str, stack: str | None) -> str:
    if name.startswith("arn:"):
        return name
    if not stack:
        # AWS: a change set given by name needs its stack.
        raise ChangeSetNotFound(name, None)
    backend = cloudformation_backends[self.current_account][self.region]
    for arn, change_set in backend.change_sets.items():
        if change_set.change_set_name == name and stack in (change_set.stack_name, change_set.stack_id):
            return arn
    raise ChangeSetNotFound(name, stack)


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    arn = _arn_of(self, self._get_param("ChangeSetName"), self._get_param("StackName"))
    return ActionResult(self.cloudformation_backend.describe_change_set(change_set_name=arn))


def delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    arn = _arn_of(self, self._get_param("ChangeSetName"), self._get_param("StackName"))
    self.cloudformation_backend.delete_change_set(change_set_name=arn)
    return EmptyResult()


def execute_change_set(self: CloudFormationResponse) -> EmptyResult:
    stack = self._get_param("StackName")
    arn = _arn_of(self, self._get_param("ChangeSetName"), stack)
    self.cloudformation_backend.execute_change_set(change_set_name=arn, stack_name=stack)
    return EmptyResult()


def install(port: int) -> None:
    for method in METHODS:
        patch(f"moto.cloudformation.responses.CloudFormationResponse.{method}", globals()[method])
