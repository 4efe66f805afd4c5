"""Audit stack: the CloudTrail trail that is the platform's audit history (PCI DSS requirement 10).

What an assessor asks for, and where it is:
  * every API call in every region, global services included, with S3 object access
    (which also records who read the audit trail itself, 10.2.3);
  * log files that cannot be altered unnoticed (log file validation digests, 10.5.5), kept
    encrypted with our ops key in a versioned bucket nobody outside the account can reach;
  * one year of history, the last three months immediately available (10.7): 90 days in
    S3 Standard, then Glacier until the retention ends; the CloudWatch Logs copy keeps 365 days
    searchable;
  * the CIS-benchmark alarms on that copy (root use, IAM policy, KMS key, security group and
    trail changes, failed console logins) publish to an encrypted SNS topic (10.6).
"""

from troposphere import GetAtt, Parameter, Ref, Sub
from troposphere.cloudtrail import DataResource, EventSelector, Trail
from troposphere.cloudwatch import Alarm
from troposphere.iam import ManagedPolicy, Role
from troposphere.logs import LogGroup, MetricFilter, MetricTransformation
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

from bluegreen.cfn import KMS_KEY_ARN_PATTERN, NAME_TAIL, deletable, export, name, new_template, suppressions, tags, tls_only_statements, to_json

#: CloudWatch Logs keeps the searchable copy a full year (PCI DSS 10.7).
LOG_RETENTION_DAYS = 365

#: CIS AWS Foundations benchmark (monitoring section) metric filters, one alarm each.
#: key -> (filter pattern, alarm threshold per 5 minutes, what the alarm means)
SECURITY_EVENTS = {
    "root-usage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
        1,
        "The root user was used (CIS 4.3, PCI DSS 10.2.2).",
    ),
    "iam-policy-changes": (
        "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || "
        "($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || "
        "($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || "
        "($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || "
        "($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || "
        "($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || "
        "($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || "
        "($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy) }",
        1,
        "An IAM policy was created, changed, attached or detached (CIS 4.4, PCI DSS 10.2.5).",
    ),
    "kms-key-disabled": (
        "{ ($.eventSource = kms.amazonaws.com) && "
        "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
        1,
        "A KMS key was disabled or scheduled for deletion (CIS 4.7, PCI DSS 3.6).",
    ),
    "sg-changes": (
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
        1,
        "A security group was created, changed or deleted (CIS 4.10, PCI DSS 1.1.1).",
    ),
    "console-login-failures": (
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        # A mistyped password is normal; three in five minutes looks like guessing.
        3,
        "Three or more failed console logins in five minutes (CIS 4.6, PCI DSS 10.2.4).",
    ),
    "trail-changes": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
        1,
        "A CloudTrail trail was changed or stopped (CIS 4.5, PCI DSS 10.2.6).",
    ),
}


def _logical(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("-"))


def trail_arn() -> Sub:
    """The trail's ARN, spelled out: the bucket policy must exist before the trail does."""
    return Sub("arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/trail-" + NAME_TAIL)


def _parameters(t):
    ops_key = t.add_parameter(Parameter(
        "OpsKeyArn",
        Type="String",
        AllowedPattern=KMS_KEY_ARN_PATTERN,
        ConstraintDescription="the ARN of a KMS key (security stack output OpsKeyArn).",
        Description="ARN of the ops KMS key: trail log files, their bucket, the log group and the alarm topic.",
    ))
    access_logs = t.add_parameter(Parameter(
        "AccessLogBucketName",
        Type="String",
        AllowedPattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        ConstraintDescription="an S3 bucket name (artifacts stack output AccessLogBucketName).",
        Description="Bucket that receives the server access logs of the trail bucket.",
    ))
    archive_after = t.add_parameter(Parameter(
        "TrailArchiveAfterDays",
        Type="Number",
        Default=90,
        # PCI DSS 10.7: the last three months must stay immediately available.
        MinValue=90,
        MaxValue=180,
        Description="Days trail log files stay in S3 Standard before moving to Glacier (90-180).",
    ))
    retention = t.add_parameter(Parameter(
        "TrailRetentionDays",
        Type="Number",
        Default=365,
        # PCI DSS 10.7: at least one year of audit history. MinValue above the archive
        # MaxValue keeps the expiration after the transition, as S3 requires.
        MinValue=365,
        MaxValue=3653,
        Description="Days trail log files are kept in all (at least 365).",
    ))
    return ops_key, access_logs, archive_after, retention


def _bucket(t, ops_key, access_logs, archive_after, retention):
    bucket = t.add_resource(deletable(Bucket(
        "TrailBucket",
        BucketName=name("s3", "trail", account=True),
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                SSEAlgorithm="aws:kms", KMSMasterKeyID=Ref(ops_key)),
            # No S3 Bucket Key: with one, CloudTrail would need kms:Decrypt on the ops key to
            # create the trail, which the key policy does not (and need not) give it. A few
            # thousand log files a day cost little in KMS calls.
            BucketKeyEnabled=False,
        )]),
        # A deleted or overwritten log file stays recoverable as a noncurrent version.
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        # ACLs off: access is decided by the bucket policy and IAM alone.
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LoggingConfiguration=LoggingConfiguration(
            DestinationBucketName=Ref(access_logs), LogFilePrefix=Sub("s3-trail-" + NAME_TAIL + "/")),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[
            LifecycleRule(
                Id="archive-then-expire-audit-history",
                Status="Enabled",
                Transitions=[LifecycleRuleTransition(StorageClass="GLACIER", TransitionInDays=Ref(archive_after))],
                ExpirationInDays=Ref(retention),
                NoncurrentVersionTransitions=[NoncurrentVersionTransition(
                    StorageClass="GLACIER", TransitionInDays=Ref(archive_after))],
                NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=Ref(retention)),
                AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
            ),
        ]),
        Tags=tags(),
        Metadata=suppressions(guard={
            "S3_BUCKET_REPLICATION_ENABLED": (
                "The platform is single-region (us-east-1); the trail's second copy is the "
                "KMS-encrypted CloudWatch Logs group kept 365 days, and versioning keeps "
                "overwritten or deleted log files recoverable."),
        }),
    )))
    bucket_arn = GetAtt(bucket, "Arn")
    t.add_resource(BucketPolicy(
        "TrailBucketPolicy",
        Bucket=Ref(bucket),
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                *tls_only_statements(bucket),
                {
                    "Sid": "CloudTrailChecksBucketAcl",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": bucket_arn,
                    # Only our trail, not any trail that names this bucket (confused deputy).
                    "Condition": {"StringEquals": {"aws:SourceArn": trail_arn()}},
                },
                {
                    "Sid": "CloudTrailWritesThisAccountsLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": Sub("${TrailBucket.Arn}/AWSLogs/${AWS::AccountId}/*"),
                    "Condition": {"StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": trail_arn(),
                    }},
                },
            ],
        },
    ))
    return bucket


def _cloudwatch_delivery(t, ops_key):
    log_group = t.add_resource(deletable(LogGroup(
        "TrailLogGroup",
        LogGroupName=name("log", "trail"),
        RetentionInDays=LOG_RETENTION_DAYS,
        KmsKeyId=Ref(ops_key),
        Tags=tags(),
    )))
    role = t.add_resource(Role(
        "TrailLogsRole",
        RoleName=name("role", "trail-logs"),
        Description="Lets CloudTrail deliver this stack's trail to its CloudWatch Logs group.",
        AssumeRolePolicyDocument={
            "Version": "2012-10-17",
            # No aws:SourceArn/SourceAccount condition: CloudTrail documents those keys for the
            # bucket, topic and key policies, not for the AssumeRole of log delivery, and an unmet
            # condition fails CreateTrail. Only a principal allowed iam:PassRole on this role in
            # this account can attach it to a trail.
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }],
        },
        Tags=tags("role", "trail-logs"),
    ))
    # A managed policy rather than an inline one (PCI guard IAM_NO_INLINE_POLICY_CHECK).
    policy = t.add_resource(ManagedPolicy(
        "TrailLogsPolicy",
        ManagedPolicyName=name("policy", "trail-logs"),
        Description="Create log streams and put events in the trail's log group only.",
        Roles=[Ref(role)],
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "WriteTrailLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                # A multi-region trail writes one stream per region, all named <account>_CloudTrail_<region>.
                "Resource": Sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${TrailLogGroup}"
                    ":log-stream:${AWS::AccountId}_CloudTrail_*"),
            }],
        },
    ))
    return log_group, role, policy


def _alarms(t, ops_key, log_group):
    topic = t.add_resource(deletable(Topic(
        "AuditAlarmTopic",
        TopicName=name("sns", "audit-alarms"),
        DisplayName="Audit alarms",
        KmsMasterKeyId=Ref(ops_key),
        Tags=tags(),
    )))
    t.add_resource(TopicPolicy(
        "AuditAlarmTopicPolicy",
        Topics=[Ref(topic)],
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AlarmsOfThisAccountPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": Ref(topic),
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")},
                        "ArnLike": {"aws:SourceArn": Sub(
                            "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:alarm-*-"
                            + NAME_TAIL)},
                    },
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": Ref(topic),
                    "Condition": {"Bool": {"aws:SecureTransport": False}},
                },
            ],
        },
    ))
    namespace = Sub("${Project}/audit/" + NAME_TAIL)
    for key, (pattern, threshold, meaning) in SECURITY_EVENTS.items():
        metric = _logical(key)
        t.add_resource(MetricFilter(
            f"{metric}Filter",
            FilterName=name("mf", key),
            LogGroupName=Ref(log_group),
            FilterPattern=pattern,
            MetricTransformations=[MetricTransformation(
                MetricName=metric, MetricNamespace=namespace, MetricValue="1", DefaultValue=0)],
        ))
        t.add_resource(Alarm(
            f"{metric}Alarm",
            AlarmName=name("alarm", key),
            AlarmDescription=meaning,
            Namespace=namespace,
            MetricName=metric,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            # No matching event in a period is the normal case, not missing data.
            TreatMissingData="notBreaching",
            AlarmActions=[Ref(topic)],
            Tags=tags(),
        ))
    return topic


def build():
    t = new_template("CloudTrail audit trail, its encrypted bucket and log group, and the PCI/CIS security alarms.")
    ops_key, access_logs, archive_after, retention = _parameters(t)
    bucket = _bucket(t, ops_key, access_logs, archive_after, retention)
    log_group, role, policy = _cloudwatch_delivery(t, ops_key)
    topic = _alarms(t, ops_key, log_group)

    trail = t.add_resource(deletable(Trail(
        "Trail",
        # CloudTrail checks the bucket policy and the role's permissions when the trail is created.
        DependsOn=["TrailBucketPolicy", policy.title],
        TrailName=name("trail"),
        S3BucketName=Ref(bucket),
        IsLogging=True,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KMSKeyId=Ref(ops_key),
        CloudWatchLogsLogGroupArn=GetAtt(log_group, "Arn"),
        CloudWatchLogsRoleArn=GetAtt(role, "Arn"),
        EventSelectors=[EventSelector(
            ReadWriteType="All",
            IncludeManagementEvents=True,
            # Object-level access in every bucket, the trail bucket included: reads of the
            # audit trail are themselves audited (PCI DSS 10.2.3).
            DataResources=[DataResource(Type="AWS::S3::Object", Values=["arn:aws:s3:::"])],
        )],
        Tags=tags(),
        Metadata=suppressions(guard={
            "CLOUD_TRAIL_ENCRYPTION_ENABLED": (
                "KMSKeyId is Ref OpsKeyArn, the security stack's customer-managed ops key; the rule "
                "accepts only a literal string and cannot resolve a Ref. "
                "tests/test_templates/test_audit.py::test_trail__kms_key__is_the_ops_key_parameter proves it."),
        }),
    )))

    export(t, "TrailName", Ref(trail), "Name of the CloudTrail trail.")
    export(t, "TrailArn", GetAtt(trail, "Arn"), "ARN of the CloudTrail trail.")
    export(t, "TrailBucketName", Ref(bucket), "Bucket holding the trail's log files and digests.")
    export(t, "TrailLogGroupName", Ref(log_group), "CloudWatch Logs group receiving the trail.")
    export(t, "AuditAlarmTopicArn", Ref(topic), "SNS topic the security alarms publish to.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
