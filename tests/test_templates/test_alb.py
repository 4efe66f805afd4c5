"""The alb stack's security and traffic properties, one test each, on the committed JSON.

Each test fails when the property it names is removed from templates/alb.py (and re-rendered):
two complete edges (one ALB per colour), each with its invalid-header drop, its own blue and green
target groups, WAF and logs; the target groups' health and draining, the log bucket and its policy,
the Rules. The listeners and their weights are test_listeners.py's.
"""

import pytest

from tests.test_templates.lookup import holds, of_type, statements

COLOURS = ("blue", "green")
EDGES = ("Blue", "Green")
TARGETS = ("Blue", "Green")
ELB_LOG_ACCOUNT = "arn:aws:iam::127311923021:root"


def attributes(resource, key="LoadBalancerAttributes"):
    return {a["Key"]: a["Value"] for a in resource["Properties"][key]}


@pytest.fixture(scope="module")
def load_balancer(resources, edge):
    return resources[f"{edge}LoadBalancer"]


@pytest.fixture(scope="module")
def bucket(resources):
    return resources["AccessLogBucket"]["Properties"]


@pytest.fixture(scope="module")
def bucket_statements(resources):
    return statements(resources["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"])


# ---------------------------------------------------------------- two edges
def test_edges__load_balancers__one_per_colour_named_after_it(resources):
    albs = of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert {k: v["Properties"]["Name"] for k, v in albs.items()} == {
        f"{e}LoadBalancer": {"Fn::Sub": f"alb-{e.lower()}-${{Environment}}-${{EnvironmentSuffix}}"} for e in EDGES}


@pytest.mark.parametrize("suffix", ["d01", "abcdefgh"])
def test_target_group__name__within_elb_32_characters_for_the_longest_suffix(resources, suffix):
    for logical, group in of_type(resources, "AWS::ElasticLoadBalancingV2::TargetGroup").items():
        rendered = (group["Properties"]["Name"]["Fn::Sub"]
                    .replace("${Environment}", "prod").replace("${EnvironmentSuffix}", suffix))
        assert len(rendered) <= 32, (logical, rendered)
    assert resources["GreenAlbBlueTargetGroup"]["Properties"]["Name"] == {
        "Fn::Sub": "tg-blue-greenalb-${Environment}-${EnvironmentSuffix}"}


def test_load_balancer__scheme__internet_facing_in_public_subnets_behind_alb_sg(load_balancer):
    props = load_balancer["Properties"]
    assert (props["Scheme"], props["Type"]) == ("internet-facing", "application")
    assert props["Subnets"] == {"Ref": "PublicSubnetIds"}
    assert props["SecurityGroups"] == [{"Ref": "AlbSecurityGroupId"}]


def test_load_balancer__invalid_header_fields__dropped(load_balancer):
    assert attributes(load_balancer)["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_load_balancer__desync_mitigation__strictest(load_balancer):
    assert attributes(load_balancer)["routing.http.desync_mitigation_mode"] == "strictest"


def test_load_balancer__access_and_connection_logs__go_to_the_log_bucket_under_its_own_prefix(load_balancer, edge):
    attrs = attributes(load_balancer)
    for kind, prefix in (("access_logs", "access"), ("connection_logs", "connection")):
        assert attrs[f"{kind}.s3.enabled"] == "true"
        assert attrs[f"{kind}.s3.bucket"] == {"Ref": "AccessLogBucket"}
        assert attrs[f"{kind}.s3.prefix"] == f"{prefix}-{edge.lower()}"
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


def test_certificate__empty_arn__dns_validated_in_payment_zone(alb, resources):
    cert = resources["Certificate"]
    assert cert["Condition"] == "CreateCertificate"
    assert alb["Conditions"]["CreateCertificate"] == {"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}
    assert cert["Properties"]["ValidationMethod"] == "DNS"
    assert cert["Properties"]["DomainValidationOptions"] == [
        {"DomainName": {"Ref": "PaymentHostname"}, "HostedZoneId": {"Ref": "HostedZoneId"}}]


@pytest.mark.parametrize("colour", TARGETS)
def test_target_group__targets__fargate_ips_on_app_port(resources, edge, colour):
    props = resources[f"{edge}Alb{colour}TargetGroup"]["Properties"]
    assert props["TargetType"] == "ip"
    assert props["Port"] == {"Ref": "AppPort"}
    assert props["VpcId"] == {"Ref": "VpcId"}


@pytest.mark.parametrize("colour", TARGETS)
def test_target_group__health_check__app_health_path_with_tuned_thresholds(resources, edge, colour):
    props = resources[f"{edge}Alb{colour}TargetGroup"]["Properties"]
    assert props["HealthCheckPath"] == {"Ref": "HealthCheckPath"}
    assert props["Matcher"] == {"HttpCode": "200"}
    assert props["HealthCheckIntervalSeconds"] * props["UnhealthyThresholdCount"] <= 30


@pytest.mark.parametrize("colour", TARGETS)
def test_target_group__deregistration_delay__short_for_short_requests(resources, edge, colour):
    assert attributes(resources[f"{edge}Alb{colour}TargetGroup"], "TargetGroupAttributes")[
        "deregistration_delay.timeout_seconds"] == "30"


@pytest.mark.parametrize("colour", TARGETS)
def test_target_group__stickiness__disabled(resources, edge, colour):
    assert attributes(resources[f"{edge}Alb{colour}TargetGroup"], "TargetGroupAttributes")["stickiness.enabled"] == "false"


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


def test_log_bucket__deletion__stated_delete(resources):
    assert (resources["AccessLogBucket"]["DeletionPolicy"], resources["AccessLogBucket"]["UpdateReplacePolicy"]) == (
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
    assert sorted(resource["Fn::Sub"][0] for resource in statement["Resource"]) == sorted(
        f"${{Bucket}}/{kind}-{edge}/AWSLogs/${{AWS::AccountId}}/*"
        for kind in ("access", "connection") for edge in COLOURS)


def test_log_bucket_policy__statements__no_other_grants(bucket_statements):
    assert set(bucket_statements) == {"DenyInsecureTransport", "DenyTlsOlderThan12", "ElbWritesThisAccountsLoadBalancerLogs"}


def test_log_bucket_policy__tls_older_than_12__denied(bucket_statements):
    statement = bucket_statements["DenyTlsOlderThan12"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}


def test_waf__web_acl__its_own_associated_with_its_alb(resources, edge):
    assert resources[f"{edge}WebAclAssociation"]["Properties"] == {
        "ResourceArn": {"Ref": f"{edge}LoadBalancer"}, "WebACLArn": {"Fn::GetAtt": [f"{edge}WebAcl", "Arn"]}}
    assert resources[f"{edge}WebAcl"]["Properties"]["Name"] == {
        "Fn::Sub": f"waf-alb-{edge.lower()}-${{Environment}}-${{EnvironmentSuffix}}"}


def test_waf__rules__rate_limit_and_managed_groups_incl_known_bad_inputs(resources, edge):
    rules = {r["Name"]: r for r in resources[f"{edge}WebAcl"]["Properties"]["Rules"]}
    assert rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"] == {
        "Limit": {"Ref": "WafRateLimit"}, "AggregateKeyType": "IP"}
    assert "Block" in rules["rate-limit-per-ip"]["Action"]
    for group in ("AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet",
                  "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["OverrideAction"] == {"None": {}}, f"{group} must block, not only count"


def test_waf__logging__its_own_encrypted_log_group_with_credentials_redacted(resources, edge):
    group = resources[f"{edge}WafLogGroup"]["Properties"]
    assert group["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert group["RetentionInDays"] >= 365
    assert group["LogGroupName"] == {"Fn::Sub": f"aws-waf-logs-alb-{edge.lower()}-${{Environment}}-${{EnvironmentSuffix}}"}
    logging = resources[f"{edge}WafLogging"]["Properties"]
    assert logging["ResourceArn"] == {"Fn::GetAtt": [f"{edge}WebAcl", "Arn"]}
    assert logging["LogDestinationConfigs"][0]["Fn::Sub"][1] == {"LogGroup": {"Ref": f"{edge}WafLogGroup"}}
    redacted = {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]}
    assert redacted == {"authorization", "cookie"}


def test_outputs__contract__both_edges_exported(alb):
    per_edge = ("LoadBalancerArn", "LoadBalancerFullName", "LoadBalancerDnsName", "LoadBalancerHostedZoneId",
                "WebAclArn")
    contract = ({f"{e}{key}" for e in EDGES for key in per_edge}
                | {f"{e}Alb{t}TargetGroup{kind}" for e in EDGES for t in TARGETS for kind in ("Arn", "FullName")}
                | {"AlbLogBucketName", "ListenerCertificateArn", "ClientTrustStoreArn"})
    outputs = alb["Outputs"]
    assert set(outputs) == contract
    for key in contract:
        assert outputs[key]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + key}


def test_outputs__dns_names__each_its_own_alb(alb, edge):
    assert alb["Outputs"][f"{edge}LoadBalancerDnsName"]["Value"] == {"Fn::GetAtt": [f"{edge}LoadBalancer", "DNSName"]}


# -- who may connect: one trust store for both edges -------------------------------------------------------
def test_trust_store__one__its_ca_bundle_from_the_configured_key_of_the_artifacts_bucket(resources, alb):
    (store,) = of_type(resources, "AWS::ElasticLoadBalancingV2::TrustStore").values()
    props = store["Properties"]
    assert props["CaCertificatesBundleS3Bucket"] == {"Ref": "TrustStoreBucketName"}
    assert props["CaCertificatesBundleS3Key"] == {"Ref": "ClientCaBundleKey"}
    assert "Default" not in alb["Parameters"]["ClientCaBundleKey"]  # no environment without a bundle


@pytest.mark.parametrize("suffix", ["d01", "abcdefgh"])
def test_trust_store__name__within_elbs_32_characters_and_pattern(resources, suffix):
    import re

    rendered = (resources["ClientTrustStore"]["Properties"]["Name"]["Fn::Sub"]
                .replace("${Environment}", "prod").replace("${EnvironmentSuffix}", suffix))
    assert len(rendered) <= 32 and re.match(r"^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$", rendered), rendered


def test_trust_store__revocation_list__only_when_configured_and_a_crl(resources, alb):
    (revocation,) = of_type(resources, "AWS::ElasticLoadBalancingV2::TrustStoreRevocation").values()
    assert revocation["Condition"] == "HasClientCrl"
    assert alb["Conditions"]["HasClientCrl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ClientCrlKey"}, ""]}]}
    assert revocation["Properties"]["TrustStoreArn"] == {"Ref": "ClientTrustStore"}
    (content,) = revocation["Properties"]["RevocationContents"]
    assert content == {"RevocationType": "CRL", "S3Bucket": {"Ref": "TrustStoreBucketName"}, "S3Key": {"Ref": "ClientCrlKey"}}


def test_trust_store__exported_for_both_listeners(alb):
    assert alb["Outputs"]["ClientTrustStoreArn"]["Value"] == {"Ref": "ClientTrustStore"}
