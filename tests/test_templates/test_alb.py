"""The alb stack's security and traffic properties, one test each, on the committed JSON.

Each test fails when the property it names is removed from templates/alb.py (and re-rendered):
TLS policy, invalid-header drop, HTTP only redirects, weighted forwarding, the header rules,
the target groups' health and draining, the log bucket and its policy, WAF, the Rules.
"""

import pytest

from tests.test_templates.intrinsics import Evaluation

COLOURS = ("blue", "green")
ELB_LOG_ACCOUNT = "arn:aws:iam::127311923021:root"


def holds(template, expression, **parameters):
    """Whether a Rules expression is true for these parameter values, as CloudFormation decides it."""
    return Evaluation({**template, "Conditions": {"_": expression}}, **parameters).condition("_")


def attributes(resource, key="LoadBalancerAttributes"):
    return {a["Key"]: a["Value"] for a in resource["Properties"][key]}


@pytest.fixture(scope="module")
def res(alb):
    return alb["Resources"]


@pytest.fixture(scope="module")
def load_balancer(res):
    return res["LoadBalancer"]


@pytest.fixture(scope="module")
def https(res):
    return res["HttpsListener"]["Properties"]


@pytest.fixture(scope="module")
def bucket(res):
    return res["AccessLogBucket"]["Properties"]


@pytest.fixture(scope="module")
def bucket_statements(res):
    return {s["Sid"]: s for s in res["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}


def test_load_balancer__scheme__internet_facing_in_public_subnets_behind_alb_sg(load_balancer):
    props = load_balancer["Properties"]
    assert (props["Scheme"], props["Type"]) == ("internet-facing", "application")
    assert props["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert props["SecurityGroups"] == [{"Ref": "AlbSecurityGroupId"}]


def test_load_balancer__invalid_header_fields__dropped(load_balancer):
    assert attributes(load_balancer)["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_load_balancer__desync_mitigation__strictest(load_balancer):
    assert attributes(load_balancer)["routing.http.desync_mitigation_mode"] == "strictest"


def test_load_balancer__access_and_connection_logs__go_to_the_log_bucket(load_balancer):
    attrs = attributes(load_balancer)
    for kind in ("access_logs", "connection_logs"):
        assert attrs[f"{kind}.s3.enabled"] == "true"
        assert attrs[f"{kind}.s3.bucket"] == {"Ref": "AccessLogBucket"}
    # ELB checks its write permission when the attributes are set: the policy must exist first.
    assert "AccessLogBucketPolicy" in load_balancer["DependsOn"]


def test_load_balancer__deletion_protection__from_parameter_true_or_false(alb, load_balancer):
    assert attributes(load_balancer)["deletion_protection.enabled"] == {"Ref": "DeletionProtection"}
    assert alb["Parameters"]["DeletionProtection"]["AllowedValues"] == ["true", "false"]


@pytest.mark.parametrize("protection,allowed", [("true", True), ("false", False)])
def test_rules__prod_deletion_protection__must_be_true(alb, protection, allowed):
    rule = alb["Rules"]["ProdKeepsDeletionProtection"]
    assert holds(alb, rule["RuleCondition"], Environment="prod")
    assert holds(alb, rule["Assertions"][0]["Assert"], DeletionProtection=protection) is allowed


def test_https_listener__ssl_policy__tls_1_2_or_newer(https):
    assert (https["Protocol"], https["Port"]) == ("HTTPS", 443)
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


def test_http_listener__default_action__only_redirects_to_https_301(res):
    props = res["HttpListener"]["Properties"]
    (action,) = props["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["Port"] == "443"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"
    rules_on_http = [k for k, v in res.items() if v["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
                     and v["Properties"]["ListenerArn"] == {"Ref": "HttpListener"}]
    assert rules_on_http == []


def test_https_listener__certificate__created_acm_or_given_acm_arn(alb, https):
    (cert,) = https["Certificates"]
    assert cert["CertificateArn"] == {"Fn::If": ["CreateCertificate", {"Ref": "Certificate"}, {"Ref": "CertificateArn"}]}
    assert alb["Parameters"]["CertificateArn"]["AllowedPattern"].startswith("^(arn:aws[a-z-]*:acm:")


@pytest.mark.parametrize("environment,arn,allowed", [
    ("prod", "", False),
    ("prod", "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab", True),
])
def test_rules__prod_certificate_arn__empty_refused(alb, environment, arn, allowed):
    rule = alb["Rules"]["ProdNamesItsCertificate"]
    assert holds(alb, rule["RuleCondition"], Environment=environment)
    assert holds(alb, rule["Assertions"][0]["Assert"], CertificateArn=arn) is allowed
    assert "CertificateArn must be set in prod" in rule["Assertions"][0]["AssertDescription"]


def test_rules__dev_certificate_arn__rule_does_not_apply(alb):
    assert not holds(alb, alb["Rules"]["ProdNamesItsCertificate"]["RuleCondition"], Environment="dev")


def test_certificate__empty_arn__dns_validated_in_payment_zone(alb, res):
    cert = res["Certificate"]
    assert cert["Condition"] == "CreateCertificate"
    assert alb["Conditions"]["CreateCertificate"] == {"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}
    assert cert["Properties"]["ValidationMethod"] == "DNS"
    assert cert["Properties"]["DomainValidationOptions"] == [
        {"DomainName": {"Ref": "PaymentHostname"}, "HostedZoneId": {"Ref": "HostedZoneId"}}]


def test_https_listener__default_action__forwards_to_both_colours_by_weight(https):
    (action,) = https["DefaultActions"]
    assert action["Type"] == "forward"
    assert action["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": {"Ref": "BlueTargetGroup"}, "Weight": {"Ref": "BlueWeight"}},
        {"TargetGroupArn": {"Ref": "GreenTargetGroup"}, "Weight": {"Ref": "GreenWeight"}},
    ]


def test_https_listener__stickiness__off_so_clients_follow_weight_changes(https):
    (action,) = https["DefaultActions"]
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": False}


@pytest.mark.parametrize("colour", ["Blue", "Green"])
def test_parameters__weight__number_within_alb_limits(alb, colour):
    param = alb["Parameters"][f"{colour}Weight"]
    assert (param["Type"], param["MinValue"], param["MaxValue"]) == ("Number", 0, 999)


@pytest.mark.parametrize("blue,green,allowed", [("0", "0", False), ("0", "100", True), ("100", "0", True),
                                                ("90", "10", True)])
def test_rules__weights__not_both_zero(alb, blue, green, allowed):
    (assertion,) = alb["Rules"]["WeightsNotBothZero"]["Assertions"]
    assert holds(alb, assertion["Assert"], BlueWeight=blue, GreenWeight=green) is allowed


@pytest.mark.parametrize("colour,priority", [("green", 10), ("blue", 20)])
def test_header_rule__colour_header_from_allowed_cidrs__forwards_to_that_colour_only(res, colour, priority):
    props = res[f"{colour.capitalize()}HeaderRule"]["Properties"]
    assert props["ListenerArn"] == {"Ref": "HttpsListener"}
    assert props["Priority"] == priority
    conditions = {c["Field"]: c for c in props["Conditions"]}
    assert conditions["http-header"]["HttpHeaderConfig"] == {"HttpHeaderName": "X-Target-Colour", "Values": [colour]}
    assert conditions["source-ip"]["SourceIpConfig"] == {"Values": {"Ref": "ColourCheckSourceCidrs"}}
    assert props["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": f"{colour.capitalize()}TargetGroup"}}]


@pytest.mark.parametrize("colour", ["Blue", "Green"])
def test_target_group__targets__fargate_ips_on_app_port(res, colour):
    props = res[f"{colour}TargetGroup"]["Properties"]
    assert props["TargetType"] == "ip"
    assert props["Port"] == {"Ref": "AppPort"}
    assert props["VpcId"] == {"Ref": "VpcId"}


@pytest.mark.parametrize("colour", ["Blue", "Green"])
def test_target_group__health_check__app_health_path_with_tuned_thresholds(res, colour):
    props = res[f"{colour}TargetGroup"]["Properties"]
    assert props["HealthCheckPath"] == {"Ref": "HealthCheckPath"}
    assert props["Matcher"] == {"HttpCode": "200"}
    assert props["HealthCheckIntervalSeconds"] * props["UnhealthyThresholdCount"] <= 30


@pytest.mark.parametrize("colour", ["Blue", "Green"])
def test_target_group__deregistration_delay__short_for_short_requests(res, colour):
    assert attributes(res[f"{colour}TargetGroup"], "TargetGroupAttributes")[
        "deregistration_delay.timeout_seconds"] == "30"


@pytest.mark.parametrize("colour", ["Blue", "Green"])
def test_target_group__stickiness__disabled(res, colour):
    assert attributes(res[f"{colour}TargetGroup"], "TargetGroupAttributes")["stickiness.enabled"] == "false"


def test_log_bucket__encryption__sse_s3_the_only_kind_alb_delivers_to(bucket):
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_log_bucket__public_access__blocked_and_acls_disabled(bucket):
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_log_bucket__versioning__enabled(bucket):
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


def test_log_bucket__own_access__logged_to_the_access_log_bucket(bucket):
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucketName"}


def test_log_bucket__lifecycle__expires_after_retention_parameter(alb, bucket):
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "AccessLogRetentionDays"}}
    assert alb["Parameters"]["AccessLogRetentionDays"]["MinValue"] >= 90


def test_log_bucket__deletion__stated_delete(res):
    assert (res["AccessLogBucket"]["DeletionPolicy"], res["AccessLogBucket"]["UpdateReplacePolicy"]) == (
        "Delete", "Delete")


def test_log_bucket_policy__plain_http__denied_to_everyone(bucket_statements):
    statement = bucket_statements["DenyInsecureTransport"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert len(statement["Resource"]) == 2


def test_log_bucket_policy__elb_account__may_only_put_this_accounts_log_objects(bucket_statements):
    statement = bucket_statements["ElbWritesThisAccountsLoadBalancerLogs"]
    assert statement["Principal"] == {"AWS": ELB_LOG_ACCOUNT}
    assert statement["Action"] == "s3:PutObject"
    for resource in statement["Resource"]:
        assert resource["Fn::Sub"][0].endswith("/AWSLogs/${AWS::AccountId}/*")


def test_log_bucket_policy__statements__no_other_grants(bucket_statements):
    assert set(bucket_statements) == {"DenyInsecureTransport", "DenyTlsOlderThan12", "ElbWritesThisAccountsLoadBalancerLogs"}


def test_log_bucket_policy__tls_older_than_12__denied(bucket_statements):
    statement = bucket_statements["DenyTlsOlderThan12"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_waf__web_acl__associated_with_the_alb(res):
    assert res["WebAclAssociation"]["Properties"] == {
        "ResourceArn": {"Ref": "LoadBalancer"}, "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]}}


def test_waf__rules__rate_limit_and_managed_groups_incl_known_bad_inputs(res):
    rules = {r["Name"]: r for r in res["WebAcl"]["Properties"]["Rules"]}
    assert rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"] == {
        "Limit": {"Ref": "WafRateLimit"}, "AggregateKeyType": "IP"}
    assert "Block" in rules["rate-limit-per-ip"]["Action"]
    for group in ("AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet",
                  "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["OverrideAction"] == {"None": {}}, f"{group} must block, not only count"


def test_waf__logging__encrypted_log_group_with_credentials_redacted(res):
    group = res["WafLogGroup"]["Properties"]
    assert group["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert group["RetentionInDays"] >= 365
    logging = res["WafLogging"]["Properties"]
    assert logging["LogDestinationConfigs"][0]["Fn::Sub"][1] == {"LogGroup": {"Ref": "WafLogGroup"}}
    redacted = {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]}
    assert redacted == {"authorization", "cookie"}


def test_outputs__contract__exported(alb):
    contract = {"LoadBalancerArn", "LoadBalancerFullName", "LoadBalancerDnsName", "LoadBalancerHostedZoneId",
                "HttpsListenerArn", "BlueTargetGroupArn", "GreenTargetGroupArn", "BlueTargetGroupFullName",
                "GreenTargetGroupFullName"}
    outputs = alb["Outputs"]
    assert contract <= set(outputs)
    for key in contract:
        assert outputs[key]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + key}
