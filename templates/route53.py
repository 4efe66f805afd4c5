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

from troposphere import Ref
from troposphere.route53 import AliasTarget, HealthCheck, HealthCheckConfig, RecordSetType

from bluegreen import cfn_parameters as params
from bluegreen.cfn import COLOURS, cap, export, new_template, tags, to_json


def _parameters(t):
    params.add(t, "HostedZoneId", "Zone of the payment hostname (dns stack).", params.ZONE_ID)
    params.add(t, "RecordName", "Payment hostname the records answer for (dns stack PaymentHostname).",
               params.DNS_NAME)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}LoadBalancerDnsName", f"DNS name of the {colour} ALB (alb stack "
                   f"{cap(colour)}LoadBalancerDnsName).", AllowedPattern=r"^[A-Za-z0-9.-]+\.elb\.amazonaws\.com$",
                   ConstraintDescription="an ELB DNS name")
        params.add(t, f"{cap(colour)}LoadBalancerHostedZoneId", f"Canonical hosted zone of the {colour} ALB (alb "
                   f"stack {cap(colour)}LoadBalancerHostedZoneId).", params.HOSTED_ZONE_ID)
    params.health_check_path(t)
    params.weights(t, 255, "Route 53 weight of the {colour} record (0..255; Sceptre passes percentages derived "
                           "from green_weight).")


def _record(t, colour):
    """The colour's weighted alias record of its own ALB, withdrawn when that ALB fails its health check."""
    c = cap(colour)
    check = t.add_resource(HealthCheck(
        f"{c}HealthCheck",
        HealthCheckConfig=HealthCheckConfig(
            Type="HTTPS",
            FullyQualifiedDomainName=Ref(f"{c}LoadBalancerDnsName"),
            Port=443,
            ResourcePath=Ref("HealthCheckPath"),
            EnableSNI=True,
            RequestInterval=30,
            FailureThreshold=3,
        ),
        HealthCheckTags=tags("hc", colour),
    ))
    record = t.add_resource(RecordSetType(
        f"{c}Record",
        HostedZoneId=Ref("HostedZoneId"),
        Name=Ref("RecordName"),
        Type="A",
        SetIdentifier=colour,
        Weight=Ref(f"{c}Weight"),
        HealthCheckId=Ref(check),
        # Each colour's record is its own edge: the weights pick the ALB a client reaches.
        AliasTarget=AliasTarget(
            DNSName=Ref(f"{c}LoadBalancerDnsName"),
            HostedZoneId=Ref(f"{c}LoadBalancerHostedZoneId"),
            EvaluateTargetHealth=True,
        ),
    ))
    export(t, f"{c}HealthCheckId", Ref(check), f"Route 53 health check of the {colour} record.")
    return record


def build():
    t = new_template("Weighted Route 53 alias records of the payment hostname: blue -> the blue ALB, green -> the green ALB.")
    _parameters(t)
    records = {colour: _record(t, colour) for colour in COLOURS}
    export(t, "RecordName", Ref("RecordName"), "Hostname of the weighted records.")
    for colour, record in records.items():
        export(t, f"{cap(colour)}RecordSetId", record.SetIdentifier, f"SetIdentifier of the {colour} weighted record.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
