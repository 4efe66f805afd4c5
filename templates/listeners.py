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
"""

from troposphere import Parameter, Ref
from troposphere.elasticloadbalancingv2 import (
    Action,
    Certificate as ListenerCertificate,
    Condition,
    ForwardConfig,
    HttpHeaderConfig,
    Listener,
    ListenerRule,
    ListenerRuleAction,
    RedirectConfig,
    SourceIpConfig,
    TargetGroupStickinessConfig,
    TargetGroupTuple,
)

from bluegreen.cfn import export, new_template, suppressions, tags, to_json

COLOURS = ("blue", "green")
#: One ALB per colour. The ALB's colour is its edge; the colour a target group's tasks run is its target.
EDGES = COLOURS
COLOUR_HEADER = "X-Target-Colour"
#: Listener rule priority of each colour's header rule (fixed: tests and runbooks name them).
HEADER_RULE_PRIORITY = {"green": 10, "blue": 20}
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
LOAD_BALANCER_ARN_PATTERN = r"^arn:aws[a-z-]*:elasticloadbalancing:us-east-1:[0-9]{12}:loadbalancer/app/[A-Za-z0-9-]+/[0-9a-f]+$"
TARGET_GROUP_ARN_PATTERN = r"^arn:aws[a-z-]*:elasticloadbalancing:us-east-1:[0-9]{12}:targetgroup/[A-Za-z0-9-]+/[0-9a-f]+$"


def _cap(colour):
    return colour.capitalize()


def target_group_parameter(edge, target):
    """Parameter name of the ``edge`` ALB's target group for the ``target`` colour's tasks (the alb
    stack's output of the same name)."""
    return f"{_cap(edge)}Alb{_cap(target)}TargetGroupArn"


def _parameters(t):
    for edge in EDGES:
        t.add_parameter(Parameter(
            f"{_cap(edge)}LoadBalancerArn", Type="String",
            AllowedPattern=LOAD_BALANCER_ARN_PATTERN,
            ConstraintDescription="an application load balancer ARN in us-east-1",
            Description=f"The {edge} ALB (alb stack)."))
        for target in COLOURS:
            t.add_parameter(Parameter(
                target_group_parameter(edge, target), Type="String",
                AllowedPattern=TARGET_GROUP_ARN_PATTERN,
                ConstraintDescription="a target group ARN in us-east-1",
                Description=f"The {edge} ALB's target group of the {target} tasks (alb stack)."))
    t.add_parameter(Parameter(
        "ListenerCertificateArn", Type="String",
        AllowedPattern="^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[a-f0-9-]+$",
        ConstraintDescription="an ACM certificate ARN in us-east-1",
        Description="ACM certificate of both HTTPS listeners: the company's, or the one the alb stack "
                    "requested (alb stack)."))
    for colour in COLOURS:
        t.add_parameter(Parameter(
            f"{_cap(colour)}Weight", Type="Number", MinValue=0, MaxValue=999,
            Description=f"Share of each HTTPS listener's traffic for {colour} (ALB weight 0..999; Sceptre "
                        "passes percentages derived from green_weight)."))
    t.add_parameter(Parameter(
        "ColourCheckSourceCidrs", Type="CommaDelimitedList",
        Description="Up to 4 CIDRs (operators, the NAT egress of the automation) allowed to pick a colour "
                    f"with the {COLOUR_HEADER} header; nobody else can reach a colour that has no share."))
    t.add_rule("WeightsNotBothZero", {
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::And": [
                {"Fn::Equals": [{"Ref": "BlueWeight"}, "0"]},
                {"Fn::Equals": [{"Ref": "GreenWeight"}, "0"]},
            ]}]},
            "AssertDescription": "BlueWeight and GreenWeight cannot both be 0: one colour must receive the traffic.",
        }],
    })


def _listeners(t, edge):
    """The edge's HTTPS listener (weighted forward, colour-check rules) and its HTTP redirect."""
    cap = _cap(edge)
    alb = Ref(f"{cap}LoadBalancerArn")
    groups = {target: Ref(target_group_parameter(edge, target)) for target in COLOURS}
    https = t.add_resource(Listener(
        f"{cap}HttpsListener",
        Metadata=suppressions(guard={"ELBV2_ACM_CERTIFICATE_REQUIRED": (
            "The certificate is always from ACM: the ListenerCertificateArn parameter's AllowedPattern "
            "admits only ACM ARNs; the rule cannot follow a parameter.")}),
        LoadBalancerArn=alb,
        Port=443,
        Protocol="HTTPS",
        SslPolicy=TLS_POLICY,
        # One certificate for the payment hostname serves both edges: clients reach either by it.
        Certificates=[ListenerCertificate(CertificateArn=Ref("ListenerCertificateArn"))],
        DefaultActions=[Action(
            Type="forward",
            ForwardConfig=ForwardConfig(
                # The same weights on every edge: the split is green_weight whichever ALB a client reached.
                TargetGroups=[
                    TargetGroupTuple(TargetGroupArn=groups[c], Weight=Ref(f"{_cap(c)}Weight"))
                    for c in COLOURS
                ],
                # Off: a pinned client would not follow a weight change or a rollback.
                TargetGroupStickinessConfig=TargetGroupStickinessConfig(Enabled=False),
            ),
        )],
        Tags=tags("listener", edge, "https"),
    ))
    t.add_resource(Listener(
        f"{cap}HttpListener",
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
            f"{cap}Alb{_cap(target)}HeaderRule",
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
    export(t, f"{cap}HttpsListenerArn", Ref(https),
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
