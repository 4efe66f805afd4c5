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

from troposphere import Equals, GetAtt, If, Join, Ref, Sub
from troposphere.logs import ResourcePolicy
from troposphere.route53 import HostedZone, HostedZoneConfiguration, QueryLoggingConfig

from bluegreen import cfn_parameters as params
from bluegreen.cfn import NAME_TAIL, export, new_template, tags, to_json
from bluegreen.cfn_iam import allow, policy_document
from bluegreen.cfn_storage import log_group

HOSTNAME = "${HostLabel}-" + NAME_TAIL + ".${DomainName}"
DOMAIN_PATTERN = r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


def _parameters(t):
    params.add(t, "DomainName", "Domain the payment hostname lives under (the company zone's domain when "
               "ExistingHostedZoneId is given), e.g. example.com.", AllowedPattern=DOMAIN_PATTERN,
               ConstraintDescription="a lower-case DNS domain such as example.com, without a trailing dot")
    params.add(t, "HostLabel", "First label of the payment hostname, before -<environment>-<suffix>.", Default="pay",
               AllowedPattern="^[a-z][a-z0-9]{0,14}$",
               ConstraintDescription="1-15 lower-case letters or digits, starting with a letter")
    params.add(t, "ExistingHostedZoneId", "Hosted zone of DomainName to put the payment records in; empty creates a "
               "delegated zone for the payment hostname instead.", Default="", AllowedPattern="^(Z[A-Z0-9]{1,31})?$",
               ConstraintDescription="empty, or a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")
    params.add(t, "OpsKeyArn", "Ops KMS key (security stack) that encrypts the DNS query log group.",
               params.KMS_KEY_ARN)
    t.add_condition("CreateZone", Equals(Ref("ExistingHostedZoneId"), ""))


def _query_logging(t, zone):
    """Query logs of the created zone. Route 53 writes them only to us-east-1 log groups it is
    allowed to by a resource policy."""
    group = log_group(t, "QueryLogGroup", Sub("/aws/route53/log-dns-" + NAME_TAIL), Condition="CreateZone")
    policy = t.add_resource(ResourcePolicy(
        "QueryLogResourcePolicy",
        Condition="CreateZone",
        PolicyName=Sub("logs-policy-dns-" + NAME_TAIL),
        # A logs resource policy is a JSON string; only Route 53 acting for this account may write.
        PolicyDocument=Sub(json.dumps(policy_document(allow(
            "Route53WritesThisZoneQueryLog", ["logs:CreateLogStream", "logs:PutLogEvents"], "${LogGroupArn}",
            principal={"Service": "route53.amazonaws.com"},
            condition={"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}}))),
            LogGroupArn=GetAtt(group, "Arn")),
    ))
    t.add_resource(QueryLoggingConfig(
        "QueryLogging",
        Condition="CreateZone",
        DependsOn=[policy.title],
        HostedZoneId=Ref(zone),
        CloudWatchLogsLogGroupArn=GetAtt(group, "Arn"),
    ))


def build():
    t = new_template("Public hosted zone and hostname of the blue-green payment API.")
    _parameters(t)
    zone = t.add_resource(HostedZone(
        "HostedZone",
        Condition="CreateZone",
        Name=Sub(HOSTNAME),
        HostedZoneConfig=HostedZoneConfiguration(
            Comment=Sub("Payment API hostname of ${Environment}-${EnvironmentSuffix} (blue-green)")),
        HostedZoneTags=tags("zone", "pay"),
    ))
    _query_logging(t, zone)

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
