"""extensions/s3.py: a TLS-only bucket policy lets SDK requests through."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.emulator


def test_s3_tls_only_bucket_policy__sdk_requests__allowed(emulator, stacks):
    template = {"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::Sub": "${Bucket.Arn}/*"}],
                 "Condition": {"Bool": {"aws:SecureTransport": False}}},
                {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                 "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}},
            ]}}},
    }}
    bucket = stacks.create(template).resources["Bucket"]
    s3 = emulator.client("s3")

    s3.put_object(Bucket=bucket, Key="lambda/code.zip", Body=b"zip")
    head = s3.head_object(Bucket=bucket, Key="lambda/code.zip")

    assert head["ContentLength"] == 3
    assert s3.get_object(Bucket=bucket, Key="lambda/code.zip")["Body"].read() == b"zip"
    with pytest.raises(ClientError, match="AccessDenied|403"):
        s3.delete_object(Bucket=bucket, Key="lambda/code.zip")
