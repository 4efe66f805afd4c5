"""templates/network.json: the VPC, its tiers, NAT, flow logs and the traffic matrix (endpoints: test_endpoints.py)."""

import re

import pytest

from tests.test_templates.intrinsics import Evaluation
from tests.test_templates.lookup import of_type

TIERS = ("Public", "App", "Db")
PRIVATE_ROUTE_TABLES = [{"Ref": f"{tier}RouteTable{i}"} for tier in ("App", "Db") for i in (1, 2, 3)]
CONTRACT_OUTPUTS = [
    "VpcId", "VpcCidr", "PublicSubnetIds", "AppSubnetIds", "DbSubnetIds", "AlbSecurityGroupId",
    "AppSecurityGroupId", "DbSecurityGroupId", "DmsSecurityGroupId", "LambdaSecurityGroupId",
    "RotationSecurityGroupId", "EndpointSecurityGroupId", "PrivateRouteTableIds",
]

def _tcp(direction, group, port, *peers):
    return [(direction, group, "tcp", port, port, peer) for peer in peers]


#: The whole allowed traffic matrix: (direction, group, protocol, from port, to port, peer).
#: A peer is "sg:<Group>", "cidr:<block>" or "pl:<prefix list parameter>"; "AppPort" is the parameter.
#: A group without egress gets the one loopback rule that replaces the default allow-all.
EXPECTED_RULES = sorted([
    *_tcp("ingress", "Alb", 443, "cidr:0.0.0.0/0"),
    *_tcp("ingress", "Alb", 80, "cidr:0.0.0.0/0"),
    *_tcp("egress", "Alb", "AppPort", "sg:App"),
    *_tcp("ingress", "App", "AppPort", "sg:Alb"),
    *_tcp("egress", "App", 3306, "sg:Db"),
    *_tcp("egress", "App", 443, "sg:Endpoint", "pl:S3PrefixListId"),
    # sg:Lambda: the traffic shifter's db switchover fence.
    *_tcp("ingress", "Db", 3306, "sg:App", "sg:Dms", "sg:Rotation", "sg:Lambda"),
    ("egress", "Db", "-1", None, None, "cidr:127.0.0.1/32"),
    *_tcp("egress", "Dms", 3306, "sg:Db"),
    *_tcp("egress", "Dms", 443, "sg:Endpoint"),
    # Route 53 has no VPC endpoint: the traffic shifter reaches its API through the NAT gateways (0.0.0.0/0).
    *_tcp("egress", "Lambda", 443, "sg:Endpoint", "pl:S3PrefixListId", "pl:DynamoDbPrefixListId", "cidr:0.0.0.0/0"),
    *_tcp("egress", "Lambda", 3306, "sg:Db"),  # traffic shifter: the db switchover fence
    *_tcp("egress", "Rotation", 3306, "sg:Db"),
    *_tcp("egress", "Rotation", 443, "sg:Endpoint"),
    *_tcp("ingress", "Endpoint", 443, "sg:App", "sg:Lambda", "sg:Dms", "sg:Rotation"),
    ("egress", "Endpoint", "-1", None, None, "cidr:127.0.0.1/32"),
], key=repr)


def _group(ref):
    """'AppSecurityGroup' from {"Fn::GetAtt": ["AppSecurityGroup", "GroupId"]}."""
    logical, attribute = ref["Fn::GetAtt"]
    assert attribute == "GroupId"
    return logical.removesuffix("SecurityGroup")


def _port(value):
    return value["Ref"] if isinstance(value, dict) else value


def _peer(rule):
    if "CidrIp" in rule:
        return f"cidr:{rule['CidrIp']}"
    if "DestinationPrefixListId" in rule:
        return f"pl:{rule['DestinationPrefixListId']['Ref']}"
    key = "SourceSecurityGroupId" if "SourceSecurityGroupId" in rule else "DestinationSecurityGroupId"
    return f"sg:{_group(rule[key])}"


def _rules(template):
    rules = []
    for logical, body in of_type(template, "AWS::EC2::SecurityGroup").items():
        group = logical.removesuffix("SecurityGroup")
        for direction in ("Ingress", "Egress"):
            for rule in body["Properties"].get(f"SecurityGroup{direction}", []):
                rules.append((direction.lower(), group, rule["IpProtocol"], _port(rule.get("FromPort")),
                              _port(rule.get("ToPort")), _peer(rule)))
    for rtype, direction in (("AWS::EC2::SecurityGroupIngress", "ingress"), ("AWS::EC2::SecurityGroupEgress", "egress")):
        for body in of_type(template, rtype).values():
            rule = body["Properties"]
            rules.append((direction, _group(rule["GroupId"]), rule["IpProtocol"], _port(rule.get("FromPort")),
                          _port(rule.get("ToPort")), _peer(rule)))
    return sorted(rules, key=repr)


def _subnets(template, tier):
    return {k: v["Properties"] for k, v in of_type(template, "AWS::EC2::Subnet").items() if k.startswith(tier)}


# ------------------------------------------------------------------------------------------ subnets
@pytest.mark.parametrize("tier", TIERS)
def test_subnets__each_tier__one_subnet_in_each_of_three_azs(network, tier):
    azs = sorted(props["AvailabilityZone"]["Fn::Select"][0] for props in _subnets(network, tier).values())
    assert azs == [0, 1, 2]
    for props in _subnets(network, tier).values():
        assert props["AvailabilityZone"]["Fn::Select"][1] == {"Fn::GetAZs": {"Ref": "AWS::Region"}}


def test_subnets__cidrs__nine_distinct_blocks_of_the_vpc_cidr(network):
    blocks = [props["CidrBlock"]["Fn::Select"] for tier in TIERS for props in _subnets(network, tier).values()]
    assert sorted(index for index, _ in blocks) == list(range(9))
    assert all(cidr == {"Fn::Cidr": [{"Ref": "VpcCidr"}, 9, {"Ref": "SubnetCidrBits"}]} for _, cidr in blocks)


@pytest.mark.parametrize("tier", TIERS)
def test_subnets__launch__never_assign_a_public_ip(network, tier):
    assert [props["MapPublicIpOnLaunch"] for props in _subnets(network, tier).values()] == [False] * 3


@pytest.mark.parametrize("cidr,accepted", [
    ("10.40.0.0/16", True), ("10.50.0.0/16", True), ("172.16.0.0/20", True), ("192.168.1.0/24", True),
    ("10.40.0.0/15", False), ("10.40.0.0/25", False), ("8.8.8.0/24", False), ("172.32.0.0/16", False),
])
def test_vpc_cidr__allowed_pattern__private_16_to_24_only(network, cidr, accepted):
    assert bool(re.match(network["Parameters"]["VpcCidr"]["AllowedPattern"], cidr)) is accepted


# ------------------------------------------------------------------------------------------ routing
def test_nat_gateway_count__allowed_values__one_or_three(network):
    assert network["Parameters"]["NatGatewayCount"]["AllowedValues"] == ["1", "3"]


@pytest.mark.parametrize("count,nats", [("1", ["NatGateway1"]), ("3", ["NatGateway1", "NatGateway2", "NatGateway3"])])
def test_nat_gateways__count__follows_the_parameter(network, count, nats):
    deployed = Evaluation(network, NatGatewayCount=count).resources()
    assert sorted(k for k, v in deployed.items() if v["Type"] == "AWS::EC2::NatGateway") == nats
    assert len([v for v in deployed.values() if v["Type"] == "AWS::EC2::EIP"]) == len(nats)


@pytest.mark.parametrize("count,expected", [
    ("1", {"AppDefaultRoute1": "NatGateway1", "AppDefaultRoute2": "NatGateway1", "AppDefaultRoute3": "NatGateway1"}),
    ("3", {"AppDefaultRoute1": "NatGateway1", "AppDefaultRoute2": "NatGateway2", "AppDefaultRoute3": "NatGateway3"}),
])
def test_app_default_routes__nat_count__point_to_a_deployed_nat(network, count, expected):
    deployed = Evaluation(network, NatGatewayCount=count).resources()
    routes = {k: v["Properties"]["NatGatewayId"]["Ref"] for k, v in deployed.items()
              if v["Type"] == "AWS::EC2::Route" and "NatGatewayId" in v["Properties"]}
    assert routes == expected


def test_app_default_routes__conditional_nats__chosen_with_fn_if(network):
    route = network["Resources"]["AppDefaultRoute3"]["Properties"]["NatGatewayId"]
    assert route == {"Fn::If": ["ThreeNatGateways", {"Ref": "NatGateway3"}, {"Ref": "NatGateway1"}]}
    assert network["Conditions"]["ThreeNatGateways"] == {"Fn::Equals": [{"Ref": "NatGatewayCount"}, "3"]}


def test_routes__internet_gateway__only_from_the_public_route_table(network):
    igw_routes = [v["Properties"] for v in of_type(network, "AWS::EC2::Route").values() if "GatewayId" in v["Properties"]]
    assert [r["RouteTableId"] for r in igw_routes] == [{"Ref": "PublicRouteTable"}]


def test_db_route_tables__routes__none_leave_the_vpc(network):
    tables = {r["Properties"]["RouteTableId"]["Ref"] for r in of_type(network, "AWS::EC2::Route").values()}
    assert not {t for t in tables if t.startswith("Db")}


# ------------------------------------------------------------------------------------------ flow logs
def test_flow_log__vpc__captures_all_traffic_into_the_flow_log_group(network):
    (flow_log,) = of_type(network, "AWS::EC2::FlowLog").values()
    props = flow_log["Properties"]
    assert (props["ResourceId"], props["ResourceType"], props["TrafficType"]) == ({"Ref": "Vpc"}, "VPC", "ALL")
    assert (props["LogDestinationType"], props["LogGroupName"]) == ("cloud-watch-logs", {"Ref": "FlowLogGroup"})


def test_flow_log_group__encryption__ops_key(network):
    assert network["Resources"]["FlowLogGroup"]["Properties"]["KmsKeyId"] == {"Ref": "OpsKeyArn"}


def test_flow_log_group__retention__a_year_or_more(network):
    assert network["Resources"]["FlowLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "FlowLogRetentionDays"}
    parameter = network["Parameters"]["FlowLogRetentionDays"]
    assert parameter["Default"] == 365
    assert min(parameter["AllowedValues"]) >= 365


def test_flow_log_role__trust__only_flow_logs_of_this_account(network):
    (statement,) = network["Resources"]["FlowLogRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_flow_log_policy__permissions__write_the_flow_log_group_only(network):
    (statement,) = network["Resources"]["FlowLogPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "WriteFlowLogGroup",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        "Resource": {"Fn::GetAtt": ["FlowLogGroup", "Arn"]},
    }
    assert network["Resources"]["FlowLogRole"]["Properties"]["ManagedPolicyArns"] == [{"Ref": "FlowLogPolicy"}]


# ------------------------------------------------------------------------------------------ security groups
def test_security_groups__all_rules__exactly_the_intended_matrix(network):
    assert _rules(network) == EXPECTED_RULES


def test_security_groups__egress__declared_so_the_default_allow_all_is_replaced(network):
    groups = of_type(network, "AWS::EC2::SecurityGroup")
    assert len(groups) == 7
    assert all(body["Properties"].get("SecurityGroupEgress") for body in groups.values())


def test_security_groups__internet__alb_in_on_443_and_80_and_lambda_out_on_443(network):
    public = [r for r in _rules(network) if r[-1] in ("cidr:0.0.0.0/0", "cidr:::/0")]
    assert public == sorted([
        ("ingress", "Alb", "tcp", 443, 443, "cidr:0.0.0.0/0"),
        ("ingress", "Alb", "tcp", 80, 80, "cidr:0.0.0.0/0"),
        ("egress", "Lambda", "tcp", 443, 443, "cidr:0.0.0.0/0"),
    ], key=repr)


# ------------------------------------------------------------------------------------------ outputs
@pytest.mark.parametrize("key", CONTRACT_OUTPUTS)
def test_outputs__stack_contract__exported_under_the_stack_name(network, key):
    assert network["Outputs"][key]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{key}"}


def test_private_route_tables__output__app_and_db_tables_for_the_gateway_endpoints(network):
    assert network["Outputs"]["PrivateRouteTableIds"]["Value"] == {"Fn::Join": [",", PRIVATE_ROUTE_TABLES]}


def test_network__no_endpoints__they_are_the_endpoints_stack(network):
    assert of_type(network, "AWS::EC2::VPCEndpoint") == {}


def test_app_security_group__ingress__only_the_albs_on_the_app_port(network):
    # The service takes a client's identity from the X-Amzn-Mtls-Clientcert-* headers (client_identity.py):
    # only the load balancer may reach a task, or anyone in the VPC could write those headers.
    ingress = [r for r in _rules(network) if r[0] == "ingress" and r[1] == "App"]
    assert ingress == [("ingress", "App", "tcp", "AppPort", "AppPort", "sg:Alb")]
