"""DNS stack: the public hosted zone that holds the payment hostname.

The payment hostname is ``<HostLabel>-<environment>-<suffix>.<DomainName>``, e.g.
pay-dev-d01.example.com, so two deployments never claim the same name.
  * ``ExistingHostedZoneId`` empty (dev): this stack creates a zone for exactly that hostname,
    which the owner of DomainName delegates to with an NS record; the hostname is its apex.
    Its DNS queries are logged to CloudWatch Logs (encrypted with the ops key).
  * ``ExistingHostedZoneId`` given (prod): the company's zone for DomainName is used as it is;
    this stack creates nothing and only hands the zone and the hostname on. Query logging of
    that zone belongs to its owners.
"""

import json

from troposphere import Equals, GetAtt, If, Join, Parameter, Ref, Sub
from troposphere.logs import LogGroup, ResourcePolicy
from troposphere.route53 import HostedZone, HostedZoneConfiguration, QueryLoggingConfig

from bluegreen.cfn import KMS_KEY_ARN_PATTERN, NAME_TAIL, deletable, export, new_template, tags, to_json

HOSTNAME = "${HostLabel}-" + NAME_TAIL + ".${DomainName}"
#: PCI DSS 10.7 keeps audit logs a year; a literal, so scanners and auditors read it off the template.
LOG_RETENTION_DAYS = 365
DOMAIN_PATTERN = r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


def build():
    t = new_template("Public hosted zone and hostname of the blue-green payment API.")
    t.add_parameter(Parameter(
        "DomainName", Type="String",
        AllowedPattern=DOMAIN_PATTERN,
        ConstraintDescription="a lower-case DNS domain such as example.com, without a trailing dot",
        Description="Domain the payment hostname lives under (the company zone's domain when "
                    "ExistingHostedZoneId is given), e.g. example.com.",
    ))
    t.add_parameter(Parameter(
        "HostLabel", Type="String", Default="pay",
        AllowedPattern="^[a-z][a-z0-9]{0,14}$",
        ConstraintDescription="1-15 lower-case letters or digits, starting with a letter",
        Description="First label of the payment hostname, before -<environment>-<suffix>.",
    ))
    t.add_parameter(Parameter(
        "ExistingHostedZoneId", Type="String", Default="",
        AllowedPattern="^(Z[A-Z0-9]{1,31})?$",
        ConstraintDescription="empty, or a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ",
        Description="Hosted zone of DomainName to put the payment records in; empty creates a "
                    "delegated zone for the payment hostname instead.",
    ))
    t.add_parameter(Parameter(
        "OpsKeyArn", Type="String",
        AllowedPattern=KMS_KEY_ARN_PATTERN,
        ConstraintDescription="a KMS key ARN",
        Description="Ops KMS key (security stack) that encrypts the DNS query log group.",
    ))
    t.add_condition("CreateZone", Equals(Ref("ExistingHostedZoneId"), ""))

    zone = t.add_resource(HostedZone(
        "HostedZone",
        Condition="CreateZone",
        Name=Sub(HOSTNAME),
        HostedZoneConfig=HostedZoneConfiguration(
            Comment=Sub("Payment API hostname of ${Environment}-${EnvironmentSuffix} (blue-green)")),
        HostedZoneTags=tags("zone", "pay"),
    ))
    # Route 53 writes query logs only to us-east-1 log groups it is allowed to by a resource policy.
    log_group = t.add_resource(deletable(LogGroup(
        "QueryLogGroup",
        Condition="CreateZone",
        LogGroupName=Sub("/aws/route53/log-dns-" + NAME_TAIL),
        KmsKeyId=Ref("OpsKeyArn"),
        RetentionInDays=LOG_RETENTION_DAYS,
        Tags=tags(),
    )))
    policy = t.add_resource(ResourcePolicy(
        "QueryLogResourcePolicy",
        Condition="CreateZone",
        PolicyName=Sub("logs-policy-dns-" + NAME_TAIL),
        # A logs resource policy is a JSON string; only Route 53 acting for this account may write.
        PolicyDocument=Sub(json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "Route53WritesThisZoneQueryLog",
                "Effect": "Allow",
                "Principal": {"Service": "route53.amazonaws.com"},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "${LogGroupArn}",
                "Condition": {"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}},
            }],
        }), LogGroupArn=GetAtt(log_group, "Arn")),
    ))
    t.add_resource(QueryLoggingConfig(
        "QueryLogging",
        Condition="CreateZone",
        DependsOn=[policy.title],
        HostedZoneId=Ref(zone),
        CloudWatchLogsLogGroupArn=GetAtt(log_group, "Arn"),
    ))

    zone_id = If("CreateZone", Ref(zone), Ref("ExistingHostedZoneId"))
    export(t, "HostedZoneId", zone_id, "Hosted zone that holds the payment hostname.")
    export(t, "DomainName", If("CreateZone", Sub(HOSTNAME), Ref("DomainName")),
           "DNS name of that hosted zone.")
    export(t, "PaymentHostname", Sub(HOSTNAME), "Hostname clients use for the payment API.")
    export(t, "NameServers", If("CreateZone", Join(",", GetAtt(zone, "NameServers")), "-"),
           "Name servers to delegate the created zone to from DomainName ('-' when an existing zone is used).")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
