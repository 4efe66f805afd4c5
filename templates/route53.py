"""Route 53 stack: the weighted blue and green records of the payment hostname, one per edge.

The blue record aliases the blue ALB and the green record the green ALB, so these weights decide
which edge a client reaches: the edge share. The split between the colours' tasks is decided on
each ALB's listener with the same weights (alb stack), so it equals green_weight whichever edge
a client's resolver cached. Both weights come from the one number green_weight and move together
(Sceptre, the traffic shifter).

Each record has a Route 53 health check (HTTPS to its own ALB on the health path) and evaluates
that ALB's target health, so an edge that fails (a bad WAF rule, listener or certificate on
green's ALB) is withdrawn from DNS and its share goes to the other edge.
"""

from troposphere import Parameter, Ref
from troposphere.route53 import AliasTarget, HealthCheck, HealthCheckConfig, RecordSetType

from bluegreen.cfn import export, new_template, tags, to_json

COLOURS = ("blue", "green")


def build():
    t = new_template("Weighted Route 53 alias records of the payment hostname: blue -> the blue ALB, green -> the green ALB.")
    t.add_parameter(Parameter(
        "HostedZoneId", Type="AWS::Route53::HostedZone::Id", Description="Zone of the payment hostname (dns stack)."))
    t.add_parameter(Parameter(
        "RecordName", Type="String",
        AllowedPattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        ConstraintDescription="a lower-case DNS hostname without a trailing dot",
        Description="Payment hostname the records answer for (dns stack PaymentHostname)."))
    for colour in COLOURS:
        cap = colour.capitalize()
        t.add_parameter(Parameter(
            f"{cap}LoadBalancerDnsName", Type="String", AllowedPattern=r"^[A-Za-z0-9.-]+\.elb\.amazonaws\.com$",
            ConstraintDescription="an ELB DNS name",
            Description=f"DNS name of the {colour} ALB (alb stack {cap}LoadBalancerDnsName)."))
        t.add_parameter(Parameter(
            f"{cap}LoadBalancerHostedZoneId", Type="String", AllowedPattern="^Z[A-Z0-9]{1,31}$",
            ConstraintDescription="a hosted zone ID",
            Description=f"Canonical hosted zone of the {colour} ALB (alb stack {cap}LoadBalancerHostedZoneId)."))
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
                FullyQualifiedDomainName=Ref(f"{cap}LoadBalancerDnsName"),
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
            # Each colour's record is its own edge: the weights pick the ALB a client reaches.
            AliasTarget=AliasTarget(
                DNSName=Ref(f"{cap}LoadBalancerDnsName"),
                HostedZoneId=Ref(f"{cap}LoadBalancerHostedZoneId"),
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
