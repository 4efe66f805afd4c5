"""The listeners stack's traffic properties, one test each, on the committed JSON.

Each test fails when the property it names is removed from templates/listeners.py (and re-rendered):
each ALB's HTTPS listener with its TLS policy and certificate, weighted forwarding to its own blue and
green target groups, the header rules, HTTP only redirecting, the weights' Rules; and that the stack
configs hand each listener the alb stack's own load balancer and target groups.
"""

import pytest

from tests.test_templates.lookup import holds, of_type

EDGES = ("Blue", "Green")
TARGETS = ("Blue", "Green")


@pytest.fixture(scope="module")
def https(resources, edge):
    return resources[f"{edge}HttpsListener"]["Properties"]


def test_edges__every_target_group__belongs_to_exactly_one_listener_of_one_alb(listeners, resources):
    # ECS and ELB refuse a target group shared by two load balancers: each ALB has its own pair.
    used_by = {p: set() for p in listeners["Parameters"] if p.endswith("TargetGroupArn")}
    for _name, listener in of_type(resources, "AWS::ElasticLoadBalancingV2::Listener").items():
        for action in listener["Properties"]["DefaultActions"]:
            for tg in action.get("ForwardConfig", {}).get("TargetGroups", []):
                used_by[tg["TargetGroupArn"]["Ref"]].add(listener["Properties"]["LoadBalancerArn"]["Ref"])
    for rule in of_type(resources, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
        listener = resources[rule["Properties"]["ListenerArn"]["Ref"]]
        for action in rule["Properties"]["Actions"]:
            used_by[action["TargetGroupArn"]["Ref"]].add(listener["Properties"]["LoadBalancerArn"]["Ref"])
    assert used_by == {f"{e}Alb{t}TargetGroupArn": {f"{e}LoadBalancerArn"} for e in EDGES for t in TARGETS}


def test_https_listener__ssl_policy__tls_1_2_or_newer(https):
    assert (https["Protocol"], https["Port"]) == ("HTTPS", 443)
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


def test_http_listener__default_action__only_redirects_to_https_301(resources, edge):
    props = resources[f"{edge}HttpListener"]["Properties"]
    assert props["LoadBalancerArn"] == {"Ref": f"{edge}LoadBalancerArn"}
    (action,) = props["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert action["RedirectConfig"]["Port"] == "443"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"
    rules_on_http = [k for k, v in resources.items() if v["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
                     and v["Properties"]["ListenerArn"] == {"Ref": f"{edge}HttpListener"}]
    assert rules_on_http == []


def test_https_listener__certificate__the_acm_certificate_the_alb_stack_chose(alb, listeners, https):
    (cert,) = https["Certificates"]
    assert cert["CertificateArn"] == {"Ref": "ListenerCertificateArn"}
    assert listeners["Parameters"]["ListenerCertificateArn"]["AllowedPattern"].startswith("^arn:aws[a-z-]*:acm:")
    # The alb stack passes the certificate it created (dev) or the company's (prod).
    chosen = alb["Outputs"]["ListenerCertificateArn"]["Value"]
    assert chosen == {"Fn::If": ["CreateCertificate", {"Ref": "Certificate"}, {"Ref": "CertificateArn"}]}


def test_https_listener__default_action__forwards_to_its_albs_both_colours_by_the_same_weights(https, edge):
    # Every edge splits by green_weight, so the real split does not depend on the edge a client cached.
    assert https["LoadBalancerArn"] == {"Ref": f"{edge}LoadBalancerArn"}
    (action,) = https["DefaultActions"]
    assert action["Type"] == "forward"
    assert action["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": {"Ref": f"{edge}AlbBlueTargetGroupArn"}, "Weight": {"Ref": "BlueWeight"}},
        {"TargetGroupArn": {"Ref": f"{edge}AlbGreenTargetGroupArn"}, "Weight": {"Ref": "GreenWeight"}},
    ]


def test_https_listener__stickiness__off_so_clients_follow_weight_changes(https):
    (action,) = https["DefaultActions"]
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": False}


@pytest.mark.parametrize("colour", ["Blue", "Green"])
def test_parameters__weight__number_within_alb_limits(listeners, colour):
    param = listeners["Parameters"][f"{colour}Weight"]
    assert (param["Type"], param["MinValue"], param["MaxValue"]) == ("Number", 0, 999)


@pytest.mark.parametrize("blue,green,allowed", [("0", "0", False), ("0", "100", True), ("100", "0", True),
                                                ("90", "10", True)])
def test_rules__weights__not_both_zero(listeners, blue, green, allowed):
    (assertion,) = listeners["Rules"]["WeightsNotBothZero"]["Assertions"]
    assert holds(listeners, assertion["Assert"], BlueWeight=blue, GreenWeight=green) is allowed


@pytest.mark.parametrize("colour,priority", [("green", 10), ("blue", 20)])
def test_header_rule__colour_header_from_allowed_cidrs__forwards_to_that_colour_only(resources, edge, colour, priority):
    props = resources[f"{edge}Alb{colour.capitalize()}HeaderRule"]["Properties"]
    assert props["ListenerArn"] == {"Ref": f"{edge}HttpsListener"}
    assert props["Priority"] == priority
    conditions = {c["Field"]: c for c in props["Conditions"]}
    assert conditions["http-header"]["HttpHeaderConfig"] == {"HttpHeaderName": "X-Target-Colour", "Values": [colour]}
    assert conditions["source-ip"]["SourceIpConfig"] == {"Values": {"Ref": "ColourCheckSourceCidrs"}}
    assert props["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": f"{edge}Alb{colour.capitalize()}TargetGroupArn"}}]


def test_parameters__every_alb_reference__an_alb_output_of_the_same_name(alb, listeners):
    # The stack config passes alb.yaml::<Name> to the parameter <Name>: the names are the contract.
    given = {p for p in listeners["Parameters"] if p.endswith(("LoadBalancerArn", "TargetGroupArn"))}
    given.add("ListenerCertificateArn")
    assert given <= set(alb["Outputs"])


def test_outputs__https_listeners__exported_for_the_shifter(listeners, edge):
    output = listeners["Outputs"][f"{edge}HttpsListenerArn"]
    assert output["Value"] == {"Ref": f"{edge}HttpsListener"}
    assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + f"{edge}HttpsListenerArn"}


# -- who may connect -------------------------------------------------------------------------------------------
def test_https_listener__mutual_tls_verify_mode__against_the_one_trust_store(https):
    assert https["MutualAuthentication"] == {
        "Mode": "verify", "TrustStoreArn": {"Ref": "ClientTrustStoreArn"},
        # An expired client certificate is refused at the handshake, as an unknown or revoked one is.
        "IgnoreClientCertificateExpiry": False, "AdvertiseTrustStoreCaNames": "off"}


def test_https_listeners__both_edges__the_same_mutual_tls(resources):
    # A shift or rollback moves clients between edges: who may connect must not change with it.
    modes = [r["Properties"]["MutualAuthentication"] for r in of_type(resources, "AWS::ElasticLoadBalancingV2::Listener").values()
             if r["Properties"]["Protocol"] == "HTTPS"]
    assert len(modes) == 2 and modes[0] == modes[1]


def test_listeners_config__trust_store__the_alb_stacks_output():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "config" / "dev" / "route53" / "listeners.yaml").read_text()
    assert "ClientTrustStoreArn: !stack_output {{ environment }}/compute/alb.yaml::ClientTrustStoreArn" in text
