"""Network stack: the VPC over three AZs, its routing, flow logs and every security group.

Tiers (one subnet per AZ each, carved from the VPC CIDR with Fn::Cidr):
  * public: the internet-facing ALB and the NAT gateways only; nothing gets a public IP on launch;
  * app: the Fargate tasks, the Lambdas and the interface endpoints; default route to a NAT gateway;
  * db: Aurora and the DMS replication instance; no route out of the VPC at all, so card data
    stores cannot reach the internet even if a security group were opened by mistake.
AWS APIs are reached through VPC endpoints (PrivateLink, and S3/DynamoDB gateways: the endpoints
stack, templates/endpoints.py, in the endpoint security group defined here), so the security groups
can deny all internet egress. Every security group of the system lives here, so that one file shows
the whole allowed traffic matrix to a reviewer.
"""

from troposphere import (
    Cidr,
    Equals,
    GetAtt,
    GetAZs,
    If,
    Join,
    Ref,
    Select,
    Sub,
)
from troposphere.ec2 import (
    EIP,
    VPC,
    FlowLog,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    SecurityGroup,
    SecurityGroupIngress,
    SecurityGroupRule,
    Subnet,
    SubnetRouteTableAssociation,
    VPCGatewayAttachment,
)

from bluegreen import cfn_parameters as params
from bluegreen.cfn import export, name, new_template, suppressions, tags, to_json
from bluegreen.cfn_iam import allow, policy_and_role, service_trust
from bluegreen.cfn_storage import RETENTION_DAYS_FROM_A_YEAR, log_group

AZ_COUNT = 3
#: (logical prefix, name qualifier) of each subnet tier, in the order their CIDRs are carved.
TIERS = (("Public", "public"), ("App", "app"), ("Db", "db"))
HTTPS = 443
MYSQL = 3306
THREE_NATS = "ThreeNatGateways"

#: logical prefix -> (name qualifier, description). Logical IDs are <prefix>SecurityGroup.
SECURITY_GROUPS = {
    "Alb": ("alb", "Internet-facing ALB: HTTPS and HTTP (redirect) in, app port out to the tasks only"),
    "App": ("app", "Payment API tasks: app port from the ALB only; out to Aurora, endpoints and S3"),
    "Db": ("db", "Aurora clusters: MySQL from the app, DMS, rotation and Lambda groups only; no egress"),
    "Dms": ("dms", "DMS replication instance: MySQL to the Aurora group, HTTPS to the endpoints"),
    "Lambda": ("lambda", "Platform Lambdas: HTTPS to the VPC endpoints, Route 53 through NAT, MySQL to Aurora"),
    "Rotation": ("rotation", "Secret rotation Lambda: MySQL to Aurora, HTTPS to the endpoints"),
    "Endpoint": ("endpoint", "Interface endpoints: HTTPS from the app, Lambda, DMS and rotation groups"),
}
#: Egress (inline, so the default allow-all rule is replaced): group -> [(port, destination, why)].
#: A destination is another group's prefix, or "pl:s3" / "pl:dynamodb" for a gateway endpoint.
#: Port "app" is the AppPort parameter.
EGRESS = {
    "Alb": [("app", "App", "Forward requests and health checks to the tasks")],
    "App": [
        (MYSQL, "Db", "Aurora writer and readers"),
        (HTTPS, "Endpoint", "AWS APIs through the interface endpoints"),
        (HTTPS, "pl:s3", "ECR image layers through the S3 gateway endpoint"),
    ],
    "Db": [],
    "Dms": [
        (MYSQL, "Db", "Source and target Aurora clusters"),
        (HTTPS, "Endpoint", "Secrets Manager and KMS through the interface endpoints"),
    ],
    "Lambda": [
        (HTTPS, "Endpoint", "AWS APIs through the interface endpoints"),
        (HTTPS, "pl:s3", "CloudFormation custom-resource responses through the S3 gateway endpoint"),
        (HTTPS, "pl:dynamodb", "Traffic-shifter state table through the DynamoDB gateway endpoint"),
        (MYSQL, "Db", "Traffic shifter's db switchover: fence and unfence the writers (REVOKE/GRANT)"),
        # The Route 53 API has no PrivateLink endpoint: the traffic shifter reaches it through NAT.
        (HTTPS, "0.0.0.0/0", "Route 53 API (no VPC endpoint exists) through the NAT gateways"),
    ],
    "Rotation": [
        (MYSQL, "Db", "Change the master password on Aurora"),
        (HTTPS, "Endpoint", "Secrets Manager through the interface endpoint"),
    ],
    "Endpoint": [],
}
#: Ingress (separate resources, which keeps the group graph acyclic):
#: (group, port, source, why); a source is another group's prefix or an IPv4 CIDR.
INGRESS = [
    ("Alb", HTTPS, "0.0.0.0/0", "HTTPS from card-present clients and payment partners"),
    ("Alb", 80, "0.0.0.0/0", "HTTP only to answer with a redirect to HTTPS"),
    ("App", "app", "Alb", "Requests and health checks from the ALB"),
    ("Db", MYSQL, "App", "Payment API"),
    ("Db", MYSQL, "Dms", "DMS replication between blue and green"),
    ("Db", MYSQL, "Rotation", "Master secret rotation"),
    ("Db", MYSQL, "Lambda", "Traffic shifter's db switchover fence (docs/db-switchover.md)"),
    ("Endpoint", HTTPS, "App", "Payment API tasks"),
    ("Endpoint", HTTPS, "Lambda", "Platform Lambdas"),
    ("Endpoint", HTTPS, "Dms", "DMS replication instance"),
    ("Endpoint", HTTPS, "Rotation", "Secret rotation Lambda"),
]
#: Why the ALB group may take plain HTTP from the internet.
HTTP_REDIRECT_REASON = (
    "Port 80 is open to the internet only so the ALB listener can answer with a redirect to HTTPS; "
    "no request is forwarded over HTTP, and the tasks accept traffic from the ALB group only."
)


def _parameters(t):
    params.add(t, "VpcCidr", "IPv4 CIDR of the VPC; nine equal subnets (3 tiers x 3 AZs) are carved from it.",
               Default="10.40.0.0/16",
               AllowedPattern=r"^(10\.\d{1,3}|172\.(1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}/(1[6-9]|2[0-4])$",
               ConstraintDescription="a private IPv4 CIDR block from /16 to /24, e.g. 10.40.0.0/16.")
    params.add(t, "SubnetCidrBits", "Host bits of each subnet (32 minus its prefix length): 12 gives /20 subnets. "
               "Nine subnets must fit, so use at most 28 minus the VPC prefix length (12 for a /16, 4 for a /24).",
               params.NUMBER, Default=12, MinValue=4, MaxValue=12)
    params.add(t, "NatGatewayCount", "NAT gateways: 3 (one per AZ, no cross-AZ dependency) or 1 (cost saving for "
               "dev: every app route table then uses the NAT gateway of the first AZ).",
               Default="3", AllowedValues=["1", "3"])
    params.app_port(t, "Container port of the payment API; the only port the ALB may reach.")
    params.add(t, "OpsKeyArn", "ARN of the ops KMS key (security stack) that encrypts the flow log group.",
               params.KMS_KEY_ARN)
    params.add(t, "FlowLogRetentionDays", "Days the VPC flow logs are kept (PCI DSS 10.7 asks for at least one year).",
               params.NUMBER, Default=365, AllowedValues=RETENTION_DAYS_FROM_A_YEAR)
    for service, default in (("S3", "pl-63a5400a"), ("DynamoDb", "pl-02cd2c6b")):
        params.add(t, f"{service}PrefixListId", f"AWS-managed prefix list of the {service} gateway endpoint in this "
                   "region (aws ec2 describe-managed-prefix-lists; the default is us-east-1's).",
                   Default=default, AllowedPattern=r"^pl-[0-9a-f]{8,17}$",
                   ConstraintDescription="a managed prefix list ID such as pl-63a5400a.")
    t.add_condition(THREE_NATS, Equals(Ref("NatGatewayCount"), "3"))


def _subnets(t, vpc):
    """{tier prefix: [subnet per AZ]}; tier i, AZ j gets the (3i + j)-th block of the VPC CIDR."""
    blocks = Cidr(Ref("VpcCidr"), len(TIERS) * AZ_COUNT, Ref("SubnetCidrBits"))
    subnets = {}
    for tier_index, (prefix, qualifier) in enumerate(TIERS):
        subnets[prefix] = [
            t.add_resource(Subnet(
                f"{prefix}Subnet{az + 1}",
                VpcId=Ref(vpc),
                AvailabilityZone=Select(az, GetAZs(Ref("AWS::Region"))),
                CidrBlock=Select(tier_index * AZ_COUNT + az, blocks),
                # Not even the public tier: the ALB and NAT gateways bring their own addresses.
                MapPublicIpOnLaunch=False,
                Tags=tags("subnet", qualifier, f"az{az + 1}"),
            ))
            for az in range(AZ_COUNT)
        ]
    return subnets


def _routing(t, vpc, subnets):
    """Route tables: one public (IGW), one per AZ for app (NAT) and for db (VPC only)."""
    igw = t.add_resource(InternetGateway("InternetGateway", Tags=tags("igw")))
    attachment = t.add_resource(VPCGatewayAttachment(
        "InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw)))

    public = t.add_resource(RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=tags("rtb", "public")))
    t.add_resource(Route(
        "PublicDefaultRoute",
        DependsOn=attachment.title,
        RouteTableId=Ref(public),
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=Ref(igw),
        Metadata=suppressions(guard={"NO_UNRESTRICTED_ROUTE_TO_IGW": (
            "Only the public route table has it: the internet-facing ALB and the NAT gateways need it. "
            "App and db route tables never route to the internet gateway.")}),
    ))
    for az, subnet in enumerate(subnets["Public"]):
        t.add_resource(SubnetRouteTableAssociation(
            f"PublicSubnet{az + 1}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(public)))

    nats = []
    for az in range(AZ_COUNT):
        # The first NAT gateway always exists; the other two only when NatGatewayCount is 3.
        condition = {} if az == 0 else {"Condition": THREE_NATS}
        eip = t.add_resource(EIP(
            f"NatEip{az + 1}", DependsOn=attachment.title, Domain="vpc",
            Tags=tags("eip", "nat", f"az{az + 1}"), **condition))
        nats.append(t.add_resource(NatGateway(
            f"NatGateway{az + 1}", AllocationId=GetAtt(eip, "AllocationId"),
            SubnetId=Ref(subnets["Public"][az]), Tags=tags("nat", f"az{az + 1}"), **condition)))

    private_tables = []
    for prefix, qualifier in TIERS[1:]:
        for az, subnet in enumerate(subnets[prefix]):
            table = t.add_resource(RouteTable(
                f"{prefix}RouteTable{az + 1}", VpcId=Ref(vpc), Tags=tags("rtb", qualifier, f"az{az + 1}")))
            private_tables.append(table)
            t.add_resource(SubnetRouteTableAssociation(
                f"{prefix}Subnet{az + 1}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)))
            if prefix != "App":
                continue  # the db tier keeps no default route: card data stores cannot reach out
            nat = Ref(nats[0]) if az == 0 else If(THREE_NATS, Ref(nats[az]), Ref(nats[0]))
            t.add_resource(Route(
                f"AppDefaultRoute{az + 1}", RouteTableId=Ref(table),
                DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat))
    return private_tables


def _flow_logs(t, vpc):
    group = log_group(
        t, "FlowLogGroup", Sub("/vpc/flowlogs-${Environment}-${EnvironmentSuffix}"),
        retention=Ref("FlowLogRetentionDays"),
        Metadata=suppressions(guard={"CW_LOGGROUP_RETENTION_PERIOD_CHECK": (
            "Retention is the FlowLogRetentionDays parameter, whose AllowedValues are all 365 days "
            "or more; the rule only reads literal numbers.")}),
    )
    # Only what delivery to this one log group needs; the group already exists, so no CreateLogGroup.
    _, role = policy_and_role(
        t, "FlowLog", ["flowlogs"],
        # Confused-deputy guard: only flow logs of this account may assume the role.
        service_trust("vpc-flow-logs.amazonaws.com", source_account=True, source_arn=Sub(
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*")),
        [allow("WriteFlowLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
               GetAtt(group, "Arn"))],
        policy_description="Lets VPC flow logs write to the flow log group of this VPC only.",
        role_description="Assumed by VPC flow logs of this account to deliver to the flow log group.",
    )
    t.add_resource(FlowLog(
        "VpcFlowLog",
        ResourceId=Ref(vpc),
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=Ref(group),
        DeliverLogsPermissionArn=GetAtt(role, "Arn"),
        MaxAggregationInterval=60,
        Tags=tags("flowlog", "vpc"),
    ))


def _security_groups(t, vpc):
    groups = {}
    for prefix, (qualifier, description) in SECURITY_GROUPS.items():
        groups[prefix] = SecurityGroup(
            f"{prefix}SecurityGroup",
            GroupName=name("sg", qualifier),
            GroupDescription=description,
            VpcId=Ref(vpc),
            Tags=tags("sg", qualifier),
        )

    def port(value):
        return Ref("AppPort") if value == "app" else value

    for prefix, group in groups.items():
        rules = []
        for p, destination, why in EGRESS[prefix]:
            if destination.startswith("pl:"):
                target = {"DestinationPrefixListId": Ref(f"{'S3' if destination == 'pl:s3' else 'DynamoDb'}PrefixListId")}
            elif "/" in destination:
                target = {"CidrIp": destination}
            else:
                target = {"DestinationSecurityGroupId": GetAtt(groups[destination], "GroupId")}
            rules.append(SecurityGroupRule(IpProtocol="tcp", FromPort=port(p), ToPort=port(p), Description=why, **target))
        if not rules:
            # Declaring any egress replaces the default allow-all rule; loopback matches no real
            # traffic, so this group can send nothing (responses to allowed ingress are stateful).
            rules.append(SecurityGroupRule(
                IpProtocol="-1", CidrIp="127.0.0.1/32", Description="No egress: replaces the default allow-all"))
        group.SecurityGroupEgress = rules
        t.add_resource(group)

    for target, p, source, why in INGRESS:
        origin = (
            {"CidrIp": source} if "/" in source
            else {"SourceSecurityGroupId": GetAtt(groups[source], "GroupId")}
        )
        source_label = "Internet" if source == "0.0.0.0/0" else source
        metadata = {}
        if source == "0.0.0.0/0" and p == 80:
            metadata = {"Metadata": suppressions(checkov={"CKV_AWS_260": HTTP_REDIRECT_REASON})}
        t.add_resource(SecurityGroupIngress(
            f"{target}IngressFrom{source_label}{'AppPort' if p == 'app' else p}",
            GroupId=GetAtt(groups[target], "GroupId"),
            IpProtocol="tcp", FromPort=port(p), ToPort=port(p), Description=why,
            **origin, **metadata,
        ))
    return groups


def build():
    t = new_template("VPC over three AZs, flow logs and all security groups of the blue-green payment platform.")
    _parameters(t)
    vpc = t.add_resource(VPC(
        "Vpc",
        CidrBlock=Ref("VpcCidr"),
        # Private DNS of the interface endpoints needs both.
        EnableDnsSupport=True,
        EnableDnsHostnames=True,
        Tags=tags("vpc"),
    ))
    subnets = _subnets(t, vpc)
    private_tables = _routing(t, vpc, subnets)
    _flow_logs(t, vpc)
    groups = _security_groups(t, vpc)

    export(t, "VpcId", Ref(vpc), "ID of the VPC.")
    export(t, "VpcCidr", GetAtt(vpc, "CidrBlock"), "IPv4 CIDR of the VPC.")
    for prefix, qualifier in TIERS:
        export(t, f"{prefix}SubnetIds", Join(",", [Ref(s) for s in subnets[prefix]]),
               f"Comma-joined IDs of the three {qualifier} subnets, in AZ order.")
    for prefix, group in groups.items():
        export(t, f"{prefix}SecurityGroupId", GetAtt(group, "GroupId"), f"ID of the {prefix.lower()} security group.")
    export(t, "PrivateRouteTableIds", Join(",", [Ref(table) for table in private_tables]),
           "Comma-joined IDs of the app and db route tables (the endpoints stack's gateway endpoints).")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
