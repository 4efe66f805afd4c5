"""Artifacts stack: the bucket of Lambda packages and the bucket of S3 server access logs.

The artifact bucket holds the code every Lambda of the platform runs, so it is treated like
payment data: encrypted with the data key, versioned (a package can be traced and rolled back),
private, TLS-only, and every request to it is logged to the access-log bucket.

The access-log bucket is the destination of S3 server access logging, which cannot write to a
bucket encrypted with SSE-KMS: it uses SSE-S3 instead (recorded in docs/security-exceptions.md).
Both buckets are emptied by the empty_bucket hook before the stack is deleted (S3 refuses to
delete a bucket that still holds object versions).
"""

from troposphere import GetAtt, Parameter, Ref, Sub
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    LoggingConfiguration,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from bluegreen.cfn import KMS_KEY_ARN_PATTERN, deletable, export, name, new_template, suppressions, tags, tls_only_statements, to_json

#: Log retention values from one year up (PCI DSS 10.7: keep audit trails at least a year).
LOG_RETENTION_DAYS = [365, 400, 545, 731, 1096, 1827, 2557, 3653]
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


def _private():
    return PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True)


def _owner_enforced():
    # ACLs off: access is decided by policies alone (log delivery works through the bucket policy).
    return OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")])


def build():
    t = new_template("Artifact bucket (Lambda packages) and S3 access-log bucket of the blue-green payment platform.")
    t.add_parameter(Parameter(
        "DataKeyArn", Type="String",
        AllowedPattern=KMS_KEY_ARN_PATTERN,
        ConstraintDescription="the ARN of a KMS key.",
        Description="ARN of the data KMS key (security stack) that encrypts the artifact bucket.",
    ))
    t.add_parameter(Parameter(
        "NoncurrentVersionExpirationDays", Type="Number", Default=30, MinValue=1, MaxValue=365,
        Description="Days a replaced or deleted object version is kept before S3 expires it.",
    ))
    t.add_parameter(Parameter(
        "AccessLogRetentionDays", Type="Number", Default=365, AllowedValues=LOG_RETENTION_DAYS,
        Description="Days S3 access logs are kept (PCI DSS 10.7 asks for at least one year).",
    ))

    access_logs = t.add_resource(deletable(Bucket(
        "AccessLogBucket",
        BucketName=name("s3", "access-logs", account=True),
        # S3 server access logging cannot deliver to a bucket whose default encryption is SSE-KMS,
        # so this bucket uses SSE-S3 (AES-256). It holds request metadata only, never artifacts or
        # card data (docs/security-exceptions.md; tests/test_templates/policy.py names it).
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_private(),
        OwnershipControls=_owner_enforced(),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[LifecycleRule(
            Id="ExpireLogsAfterRetention",
            Status="Enabled",
            ExpirationInDays=Ref("AccessLogRetentionDays"),
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(
                NoncurrentDays=Ref("NoncurrentVersionExpirationDays")),
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
        )]),
        Tags=tags(),
        Metadata=suppressions(
            checkov={"CKV_AWS_18": ACCESS_LOG_NOT_LOGGED},
            guard={"S3_BUCKET_LOGGING_ENABLED": ACCESS_LOG_NOT_LOGGED,
                   "S3_BUCKET_REPLICATION_ENABLED": NO_REPLICATION},
        ),
    )))
    t.add_resource(BucketPolicy(
        "AccessLogBucketPolicy",
        Bucket=Ref(access_logs),
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                *tls_only_statements(access_logs),
                {
                    # S3 log delivery for source buckets of this account only (artifacts, trail).
                    "Sid": "S3ServerAccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": Sub("${AccessLogBucket.Arn}/*"),
                    "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
                },
            ],
        },
    ))

    artifacts = t.add_resource(deletable(Bucket(
        "ArtifactBucket",
        BucketName=name("s3", "artifacts", account=True),
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                SSEAlgorithm="aws:kms", KMSMasterKeyID=Ref("DataKeyArn")),
            # One data key per bucket instead of one KMS call per object: cheaper, same key.
            BucketKeyEnabled=True,
        )]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_private(),
        OwnershipControls=_owner_enforced(),
        LoggingConfiguration=LoggingConfiguration(
            DestinationBucketName=Ref(access_logs), LogFilePrefix=ARTIFACT_LOG_PREFIX),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[LifecycleRule(
            Id="ExpireNoncurrentVersions",
            Status="Enabled",
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(
                NoncurrentDays=Ref("NoncurrentVersionExpirationDays")),
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
        )]),
        Tags=tags(),
        Metadata=suppressions(guard={"S3_BUCKET_REPLICATION_ENABLED": NO_REPLICATION}),
    )))
    t.add_resource(BucketPolicy(
        "ArtifactBucketPolicy",
        Bucket=Ref(artifacts),
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                *tls_only_statements(artifacts),
                {
                    # Uploads without encryption headers get the bucket default (the data key);
                    # an upload that asks for another algorithm is refused.
                    "Sid": "DenyOtherEncryptionAlgorithms",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": Sub("${ArtifactBucket.Arn}/*"),
                    "Condition": {
                        "Null": {"s3:x-amz-server-side-encryption": "false"},
                        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    },
                },
                {
                    # ... and one that names a KMS key other than the data key is refused too.
                    "Sid": "DenyOtherKmsKeys",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": Sub("${ArtifactBucket.Arn}/*"),
                    "Condition": {
                        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": Ref("DataKeyArn")},
                    },
                },
            ],
        },
    ))

    export(t, "ArtifactBucketName", Ref(artifacts), "Name of the bucket that holds the Lambda packages.")
    export(t, "AccessLogBucketName", Ref(access_logs), "Name of the bucket that receives S3 server access logs.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
