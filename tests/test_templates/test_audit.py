"""templates/audit.json: one test per security property of the audit trail (PCI DSS requirement 10).

Each test reads the committed template and fails when the property it names is removed.
"""

import os

import pytest

from bluegreen import cfn, environments, nested
from tests.test_templates import policy

TAIL = policy.NAME_TAIL
OUR_TRAIL_ARN = "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/trail-" + TAIL


def props(resources, logical):
    return resources[logical]["Properties"]


def statements(document):
    return {s["Sid"]: s for s in document["Statement"]}


def of_type(resources, rtype):
    return {k: r for k, r in resources.items() if r["Type"] == rtype}


@pytest.fixture(scope="module")
def trail(audit_resources):
    return props(audit_resources, "Trail")


@pytest.fixture(scope="module")
def bucket(audit_resources):
    return props(audit_resources, "TrailBucket")


@pytest.fixture(scope="module")
def bucket_policy(audit_resources):
    return statements(props(audit_resources, "TrailBucketPolicy")["PolicyDocument"])


@pytest.fixture(scope="module")
def lifecycle_rule(bucket):
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    return rule


@pytest.fixture(scope="module")
def topic_policy(audit_resources):
    return statements(props(audit_resources, "AuditAlarmTopicPolicy")["PolicyDocument"])


# ---------------------------------------------------------------- trail
def test_trail__regions__multi_region(trail):
    assert trail["IsMultiRegionTrail"] is True


def test_trail__global_services__included(trail):
    assert trail["IncludeGlobalServiceEvents"] is True


def test_trail__logging__started_on_create(trail):
    assert trail["IsLogging"] is True


def test_trail__log_file_validation__enabled(trail):
    assert trail["EnableLogFileValidation"] is True


def test_trail__kms_key__is_the_ops_key_parameter(trail):
    assert trail["KMSKeyId"] == {"Ref": "OpsKeyArn"}


def test_trail__name__matches_the_arn_the_policies_trust(trail):
    # The bucket policy, the role trust and the KMS context name the trail by ARN before it exists.
    assert OUR_TRAIL_ARN.endswith(":trail/" + policy.sub_text(trail["TrailName"]))


def test_trail__management_events__read_and_write(trail):
    (selector,) = trail["EventSelectors"]
    assert (selector["IncludeManagementEvents"], selector["ReadWriteType"]) == (True, "All")


def test_trail__s3_data_events__every_bucket_including_the_trail_bucket(trail):
    (selector,) = trail["EventSelectors"]
    assert selector["DataResources"] == [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::"]}]


def test_trail__cloudwatch_logs__delivered_to_the_trail_log_group(trail):
    assert trail["CloudWatchLogsLogGroupArn"] == {"Fn::GetAtt": ["TrailLogGroup", "Arn"]}
    assert trail["CloudWatchLogsRoleArn"] == {"Fn::GetAtt": ["TrailLogsRole", "Arn"]}


def test_trail__creation__waits_for_bucket_policy_and_role_policy(audit_resources):
    assert set(audit_resources["Trail"]["DependsOn"]) == {"TrailBucketPolicy", "TrailLogsPolicy"}


# ---------------------------------------------------------------- bucket
def test_trail_bucket__encryption__sse_kms_with_the_ops_key(bucket):
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "OpsKeyArn"}}


def test_trail_bucket__bucket_key__off_because_cloudtrail_has_no_decrypt(bucket):
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is False


def test_trail_bucket__versioning__enabled(bucket):
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


def test_trail_bucket__public_access__all_four_blocks_on(bucket):
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}


def test_trail_bucket__acls__disabled_by_bucket_owner_enforced(bucket):
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_trail_bucket__access_logs__go_to_the_access_log_bucket(bucket):
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucketName"}


def test_trail_bucket__lifecycle__keeps_at_least_one_year(audit, lifecycle_rule):
    assert lifecycle_rule["ExpirationInDays"] == {"Ref": "TrailRetentionDays"}
    assert lifecycle_rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": "TrailRetentionDays"}
    assert audit["Parameters"]["TrailRetentionDays"]["MinValue"] >= 365


def test_trail_bucket__lifecycle__keeps_three_months_immediately_available(audit, lifecycle_rule):
    params = audit["Parameters"]
    assert lifecycle_rule["Status"] == "Enabled"
    for transition in (*lifecycle_rule["Transitions"], *lifecycle_rule["NoncurrentVersionTransitions"]):
        assert transition["TransitionInDays"] == {"Ref": "TrailArchiveAfterDays"}
    assert params["TrailArchiveAfterDays"]["MinValue"] >= 90
    # S3 needs the expiration after the transition: the parameter ranges cannot overlap.
    assert params["TrailArchiveAfterDays"]["MaxValue"] < params["TrailRetentionDays"]["MinValue"]


# ---------------------------------------------------------------- bucket policy
def test_trail_bucket_policy__plain_http__denied_for_everyone(bucket_policy):
    deny = bucket_policy["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert deny["Resource"] == [{"Fn::GetAtt": ["TrailBucket", "Arn"]}, {"Fn::Sub": "${TrailBucket.Arn}/*"}]


def test_trail_bucket_policy__tls_below_1_2__denied_for_everyone(bucket_policy):
    deny = bucket_policy["DenyTlsOlderThan12"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_trail_bucket_policy__acl_check__only_our_trail(bucket_policy):
    acl = bucket_policy["CloudTrailChecksBucketAcl"]
    assert (acl["Principal"], acl["Action"]) == ({"Service": "cloudtrail.amazonaws.com"}, "s3:GetBucketAcl")
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": {"Fn::Sub": OUR_TRAIL_ARN}}}


def test_trail_bucket_policy__put_object__only_our_trail_into_this_accounts_prefix(bucket_policy):
    put = bucket_policy["CloudTrailWritesThisAccountsLogs"]
    assert (put["Principal"], put["Action"]) == ({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject")
    assert put["Resource"] == {"Fn::Sub": "${TrailBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}
    assert put["Condition"] == {"StringEquals": {
        "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": {"Fn::Sub": OUR_TRAIL_ARN}}}


def test_trail_bucket_policy__allows__nobody_but_cloudtrail(bucket_policy):
    allowed = {sid: s["Principal"] for sid, s in bucket_policy.items() if s["Effect"] == "Allow"}
    assert allowed == {
        "CloudTrailChecksBucketAcl": {"Service": "cloudtrail.amazonaws.com"},
        "CloudTrailWritesThisAccountsLogs": {"Service": "cloudtrail.amazonaws.com"},
    }


# ---------------------------------------------------------------- CloudWatch Logs delivery
def test_trail_log_group__retention__365_days(audit_resources):
    assert props(audit_resources, "TrailLogGroup")["RetentionInDays"] == 365


def test_trail_log_group__encryption__the_ops_key(audit_resources):
    assert props(audit_resources, "TrailLogGroup")["KmsKeyId"] == {"Ref": "OpsKeyArn"}


def test_trail_logs_role__trust__only_the_cloudtrail_service(audit_resources):
    trust = props(audit_resources, "TrailLogsRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}]


def test_trail_logs_role__permissions__only_streams_of_the_trail_log_group(audit_resources):
    policy_props = props(audit_resources, "TrailLogsPolicy")
    assert "Policies" not in props(audit_resources, "TrailLogsRole")
    assert policy_props["Roles"] == [{"Ref": "TrailLogsRole"}]
    (statement,) = policy_props["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == {"Fn::Sub": (
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${TrailLogGroup}"
        ":log-stream:${AWS::AccountId}_CloudTrail_*")}


# ---------------------------------------------------------------- security alarms
#: event -> a fragment its CIS filter pattern must contain, and the alarm threshold
CIS_EVENTS = {
    "RootUsage": ('$.userIdentity.type = "Root"', 1),
    "IamPolicyChanges": ("$.eventName = PutRolePolicy", 1),
    "KmsKeyDisabled": ("$.eventName = ScheduleKeyDeletion", 1),
    "SgChanges": ("$.eventName = AuthorizeSecurityGroupIngress", 1),
    "ConsoleLoginFailures": ('$.errorMessage = "Failed authentication"', 3),
    "TrailChanges": ("$.eventName = StopLogging", 1),
}


@pytest.mark.parametrize("event", CIS_EVENTS)
def test_security_alarm__cis_event__filtered_from_trail_logs_and_alarmed_to_topic(audit_resources, event):
    fragment, threshold = CIS_EVENTS[event]
    mf = props(audit_resources, f"{event}Filter")
    alarm = props(audit_resources, f"{event}Alarm")
    (transformation,) = mf["MetricTransformations"]
    assert mf["LogGroupName"] == {"Ref": "TrailLogGroup"}
    assert fragment in mf["FilterPattern"]
    assert (alarm["MetricName"], alarm["Namespace"]) == (transformation["MetricName"], transformation["MetricNamespace"])
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum", threshold, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [{"Ref": "AuditAlarmTopic"}]


def test_security_alarms__no_event__stays_ok_not_insufficient_data(audit_resources):
    alarms = of_type(audit_resources, "AWS::CloudWatch::Alarm")
    assert {r["Properties"]["TreatMissingData"] for r in alarms.values()} == {"notBreaching"}


def test_alarm_topic__encryption__the_ops_key(audit_resources):
    assert props(audit_resources, "AuditAlarmTopic")["KmsMasterKeyId"] == {"Ref": "OpsKeyArn"}


def test_alarm_topic_policy__publish__only_this_accounts_alarms_of_this_deployment(topic_policy):
    allow = topic_policy["AlarmsOfThisAccountPublish"]
    assert (allow["Principal"], allow["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": (
            "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:alarm-*-" + TAIL)}},
    }


def test_alarm_topic_policy__plain_http__denied(topic_policy):
    deny = topic_policy["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


# ---------------------------------------------------------------- stack config
def test_audit_config__prod__is_a_symlink_to_dev():
    prod = policy.ROOT / "config" / "prod" / "security" / "audit.yaml"
    assert prod.is_symlink() and os.readlink(prod) == "../../dev/security/audit.yaml"


@pytest.fixture(scope="module", params=["dev", "prod"])
def audit_stack(request):
    """Sceptre's stack of <env>/security/audit.yaml (its reader: Jinja, YAML, resolver and hook instances)."""
    (stack,) = environments.stacks(policy.ROOT, f"{request.param}/security/audit.yaml")
    return request.param, stack


def test_audit_config__key_and_log_bucket__come_from_stack_outputs(audit_stack):
    environment, stack = audit_stack
    assert stack.template_handler_config == {"path": "audit.py"}
    parameters = {k: v for k, v in environments.unresolved_parameters(stack).items() if k not in cfn.IDENTITY_PARAMETERS}
    assert {k: v.argument for k, v in parameters.items()} == {
        "OpsKeyArn": f"{environment}/security/security.yaml::OpsKeyArn",
        "AccessLogBucketName": f"{environment}/operations/artifacts.yaml::AccessLogBucketName",
    }
    assert all(nested.tag_of(v) == "stack_output" for v in parameters.values())


def test_audit_config__delete__empties_the_trail_and_archive_buckets_first(audit_stack):
    _, stack = audit_stack
    assert [(nested.tag_of(h), h._argument) for h in stack.hooks["before_delete"]] == \
        [("empty_bucket", {"outputs": ["TrailBucketName", "LogArchiveBucketName"]})]


# ---------------------------------------------------------------- log archive (PCI DSS 10.3.3, 10.5.1)
@pytest.fixture(scope="module")
def archive_policy(audit_resources):
    return props(audit_resources, "LogArchiveAccountPolicy")


def test_log_archive__account_policy__every_log_group_but_the_trails_and_its_own_errors(archive_policy):
    assert (archive_policy["PolicyType"], archive_policy["Scope"]) == ("SUBSCRIPTION_FILTER_POLICY", "ALL")
    text, values = archive_policy["SelectionCriteria"]["Fn::Sub"]
    assert text == 'LogGroupName NOT IN ["${Trail}", "${Errors}"]'
    assert values == {"Trail": {"Ref": "TrailLogGroup"}, "Errors": {"Ref": "LogArchiveErrorLogGroup"}}


def test_log_archive__account_policy__every_event_to_the_stream_through_its_role(archive_policy):
    document = archive_policy["PolicyDocument"]["Fn::Sub"]
    assert '"DestinationArn": "${LogArchiveStream.Arn}"' in document
    assert '"RoleArn": "${LogArchiveSubscriptionRole.Arn}"' in document
    assert '"FilterPattern": ""' in document  # an empty pattern: every event, nothing filtered out


def test_log_archive__stream__writes_the_archive_bucket_under_the_ops_key(audit_resources):
    stream = props(audit_resources, "LogArchiveStream")
    destination = stream["ExtendedS3DestinationConfiguration"]
    assert destination["BucketARN"] == {"Fn::GetAtt": ["LogArchiveBucket", "Arn"]}
    assert destination["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"] == {"Ref": "OpsKeyArn"}
    assert stream["DeliveryStreamEncryptionConfigurationInput"] == {
        "KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": {"Ref": "OpsKeyArn"}}


def test_log_archive_bucket__lifecycle__the_trails_twelve_months_three_at_hand(audit_resources, lifecycle_rule):
    (rule,) = props(audit_resources, "LogArchiveBucket")["LifecycleConfiguration"]["Rules"]
    assert {k: v for k, v in rule.items() if k != "Id"} == {k: v for k, v in lifecycle_rule.items() if k != "Id"}


def test_log_archive_bucket__encryption_and_versioning__ops_key_versioned(audit_resources):
    archive = props(audit_resources, "LogArchiveBucket")
    (rule,) = archive["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "OpsKeyArn"}}
    assert archive["VersioningConfiguration"] == {"Status": "Enabled"}


def test_log_archive__nothing__retained_by_cloudformation(audit_resources):
    archive = {k: r for k, r in audit_resources.items() if k.startswith("LogArchive")}
    assert {k: r.get("DeletionPolicy") for k, r in archive.items() if r.get("DeletionPolicy") == "Retain"} == {}


def test_log_archive_roles__trust__logs_of_this_account_and_firehose_with_external_id(audit_resources):
    (sender,) = props(audit_resources, "LogArchiveSubscriptionRole")["AssumeRolePolicyDocument"]["Statement"]
    assert sender["Principal"] == {"Service": "logs.amazonaws.com"}
    assert sender["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"}
    (writer,) = props(audit_resources, "LogArchiveDeliveryRole")["AssumeRolePolicyDocument"]["Statement"]
    assert writer["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert writer["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}


def test_log_archive_policies__permissions__only_the_stream_and_the_bucket(audit_resources):
    sender = props(audit_resources, "LogArchiveSubscriptionPolicy")["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in sender] == [
        (["firehose:PutRecord", "firehose:PutRecordBatch"], {"Fn::GetAtt": ["LogArchiveStream", "Arn"]})]
    writer = statements(props(audit_resources, "LogArchiveDeliveryPolicy")["PolicyDocument"])
    assert writer["WriteArchiveObjects"]["Resource"] == [
        {"Fn::GetAtt": ["LogArchiveBucket", "Arn"]}, {"Fn::Sub": "${LogArchiveBucket.Arn}/*"}]
    assert writer["EncryptArchiveObjects"]["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": {"Fn::Sub": "${LogArchiveBucket.Arn}/*"}}
