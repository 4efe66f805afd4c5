"""Fixtures of the hook tests: Lambda sources on disk, an offline wheelhouse, moto S3."""

import boto3
import pytest
from moto import mock_aws

from tests import lambda_sources


@pytest.fixture
def source_root(tmp_path):
    """A project root with ``lambda_src/demo/`` (no requirements)."""
    root = tmp_path / "project"
    lambda_sources.write_source(root)
    return root


@pytest.fixture
def wheelhouse(tmp_path):
    lambda_sources.write_wheel(tmp_path / "wheels")
    return tmp_path / "wheels"


@pytest.fixture
def builder(tmp_path, wheelhouse):
    """``lambda_zip.build`` with a fresh cache and pip offline on ``wheelhouse``."""
    return lambda_sources.offline_builder(tmp_path / "cache", wheelhouse)


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS, with credentials that can reach nothing else."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def s3(aws):
    return aws.client("s3")


@pytest.fixture
def data_key_arn(aws):
    return aws.client("kms").create_key(Description="data key")["KeyMetadata"]["Arn"]


@pytest.fixture
def kms_bucket(s3, data_key_arn):
    """An artifacts-like bucket whose default encryption is SSE-KMS with our key."""
    s3.create_bucket(Bucket="s3-artifacts-dev-d01")
    s3.put_bucket_encryption(
        Bucket="s3-artifacts-dev-d01",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": data_key_arn}, "BucketKeyEnabled": True}]},
    )
    return "s3-artifacts-dev-d01"


@pytest.fixture
def sse_s3_bucket(s3):
    """A bucket encrypted with S3-managed keys only."""
    s3.create_bucket(Bucket="s3-plain-dev-d01")
    s3.put_bucket_encryption(
        Bucket="s3-plain-dev-d01",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    return "s3-plain-dev-d01"
