"""Audit stack: the CloudTrail trail that is the platform's audit history (PCI DSS requirement 10).

What an assessor asks for, and where it is:
  * every API call in every region, global services included, with S3 object access
    (which also records who read the audit trail itself, 10.2.1.3);
  * log files that cannot be altered unnoticed (log file validation digests, 10.3.4), kept
    encrypted with our ops key in a versioned bucket nobody outside the account can reach;
  * one year of history, the last three months immediately available (10.5.1): 90 days in
    S3 Standard, then Glacier until the retention ends; the CloudWatch Logs copy keeps 365 days
    searchable;
  * the CIS-benchmark alarms on that copy (root use, IAM policy, KMS key, security group and
    trail changes, failed console logins) publish to an encrypted SNS topic (10.4.1.1);
  * an archive of every other log that outlives the stack that wrote it (10.3.3, 10.5.1): one
    account-level subscription filter policy sends each CloudWatch Logs group of the account
    (database audit logs, the tasks' application logs, the shifter's audit, VPC flow logs, WAF and
    DMS logs, groups created later included) through a Firehose stream into the log-archive bucket
    (ops key, the same 12-month lifecycle as the trail). Deleting a colour, or any stack but this
    one, deletes its log groups and none of what they already sent; no Retain policy is needed.

Numbers are PCI DSS v4.0.1 requirements (docs/pci-dss.md).
"""

from troposphere import GetAtt, Ref, Sub
from troposphere.cloudtrail import DataResource, EventSelector, Trail
from troposphere.cloudwatch import Alarm
from troposphere.firehose import (
    BufferingHints,
    CloudWatchLoggingOptions,
    DeliveryStream,
    DeliveryStreamEncryptionConfigurationInput,
    EncryptionConfiguration,
    ExtendedS3DestinationConfiguration,
    KMSEncryptionConfig,
)
from troposphere.logs import AccountPolicy, MetricFilter, MetricTransformation

from bluegreen import cfn_parameters as params
from bluegreen.cfn import NAME_TAIL, deletable, export, name, new_template, suppressions, tags, to_json
from bluegreen.cfn_iam import (
    allow,
    deny,
    managed_policy,
    policy_document,
    role,
    service_trust,
    this_account,
    via_service,
)
from bluegreen.cfn_storage import bucket, bucket_policy, lifecycle_rule, log_group, topic

#: CIS AWS Foundations benchmark (monitoring section) metric filters, one alarm each.
#: key -> (filter pattern, alarm threshold per 5 minutes, what the alarm means)
SECURITY_EVENTS = {
    "root-usage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
        1,
        "The root user was used (CIS 4.3, PCI DSS 10.2.1.2).",
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
        "An IAM policy was created, changed, attached or detached (CIS 4.4, PCI DSS 10.2.1.5).",
    ),
    "kms-key-disabled": (
        "{ ($.eventSource = kms.amazonaws.com) && "
        "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
        1,
        "A KMS key was disabled or scheduled for deletion (CIS 4.7, PCI DSS 3.7.5).",
    ),
    "sg-changes": (
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
        1,
        "A security group was created, changed or deleted (CIS 4.10, PCI DSS 1.2.2).",
    ),
    "console-login-failures": (
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        # A mistyped password is normal; three in five minutes looks like guessing.
        3,
        "Three or more failed console logins in five minutes (CIS 4.6, PCI DSS 10.2.1.4).",
    ),
    "trail-changes": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
        1,
        "A CloudTrail trail was changed or stopped (CIS 4.5, PCI DSS 10.2.1.6).",
    ),
}


def _logical(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("-"))


def trail_arn() -> Sub:
    """The trail's ARN, spelled out: the bucket policy must exist before the trail does."""
    return Sub("arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/trail-" + NAME_TAIL)


def _parameters(t):
    ops_key = params.add(t, "OpsKeyArn", "ARN of the ops KMS key: trail log files, their bucket, the log group "
                         "and the alarm topic.", params.KMS_KEY_ARN)
    access_logs = params.add(t, "AccessLogBucketName", "Bucket that receives the server access logs of the trail "
                             "bucket (artifacts stack AccessLogBucketName).", params.BUCKET_NAME)
    # PCI DSS 10.5.1: the last three months must stay immediately available, and at least one year of
    # audit history is kept. The retention's minimum above the archive's maximum keeps the
    # expiration after the transition, as S3 requires.
    archive_after = params.add(t, "TrailArchiveAfterDays", "Days trail log files and archived logs stay in S3 "
                               "Standard before moving to Glacier (90-180).", params.NUMBER, Default=90, MinValue=90, MaxValue=180)
    retention = params.add(t, "TrailRetentionDays", "Days trail log files and the log archive are kept in all "
                           "(at least 365).",
                           params.NUMBER, Default=365, MinValue=365, MaxValue=3653)
    return ops_key, access_logs, archive_after, retention


def _bucket(t, ops_key, access_logs, archive_after, retention):
    trail_bucket = bucket(
        t, "TrailBucket", "trail",
        lifecycle_rule("archive-then-expire-audit-history", expire_after=Ref(retention),
                       noncurrent_after=Ref(retention), archive_after=Ref(archive_after)),
        Ref(ops_key),
        # No S3 Bucket Key: with one, CloudTrail would need kms:Decrypt on the ops key to create the
        # trail, which the key policy does not (and need not) give it. A few thousand log files a day
        # cost little in KMS calls.
        bucket_key=False,
        log_to=Ref(access_logs), log_prefix=Sub("s3-trail-" + NAME_TAIL + "/"),
        Metadata=suppressions(guard={
            "S3_BUCKET_REPLICATION_ENABLED": (
                "The platform is single-region (us-east-1); the trail's second copy is the "
                "KMS-encrypted CloudWatch Logs group kept 365 days, and versioning keeps "
                "overwritten or deleted log files recoverable."),
        }),
    )
    cloudtrail = {"Service": "cloudtrail.amazonaws.com"}
    bucket_policy(
        t, trail_bucket,
        # Only our trail, not any trail that names this bucket (confused deputy).
        allow("CloudTrailChecksBucketAcl", "s3:GetBucketAcl", GetAtt(trail_bucket, "Arn"), principal=cloudtrail,
              condition={"StringEquals": {"aws:SourceArn": trail_arn()}}),
        allow("CloudTrailWritesThisAccountsLogs", "s3:PutObject", Sub("${TrailBucket.Arn}/AWSLogs/${AWS::AccountId}/*"),
              principal=cloudtrail, condition={"StringEquals": {
                  "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn()}}),
    )
    return trail_bucket


def _cloudwatch_delivery(t, ops_key):
    group = log_group(t, "TrailLogGroup", name("log", "trail"), key=Ref(ops_key))
    # No aws:SourceArn/SourceAccount condition: CloudTrail documents those keys for the bucket,
    # topic and key policies, not for the AssumeRole of log delivery, and an unmet condition fails
    # CreateTrail. Only a principal allowed iam:PassRole on this role in this account can attach it
    # to a trail.
    delivery = role(t, "TrailLogsRole", name("role", "trail-logs"),
                    "Lets CloudTrail deliver this stack's trail to its CloudWatch Logs group.",
                    service_trust("cloudtrail.amazonaws.com"), Tags=tags("role", "trail-logs"))
    policy = managed_policy(
        t, "TrailLogsPolicy", name("policy", "trail-logs"),
        "Create log streams and put events in the trail's log group only.",
        # A multi-region trail writes one stream per region, all named <account>_CloudTrail_<region>.
        [allow("WriteTrailLogStreams", ["logs:CreateLogStream", "logs:PutLogEvents"], Sub(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${TrailLogGroup}"
            ":log-stream:${AWS::AccountId}_CloudTrail_*"))],
        Roles=[Ref(delivery)],
    )
    return group, delivery, policy


def _alarms(t, group):
    alarm_topic = topic(
        t, "AuditAlarmTopic", "audit-alarms", "Audit alarms",
        allow("AlarmsOfThisAccountPublish", "sns:Publish", Ref("AuditAlarmTopic"),
              principal={"Service": "cloudwatch.amazonaws.com"},
              condition={**this_account(), "ArnLike": {"aws:SourceArn": Sub(
                  "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:alarm-*-" + NAME_TAIL)}}),
        deny("DenyInsecureTransport", "sns:Publish", Ref("AuditAlarmTopic"),
             condition={"Bool": {"aws:SecureTransport": False}}),
    )
    namespace = Sub("${Project}/audit/" + NAME_TAIL)
    for key, (pattern, threshold, meaning) in SECURITY_EVENTS.items():
        metric = _logical(key)
        t.add_resource(MetricFilter(
            f"{metric}Filter",
            FilterName=name("mf", key),
            LogGroupName=Ref(group),
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
            AlarmActions=[Ref(alarm_topic)],
            Tags=tags(),
        ))
    return alarm_topic


#: The Firehose stream that carries every log group's events to the archive bucket.
ARCHIVE_STREAM = "firehose-log-archive-" + NAME_TAIL
#: Its own delivery-error log group: excluded from the account policy, or errors would loop.
ARCHIVE_ERRORS_GROUP = "/aws/kinesisfirehose/" + ARCHIVE_STREAM
#: Where CloudWatch Logs' batches land in the archive bucket (gzip JSON, as CloudWatch Logs sends them).
ARCHIVE_PREFIX = "logs/"


def _log_archive(t, ops_key, access_logs, archive_after, retention, trail_group):
    """Every log group of the account -> one Firehose stream -> the log-archive bucket (PCI DSS 10.5.1)."""
    archive = bucket(
        t, "LogArchiveBucket", "log-archive",
        lifecycle_rule("archive-then-expire-log-history", expire_after=Ref(retention),
                       noncurrent_after=Ref(retention), archive_after=Ref(archive_after)),
        Ref(ops_key),
        log_to=Ref(access_logs), log_prefix=Sub("s3-log-archive-" + NAME_TAIL + "/"),
        Metadata=suppressions(guard={
            "S3_BUCKET_REPLICATION_ENABLED": (
                "The platform is single-region (us-east-1); versioning keeps overwritten or deleted "
                "archive objects recoverable until the 12-month retention ends."),
        }),
    )
    bucket_policy(t, archive)
    errors = log_group(t, "LogArchiveErrorLogGroup", Sub(ARCHIVE_ERRORS_GROUP), key=Ref(ops_key))
    # Firehose documents sts:ExternalId = the account for its service role (confused deputy).
    firehose_trust = policy_document({
        "Effect": "Allow", "Principal": {"Service": "firehose.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": Ref("AWS::AccountId")}}})
    writer_policy = managed_policy(
        t, "LogArchiveDeliveryPolicy", name("policy", "log-archive-delivery"),
        "Firehose writes the log archive: objects of its bucket under the ops key, and its error log.",
        [allow("WriteArchiveObjects", ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject",
                                       "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"],
               [GetAtt(archive, "Arn"), Sub("${LogArchiveBucket.Arn}/*")]),
         allow("EncryptArchiveObjects", ["kms:GenerateDataKey", "kms:Decrypt"], Ref(ops_key), condition={
             "StringEquals": {"kms:ViaService": via_service("s3")},
             "StringLike": {"kms:EncryptionContext:aws:s3:arn": Sub("${LogArchiveBucket.Arn}/*")}}),
         allow("WriteDeliveryErrors", "logs:PutLogEvents", Sub(
             "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LogArchiveErrorLogGroup}"
             ":log-stream:*"))])
    writer = role(t, "LogArchiveDeliveryRole", name("role", "log-archive-delivery"),
                  "Lets Firehose write the log archive bucket.", firehose_trust, policies=[writer_policy])
    stream = t.add_resource(deletable(DeliveryStream(
        "LogArchiveStream",
        DependsOn=[writer_policy.title],
        DeliveryStreamName=Sub(ARCHIVE_STREAM),
        DeliveryStreamType="DirectPut",
        DeliveryStreamEncryptionConfigurationInput=DeliveryStreamEncryptionConfigurationInput(
            KeyType="CUSTOMER_MANAGED_CMK", KeyARN=Ref(ops_key)),
        ExtendedS3DestinationConfiguration=ExtendedS3DestinationConfiguration(
            BucketARN=GetAtt(archive, "Arn"),
            RoleARN=GetAtt(writer, "Arn"),
            Prefix=ARCHIVE_PREFIX,
            ErrorOutputPrefix="errors/",
            # CloudWatch Logs already sends gzip; Firehose stores the batches as they come.
            CompressionFormat="UNCOMPRESSED",
            BufferingHints=BufferingHints(IntervalInSeconds=300, SizeInMBs=5),
            EncryptionConfiguration=EncryptionConfiguration(KMSEncryptionConfig=KMSEncryptionConfig(
                AWSKMSKeyARN=Ref(ops_key))),
            CloudWatchLoggingOptions=CloudWatchLoggingOptions(
                Enabled=True, LogGroupName=Ref(errors), LogStreamName="S3Delivery"),
        ),
        Tags=tags(),
    )))
    # CloudWatch Logs puts the events through this role, for this account's log groups only.
    sender_policy = managed_policy(
        t, "LogArchiveSubscriptionPolicy", name("policy", "log-archive-subscription"),
        "CloudWatch Logs puts subscribed events into the log archive stream only.",
        [allow("PutIntoArchiveStream", ["firehose:PutRecord", "firehose:PutRecordBatch"], GetAtt(stream, "Arn"))])
    sender = role(t, "LogArchiveSubscriptionRole", name("role", "log-archive-subscription"),
                  "Lets CloudWatch Logs send every log group's events to the log archive stream.",
                  service_trust("logs.amazonaws.com", source_arn=Sub(
                      "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*")),
                  policies=[sender_policy])
    # One account-level subscription filter policy per Region (PutAccountPolicy): every log group,
    # existing and future, but the trail's (its files are already in the trail bucket) and the
    # stream's own error group (a loop).
    t.add_resource(AccountPolicy(
        "LogArchiveAccountPolicy",
        DependsOn=[sender_policy.title],
        PolicyName=name("policy", "log-archive"),
        PolicyType="SUBSCRIPTION_FILTER_POLICY",
        Scope="ALL",
        PolicyDocument=Sub('{"DestinationArn": "${LogArchiveStream.Arn}", "RoleArn": '
                           '"${LogArchiveSubscriptionRole.Arn}", "FilterPattern": "", "Distribution": "Random"}'),
        SelectionCriteria=Sub('LogGroupName NOT IN ["${Trail}", "${Errors}"]', Trail=Ref(trail_group),
                              Errors=Ref(errors)),
    ))
    return archive, stream, sender


def build():
    t = new_template("CloudTrail audit trail, its encrypted bucket and log group, and the PCI/CIS security alarms.")
    ops_key, access_logs, archive_after, retention = _parameters(t)
    trail_bucket = _bucket(t, ops_key, access_logs, archive_after, retention)
    group, delivery, policy = _cloudwatch_delivery(t, ops_key)
    alarm_topic = _alarms(t, group)
    archive, stream, _sender = _log_archive(t, ops_key, access_logs, archive_after, retention, group)

    trail = t.add_resource(deletable(Trail(
        "Trail",
        # CloudTrail checks the bucket policy and the role's permissions when the trail is created.
        DependsOn=["TrailBucketPolicy", policy.title],
        TrailName=name("trail"),
        S3BucketName=Ref(trail_bucket),
        IsLogging=True,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KMSKeyId=Ref(ops_key),
        CloudWatchLogsLogGroupArn=GetAtt(group, "Arn"),
        CloudWatchLogsRoleArn=GetAtt(delivery, "Arn"),
        EventSelectors=[EventSelector(
            ReadWriteType="All",
            IncludeManagementEvents=True,
            # Object-level access in every bucket, the trail bucket included: reads of the
            # audit trail are themselves audited (PCI DSS 10.2.1.3).
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
    export(t, "TrailBucketName", Ref(trail_bucket), "Bucket holding the trail's log files and digests.")
    export(t, "TrailLogGroupName", Ref(group), "CloudWatch Logs group receiving the trail.")
    export(t, "AuditAlarmTopicArn", Ref(alarm_topic), "SNS topic the security alarms publish to.")
    export(t, "LogArchiveBucketName", Ref(archive), "Bucket holding every log group's events for 12 months.")
    export(t, "LogArchiveStreamArn", GetAtt(stream, "Arn"), "Firehose stream every log group is subscribed to.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
