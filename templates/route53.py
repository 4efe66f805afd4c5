"""Route 53 stack: the weighted blue and green records of the payment hostname.

Both records are aliases of the one ALB, so they resolve to the same load balancer and the
ALB's listener weights decide the real split. The Route 53 weights move in lockstep with the
ALB's (both come from the one number green_weight) so that DNS always tells the same story
as the listener, and a later move to one ALB per colour needs no new records.

Each record has a Route 53 health check (HTTPS to the ALB on the health path) and evaluates
the ALB's target health, so a hostname whose load balancer has no healthy target is withdrawn.
"""

from troposphere import Parameter, Ref
from troposphere.route53 import AliasTarget, HealthCheck, HealthCheckConfig, RecordSetType

from bluegreen.cfn import export, new_template, tags, to_json

COLOURS = ("blue", "green")


def build():
    t = new_template("Weighted Route 53 alias records (blue, green) of the payment hostname.")
    t.add_parameter(Parameter(
        "HostedZoneId", Type="AWS::Route53::HostedZone::Id", Description="Zone of the payment hostname (dns stack)."))
    t.add_parameter(Parameter(
        "RecordName", Type="String",
        AllowedPattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        ConstraintDescription="a lower-case DNS hostname without a trailing dot",
        Description="Payment hostname the records answer for (dns stack PaymentHostname)."))
    t.add_parameter(Parameter(
        "LoadBalancerDnsName", Type="String", AllowedPattern=r"^[A-Za-z0-9.-]+\.elb\.amazonaws\.com$",
        ConstraintDescription="an ELB DNS name",
        Description="DNS name of the ALB (alb stack)."))
    t.add_parameter(Parameter(
        "LoadBalancerHostedZoneId", Type="String", AllowedPattern="^Z[A-Z0-9]{1,31}$",
        ConstraintDescription="a hosted zone ID",
        Description="Canonical hosted zone of the ALB (alb stack)."))
    t.add_parameter(Parameter(
        "HealthCheckPath", Type="String", Default="/health", AllowedPattern="^/[A-Za-z0-9/._-]{0,254}$",
        ConstraintDescription="an absolute URL path such as /health",
        Description="Path of the application's health endpoint."))
    for colour in COLOURS:
        t.add_parameter(Parameter(
            f"{colour.capitalize()}Weight", Type="Number", MinValue=0, MaxValue=255,
            Description=f"Route 53 weight of the {colour} record (0..255; Sceptre passes percentages "
                        "derived from green_weight)."))
    t.add_rule("WeightsNotBothZero", {
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::And": [
                {"Fn::Equals": [{"Ref": "BlueWeight"}, "0"]},
                {"Fn::Equals": [{"Ref": "GreenWeight"}, "0"]},
            ]}]},
            "AssertDescription": "BlueWeight and GreenWeight cannot both be 0: one colour must receive the traffic.",
        }],
    })

    records = {}
    for colour in COLOURS:
        cap = colour.capitalize()
        check = t.add_resource(HealthCheck(
            f"{cap}HealthCheck",
            HealthCheckConfig=HealthCheckConfig(
                Type="HTTPS",
                FullyQualifiedDomainName=Ref("LoadBalancerDnsName"),
                Port=443,
                ResourcePath=Ref("HealthCheckPath"),
                EnableSNI=True,
                RequestInterval=30,
                FailureThreshold=3,
            ),
            HealthCheckTags=tags("hc", colour),
        ))
        records[colour] = t.add_resource(RecordSetType(
            f"{cap}Record",
            HostedZoneId=Ref("HostedZoneId"),
            Name=Ref("RecordName"),
            Type="A",
            SetIdentifier=colour,
            Weight=Ref(f"{cap}Weight"),
            HealthCheckId=Ref(check),
            AliasTarget=AliasTarget(
                DNSName=Ref("LoadBalancerDnsName"),
                HostedZoneId=Ref("LoadBalancerHostedZoneId"),
                EvaluateTargetHealth=True,
            ),
        ))
        export(t, f"{cap}HealthCheckId", Ref(check), f"Route 53 health check of the {colour} record.")

    export(t, "RecordName", Ref("RecordName"), "Hostname of the weighted records.")
    for colour in COLOURS:
        export(t, f"{colour.capitalize()}RecordSetId", records[colour].SetIdentifier,
               f"SetIdentifier of the {colour} weighted record.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
