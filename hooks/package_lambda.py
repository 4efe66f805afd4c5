"""``!package_lambda``: build a Lambda's reproducible zip and upload it before the stack launches.

    hooks:
      before_create:
        - !package_lambda
          source: lambda_src/traffic_shifter
          bucket: !stack_output {{ environment }}/artifacts.yaml::ArtifactBucketName

The zip is built by ``bluegreen.lambda_zip.build`` (the same function the ``!lambda_code_key``
resolver calls, so the template's key is the key of these bytes) and stored under
``lambda/<name>/<sha256>.zip``. The key is content-addressed: when it is already in the bucket the
upload is skipped. The object is written with SSE-KMS under the bucket's own default KMS key,
named explicitly so a bucket policy that demands KMS headers accepts it; a bucket without a
default KMS key is refused rather than given an object encrypted with some other key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError
from sceptre.hooks import Hook

from bluegreen import lambda_zip, sceptre_stack
from bluegreen.aws_failures import names_aws_failures
from bluegreen.s3_objects import default_kms_key, object_exists

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
EXPECTED = "{source: lambda_src/<name>, bucket: <bucket name or resolver>}"


class PackageLambda(Hook):
    """Uploads ``lambda_src/<name>`` as ``s3://<bucket>/lambda/<name>/<sha256>.zip`` unless it is there."""

    def __init__(
        self,
        argument: Any = None,
        stack: Any = None,
        *,
        s3_client: Any = None,
        builder: Callable[..., lambda_zip.Package] = lambda_zip.build,
        project_root: Path | None = None,
    ):
        super().__init__(argument, stack)
        self._s3_client = s3_client
        self._builder = builder
        self._project_root = project_root

    @names_aws_failures
    def run(self) -> str:
        """Build and upload; returns the object key (also what ``!lambda_code_key`` resolves to)."""
        name, bucket = self._parse(self.argument)
        try:
            package = self._builder(name, root=self._root())
        except lambda_zip.LambdaSourceError as err:
            raise InvalidHookArgumentValueError(
                f"!package_lambda could not package {self.argument['source']!r}: {err}"
            ) from err
        s3 = self._s3()
        if self._exists(s3, bucket, package.key):
            self.logger.info("%s - s3://%s/%s is already uploaded: skipped", self._stack_name(), bucket, package.key)
            return package.key
        key_id = self._bucket_kms_key(s3, bucket)
        s3.put_object(
            Bucket=bucket,
            Key=package.key,
            Body=package.data,
            ContentType="application/zip",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_id,
            ChecksumAlgorithm="SHA256",
            Metadata={"sha256": package.sha256, "source": f"{lambda_zip.SOURCE_DIR}/{name}"},
        )
        self.logger.info("%s - uploaded s3://%s/%s (%d bytes)", self._stack_name(), bucket, package.key, len(package.data))
        return package.key

    # -- argument ------------------------------------------------------------------------------
    @staticmethod
    def _parse(argument: Any) -> tuple[str, str]:
        if not isinstance(argument, dict) or set(argument) != {"source", "bucket"}:
            raise InvalidHookArgumentTypeError(
                f"!package_lambda takes a dict {EXPECTED}; got {argument!r}"
            )
        try:
            name = lambda_zip.parse_source(argument["source"])
        except lambda_zip.LambdaSourceError as err:
            raise InvalidHookArgumentValueError(f"!package_lambda source: {err}; expected {EXPECTED}") from err
        bucket = argument["bucket"]
        if not isinstance(bucket, str) or not _BUCKET.match(bucket):
            raise InvalidHookArgumentValueError(
                f"!package_lambda bucket must be an S3 bucket name; expected {EXPECTED}, got bucket {bucket!r}"
            )
        return name, bucket

    # -- side effects -------------------------------------------------------------------------
    def _root(self) -> Path:
        return sceptre_stack.project_root(self.stack, self._project_root)

    def _s3(self) -> Any:
        self._s3_client = sceptre_stack.client(self.stack, "s3", self._s3_client)
        return self._s3_client

    def _stack_name(self) -> str:
        return getattr(self.stack, "name", "package_lambda")

    @staticmethod
    def _exists(s3: Any, bucket: str, key: str) -> bool:
        return object_exists(s3, bucket, key)

    @staticmethod
    def _bucket_kms_key(s3: Any, bucket: str) -> str:
        key = default_kms_key(s3, bucket)
        if key:
            return key
        raise InvalidHookArgumentValueError(
            f"!package_lambda: bucket {bucket!r} has no default SSE-KMS key; Lambda code is only uploaded "
            "to a bucket encrypted with our KMS key (the artifacts bucket)"
        )
