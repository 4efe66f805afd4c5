"""ALB stack: the internet-facing load balancer in front of the blue and green services.

One ALB, two target groups. The HTTPS listener forwards to both with the weights
``BlueWeight``/``GreenWeight`` (Sceptre derives both from the one number green_weight, and the
traffic-shift Lambda moves the same weights), so the split changes without touching DNS.
A request with ``X-Target-Colour: blue|green`` from an operator address goes to that colour
only, so green is checked end to end before it takes any share.

Exposure: ports 80 and 443 only (the security group comes from the network stack); port 80
only redirects; TLS 1.2+; headers that are not valid HTTP are dropped; AWS WAF in front.
Logs: ALB access and connection logs to an S3 bucket of this stack (SSE-S3: the only
encryption ALB log delivery writes to), WAF logs to a log group encrypted with the ops key.
"""

from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub
from troposphere.certificatemanager import Certificate, DomainValidationOption
from troposphere.elasticloadbalancingv2 import (
    Action,
    Certificate as ListenerCertificate,
    Condition,
    ForwardConfig,
    HttpHeaderConfig,
    Listener,
    ListenerRule,
    ListenerRuleAction,
    LoadBalancer,
    LoadBalancerAttributes,
    Matcher,
    RedirectConfig,
    SourceIpConfig,
    TargetGroup,
    TargetGroupAttribute,
    TargetGroupStickinessConfig,
    TargetGroupTuple,
)
from troposphere.logs import LogGroup
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
from troposphere.wafv2 import (
    AllowAction,
    BlockAction,
    DefaultAction,
    LoggingConfigurationFieldToMatch,
    LoggingConfiguration as WafLoggingConfiguration,
    ManagedRuleGroupStatement,
    OverrideAction,
    RateBasedStatement,
    RuleAction,
    SingleHeader,
    Statement,
    VisibilityConfig,
    WebACL,
    WebACLAssociation,
    WebACLRule,
)

from bluegreen.cfn import KMS_KEY_ARN_PATTERN, NAME_TAIL, deletable, export, name, new_template, suppressions, tags, tls_only_statements, to_json

COLOURS = ("blue", "green")
#: ELB's log-delivery account in us-east-1, the only region this stack is built for.
ELB_LOG_ACCOUNT_US_EAST_1 = "127311923021"
ACCESS_LOG_PREFIX = "access"
CONNECTION_LOG_PREFIX = "connection"
COLOUR_HEADER = "X-Target-Colour"
#: Listener rule priority of each colour's header rule (fixed: tests and runbooks name them).
HEADER_RULE_PRIORITY = {"green": 10, "blue": 20}
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: Managed rule groups in front of a card-payment API (PCI DSS 6.6), in evaluation order.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
#: PCI DSS 10.7 keeps audit logs a year; a literal, so scanners and auditors read it off the template.
LOG_RETENTION_DAYS = 365


def _parameters(t):
    t.add_parameter(Parameter(
        "VpcId", Type="AWS::EC2::VPC::Id", Description="VPC of the target groups (network stack)."))
    t.add_parameter(Parameter(
        "PublicSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
        Description="Public subnets, one per AZ, the ALB listens in (network stack)."))
    t.add_parameter(Parameter(
        "AlbSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
        Description="Security group of the ALB: 80/443 in, app port out to the app SG (network stack)."))
    t.add_parameter(Parameter(
        "AccessLogBucketName", Type="String",
        AllowedPattern="^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        ConstraintDescription="an S3 bucket name",
        Description="Bucket that receives the S3 server access logs of the ALB log bucket (artifacts stack)."))
    t.add_parameter(Parameter(
        "HostedZoneId", Type="AWS::Route53::HostedZone::Id",
        Description="Zone of the payment hostname, for DNS validation of the certificate (dns stack)."))
    t.add_parameter(Parameter(
        "PaymentHostname", Type="String",
        AllowedPattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        ConstraintDescription="a lower-case DNS hostname",
        Description="Hostname clients use for the payment API (dns stack)."))
    t.add_parameter(Parameter(
        "CertificateArn", Type="String", Default="",
        AllowedPattern="^(arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[a-f0-9-]+)?$",
        ConstraintDescription="empty, or an ACM certificate ARN in us-east-1",
        Description="ACM certificate of the HTTPS listener. Empty (dev only) creates one validated by DNS "
                    "in HostedZoneId; prod must name the company's certificate."))
    t.add_parameter(Parameter(
        "DeletionProtection", Type="String", AllowedValues=["true", "false"],
        Description="ALB deletion protection: false in dev (stacks are torn down), true in prod."))
    for colour in COLOURS:
        t.add_parameter(Parameter(
            f"{colour.capitalize()}Weight", Type="Number", MinValue=0, MaxValue=999,
            Description=f"Share of the HTTPS listener's traffic for {colour} (ALB weight 0..999; Sceptre "
                        "passes percentages derived from green_weight)."))
    t.add_parameter(Parameter(
        "AppPort", Type="Number", Default=8080, MinValue=1024, MaxValue=65535,
        Description="Port the payment API listens on in its task (unprivileged: the container runs as non-root)."))
    t.add_parameter(Parameter(
        "TargetProtocol", Type="String", Default="HTTPS", AllowedValues=["HTTP", "HTTPS"],
        Description="Protocol from the ALB to the tasks; HTTPS keeps card data encrypted inside the VPC too."))
    t.add_parameter(Parameter(
        "HealthCheckPath", Type="String", Default="/health",
        AllowedPattern="^/[A-Za-z0-9/._-]{0,254}$",
        ConstraintDescription="an absolute URL path such as /health",
        Description="Path of the application's health endpoint."))
    t.add_parameter(Parameter(
        "ColourCheckSourceCidrs", Type="CommaDelimitedList",
        Description="Up to 4 CIDRs (operators, the NAT egress of the automation) allowed to pick a colour "
                    f"with the {COLOUR_HEADER} header; nobody else can reach a colour that has no share."))
    t.add_parameter(Parameter(
        "AccessLogRetentionDays", Type="Number", Default=400, MinValue=90, MaxValue=3650,
        Description="Days ALB logs are kept in S3 (PCI DSS 10.7: one year, 90 days at hand)."))
    t.add_parameter(Parameter(
        "OpsKeyArn", Type="String",
        AllowedPattern=KMS_KEY_ARN_PATTERN,
        ConstraintDescription="a KMS key ARN",
        Description="Ops KMS key (security stack) that encrypts the WAF log group."))
    t.add_parameter(Parameter(
        "WafRateLimit", Type="Number", Default=20000, MinValue=100, MaxValue=2000000000,
        Description="Requests per client IP per 5 minutes above which WAF blocks (peak total is ~12,500)."))


def _rules(t):
    t.add_condition("CreateCertificate", Equals(Ref("CertificateArn"), ""))
    t.add_rule("ProdNamesItsCertificate", {
        "RuleCondition": {"Fn::Equals": [{"Ref": "Environment"}, "prod"]},
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
            "AssertDescription": "CertificateArn must be set in prod (the company's ACM certificate for the "
                                 "payment hostname); only dev may leave it empty to get a DNS-validated one.",
        }],
    })
    t.add_rule("ProdKeepsDeletionProtection", {
        "RuleCondition": {"Fn::Equals": [{"Ref": "Environment"}, "prod"]},
        "Assertions": [{
            "Assert": {"Fn::Equals": [{"Ref": "DeletionProtection"}, "true"]},
            "AssertDescription": "DeletionProtection must be true in prod.",
        }],
    })
    t.add_rule("WeightsNotBothZero", {
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::And": [
                {"Fn::Equals": [{"Ref": "BlueWeight"}, "0"]},
                {"Fn::Equals": [{"Ref": "GreenWeight"}, "0"]},
            ]}]},
            "AssertDescription": "BlueWeight and GreenWeight cannot both be 0: one colour must receive the traffic.",
        }],
    })


def _log_bucket(t):
    bucket = t.add_resource(deletable(Bucket(
        "AccessLogBucket",
        BucketName=name("s3", "alb-logs", account=True),
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LoggingConfiguration=LoggingConfiguration(
            DestinationBucketName=Ref("AccessLogBucketName"), LogFilePrefix=Sub("s3/alb-logs-" + NAME_TAIL + "/")),
        LifecycleConfiguration=LifecycleConfiguration(Rules=[LifecycleRule(
            Id="expire-alb-logs",
            Status="Enabled",
            ExpirationInDays=Ref("AccessLogRetentionDays"),
            NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=Ref("AccessLogRetentionDays")),
            AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
        )]),
        Tags=tags(),
    )))
    bucket.Metadata = suppressions(guard={
        "S3_BUCKET_REPLICATION_ENABLED": "Copying ALB logs to the organisation's log-archive account is "
                                         "set up there, not by this stack; here the bucket is versioned, "
                                         "TLS-only, private and keeps logs for AccessLogRetentionDays.",
    })
    log_objects = [
        Sub("${Bucket}/" + prefix + "/AWSLogs/${AWS::AccountId}/*", Bucket=GetAtt(bucket, "Arn"))
        for prefix in (ACCESS_LOG_PREFIX, CONNECTION_LOG_PREFIX)
    ]
    policy = t.add_resource(BucketPolicy(
        "AccessLogBucketPolicy",
        Bucket=Ref(bucket),
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                *tls_only_statements(bucket),
                {
                    # us-east-1 predates the log-delivery service principal: ELB's account writes the logs.
                    "Sid": "ElbWritesThisAccountsLoadBalancerLogs",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ELB_LOG_ACCOUNT_US_EAST_1}:root"},
                    "Action": "s3:PutObject",
                    "Resource": log_objects,
                },
            ],
        },
    ))
    return bucket, policy


def _target_group(t, colour):
    return t.add_resource(TargetGroup(
        f"{colour.capitalize()}TargetGroup",
        Name=name("tg", colour),
        VpcId=Ref("VpcId"),
        TargetType="ip",
        Protocol=Ref("TargetProtocol"),
        ProtocolVersion="HTTP1",
        Port=Ref("AppPort"),
        HealthCheckEnabled=True,
        HealthCheckProtocol=Ref("TargetProtocol"),
        HealthCheckPath=Ref("HealthCheckPath"),
        HealthCheckPort="traffic-port",
        # Fast enough that a bad task leaves rotation in ~20 s, slow enough not to flap on one slow reply.
        HealthCheckIntervalSeconds=10,
        HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=3,
        UnhealthyThresholdCount=2,
        Matcher=Matcher(HttpCode="200"),
        TargetGroupAttributes=[
            # Payment requests finish in well under a second: 30 s drains them all, while the 300 s
            # default would hold every deployment and every rollback for five minutes.
            TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30"),
            # The API keeps no session state in the task (it lives in Aurora), and stickiness would
            # pin clients to a colour so that a weight change or a rollback would not move them.
            TargetGroupAttribute(Key="stickiness.enabled", Value="false"),
        ],
        Tags=tags("tg", colour),
    ))


def _waf(t, alb):
    log_group = t.add_resource(deletable(LogGroup(
        "WafLogGroup",
        # WAF only logs to groups whose name starts with aws-waf-logs-.
        LogGroupName=Sub("aws-waf-logs-alb-" + NAME_TAIL),
        KmsKeyId=Ref("OpsKeyArn"),
        RetentionInDays=LOG_RETENTION_DAYS,
        Tags=tags(),
    )))
    rules = [WebACLRule(
        Name="rate-limit-per-ip",
        Priority=0,
        Action=RuleAction(Block=BlockAction()),
        Statement=Statement(RateBasedStatement=RateBasedStatement(Limit=Ref("WafRateLimit"), AggregateKeyType="IP")),
        VisibilityConfig=VisibilityConfig(
            SampledRequestsEnabled=True, CloudWatchMetricsEnabled=True, MetricName="rate-limit-per-ip"),
    )]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
        rules.append(WebACLRule(
            Name=group,
            Priority=priority,
            OverrideAction=OverrideAction(**{"None": {}}),
            Statement=Statement(ManagedRuleGroupStatement=ManagedRuleGroupStatement(VendorName="AWS", Name=group)),
            VisibilityConfig=VisibilityConfig(
                SampledRequestsEnabled=True, CloudWatchMetricsEnabled=True, MetricName=group),
        ))
    acl = t.add_resource(WebACL(
        "WebAcl",
        Name=name("waf", "alb"),
        Scope="REGIONAL",
        DefaultAction=DefaultAction(Allow=AllowAction()),
        Rules=rules,
        VisibilityConfig=VisibilityConfig(
            SampledRequestsEnabled=True, CloudWatchMetricsEnabled=True, MetricName=Sub("waf-alb-" + NAME_TAIL)),
        Tags=tags("waf", "alb"),
    ))
    t.add_resource(WebACLAssociation("WebAclAssociation", ResourceArn=Ref(alb), WebACLArn=GetAtt(acl, "Arn")))
    t.add_resource(WafLoggingConfiguration(
        "WafLogging",
        ResourceArn=GetAtt(acl, "Arn"),
        # WAF wants the bare log group ARN, without the ":*" that GetAtt Arn ends with.
        LogDestinationConfigs=[Sub(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LogGroup}",
            LogGroup=Ref(log_group))],
        # Credentials and card-holder cookies never go to the log.
        RedactedFields=[
            LoggingConfigurationFieldToMatch(SingleHeader=SingleHeader(Name="authorization")),
            LoggingConfigurationFieldToMatch(SingleHeader=SingleHeader(Name="cookie")),
        ],
    ))
    return acl


def build():
    t = new_template("Internet-facing ALB with weighted blue/green target groups of the payment API.")
    _parameters(t)
    _rules(t)
    t.add_rule("OnlyUsEast1", {
        "Assertions": [{
            "Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
            "AssertDescription": "This stack is built for us-east-1 (ELB log-delivery account 127311923021).",
        }],
    })
    bucket, bucket_policy = _log_bucket(t)

    alb = t.add_resource(LoadBalancer(
        "LoadBalancer",
        # ELB checks that it may write to the log bucket when the attributes are set.
        DependsOn=[bucket_policy.title],
        Name=name("alb"),
        Type="application",
        Scheme="internet-facing",
        IpAddressType="ipv4",
        Subnets=Ref("PublicSubnetIds"),
        SecurityGroups=[Ref("AlbSecurityGroupId")],
        LoadBalancerAttributes=[
            LoadBalancerAttributes(Key="deletion_protection.enabled", Value=Ref("DeletionProtection")),
            LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
            LoadBalancerAttributes(Key="routing.http.desync_mitigation_mode", Value="strictest"),
            LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
            LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=Ref(bucket)),
            LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=ACCESS_LOG_PREFIX),
            LoadBalancerAttributes(Key="connection_logs.s3.enabled", Value="true"),
            LoadBalancerAttributes(Key="connection_logs.s3.bucket", Value=Ref(bucket)),
            LoadBalancerAttributes(Key="connection_logs.s3.prefix", Value=CONNECTION_LOG_PREFIX),
        ],
        Tags=tags("alb"),
    ))

    certificate = t.add_resource(Certificate(
        "Certificate",
        Condition="CreateCertificate",
        DomainName=Ref("PaymentHostname"),
        ValidationMethod="DNS",
        DomainValidationOptions=[DomainValidationOption(
            DomainName=Ref("PaymentHostname"), HostedZoneId=Ref("HostedZoneId"))],
        CertificateTransparencyLoggingPreference="ENABLED",
        Tags=tags("acm", "pay"),
    ))
    groups = {colour: _target_group(t, colour) for colour in COLOURS}

    https = t.add_resource(Listener(
        "HttpsListener",
        Metadata=suppressions(guard={"ELBV2_ACM_CERTIFICATE_REQUIRED": (
            "The certificate is always from ACM: Fn::If picks the ACM certificate created here (dev) or "
            "the CertificateArn parameter, whose AllowedPattern admits only ACM ARNs; the rule cannot "
            "follow Fn::If.")}),
        LoadBalancerArn=Ref(alb),
        Port=443,
        Protocol="HTTPS",
        SslPolicy=TLS_POLICY,
        Certificates=[ListenerCertificate(
            CertificateArn=If("CreateCertificate", Ref(certificate), Ref("CertificateArn")))],
        DefaultActions=[Action(
            Type="forward",
            ForwardConfig=ForwardConfig(
                TargetGroups=[
                    TargetGroupTuple(TargetGroupArn=Ref(groups[c]), Weight=Ref(f"{c.capitalize()}Weight"))
                    for c in COLOURS
                ],
                # Off: a pinned client would not follow a weight change or a rollback.
                TargetGroupStickinessConfig=TargetGroupStickinessConfig(Enabled=False),
            ),
        )],
        Tags=tags("listener", "https"),
    ))
    t.add_resource(Listener(
        "HttpListener",
        LoadBalancerArn=Ref(alb),
        Port=80,
        Protocol="HTTP",
        # Plain HTTP never reaches a task: it only learns where the HTTPS endpoint is.
        DefaultActions=[Action(Type="redirect", RedirectConfig=RedirectConfig(
            Protocol="HTTPS", Port="443", Host="#{host}", Path="/#{path}", Query="#{query}",
            StatusCode="HTTP_301"))],
        Tags=tags("listener", "http"),
    ))
    for colour in COLOURS:
        t.add_resource(ListenerRule(
            f"{colour.capitalize()}HeaderRule",
            ListenerArn=Ref(https),
            Priority=HEADER_RULE_PRIORITY[colour],
            Conditions=[
                Condition(Field="http-header", HttpHeaderConfig=HttpHeaderConfig(
                    HttpHeaderName=COLOUR_HEADER, Values=[colour])),
                # Only known addresses may bypass the weights: a colour without a share must not
                # take real payments from whoever learns the header.
                Condition(Field="source-ip", SourceIpConfig=SourceIpConfig(Values=Ref("ColourCheckSourceCidrs"))),
            ],
            Actions=[ListenerRuleAction(Type="forward", TargetGroupArn=Ref(groups[colour]))],
            Tags=tags("rule", colour, "header"),
        ))
    acl = _waf(t, alb)

    export(t, "LoadBalancerArn", Ref(alb), "ARN of the ALB.")
    export(t, "LoadBalancerFullName", GetAtt(alb, "LoadBalancerFullName"),
           "app/<name>/<id> of the ALB, the CloudWatch LoadBalancer dimension.")
    export(t, "LoadBalancerDnsName", GetAtt(alb, "DNSName"), "DNS name of the ALB (alias target).")
    export(t, "LoadBalancerHostedZoneId", GetAtt(alb, "CanonicalHostedZoneID"),
           "Canonical hosted zone of the ALB (alias target).")
    export(t, "HttpsListenerArn", Ref(https), "HTTPS listener whose default action holds the weights.")
    for colour, group in groups.items():
        cap = colour.capitalize()
        export(t, f"{cap}TargetGroupArn", Ref(group), f"ARN of the {colour} target group.")
        export(t, f"{cap}TargetGroupFullName", GetAtt(group, "TargetGroupFullName"),
               f"targetgroup/<name>/<id> of the {colour} target group, the CloudWatch TargetGroup dimension.")
    export(t, "AlbLogBucketName", Ref(bucket), "Bucket with the ALB access and connection logs.")
    export(t, "WebAclArn", GetAtt(acl, "Arn"), "WAF web ACL in front of the ALB.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
