"""The policy rules themselves: each one rejects what it exists to reject."""

import pytest

from tests.test_templates import policy

KEY = {"Ref": "DataKeyArn"}
GOOD_NAME = {"Fn::Sub": "s3-artifacts-${AWS::AccountId}-${Environment}-${EnvironmentSuffix}"}


def assert_flags(problem, expected):
    """``expected`` None: the rule accepts; else the problem it reports says ``expected``."""
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


@pytest.mark.parametrize("rtype,props,expected", [
    ("AWS::S3::Bucket", {"BucketName": GOOD_NAME}, None),
    ("AWS::S3::Bucket", {"BucketName": "artifacts"}, "lacks"),
    ("AWS::S3::Bucket", {}, "missing"),
    ("AWS::S3::Bucket", {"BucketName": {"Fn::Sub": "s3-${Environment}-${EnvironmentSuffix}-x"}}, "must end with"),
    ("AWS::EC2::VPC", {"Tags": [{"Key": "Name", "Value": {"Fn::Sub": "vpc-${Environment}-${EnvironmentSuffix}"}}]}, None),
    ("AWS::EC2::VPC", {"Tags": []}, "Name tag"),
    ("AWS::EC2::NetworkAclEntry", {}, "unclassified"),
])
def test_naming_problem__resource__flags_what_breaks_the_rule(rtype, props, expected):
    assert_flags(policy.naming_problem(rtype, props), expected)


@pytest.mark.parametrize("rtype,props,expected", [
    ("AWS::Logs::LogGroup", {"KmsKeyId": KEY}, None),
    ("AWS::Logs::LogGroup", {}, "KmsKeyId"),
    ("AWS::SQS::Queue", {"KmsMasterKeyId": "alias/aws/sqs"}, "KmsMasterKeyId"),
    ("AWS::RDS::DBCluster", {"StorageEncrypted": True, "KmsKeyId": KEY}, None),
    ("AWS::RDS::DBCluster", {"StorageEncrypted": False, "KmsKeyId": KEY}, "StorageEncrypted"),
    ("AWS::S3::Bucket", {"BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}, "aws:kms"),
    ("AWS::SSM::Parameter", {"Type": "SecureString"}, "String"),
    ("AWS::Kinesis::Stream", {}, "unclassified"),
])
def test_encryption_problem__resource__flags_missing_or_aws_managed_keys(rtype, props, expected):
    assert_flags(policy.encryption_problem(rtype, props), expected)


@pytest.mark.parametrize("rtype,resource,expected", [
    ("AWS::S3::Bucket", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}, None),
    ("AWS::S3::Bucket", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Delete"}, "forbidden"),
    ("AWS::EC2::VPC", {"UpdateReplacePolicy": "RetainExceptOnCreate"}, "forbidden"),
    ("AWS::KMS::Key", {}, "explicitly"),
    ("AWS::RDS::DBCluster", {"DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Delete"}, "explicitly"),
])
def test_deletion_problem__resource__forbids_retain_and_requires_explicit_delete(rtype, resource, expected):
    assert_flags(policy.deletion_problem(rtype, resource), expected)


def test_tag_values__list_and_map_shapes__read_alike():
    as_list = {"Tags": [{"Key": "Environment", "Value": {"Ref": "Environment"}}]}
    as_map = {"HostedZoneTags": {"Environment": {"Ref": "Environment"}}}
    assert policy.tag_values(as_list) == {"Environment": {"Ref": "Environment"}}
    assert policy.tag_values(as_map) == {"Environment": {"Ref": "Environment"}}
