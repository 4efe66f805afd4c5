"""extensions/ec2_vpn.py and extensions/dms_certificates.py: the data-centre link's types, created,
refused where AWS refuses them, and deleted with their stack."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .parts import network

pytestmark = pytest.mark.emulator

TUNNEL = {"IKEVersions": [{"Value": "ikev2"}], "Phase1EncryptionAlgorithms": [{"Value": "AES256-GCM-16"}],
          "Phase1DHGroupNumbers": [{"Value": 20}]}


def ca_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "data centre test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def link(ip: str = "18.0.0.1", tunnel: dict | None = None) -> dict:
    return {"Resources": {
        **network("10.42"),
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "dms", "VpcId": {"Ref": "Vpc"}}},
        "ToDatacentre": {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
            "CidrIp": "172.20.0.0/16", "Description": "data centre MySQL"}},
        "Cgw": {"Type": "AWS::EC2::CustomerGateway", "Properties": {"Type": "ipsec.1", "IpAddress": ip, "BgpAsn": 65010}},
        "Vgw": {"Type": "AWS::EC2::VPNGateway", "Properties": {"Type": "ipsec.1", "AmazonSideAsn": 64512}},
        "Attach": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {"VpcId": {"Ref": "Vpc"}, "VpnGatewayId": {"Ref": "Vgw"}}},
        "Vpn": {"Type": "AWS::EC2::VPNConnection", "Properties": {
            "Type": "ipsec.1", "CustomerGatewayId": {"Ref": "Cgw"}, "VpnGatewayId": {"Ref": "Vgw"}, "StaticRoutesOnly": False,
            "VpnTunnelOptionsSpecifications": [tunnel or TUNNEL, tunnel or TUNNEL]}},
    }}


def test_link__created__gateway_connection_and_egress_rule_in_ec2_then_deleted(emulator, stacks):
    deployed = stacks.create(link())
    ec2 = emulator.client("ec2")
    r = deployed.resources

    [vpn] = ec2.describe_vpn_connections(VpnConnectionIds=[r["Vpn"]])["VpnConnections"]
    assert (vpn["CustomerGatewayId"], vpn["VpnGatewayId"]) == (r["Cgw"], r["Vgw"])
    assert ec2.describe_customer_gateways(CustomerGatewayIds=[r["Cgw"]])["CustomerGateways"][0]["IpAddress"] == "18.0.0.1"
    assert ec2.describe_security_group_rules(SecurityGroupRuleIds=[r["ToDatacentre"]])["SecurityGroupRules"][0]["CidrIpv4"] == "172.20.0.0/16"

    stacks.delete(deployed)
    assert [c for c in ec2.describe_vpn_connections()["VpnConnections"] if c["VpnConnectionId"] == r["Vpn"]] == []
    assert [c for c in ec2.describe_customer_gateways()["CustomerGateways"] if c["CustomerGatewayId"] == r["Cgw"]] == []
    assert [g for g in ec2.describe_vpn_gateways()["VpnGateways"] if g["VpnGatewayId"] == r["Vgw"] and g["State"] != "deleted"] == []


@pytest.mark.parametrize("template,reason", [
    (link(ip="not-an-address"), "Invalid IPv4 address"),
    (link(tunnel={"Phase1EncryptionAlgorithms": [{"Value": "3DES"}]}), "Phase1EncryptionAlgorithms value '3DES' is not one of"),
    (link(tunnel={"Phase1DHGroupNumbers": [{"Value": 1}]}), "Phase1DHGroupNumbers value 1 is not one of"),
])
def test_link__what_aws_refuses__create_failed_with_the_reason(emulator, stacks, template, reason):
    name = stacks.unique()
    stacks.create(template, name=name, expect="ROLLBACK_COMPLETE")
    assert any(reason in line for line in stacks.failure_reasons(name)), stacks.failure_reasons(name)


def endpoint(ssl_mode: str, certificate: dict | None) -> dict:
    props = {"EndpointType": "source", "EngineName": "mysql", "ServerName": "mysql-pay-01.dc.payments.internal", "Port": 3306,
             "Username": "repl", "Password": "not-a-real-password", "SslMode": ssl_mode}
    if certificate is not None:
        props["CertificateArn"] = certificate
    return {"Type": "AWS::DMS::Endpoint", "Properties": props}


def test_dms_certificate__verify_full_endpoint__uses_the_imported_ca_and_it_cannot_go_first(emulator, stacks):
    deployed = stacks.create({"Resources": {
        "Ca": {"Type": "AWS::DMS::Certificate", "Properties": {"CertificateIdentifier": "dc-ca-test", "CertificatePem": ca_pem()}},
        "Source": endpoint("verify-full", {"Ref": "Ca"}),
    }})
    dms = emulator.client("dms")
    [cert] = dms.describe_certificates(Filters=[{"Name": "certificate-arn", "Values": [deployed.resources["Ca"]]}])["Certificates"]
    assert cert["CertificateIdentifier"] == "dc-ca-test"
    with pytest.raises(dms.exceptions.InvalidResourceStateFault):
        dms.delete_certificate(CertificateArn=cert["CertificateArn"])

    stacks.delete(deployed)
    assert dms.describe_certificates(Filters=[{"Name": "certificate-arn", "Values": [cert["CertificateArn"]]}])["Certificates"] == []


@pytest.mark.parametrize("resources,reason", [
    ({"Source": endpoint("verify-full", None)}, "SslMode verify-full needs the ARN of an imported certificate"),
    ({"Source": endpoint("verify-ca", "arn:aws:dms:us-east-1:123456789012:cert:NOSUCH")}, "needs the ARN of an imported certificate"),
    ({"Ca": {"Type": "AWS::DMS::Certificate", "Properties": {"CertificatePem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"}}},
     "The certificate is not valid"),
])
def test_dms_certificate__what_aws_refuses__create_failed_with_the_reason(emulator, stacks, resources, reason):
    name = stacks.unique()
    stacks.create({"Resources": resources}, name=name, expect="ROLLBACK_COMPLETE")
    assert any(reason in line for line in stacks.failure_reasons(name)), stacks.failure_reasons(name)
