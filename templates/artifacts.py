"""Artifacts stack: the bucket of Lambda packages and the bucket of S3 server access logs.

The artifact bucket holds the code every Lambda of the platform runs, so it is treated like
payment data: encrypted with the data key, versioned (a package can be traced and rolled back),
private, TLS-only, and every request to it is logged to the access-log bucket.

The access-log bucket is the destination of S3 server access logging, which cannot write to a
bucket encrypted with SSE-KMS: it uses SSE-S3 instead (recorded in docs/security-exceptions.md).
Both buckets are emptied by the empty_bucket hook before the stack is deleted (S3 refuses to
delete a bucket that still holds object versions).
"""

from troposphere import Ref, Sub

from bluegreen import cfn_parameters as params
from bluegreen.cfn import export, new_template, suppressions, to_json
from bluegreen.cfn_iam import allow, deny
from bluegreen.cfn_storage import RETENTION_DAYS_FROM_A_YEAR, bucket, bucket_policy, lifecycle_rule, log_delivery_bucket

#: The log prefix of the artifact bucket inside the access-log bucket.
ARTIFACT_LOG_PREFIX = "s3/artifacts/"

ACCESS_LOG_NOT_LOGGED = (
    "This is the access-log destination: logging it into itself would log its own log deliveries "
    "without end. Object-level access to it is recorded by the CloudTrail trail of the audit stack "
    "(S3 data events)."
)
NO_REPLICATION = (
    "Single-region deployment (us-east-1) by design. Artifacts are rebuilt from source by the "
    "package_lambda hook, and versioning keeps every earlier object version for recovery."
)


def _parameters(t):
    params.add(t, "DataKeyArn", "ARN of the data KMS key (security stack) that encrypts the artifact bucket.",
               params.KMS_KEY_ARN)
    params.add(t, "NoncurrentVersionExpirationDays", "Days a replaced or deleted object version is kept before "
               "S3 expires it.", params.NUMBER, Default=30, MinValue=1, MaxValue=365)
    params.add(t, "AccessLogRetentionDays", "Days S3 access logs are kept (PCI DSS 10.7 asks for at least one year).",
               params.NUMBER, Default=365, AllowedValues=RETENTION_DAYS_FROM_A_YEAR)


def _access_log_bucket(t):
    access_logs = log_delivery_bucket(
        t, "AccessLogBucket", "access-logs",
        lifecycle_rule("ExpireLogsAfterRetention", expire_after=Ref("AccessLogRetentionDays"),
                       noncurrent_after=Ref("NoncurrentVersionExpirationDays")),
        Metadata=suppressions(
            checkov={"CKV_AWS_18": ACCESS_LOG_NOT_LOGGED},
            guard={"S3_BUCKET_LOGGING_ENABLED": ACCESS_LOG_NOT_LOGGED,
                   "S3_BUCKET_REPLICATION_ENABLED": NO_REPLICATION},
        ),
    )
    bucket_policy(t, access_logs, allow(
        # S3 log delivery for source buckets of this account only (artifacts, trail).
        "S3ServerAccessLogDelivery", "s3:PutObject", Sub("${AccessLogBucket.Arn}/*"),
        principal={"Service": "logging.s3.amazonaws.com"},
        condition={"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}))
    return access_logs


def _artifact_bucket(t, access_logs):
    artifacts = bucket(
        t, "ArtifactBucket", "artifacts",
        lifecycle_rule("ExpireNoncurrentVersions", noncurrent_after=Ref("NoncurrentVersionExpirationDays")),
        Ref("DataKeyArn"), log_to=Ref(access_logs), log_prefix=ARTIFACT_LOG_PREFIX,
        Metadata=suppressions(guard={"S3_BUCKET_REPLICATION_ENABLED": NO_REPLICATION}),
    )
    objects = Sub("${ArtifactBucket.Arn}/*")
    # Uploads without encryption headers get the bucket default (the data key); an upload that asks
    # for another algorithm, or names a KMS key other than the data key, is refused.
    bucket_policy(
        t, artifacts,
        deny("DenyOtherEncryptionAlgorithms", "s3:PutObject", objects, condition={
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        deny("DenyOtherKmsKeys", "s3:PutObject", objects, condition={
            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": Ref("DataKeyArn")}}),
    )
    return artifacts


def build():
    t = new_template("Artifact bucket (Lambda packages) and S3 access-log bucket of the blue-green payment platform.")
    _parameters(t)
    access_logs = _access_log_bucket(t)
    artifacts = _artifact_bucket(t, access_logs)
    export(t, "ArtifactBucketName", Ref(artifacts), "Name of the bucket that holds the Lambda packages.")
    export(t, "AccessLogBucketName", Ref(access_logs), "Name of the bucket that receives S3 server access logs.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
