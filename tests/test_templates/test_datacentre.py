"""The data-centre leg's two stacks, one property each, on the committed JSON: the link
(datacentre_link.json: routes from the private route tables only, MySQL-only egress, one strong
tunnel suite, logged) and the data (datacentre_dms.json: verify-full against the data centre's CA,
credentials in Secrets Manager under the data key, full load + CDC in with validation, reverse CDC)."""

import json

import pytest

from bluegreen.cfn import DATACENTRE_CIDR_SLOTS


def of_type(template: dict, kind: str) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_routes__only_private_route_tables__to_each_datacentre_network(datacentre_link):
    routes = of_type(datacentre_link, "AWS::EC2::Route")
    vpn = {k: r for k, r in routes.items() if "GatewayId" in r["Properties"]}
    tgw = {k: r for k, r in routes.items() if "TransitGatewayId" in r["Properties"]}

    assert len(vpn) == len(tgw) == 6 * DATACENTRE_CIDR_SLOTS and len(routes) == len(vpn) + len(tgw)
    for route in routes.values():
        props = route["Properties"]
        # Only the network stack's PrivateRouteTableIds (app and db tables): the public table is never named.
        assert props["RouteTableId"]["Fn::Select"][1] == {"Ref": "PrivateRouteTableIds"}
        assert props["DestinationCidrBlock"]["Ref"].startswith("DatacentreCidr")
    assert {r["Properties"]["GatewayId"]["Ref"] for r in vpn.values()} == {"VpnGateway"}
    assert {r["Properties"]["TransitGatewayId"]["Ref"] for r in tgw.values()} == {"ExistingTransitGatewayId"}
    assert {r["DependsOn"] for r in vpn.values()} == {"VpnGatewayAttachment"}
    assert {r["DependsOn"] for r in tgw.values()} == {"TransitGatewayAttachment"}


def test_egress__dms_and_lambda_only__the_mysql_port_only(datacentre_link):
    egress = of_type(datacentre_link, "AWS::EC2::SecurityGroupEgress")

    assert {r["Properties"]["GroupId"]["Ref"] for r in egress.values()} == {"DmsSecurityGroupId", "LambdaSecurityGroupId"}
    for rule in egress.values():
        props = rule["Properties"]
        assert (props["IpProtocol"], props["FromPort"], props["ToPort"]) == ("tcp", {"Ref": "DatacentreDbPort"}, {"Ref": "DatacentreDbPort"})
        assert props["CidrIp"]["Ref"].startswith("DatacentreCidr")
    assert of_type(datacentre_link, "AWS::EC2::SecurityGroupIngress") == {}  # nothing admitted from the data centre


def test_vpn_tunnels__crypto__one_strong_suite_and_logged(datacentre_link):
    [connection] = of_type(datacentre_link, "AWS::EC2::VPNConnection").values()
    tunnels = connection["Properties"]["VpnTunnelOptionsSpecifications"]

    assert len(tunnels) == 2 and connection["Properties"]["StaticRoutesOnly"] is False
    for tunnel in tunnels:
        assert tunnel["IKEVersions"] == [{"Value": "ikev2"}]
        for phase in ("Phase1", "Phase2"):
            assert tunnel[f"{phase}EncryptionAlgorithms"] == [{"Value": "AES256-GCM-16"}]
            assert tunnel[f"{phase}IntegrityAlgorithms"] == [{"Value": "SHA2-384"}]
            assert tunnel[f"{phase}DHGroupNumbers"] == [{"Value": 20}]
        logs = tunnel["LogOptions"]["CloudwatchLogOptions"]
        assert logs["LogEnabled"] is True and logs["LogGroupArn"] == {"Fn::GetAtt": ["TunnelLogGroup", "Arn"]}
    group = datacentre_link["Resources"]["TunnelLogGroup"]["Properties"]
    assert group["KmsKeyId"] == {"Ref": "OpsKeyArn"} and group["RetentionInDays"] == {"Ref": "TunnelLogRetentionDays"}


def test_link__vpn_or_existing_transit_gateway__never_both(datacentre_link):
    conditions = datacentre_link["Conditions"]
    assert conditions["CreateVpn"] == {"Fn::Equals": [{"Ref": "ExistingTransitGatewayId"}, ""]}
    for logical in ("CustomerGateway", "VpnGateway", "VpnGatewayAttachment", "VpnConnection"):
        assert datacentre_link["Resources"][logical]["Condition"] == "CreateVpn"
    assert datacentre_link["Resources"]["TransitGatewayAttachment"]["Condition"] == "UseTransitGateway"


@pytest.mark.parametrize("kind", ["Source", "Target"])
def test_dms_endpoints__tls__verify_full_against_the_data_centres_ca(datacentre_dms, kind):
    props = datacentre_dms["Resources"][f"Datacentre{kind}Endpoint"]["Properties"]

    assert (props["EngineName"], props["SslMode"]) == ("mysql", "verify-full")
    assert props["CertificateArn"] == {"Ref": "DatacentreCaCertificate"}
    assert datacentre_dms["Resources"]["DatacentreCaCertificate"]["Properties"]["CertificatePem"] == {"Ref": "DatacentreDbCaPem"}
    assert datacentre_dms["Parameters"]["DatacentreDbCaPem"]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert props["MySqlSettings"]["SecretsManagerSecretId"] == {"Ref": "DatacentreDbSecret"}
    assert props["KmsKeyId"] == {"Ref": "DataKeyArn"}


def test_dms_secret__data_key__generated_password_read_only_by_the_endpoints_role(datacentre_dms):
    secret = datacentre_dms["Resources"]["DatacentreDbSecret"]["Properties"]
    [policy] = of_type(datacentre_dms, "AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    assert secret["KmsKeyId"] == {"Ref": "DataKeyArn"} and secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert [s["Resource"] for s in statements] == [{"Ref": "DatacentreDbSecret"}, {"Ref": "DataKeyArn"}]


def test_dms_tasks__full_load_and_cdc_in_validated__reverse_cdc_out(datacentre_dms):
    inbound = datacentre_dms["Resources"]["DatacentreToBlueTask"]["Properties"]
    reverse = datacentre_dms["Resources"]["CdcBlueToDatacentreTask"]["Properties"]

    assert (inbound["MigrationType"], inbound["SourceEndpointArn"], inbound["TargetEndpointArn"]) == (
        "full-load-and-cdc", {"Ref": "DatacentreSourceEndpoint"}, {"Ref": "BlueTargetEndpointArn"})
    assert (reverse["MigrationType"], reverse["SourceEndpointArn"], reverse["TargetEndpointArn"]) == (
        "cdc", {"Ref": "BlueSourceEndpointArn"}, {"Ref": "DatacentreTargetEndpoint"})
    for task in (inbound, reverse):
        settings = json.loads(task["ReplicationTaskSettings"])
        assert settings["ValidationSettings"]["EnableValidation"] is True
        assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
        rules = json.loads(task["TableMappings"])["rules"]
        assert {(r["object-locator"]["schema-name"], r["object-locator"]["table-name"]) for r in rules} == {
            ("payments", "%"), ("bluegreen_ops", "switchover_marker")}
