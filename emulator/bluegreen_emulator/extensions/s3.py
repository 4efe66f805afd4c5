"""S3: bucket policy evaluation that lets TLS-only buckets work, and the BucketPolicy model.

moto 5.2 evaluates a bucket policy's statements without any request context, and a
statement whose Condition does not hold answers DENIED instead of not applying: under the
usual TLS-only ``{"Bool": {"aws:SecureTransport": "false"}}`` Deny every object request
was denied. ``Bool`` is not one of moto's condition operators at all. Here requests count
as TLS (SDK calls always are), a statement whose conditions do not hold does not apply,
and one with an operator moto cannot evaluate is not enforced; unconditional Deny
statements still deny. AWS::S3::BucketPolicy had no model (a phantom).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam import policy_conditions
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.s3.exceptions import MissingBucket
from moto.s3.models import FakeBucket, s3_backends

from ..moto_internals import patch
from ._base import BackendResource, policy_text

EXTENSIONS = [
    ("S3 bucket policies", "fix: a statement whose Condition does not hold, or uses an operator moto cannot evaluate, does not apply (moto denied every "
                           "request under the usual TLS-only 'aws:SecureTransport false' Deny); requests count as TLS"),
    ("AWS::S3::BucketPolicy", "new model: put_bucket_policy / delete_bucket_policy"),
]

#: Request context the emulator can vouch for: SDK calls to AWS always use TLS.
S3_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def _bool_equals(expected: Any, actual: str) -> bool:
    values = expected if isinstance(expected, list) else [expected]
    return str(actual).lower() in [str(v).lower() for v in values]


_original_statement_permitted = IAMPolicyStatement.is_action_permitted


def _statement_permitted(self: IAMPolicyStatement, action: str, resource: str = "*", principal: str | None = None,
                         incoming_condition_values: dict[str, str] | None = None) -> PermissionResult:
    conditions = self._statement.get("Condition")
    if conditions:
        # A statement whose conditions do not hold does not apply (moto: DENIED), and a
        # condition the emulator cannot evaluate (StringNotEquals, IpAddress, ...) is not
        # enforced (moto: treated as holding, so such a Deny denied every request).
        if any(op not in policy_conditions.CONDITION_OPERATIONS for op in conditions):
            return PermissionResult.NEUTRAL
        if not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
    return _original_statement_permitted(self, action, resource, principal, incoming_condition_values)


def _bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
    return IAMPolicy(policy).is_action_permitted(action, resource, incoming_condition_values=dict(S3_REQUEST_CONTEXT))


class BucketPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::S3::BucketPolicy"
    REPLACE_ON = ("Bucket",)

    def _backend(self):
        return s3_backends[self.account_id]["aws"]

    def create(self, name: str) -> None:
        self.update(self.properties)
        self.physical_id = f"{self.properties['Bucket']}-policy"

    def update(self, new_properties: dict[str, Any]) -> None:
        self._backend().put_bucket_policy(new_properties["Bucket"], policy_text(new_properties["PolicyDocument"]).encode())

    def remove(self) -> None:
        with suppress(MissingBucket):  # the bucket went first
            self._backend().delete_bucket_policy(self.properties["Bucket"])


def install(port: int) -> None:
    patch("moto.iam.policy_conditions.CONDITION_OPERATIONS[Bool]", _bool_equals)
    patch("moto.iam.access_control.IAMPolicyStatement.is_action_permitted", _statement_permitted)
    patch("moto.s3.models.FakeBucket.get_permission", _bucket_permission)
