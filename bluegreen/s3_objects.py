"""S3 look-ups shared by the Sceptre packaging hook and the nested-stack package command."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    """True when the key is already there (content-hash keys are then not uploaded again)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def default_kms_key(s3: Any, bucket: str) -> str | None:
    """The bucket's default SSE-KMS key, or None when it has none (callers refuse such a bucket)."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get("KMSMasterKeyID"):
            return default["KMSMasterKeyID"]
    return None
