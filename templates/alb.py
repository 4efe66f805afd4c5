"""ALB stack: two complete internet-facing edges, one ALB per colour, in front of both services.

Each edge (the blue ALB, the green ALB) has its own WAF web ACL and logs, and its own two target
groups: one for the blue tasks, one for the green tasks (a target group belongs to one load
balancer, so each colour's ECS service registers with one target group in each ALB). The
listeners, which hold the weights, are the listeners stack's (the ``route53`` stack group): a
weight change never touches this stack. The certificate both HTTPS listeners use is chosen here:
the company's (``CertificateArn``) or, in dev, one requested and validated by DNS.

Who may connect: one trust store, ``ClientTrustStore``, holds the CA bundle (an object of the KMS-encrypted
artifacts bucket, its key a config value per environment, and optionally a revocation list beside it);
both HTTPS listeners (listeners stack) verify every client certificate against it, so a shift or a
rollback never changes who may connect (docs/pci-dss.md, requirement 8).

Exposure: one security group for both ALBs (ports 80 and 443 only, from the network stack);
headers that are not valid HTTP are dropped; AWS WAF in front of each. Logs: ALB access and
connection logs to one S3 bucket of this stack, a prefix per edge (SSE-S3: the only encryption
ALB log delivery writes to), each web ACL's log to its own log group encrypted with the ops key.
"""

from troposphere import Equals, GetAtt, If, Not, Ref, Sub
from troposphere.certificatemanager import Certificate, DomainValidationOption
from troposphere.elasticloadbalancingv2 import (
    LoadBalancer,
    LoadBalancerAttributes,
    Matcher,
    RevocationContent,
    TargetGroup,
    TargetGroupAttribute,
    TrustStore,
    TrustStoreRevocation,
)
from troposphere.wafv2 import (
    AllowAction,
    BlockAction,
    DefaultAction,
    LoggingConfigurationFieldToMatch,
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
from troposphere.wafv2 import (
    LoggingConfiguration as WafLoggingConfiguration,
)

from bluegreen import cfn_parameters as params
from bluegreen.cfn import COLOURS, EDGES, NAME_TAIL, cap, export, name, new_template, suppressions, tags, target_group, to_json
from bluegreen.cfn_iam import allow
from bluegreen.cfn_storage import bucket_policy, lifecycle_rule, log_delivery_bucket, log_group

#: ELB's log-delivery account in us-east-1, the only region this stack is built for.
ELB_LOG_ACCOUNT_US_EAST_1 = "127311923021"
ACCESS_LOG_PREFIX = "access"
CONNECTION_LOG_PREFIX = "connection"
#: Managed rule groups in front of a card-payment API (PCI DSS 6.6), in evaluation order.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


def _parameters(t):
    params.add(t, "VpcId", "VPC of the target groups (network stack).", params.VPC_ID)
    params.add(t, "PublicSubnetIds", "Public subnets, one per AZ, both ALBs listen in (network stack).",
               params.SUBNET_IDS)
    params.add(t, "AlbSecurityGroupId", "Security group of both ALBs: 80/443 in, app port out to the app SG "
               "(network stack).", params.SECURITY_GROUP_ID)
    params.add(t, "AccessLogBucketName", "Bucket that receives the S3 server access logs of the ALB log bucket "
               "(artifacts stack).", params.BUCKET_NAME)
    params.add(t, "HostedZoneId", "Zone of the payment hostname, for DNS validation of the certificate (dns stack).",
               params.ZONE_ID)
    params.add(t, "PaymentHostname", "Hostname clients use for the payment API (dns stack).", params.DNS_NAME)
    params.add(t, "CertificateArn", "ACM certificate of both HTTPS listeners. Empty (dev only) creates one validated "
               "by DNS in HostedZoneId; prod must name the company's certificate.", Default="",
               AllowedPattern="^(arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[a-f0-9-]+)?$",
               ConstraintDescription="empty, or an ACM certificate ARN in us-east-1")
    params.switch(t, "DeletionProtection", "Deletion protection of both ALBs: false in dev (stacks are torn down), "
                  "true in prod.")
    params.app_port(t, "Port the payment API listens on in its task (unprivileged: the container runs as non-root).")
    params.add(t, "TargetProtocol", "Protocol from the ALB to the tasks; HTTPS keeps card data encrypted inside the "
               "VPC too.", Default="HTTPS", AllowedValues=["HTTP", "HTTPS"])
    params.health_check_path(t)
    params.add(t, "AccessLogRetentionDays", "Days ALB logs are kept in S3 (PCI DSS 10.7: one year, 90 days at hand).",
               params.NUMBER, Default=400, MinValue=90, MaxValue=3650)
    params.add(t, "OpsKeyArn", "Ops KMS key (security stack) that encrypts the WAF log groups.", params.KMS_KEY_ARN)
    params.add(t, "TrustStoreBucketName", "KMS-encrypted bucket with the clients' CA bundle and revocation list "
               "(artifacts stack).", params.BUCKET_NAME)
    params.add(t, "ClientCaBundleKey", "Object key of the PEM bundle of the CAs whose client certificates may "
               "connect (config key client_ca_bundle_key).", params.OBJECT_KEY)
    params.add(t, "ClientCrlKey", "Object key of the certificate revocation list (PEM) of those CAs; empty for none "
               "(config key client_crl_key).", Default="",
               AllowedPattern=r"^((?!/)(?!.*\.\.)[A-Za-z0-9!_.*'()/-]{1,1024})?$",
               ConstraintDescription="empty, or an S3 object key such as mtls/client-ca.crl.pem")
    params.add(t, "WafRateLimit", "Requests per client IP per 5 minutes above which WAF blocks (peak total is "
               "~12,500).", params.NUMBER, Default=20000, MinValue=100, MaxValue=2000000000)


def _rules(t):
    t.add_condition("CreateCertificate", Equals(Ref("CertificateArn"), ""))
    t.add_condition("HasClientCrl", Not(Equals(Ref("ClientCrlKey"), "")))
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


def _log_bucket(t):
    logs = log_delivery_bucket(
        t, "AccessLogBucket", "alb-logs",
        lifecycle_rule("expire-alb-logs", expire_after=Ref("AccessLogRetentionDays"),
                       noncurrent_after=Ref("AccessLogRetentionDays")),
        log_to=Ref("AccessLogBucketName"), log_prefix=Sub("s3/alb-logs-" + NAME_TAIL + "/"),
        Metadata=suppressions(guard={
            "S3_BUCKET_REPLICATION_ENABLED": "Copying ALB logs to the organisation's log-archive account is "
                                             "set up there, not by this stack; here the bucket is versioned, "
                                             "TLS-only, private and keeps logs for AccessLogRetentionDays.",
        }),
    )
    log_objects = [
        Sub("${Bucket}/" + log_prefix(kind, edge) + "/AWSLogs/${AWS::AccountId}/*", Bucket=GetAtt(logs, "Arn"))
        for edge in EDGES for kind in (ACCESS_LOG_PREFIX, CONNECTION_LOG_PREFIX)
    ]
    # us-east-1 predates the log-delivery service principal: ELB's account writes the logs.
    policy = bucket_policy(t, logs, allow("ElbWritesThisAccountsLoadBalancerLogs", "s3:PutObject", log_objects,
                                          principal={"AWS": f"arn:aws:iam::{ELB_LOG_ACCOUNT_US_EAST_1}:root"}))
    return logs, policy


def _target_group(t, edge, target):
    return t.add_resource(TargetGroup(
        target_group(edge, target),
        # tg-<target>-<edge>alb-<env>-<suffix>: at most 30 of the 32 characters ELB allows.
        Name=name("tg", target, f"{edge}alb"),
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
        Tags=tags("tg", target, f"{edge}alb"),
    ))


def _waf(t, edge, alb):
    """The edge's own web ACL and log: a WAF change can be tried on green's edge alone."""
    # WAF only logs to groups whose name starts with aws-waf-logs-.
    waf_logs = log_group(t, f"{cap(edge)}WafLogGroup", Sub(f"aws-waf-logs-alb-{edge}-" + NAME_TAIL))
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
        f"{cap(edge)}WebAcl",
        Name=name("waf", "alb", edge),
        Scope="REGIONAL",
        DefaultAction=DefaultAction(Allow=AllowAction()),
        Rules=rules,
        VisibilityConfig=VisibilityConfig(
            SampledRequestsEnabled=True, CloudWatchMetricsEnabled=True,
            MetricName=Sub(f"waf-alb-{edge}-" + NAME_TAIL)),
        Tags=tags("waf", "alb", edge),
    ))
    t.add_resource(WebACLAssociation(
        f"{cap(edge)}WebAclAssociation", ResourceArn=Ref(alb), WebACLArn=GetAtt(acl, "Arn")))
    t.add_resource(WafLoggingConfiguration(
        f"{cap(edge)}WafLogging",
        ResourceArn=GetAtt(acl, "Arn"),
        # WAF wants the bare log group ARN, without the ":*" that GetAtt Arn ends with.
        LogDestinationConfigs=[Sub(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${LogGroup}",
            LogGroup=Ref(waf_logs))],
        # Credentials and card-holder cookies never go to the log.
        RedactedFields=[
            LoggingConfigurationFieldToMatch(SingleHeader=SingleHeader(Name="authorization")),
            LoggingConfigurationFieldToMatch(SingleHeader=SingleHeader(Name="cookie")),
        ],
    ))
    return acl


def _trust_store(t):
    """The one trust store of both HTTPS listeners, and its revocation list when the config names one."""
    store = t.add_resource(TrustStore(
        "ClientTrustStore",
        # ts-clients-<env>-<suffix>: within the 32 characters and the pattern ELB allows.
        Name=name("ts", "clients"),
        CaCertificatesBundleS3Bucket=Ref("TrustStoreBucketName"),
        CaCertificatesBundleS3Key=Ref("ClientCaBundleKey"),
        Tags=tags("ts", "clients"),
    ))
    t.add_resource(TrustStoreRevocation(
        "ClientTrustStoreRevocation",
        Condition="HasClientCrl",
        TrustStoreArn=Ref(store),
        RevocationContents=[RevocationContent(RevocationType="CRL", S3Bucket=Ref("TrustStoreBucketName"),
                                              S3Key=Ref("ClientCrlKey"))],
    ))
    export(t, "ClientTrustStoreArn", Ref(store),
           "Trust store both HTTPS listeners verify client certificates against (listeners stack).")
    return store


def log_prefix(kind, edge):
    """S3 prefix of one edge's access or connection logs (``access-blue``, ``connection-green``)."""
    return f"{kind}-{edge}"


def _load_balancer(t, edge, bucket, bucket_policy):
    return t.add_resource(LoadBalancer(
        f"{cap(edge)}LoadBalancer",
        # ELB checks that it may write to the log bucket when the attributes are set.
        DependsOn=[bucket_policy.title],
        Name=name("alb", edge),
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
            LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=log_prefix(ACCESS_LOG_PREFIX, edge)),
            LoadBalancerAttributes(Key="connection_logs.s3.enabled", Value="true"),
            LoadBalancerAttributes(Key="connection_logs.s3.bucket", Value=Ref(bucket)),
            LoadBalancerAttributes(Key="connection_logs.s3.prefix", Value=log_prefix(CONNECTION_LOG_PREFIX, edge)),
        ],
        Tags=tags("alb", edge),
    ))


def _edge_outputs(t, edge, alb, acl, groups):
    c = cap(edge)
    export(t, f"{c}LoadBalancerArn", Ref(alb), f"ARN of the {edge} ALB.")
    export(t, f"{c}LoadBalancerFullName", GetAtt(alb, "LoadBalancerFullName"),
           f"app/<name>/<id> of the {edge} ALB, the CloudWatch LoadBalancer dimension.")
    export(t, f"{c}LoadBalancerDnsName", GetAtt(alb, "DNSName"),
           f"DNS name of the {edge} ALB (alias target of the {edge} weighted record).")
    export(t, f"{c}LoadBalancerHostedZoneId", GetAtt(alb, "CanonicalHostedZoneID"),
           f"Canonical hosted zone of the {edge} ALB (alias target).")
    export(t, f"{c}WebAclArn", GetAtt(acl, "Arn"), f"WAF web ACL in front of the {edge} ALB.")
    for target, group in groups.items():
        logical = target_group(edge, target)
        export(t, f"{logical}Arn", Ref(group), f"The {edge} ALB's target group of the {target} tasks.")
        export(t, f"{logical}FullName", GetAtt(group, "TargetGroupFullName"),
               f"targetgroup/<name>/<id> of the {edge} ALB's {target} target group, the CloudWatch "
               "TargetGroup dimension.")


def build():
    t = new_template("Two internet-facing ALBs (one per colour), each with WAF, logs and its own blue and green "
                     "target groups of the payment API (the listeners stack holds the weights).")
    _parameters(t)
    _rules(t)
    t.add_rule("OnlyUsEast1", {
        "Assertions": [{
            "Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
            "AssertDescription": "This stack is built for us-east-1 (ELB log-delivery account 127311923021).",
        }],
    })
    bucket, bucket_policy = _log_bucket(t)
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
    for edge in EDGES:
        alb = _load_balancer(t, edge, bucket, bucket_policy)
        groups = {target: _target_group(t, edge, target) for target in COLOURS}
        acl = _waf(t, edge, alb)
        _edge_outputs(t, edge, alb, acl, groups)
    _trust_store(t)
    export(t, "ListenerCertificateArn", If("CreateCertificate", Ref(certificate), Ref("CertificateArn")),
           "ACM certificate of both HTTPS listeners (listeners stack): the company's, or the one requested here.")
    export(t, "AlbLogBucketName", Ref(bucket), "Bucket with both ALBs' access and connection logs.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
