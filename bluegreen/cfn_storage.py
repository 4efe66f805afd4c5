"""What keeps data at rest, built one way: buckets, log groups, topics.

Each is encrypted with one of our keys (or, where AWS log delivery cannot write to SSE-KMS, with
SSE-S3, recorded as an exception), removed with its stack, tagged, and, where it takes a resource
policy, reachable over TLS only.
"""

from __future__ import annotations

from typing import Any

from troposphere import AWSObject, GetAtt, Ref, Sub, Template
from troposphere.logs import LogGroup
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    LifecycleRuleTransition,
    LoggingConfiguration,
    NoncurrentVersionExpiration,
    NoncurrentVersionTransition,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)
from troposphere.sns import Topic, TopicPolicy

from bluegreen.cfn import deletable, name, tags
from bluegreen.cfn_iam import deny, policy_document

#: PCI DSS 10.7 keeps audit logs a year; a literal, so scanners and auditors read it off the template.
LOG_RETENTION_DAYS = 365
#: The retention periods CloudWatch Logs accepts from one year up, for retention parameters.
RETENTION_DAYS_FROM_A_YEAR = [365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
#: An upload that never completed holds storage nobody sees.
ABORT_UPLOADS_AFTER_DAYS = 7


def log_group(t: Template, logical: str, log_group_name: Any, *, key: Any = None,
              retention: Any = LOG_RETENTION_DAYS, **props: Any) -> LogGroup:
    """A log group encrypted with the ops key (unless ``key`` names another) that expires its events.

    Declared by the stack even where a service would create it itself: the service's own would be
    unencrypted and kept forever.
    """
    return t.add_resource(deletable(LogGroup(
        logical, LogGroupName=log_group_name, KmsKeyId=key if key is not None else Ref("OpsKeyArn"),
        RetentionInDays=retention, Tags=tags(), **props)))


def tls_only_statements(bucket: AWSObject) -> list[dict]:
    """Bucket-policy statements denying plain HTTP and TLS older than 1.2 to everyone (PCI DSS 4.1)."""
    resources = [GetAtt(bucket, "Arn"), Sub("${%s.Arn}/*" % bucket.title)]
    return [
        deny("DenyInsecureTransport", "s3:*", resources, condition={"Bool": {"aws:SecureTransport": False}}),
        deny("DenyTlsOlderThan12", "s3:*", resources, condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
    ]


def lifecycle_rule(rule_id: str, *, expire_after: Any = None, noncurrent_after: Any = None,
                   archive_after: Any = None) -> LifecycleRule:
    """One lifecycle rule: current objects expire (and are archived to Glacier first), replaced
    versions expire, and incomplete uploads are always aborted."""
    props: dict[str, Any] = {}
    if expire_after is not None:
        props["ExpirationInDays"] = expire_after
    if noncurrent_after is not None:
        props["NoncurrentVersionExpiration"] = NoncurrentVersionExpiration(NoncurrentDays=noncurrent_after)
    if archive_after is not None:
        props["Transitions"] = [LifecycleRuleTransition(StorageClass="GLACIER", TransitionInDays=archive_after)]
        props["NoncurrentVersionTransitions"] = [
            NoncurrentVersionTransition(StorageClass="GLACIER", TransitionInDays=archive_after)]
    return LifecycleRule(
        Id=rule_id, Status="Enabled",
        AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=ABORT_UPLOADS_AFTER_DAYS),
        **props)


def bucket(t: Template, logical: str, qualifier: str, lifecycle: LifecycleRule, kms_key: Any, *,
           bucket_key: bool = True, log_to: Any = None, log_prefix: Any = None, **props: Any) -> Bucket:
    """A private, versioned bucket ``s3-<qualifier>-<account>-<environment>-<suffix>``, SSE-KMS with
    ``kms_key`` and an S3 Bucket Key (one data key per bucket instead of one KMS call per object) unless
    ``bucket_key`` is off. ``log_to`` is the bucket its server access logs go to, under ``log_prefix``."""
    if kms_key is None:
        encryption = ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
    else:
        encryption = ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=kms_key),
            BucketKeyEnabled=bucket_key)
    if log_to is not None:
        props["LoggingConfiguration"] = LoggingConfiguration(DestinationBucketName=log_to, LogFilePrefix=log_prefix)
    return t.add_resource(deletable(Bucket(
        logical,
        BucketName=name("s3", qualifier, account=True),
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[encryption]),
        # A deleted or overwritten object stays recoverable as a noncurrent version.
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        # ACLs off: access is decided by policies alone (log delivery works through the bucket policy).
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[lifecycle]),
        Tags=tags(),
        **props,
    )))


def log_delivery_bucket(t: Template, logical: str, qualifier: str, lifecycle: LifecycleRule, **props: Any) -> Bucket:
    """A bucket an AWS log delivery writes to (S3 server access logs, ALB logs): SSE-S3, not SSE-KMS,
    because those deliveries cannot write to a bucket encrypted with a KMS key. It holds request
    metadata only, never card data (docs/security-exceptions.md; tests/test_templates/policy.py
    names each such bucket)."""
    return bucket(t, logical, qualifier, lifecycle, None, **props)


def bucket_policy(t: Template, bucket: Bucket, *statements: dict) -> BucketPolicy:
    """``<bucket>Policy``: TLS 1.2 or newer only, for everyone, then the grants given."""
    return t.add_resource(BucketPolicy(
        f"{bucket.title}Policy", Bucket=Ref(bucket),
        PolicyDocument=policy_document(*tls_only_statements(bucket), *statements)))


def topic(t: Template, logical: str, qualifier: str, display_name: Any, *statements: dict) -> Topic:
    """An SNS topic ``sns-<qualifier>-...`` encrypted with the ops key, and ``<logical>Policy`` of the
    statements given (which may name the topic as ``Ref(logical)``)."""
    created = t.add_resource(deletable(Topic(
        logical, TopicName=name("sns", qualifier), DisplayName=display_name, KmsMasterKeyId=Ref("OpsKeyArn"),
        Tags=tags())))
    t.add_resource(TopicPolicy(f"{logical}Policy", Topics=[Ref(created)], PolicyDocument=policy_document(*statements)))
    return created
