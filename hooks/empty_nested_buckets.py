"""``!empty_nested_buckets``: before Sceptre deletes the nested parent, empty the buckets its nested
stacks' ``!empty_bucket`` hooks would empty under Sceptre (S3 refuses to delete a bucket that holds
object versions).

    hooks:
      before_delete:
        - !empty_nested_buckets

No argument: the buckets are the ``!empty_bucket {outputs: [...]}`` of the stacks the parent nests
(``bluegreen.nested``: ``Parent.buckets_to_empty``), read from each nested stack's outputs and emptied in
reverse launch order, as ``sceptre delete <env>`` would. The guard is ``!empty_bucket``'s own: a
protected parent, or one whose group config does not set ``empty_buckets_on_delete: true`` (prod keeps
its PCI DSS 10.7 logs), is refused before anything is deleted. A parent or nested stack that no longer
exists is skipped, so a second delete after a failed one works.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from sceptre.exceptions import InvalidHookArgumentTypeError

from bluegreen import nested, package
from bluegreen_hooks.empty_bucket import EmptyBucket


class EmptyNestedBuckets(EmptyBucket):
    """EmptyBucket over the nested stacks' buckets."""

    def setup(self):
        if self._argument not in (None, ""):
            raise InvalidHookArgumentTypeError(
                f"!empty_nested_buckets takes no argument (the buckets are the nested stacks' !empty_bucket "
                f"outputs); got {self._argument!r}"
            )

    @staticmethod
    def parse(argument: Any) -> tuple[str, list[str]]:
        return "outputs", []

    def _buckets_from_outputs(self, keys: list[str]) -> list[str]:
        env, _, _, root, variables = package.settings(self.stack.sceptre_user_data)
        parent = nested.generate(env, root, variables)
        cfn = self._client("cloudformation")
        buckets: list[str] = []
        for logical, output_keys in reversed(parent.buckets_to_empty):
            outputs = self._nested_outputs(cfn, logical)
            buckets += [outputs[k] for k in output_keys if k in outputs]
        return buckets

    def _nested_outputs(self, cfn: Any, logical: str) -> dict[str, str]:
        """The outputs of the parent's nested stack ``logical``; {} when the parent or it is gone."""
        try:
            resource = cfn.describe_stack_resource(StackName=self.stack.external_name,
                                                   LogicalResourceId=logical)["StackResourceDetail"]
            described = cfn.describe_stacks(StackName=resource["PhysicalResourceId"])["Stacks"][0]
        except ClientError as err:
            if "does not exist" in err.response["Error"].get("Message", ""):
                self.logger.info("%s - %s does not exist: no buckets to empty there", self.stack.name, logical)
                return {}
            raise
        except KeyError:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
