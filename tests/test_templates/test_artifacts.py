"""templates/artifacts.json: the artifact bucket and the S3 access-log bucket."""

import pytest

from tests.test_templates.lookup import of_type, props, statements

BUCKETS = ("ArtifactBucket", "AccessLogBucket")


def _statements(resources, bucket):
    policies = [v["Properties"] for v in of_type(resources, "AWS::S3::BucketPolicy").values()
                if v["Properties"]["Bucket"] == {"Ref": bucket}]
    assert len(policies) == 1, f"{bucket}: {len(policies)} bucket policies"
    return statements(policies[0]["PolicyDocument"])


def _bucket_and_objects(bucket):
    return [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": "${%s.Arn}/*" % bucket}]


def test_artifact_bucket__encryption__data_key_with_bucket_key(resources):
    (rule,) = props(resources, "ArtifactBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "DataKeyArn"}},
        "BucketKeyEnabled": True,
    }


def test_access_log_bucket__encryption__sse_s3_because_log_delivery_cannot_use_kms(resources):
    (rule,) = props(resources, "AccessLogBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket__versioning__enabled(resources, bucket):
    assert props(resources, bucket)["VersioningConfiguration"] == {"Status": "Enabled"}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket__public_access_block__all_four_settings_on(resources, bucket):
    assert props(resources, bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket__acls__disabled_by_bucket_owner_enforced(resources, bucket):
    assert props(resources, bucket)["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_policy__plain_http__denied_to_everyone(resources, bucket):
    statement = _statements(resources, bucket)["DenyInsecureTransport"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Resource"] == _bucket_and_objects(bucket)
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_bucket_policy__tls_older_than_1_2__denied_to_everyone(resources, bucket):
    statement = _statements(resources, bucket)["DenyTlsOlderThan12"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Resource"] == _bucket_and_objects(bucket)
    assert statement["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_artifact_bucket_policy__upload_naming_another_algorithm__denied(resources):
    statement = _statements(resources, "ArtifactBucket")["DenyOtherEncryptionAlgorithms"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:PutObject")
    assert statement["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption": "false"},
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
    }


def test_artifact_bucket_policy__upload_naming_another_kms_key__denied(resources):
    statement = _statements(resources, "ArtifactBucket")["DenyOtherKmsKeys"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:PutObject")
    assert statement["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": {"Ref": "DataKeyArn"}},
    }


def test_artifact_bucket__access_logging__into_the_access_log_bucket(resources):
    logging = props(resources, "ArtifactBucket")["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    assert logging["LogFilePrefix"]


def test_access_log_policy__log_delivery__only_for_buckets_of_this_account(resources):
    statement = _statements(resources, "AccessLogBucket")["S3ServerAccessLogDelivery"]
    assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert statement["Action"] == "s3:PutObject"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_artifact_bucket__lifecycle__noncurrent_versions_expire_after_30_days(artifacts, resources):
    (rule,) = props(resources, "ArtifactBucket")["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "NoncurrentVersionExpirationDays"}}
    assert artifacts["Parameters"]["NoncurrentVersionExpirationDays"]["Default"] == 30


def test_access_log_bucket__lifecycle__logs_kept_at_least_a_year(artifacts, resources):
    (rule,) = props(resources, "AccessLogBucket")["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    parameter = artifacts["Parameters"]["AccessLogRetentionDays"]
    assert parameter["Default"] == 365
    assert min(parameter["AllowedValues"]) >= 365


@pytest.mark.parametrize("key,bucket", [("ArtifactBucketName", "ArtifactBucket"), ("AccessLogBucketName", "AccessLogBucket")])
def test_outputs__bucket_names__exported_under_the_stack_name(artifacts, key, bucket):
    assert artifacts["Outputs"][key]["Value"] == {"Ref": bucket}
    assert artifacts["Outputs"][key]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{key}"}
