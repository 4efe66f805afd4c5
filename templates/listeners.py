"""Listeners stack: both ALBs' listeners, the one place the ALB weights live.

Each edge (the blue ALB, the green ALB: alb stack) gets an HTTPS listener that forwards with the
weights ``BlueWeight``/``GreenWeight`` to its own blue and green target groups, the colour-check
rules on it, and an HTTP listener that only redirects to HTTPS. The weights are here, beside the
Route 53 records in the ``route53`` stack group, so ``sceptre --var green_weight=N update
<env>/route53`` moves every weight of the environment at once, and the ALBs, target groups, WAF
and logs (alb stack) are never touched by a weight change. Every HTTPS listener forwards with the
same weights (Sceptre derives both from the one number green_weight, and the traffic-shift Lambda
moves them on every listener), so the real split equals green_weight whichever edge a client
reached, while the Route 53 weights decide which edge that is (docs/traffic-weights.md).

A request with ``X-Target-Colour: blue|green`` from an operator address goes to that colour only,
on either edge, so green is checked end to end, through both edges, before it takes any share.
Port 80 only redirects; TLS 1.2+ with the certificate the alb stack chose.

Mutual TLS in verify mode on every HTTPS listener, all against the one trust store of the alb stack:
a client without a certificate from its CAs, or with an expired or revoked one, is refused at the
handshake, and the targets receive the verified certificate in the X-Amzn-Mtls-Clientcert-* headers
(app/payment_api/client_identity.py). The same on both edges, so a weight change or a rollback never
changes who may connect.
"""

from troposphere import Ref
from troposphere.elasticloadbalancingv2 import (
    Action,
    Condition,
    ForwardConfig,
    HttpHeaderConfig,
    Listener,
    ListenerRule,
    ListenerRuleAction,
    MutualAuthentication,
    RedirectConfig,
    SourceIpConfig,
    TargetGroupStickinessConfig,
    TargetGroupTuple,
)
from troposphere.elasticloadbalancingv2 import (
    Certificate as ListenerCertificate,
)

from bluegreen import cfn_parameters as params
from bluegreen.cfn import COLOURS, EDGES, cap, export, new_template, suppressions, tags, target_group, to_json

COLOUR_HEADER = "X-Target-Colour"
#: Listener rule priority of each colour's header rule (fixed: tests and runbooks name them).
HEADER_RULE_PRIORITY = {"green": 10, "blue": 20}
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def _parameters(t):
    for edge in EDGES:
        params.add(t, f"{cap(edge)}LoadBalancerArn", f"The {edge} ALB (alb stack).", params.LOAD_BALANCER_ARN)
        for target in COLOURS:
            params.add(t, target_group(edge, target) + "Arn",
                       f"The {edge} ALB's target group of the {target} tasks (alb stack).", params.TARGET_GROUP_ARN)
    params.add(t, "ListenerCertificateArn", "ACM certificate of both HTTPS listeners: the company's, or the one the "
               "alb stack requested (alb stack).",
               AllowedPattern="^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[a-f0-9-]+$",
               ConstraintDescription="an ACM certificate ARN in us-east-1")
    params.add(t, "ClientTrustStoreArn", "Trust store of the clients' CAs both HTTPS listeners verify against "
               "(alb stack).", params.TRUST_STORE_ARN)
    params.weights(t, 999, "Share of each HTTPS listener's traffic for {colour} (ALB weight 0..999; Sceptre passes "
                           "percentages derived from green_weight).")
    params.add(t, "ColourCheckSourceCidrs", "Up to 4 CIDRs (operators, the NAT egress of the automation) allowed to "
               f"pick a colour with the {COLOUR_HEADER} header; nobody else can reach a colour that has no share.",
               params.NAMES)


def mutual_authentication():
    """Verify mode against the one trust store; an expired client certificate is refused, and the
    trust store's CA names are not advertised (a client knows which CA issued its certificate)."""
    return MutualAuthentication(Mode="verify", TrustStoreArn=Ref("ClientTrustStoreArn"),
                                IgnoreClientCertificateExpiry=False, AdvertiseTrustStoreCaNames="off")


def _listeners(t, edge):
    """The edge's HTTPS listener (weighted forward, colour-check rules) and its HTTP redirect."""
    c = cap(edge)
    alb = Ref(f"{c}LoadBalancerArn")
    groups = {target: Ref(target_group(edge, target) + "Arn") for target in COLOURS}
    https = t.add_resource(Listener(
        f"{c}HttpsListener",
        Metadata=suppressions(guard={"ELBV2_ACM_CERTIFICATE_REQUIRED": (
            "The certificate is always from ACM: the ListenerCertificateArn parameter's AllowedPattern "
            "admits only ACM ARNs; the rule cannot follow a parameter.")}),
        LoadBalancerArn=alb,
        Port=443,
        Protocol="HTTPS",
        SslPolicy=TLS_POLICY,
        # One certificate for the payment hostname serves both edges: clients reach either by it.
        Certificates=[ListenerCertificate(CertificateArn=Ref("ListenerCertificateArn"))],
        MutualAuthentication=mutual_authentication(),
        DefaultActions=[Action(
            Type="forward",
            ForwardConfig=ForwardConfig(
                # The same weights on every edge: the split is green_weight whichever ALB a client reached.
                TargetGroups=[
                    TargetGroupTuple(TargetGroupArn=groups[colour], Weight=Ref(f"{cap(colour)}Weight"))
                    for colour in COLOURS
                ],
                # Off: a pinned client would not follow a weight change or a rollback.
                TargetGroupStickinessConfig=TargetGroupStickinessConfig(Enabled=False),
            ),
        )],
        Tags=tags("listener", edge, "https"),
    ))
    t.add_resource(Listener(
        f"{c}HttpListener",
        LoadBalancerArn=alb,
        Port=80,
        Protocol="HTTP",
        # Plain HTTP never reaches a task: it only learns where the HTTPS endpoint is.
        DefaultActions=[Action(Type="redirect", RedirectConfig=RedirectConfig(
            Protocol="HTTPS", Port="443", Host="#{host}", Path="/#{path}", Query="#{query}",
            StatusCode="HTTP_301"))],
        Tags=tags("listener", edge, "http"),
    ))
    for target in COLOURS:
        t.add_resource(ListenerRule(
            f"{c}Alb{cap(target)}HeaderRule",
            ListenerArn=Ref(https),
            Priority=HEADER_RULE_PRIORITY[target],
            Conditions=[
                Condition(Field="http-header", HttpHeaderConfig=HttpHeaderConfig(
                    HttpHeaderName=COLOUR_HEADER, Values=[target])),
                # Only known addresses may bypass the weights: a colour without a share must not
                # take real payments from whoever learns the header.
                Condition(Field="source-ip", SourceIpConfig=SourceIpConfig(Values=Ref("ColourCheckSourceCidrs"))),
            ],
            Actions=[ListenerRuleAction(Type="forward", TargetGroupArn=groups[target])],
            Tags=tags("rule", edge, target, "header"),
        ))
    export(t, f"{c}HttpsListenerArn", Ref(https),
           f"HTTPS listener of the {edge} ALB, whose default action holds the weights.")


def build():
    t = new_template("Both ALBs' listeners: HTTPS forwarding with the blue/green weights to each ALB's blue and "
                     "green target groups, colour-check rules, HTTP to HTTPS redirects.")
    _parameters(t)
    for edge in EDGES:
        _listeners(t, edge)
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
