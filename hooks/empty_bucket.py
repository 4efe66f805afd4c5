"""``!empty_bucket``: delete every object version and delete marker of S3 buckets, so that
CloudFormation can delete them with the stack (S3 refuses to delete a bucket that holds any).

    hooks:
      before_delete:
        - !empty_bucket
          outputs: [ArtifactBucketName, AccessLogBucketName]   # bucket names from this stack's outputs

    # other accepted shapes
        - !empty_bucket {bucket: my-bucket}                    # one bucket (a name or a resolver)
        - !empty_bucket {buckets: [bucket-a, bucket-b]}
        - !empty_bucket [bucket-a, bucket-b]

``outputs`` exists because a stack cannot name its own buckets with ``!stack_output``: that would
make the stack depend on itself. The hook reads the outputs of the stack it belongs to instead.

Buckets are emptied in the order given, so list a log destination after the buckets that log
to it. A bucket or stack that no longer exists is skipped, so a second ``sceptre delete`` after a
failed one works. A protected stack (``protect: true``), or one whose group config does not set
``empty_buckets_on_delete: true`` (prod), is refused before anything is deleted: Sceptre only checks
protection after the before_delete hooks have run.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError
from sceptre.exceptions import (
    InvalidHookArgumentTypeError,
    InvalidHookArgumentValueError,
    ProtectedStackError,
    SceptreException,
)
from sceptre.hooks import Hook

from bluegreen import sceptre_stack
from bluegreen.aws_failures import names_aws_failures

EXPECTED = "{bucket: <name>}, {buckets: [<name>, ...]}, {outputs: [<OutputKey>, ...]} or [<name>, ...]"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Group-config key that allows emptying at all: true in dev (test stacks tear down clean), false in
#: prod (a year of access and audit logs must not go with a `sceptre delete`).
SWITCH = "empty_buckets_on_delete"
#: DeleteObjects takes at most 1000 keys per call.
_BATCH = 1000


class EmptyBucket(Hook):
    """Empties the buckets named by the argument (see the module docstring for its shapes)."""

    def __init__(
        self,
        argument: Any = None,
        stack: Any = None,
        *,
        s3_client: Any = None,
        cloudformation_client: Any = None,
    ):
        super().__init__(argument, stack)
        self._s3_client = s3_client
        self._cloudformation_client = cloudformation_client

    @names_aws_failures
    def run(self) -> dict[str, int]:
        """Empty every bucket; returns {bucket: number of versions and delete markers deleted}."""
        kind, values = self.parse(self.argument)
        if self.stack is not None and self.stack.protected:
            raise ProtectedStackError(
                f"!empty_bucket refuses to empty the buckets of '{self.stack.name}': the stack is protected"
            )
        if self.stack is not None and (self.stack.stack_group_config or {}).get(SWITCH) is not True:
            raise ProtectedStackError(
                f"!empty_bucket refuses to empty the buckets of '{self.stack.name}': its group config does not "
                f"set {SWITCH}: true. The logs in them are audit evidence (PCI DSS 10.7 keeps a year): archive "
                f"them first, then set {SWITCH}: true for this delete, or leave the buckets to CloudFormation, "
                "which will not delete a bucket that still holds objects."
            )
        buckets = self._buckets_from_outputs(values) if kind == "outputs" else values
        return {bucket: self.empty(bucket) for bucket in buckets}

    # -- argument ------------------------------------------------------------------------------
    @staticmethod
    def parse(argument: Any) -> tuple[str, list[str]]:
        """("buckets", names) or ("outputs", output keys); raises on any other shape."""
        if isinstance(argument, list):
            kind, values = "buckets", argument
        elif isinstance(argument, dict) and len(argument) == 1 and next(iter(argument)) in ("bucket", "buckets", "outputs"):
            key, value = next(iter(argument.items()))
            kind = "outputs" if key == "outputs" else "buckets"
            values = [value] if key == "bucket" else value
        else:
            raise InvalidHookArgumentTypeError(f"!empty_bucket takes {EXPECTED}; got {argument!r}")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidHookArgumentTypeError(
                f"!empty_bucket needs one or more non-empty strings in {EXPECTED}; got {argument!r}"
            )
        if kind == "buckets":
            bad = [v for v in values if not _BUCKET.match(v)]
            if bad:
                raise InvalidHookArgumentValueError(f"!empty_bucket: not S3 bucket names: {bad!r}")
        return kind, values

    # -- AWS -----------------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        injected = self._s3_client if service == "s3" else self._cloudformation_client
        return sceptre_stack.client(self.stack, service, injected)

    def _buckets_from_outputs(self, keys: list[str]) -> list[str]:
        stack_name = self.stack.external_name
        try:
            described = self._client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        except ClientError as err:
            if "does not exist" in err.response["Error"].get("Message", ""):
                self.logger.info("%s - stack does not exist: no buckets to empty", stack_name)
                return []
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if not outputs:
            # A stack that failed to create has no outputs, and CloudFormation removed its buckets.
            self.logger.warning("%s - stack has no outputs (%s): no buckets to empty",
                                stack_name, described.get("StackStatus"))
            return []
        missing = [k for k in keys if k not in outputs]
        if missing:
            raise InvalidHookArgumentValueError(
                f"!empty_bucket: stack {stack_name} has no outputs {missing!r} (it has {sorted(outputs)!r})"
            )
        return [outputs[k] for k in keys]

    def empty(self, bucket: str) -> int:
        """Delete every object version and delete marker of ``bucket``; returns how many."""
        s3 = self._client("s3")
        deleted = 0
        try:
            # Always list from the start and delete what was listed, until nothing is left:
            # continuation markers are not reliable while their keys are being deleted, and
            # log objects that arrive meanwhile are removed too. Each round deletes or raises.
            while True:
                page = s3.list_object_versions(Bucket=bucket, MaxKeys=_BATCH)
                batch = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ][:_BATCH]
                if not batch:
                    break
                response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                errors = response.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise SceptreException(
                        f"!empty_bucket: {len(errors)} of {len(batch)} object versions in {bucket} "
                        f"were not deleted, e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                    )
                deleted += len(batch)
        except ClientError as err:
            if err.response["Error"].get("Code") == "NoSuchBucket":
                self.logger.info("s3://%s does not exist: nothing to empty", bucket)
                return 0
            raise
        self.logger.info("emptied s3://%s (%d object versions and delete markers)", bucket, deleted)
        return deleted
