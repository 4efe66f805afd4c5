"""Data-centre link stack: the private path from the VPC's private subnets to the data centre.

Only deployed where the group config's ``datacentre_link`` is not "off" (off by default in dev:
its stack config is then ``obsolete``, so ``sceptre launch`` creates nothing and ``launch --prune``
removes an earlier one). Two ways to reach the data centre:
  * ExistingTransitGatewayId "" (default): an AWS Site-to-Site VPN made here: customer gateway (the
    data centre's static public address and BGP ASN), a virtual private gateway attached to the VPC,
    and a VPN connection with dynamic (BGP) routing over two IPsec tunnels held to IKEv2, AES-256-GCM,
    SHA2-384 and DH group 20, whose tunnel logs go to a log group under the ops key;
  * tgw-...: an existing Transit Gateway (one the network team runs, with its Direct Connect gateway or
    VPN attachments towards the data centre already there): this stack attaches the VPC to it.
Either way, only the app and db route tables (the private subnets; never the public one) get a route
to each of the data centre's networks, and the only traffic allowed towards them is the MySQL port of
the data centre's database: from the DMS replication instance (replication both ways) and from the
platform Lambdas (the traffic shifter's writer fence, docs/db-switchover.md). Nothing in the data
centre can open a connection into the VPC: no security group admits it.

The data centre's networks arrive as up to DATACENTRE_CIDR_SLOTS parameters (one is required): a
CloudFormation template cannot loop over a list, and one JSON file serves every environment.
"""

from troposphere import And, Condition, Equals, GetAtt, If, Join, Not, NoValue, Ref, Select, Sub, ec2
from troposphere.ec2 import CustomerGateway as CustomerGatewayResource
from troposphere.ec2 import (
    Route,
    SecurityGroupEgress,
    TransitGatewayAttachment,
    VPCGatewayAttachment,
    VPNConnection,
    VpnTunnelOptionsSpecification,
)
from troposphere.ec2 import VPNGateway as VpnGatewayResource

from bluegreen import cfn_parameters as params
from bluegreen.cfn import DATACENTRE_CIDR_SLOTS, export, new_template, suppressions, tags, to_json
from bluegreen.cfn_storage import RETENTION_DAYS_FROM_A_YEAR, log_group

#: app and db route tables of the three AZs (network stack PrivateRouteTableIds, always six).
PRIVATE_ROUTE_TABLES = 6
CREATE_VPN = "CreateVpn"
USE_TRANSIT_GATEWAY = "UseTransitGateway"
#: Who may open a connection to the data centre's database port, and why (the network stack's groups).
CALLERS = {
    "Dms": "DMS replication with the data centre's MySQL (full load and CDC in, reverse CDC out)",
    "Lambda": "Traffic shifter's writer fence of the data centre's MySQL (REVOKE/GRANT, drain marker)",
}
#: The tunnels' cryptography (AWS::EC2::VPNConnection VpnTunnelOptionsSpecification): one strong suite
#: offered, so neither end can negotiate down (PCI DSS 4.2.1, strong cryptography in transit).
TUNNEL_CRYPTO = {
    "IKEVersions": ("IKEVersionsRequestListValue", "ikev2"),
    "Phase1EncryptionAlgorithms": ("Phase1EncryptionAlgorithmsRequestListValue", "AES256-GCM-16"),
    "Phase2EncryptionAlgorithms": ("Phase2EncryptionAlgorithmsRequestListValue", "AES256-GCM-16"),
    "Phase1IntegrityAlgorithms": ("Phase1IntegrityAlgorithmsRequestListValue", "SHA2-384"),
    "Phase2IntegrityAlgorithms": ("Phase2IntegrityAlgorithmsRequestListValue", "SHA2-384"),
    "Phase1DHGroupNumbers": ("Phase1DHGroupNumbersRequestListValue", 20),
    "Phase2DHGroupNumbers": ("Phase2DHGroupNumbersRequestListValue", 20),
}


def cidr_parameter(slot: int) -> str:
    return f"DatacentreCidr{slot}"


def has_cidr(slot: int) -> str:
    return f"HasDatacentreCidr{slot}"


def _parameters(t):
    params.add(t, "VpcId", "The VPC (network stack).", params.VPC_ID)
    params.add(t, "PrivateRouteTableIds", "The app and db route tables, the only ones that get routes to the data "
               "centre (network stack PrivateRouteTableIds).", params.NAMES)
    params.add(t, "DbSubnetIds", "Private database subnets, one per AZ: the Transit Gateway attachment's network "
               "interfaces (network stack DbSubnetIds).", params.SUBNET_IDS)
    for caller in CALLERS:
        params.add(t, f"{caller}SecurityGroupId", f"The {caller.lower()} security group (network stack), given egress "
                   "to the data centre's MySQL port only.", params.SECURITY_GROUP_ID)
    params.add(t, "OpsKeyArn", "Customer-managed ops key: the VPN tunnel log group.", params.KMS_KEY_ARN)
    cidr = r"(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}/([89]|[12]\d|3[0-2])"
    for slot in range(1, DATACENTRE_CIDR_SLOTS + 1):
        params.add(t, cidr_parameter(slot), f"Data centre network {slot} (group config datacentre_cidrs)"
                   + ("." if slot == 1 else "; empty when there are fewer."),
                   AllowedPattern=f"^{cidr}$" if slot == 1 else f"^$|^{cidr}$",
                   ConstraintDescription="an IPv4 network such as 10.0.0.0/14" + ("." if slot == 1 else ", or empty."),
                   **({} if slot == 1 else {"Default": ""}))
        if slot > 1:
            t.add_condition(has_cidr(slot), Not(Equals(Ref(cidr_parameter(slot)), "")))
    params.add(t, "DatacentreDbPort", "TCP port of the data centre's MySQL: the only port opened towards it.",
               params.NUMBER, Default=3306, MinValue=1, MaxValue=65535)
    params.add(t, "ExistingTransitGatewayId", "Empty: create a Site-to-Site VPN here. tgw-...: attach the VPC to this "
               "existing Transit Gateway instead (its Direct Connect or VPN attachments reach the data centre).",
               Default="", AllowedPattern=r"^$|^tgw-[0-9a-f]{8,17}$",
               ConstraintDescription="empty, or a Transit Gateway ID such as tgw-0123456789abcdef0.")
    params.add(t, "CustomerGatewayIp", "Static public IPv4 address of the data centre's VPN device (outside "
               "interface); used when the VPN is created here.", Default="",
               AllowedPattern=r"^$|^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$",
               ConstraintDescription="an IPv4 address such as 198.51.100.7, or empty with ExistingTransitGatewayId.")
    params.add(t, "CustomerGatewayBgpAsn", "BGP ASN of the data centre's VPN device (1..2,147,483,647).",
               params.NUMBER, Default=65000, MinValue=1, MaxValue=2147483647)
    params.add(t, "AmazonSideAsn", "BGP ASN of the AWS side (the virtual private gateway); a private ASN other "
               "than the data centre's.", params.NUMBER, Default=64512, MinValue=64512, MaxValue=65534)
    params.add(t, "TunnelLogRetentionDays", "Days the VPN tunnel logs are kept (PCI DSS 10.7: at least a year).",
               params.NUMBER, Default=365, AllowedValues=RETENTION_DAYS_FROM_A_YEAR)
    t.add_condition(CREATE_VPN, Equals(Ref("ExistingTransitGatewayId"), ""))
    t.add_condition(USE_TRANSIT_GATEWAY, Not(Equals(Ref("ExistingTransitGatewayId"), "")))
    t.add_rule("VpnNeedsTheCustomerGateway", {
        "RuleCondition": {"Fn::Equals": [{"Ref": "ExistingTransitGatewayId"}, ""]},
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CustomerGatewayIp"}, ""]}]},
            "AssertDescription": "CustomerGatewayIp is required when the VPN is created here (ExistingTransitGatewayId empty).",
        }],
    })


def _vpn(t):
    customer_gateway = t.add_resource(CustomerGatewayResource(
        "CustomerGateway", Condition=CREATE_VPN, Type="ipsec.1",
        IpAddress=Ref("CustomerGatewayIp"), BgpAsn=Ref("CustomerGatewayBgpAsn"),
        Tags=tags("cgw", "datacentre"),
    ))
    gateway = t.add_resource(VpnGatewayResource(
        "VpnGateway", Condition=CREATE_VPN, Type="ipsec.1", AmazonSideAsn=Ref("AmazonSideAsn"),
        Tags=tags("vgw", "datacentre"),
    ))
    attachment = t.add_resource(VPCGatewayAttachment(
        "VpnGatewayAttachment", Condition=CREATE_VPN, VpcId=Ref("VpcId"), VpnGatewayId=Ref(gateway)))
    tunnel_logs = log_group(t, "TunnelLogGroup", Sub("/vpn/tunnels-${Environment}-${EnvironmentSuffix}"),
                            retention=Ref("TunnelLogRetentionDays"), Condition=CREATE_VPN,
                            Metadata=suppressions(guard={"CW_LOGGROUP_RETENTION_PERIOD_CHECK": (
                                "Retention is the TunnelLogRetentionDays parameter, whose AllowedValues are all 365 "
                                "days or more; the rule only reads literal numbers.")}))
    tunnel = VpnTunnelOptionsSpecification(
        **{prop: [getattr(ec2, kind)(Value=value)] for prop, (kind, value) in TUNNEL_CRYPTO.items()},
        # Dead peer detection restarts the tunnel rather than leaving a silent one up.
        DPDTimeoutAction="restart",
        LogOptions=ec2.VpnTunnelLogOptionsSpecification(CloudwatchLogOptions=ec2.CloudwatchLogOptionsSpecification(
            LogEnabled=True, LogGroupArn=GetAtt(tunnel_logs, "Arn"), LogOutputFormat="json")),
    )
    t.add_resource(VPNConnection(
        "VpnConnection", Condition=CREATE_VPN, Type="ipsec.1",
        CustomerGatewayId=Ref(customer_gateway), VpnGatewayId=Ref(gateway),
        # BGP: the data centre advertises its networks and either tunnel carries them when the other is down.
        StaticRoutesOnly=False,
        VpnTunnelOptionsSpecifications=[tunnel, tunnel],
        Tags=tags("vpn", "datacentre"),
        Metadata={"cfn-lint": {"config": {"ignore_checks": ["I3037"]}, "Reasons": {"I3037": (
            "The two tunnels of the connection get the same options on purpose: a tunnel with other options would "
            "let a failover negotiate a different (weaker) suite or log elsewhere.")}}},
    ))
    return gateway, attachment


def _transit_gateway(t):
    return t.add_resource(TransitGatewayAttachment(
        "TransitGatewayAttachment", Condition=USE_TRANSIT_GATEWAY,
        TransitGatewayId=Ref("ExistingTransitGatewayId"), VpcId=Ref("VpcId"), SubnetIds=Ref("DbSubnetIds"),
        Tags=tags("tgw-attach", "datacentre"),
    ))


def _routes(t, gateway, vpn_attachment, tgw_attachment):
    """One route per private route table and data-centre network, to the VGW or to the Transit Gateway."""
    # A route to the VGW needs the gateway attached first, a route to the TGW the VPC attached first.
    targets = (
        ("Vpn", CREATE_VPN, {"GatewayId": Ref(gateway)}, vpn_attachment),
        ("Tgw", USE_TRANSIT_GATEWAY, {"TransitGatewayId": Ref("ExistingTransitGatewayId")}, tgw_attachment),
    )
    for label, mode, target, attachment in targets:
        for slot in range(1, DATACENTRE_CIDR_SLOTS + 1):
            condition = mode
            if slot > 1:
                condition = f"{label}{has_cidr(slot)}"
                t.add_condition(condition, And(Condition(mode), Condition(has_cidr(slot))))
            for table in range(PRIVATE_ROUTE_TABLES):
                t.add_resource(Route(
                    f"{label}Route{table + 1}Cidr{slot}", Condition=condition, DependsOn=attachment.title,
                    RouteTableId=Select(table, Ref("PrivateRouteTableIds")),
                    DestinationCidrBlock=Ref(cidr_parameter(slot)), **target,
                ))


def _egress(t):
    for caller, why in CALLERS.items():
        for slot in range(1, DATACENTRE_CIDR_SLOTS + 1):
            t.add_resource(SecurityGroupEgress(
                f"{caller}EgressToDatacentreCidr{slot}",
                **({} if slot == 1 else {"Condition": has_cidr(slot)}),
                GroupId=Ref(f"{caller}SecurityGroupId"),
                IpProtocol="tcp", FromPort=Ref("DatacentreDbPort"), ToPort=Ref("DatacentreDbPort"),
                CidrIp=Ref(cidr_parameter(slot)), Description=why,
            ))


def build():
    t = new_template("Private link to the data centre (Site-to-Site VPN or an existing Transit Gateway): routes from the "
                     "private subnets and MySQL-only egress for DMS and the writer fence.")
    _parameters(t)
    gateway, vpn_attachment = _vpn(t)
    tgw_attachment = _transit_gateway(t)
    _routes(t, gateway, vpn_attachment, tgw_attachment)
    _egress(t)
    cidrs = [Ref(cidr_parameter(1))] + [If(has_cidr(s), Ref(cidr_parameter(s)), NoValue)
                                        for s in range(2, DATACENTRE_CIDR_SLOTS + 1)]
    export(t, "DatacentreCidrs", Join(",", cidrs), "Comma-joined data centre networks the private subnets route to.")
    export(t, "DatacentreDbPort", Ref("DatacentreDbPort"), "The data centre's MySQL port, the only one opened to it.")
    export(t, "LinkType", If(CREATE_VPN, "vpn", "transit-gateway"), "How the VPC reaches the data centre.")
    export(t, "LinkGatewayId", If(CREATE_VPN, Ref(gateway), Ref("ExistingTransitGatewayId")),
           "The virtual private gateway (VPN) or Transit Gateway the routes point at.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())

