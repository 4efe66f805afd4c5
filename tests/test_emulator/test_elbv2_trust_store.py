"""ELBv2 trust stores (extensions/elbv2_trust_store.py): as strict as AWS about the CA bundle and the CRL in S3,
the name, a listener's verify mode, and a trust store in use; what DescribeListeners shows."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
CA_BUNDLE = (ROOT / "config" / "dev" / "mtls" / "client-ca-bundle.pem").read_bytes()


def _crl() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    crl = (x509.CertificateRevocationListBuilder()
           .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")]))
           .last_update(now).next_update(now + datetime.timedelta(days=1))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(7).revocation_date(now).build())
           .sign(key, hashes.SHA256()))
    return crl.public_bytes(serialization.Encoding.PEM)


def _leaf_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def bucket(emulator, stacks):
    name = stacks.unique("ts").lower()
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="mtls/ca.pem", Body=CA_BUNDLE)
    s3.put_object(Bucket=name, Key="mtls/leaf.pem", Body=_leaf_pem())
    s3.put_object(Bucket=name, Key="mtls/crl.pem", Body=_crl())
    return name


def store(bucket, key="mtls/ca.pem", name="ts-test", crl=None):
    resources = {"Store": {"Type": "AWS::ElasticLoadBalancingV2::TrustStore", "Properties": {
        "Name": name, "CaCertificatesBundleS3Bucket": bucket, "CaCertificatesBundleS3Key": key}}}
    if crl:
        resources["Revocation"] = {"Type": "AWS::ElasticLoadBalancingV2::TrustStoreRevocation", "Properties": {
            "TrustStoreArn": {"Ref": "Store"},
            "RevocationContents": [{"RevocationType": "CRL", "S3Bucket": bucket, "S3Key": crl}]}}
    return {"Resources": resources, "Outputs": {"Arn": {"Value": {"Ref": "Store"}},
                                                "Cas": {"Value": {"Fn::GetAtt": ["Store", "NumberOfCaCertificates"]}}}}


def test_trust_store__bundle_and_crl_in_s3__described_and_phantom_free(emulator, stacks, bucket):
    deployed = stacks.create(store(bucket, name=stacks.unique("ts")[:30], crl="mtls/crl.pem"))
    elbv2 = emulator.client("elbv2")
    (found,) = elbv2.describe_trust_stores(TrustStoreArns=[deployed.outputs["Arn"]])["TrustStores"]
    assert (found["Status"], found["NumberOfCaCertificates"], found["TotalRevokedEntries"]) == ("ACTIVE", 1, 1)
    assert deployed.outputs["Cas"] == "1"
    revocations = elbv2.describe_trust_store_revocations(TrustStoreArn=found["TrustStoreArn"])["TrustStoreRevocations"]
    assert [r["NumberOfRevokedEntries"] for r in revocations] == [1]
    stacks.delete(deployed)
    with pytest.raises(ClientError, match="TrustStoreNotFound"):
        elbv2.describe_trust_stores(TrustStoreArns=[found["TrustStoreArn"]])


@pytest.mark.parametrize("key,crl,error", [
    ("mtls/missing.pem", None, "CA certificates bundle s3://.*/mtls/missing.pem does not exist"),  # CaCertificatesBundleNotFound
    ("mtls/leaf.pem", None, "holds a certificate that is not a CA"),  # InvalidCaCertificatesBundle
    ("mtls/crl.pem", None, "holds no PEM certificate"),  # InvalidCaCertificatesBundle
    ("mtls/ca.pem", "mtls/missing-crl.pem", "revocation file s3://.*/mtls/missing-crl.pem does not exist"),  # RevocationContentNotFound
    ("mtls/ca.pem", "mtls/ca.pem", "not a certificate revocation list"),  # InvalidRevocationContent
])
def test_trust_store__bundle_or_crl_missing_or_not_what_elb_reads__create_fails(emulator, stacks, bucket, key, crl, error):
    name = stacks.unique("ts")[:30]
    deployed = stacks.create(store(bucket, key=key, name=name, crl=crl), name=name, expect="ROLLBACK_COMPLETE")
    import re

    assert any(re.search(error, r) for r in stacks.failure_reasons(deployed.stack_id)), stacks.failure_reasons(deployed.stack_id)


def test_trust_store__api__name_rules_and_duplicates_refused(emulator, bucket):
    elbv2 = emulator.client("elbv2")
    for bad in ("-starts-with-hyphen", "x" * 33, "under_score"):
        with pytest.raises(ClientError, match="ValidationError"):
            elbv2.create_trust_store(Name=bad, CaCertificatesBundleS3Bucket=bucket, CaCertificatesBundleS3Key="mtls/ca.pem")
    made = elbv2.create_trust_store(Name=f"ts-{bucket[-8:]}", CaCertificatesBundleS3Bucket=bucket,
                                    CaCertificatesBundleS3Key="mtls/ca.pem")["TrustStores"][0]
    with pytest.raises(ClientError, match="DuplicateTrustStoreName"):
        elbv2.create_trust_store(Name=made["Name"], CaCertificatesBundleS3Bucket=bucket, CaCertificatesBundleS3Key="mtls/ca.pem")
    elbv2.delete_trust_store(TrustStoreArn=made["TrustStoreArn"])


def _listener_template(bucket: str, name: str, verify_with: object) -> dict:
    from .parts import network

    template = {"Resources": network("10.61")}
    template["Resources"].update({
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "Type": "application"}},
        "Tg": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "Port": 8080, "Protocol": "HTTPS", "TargetType": "ip"}},
        "Store": store(bucket, name=name)["Resources"]["Store"],
        "Cert": {"Type": "AWS::CertificateManager::Certificate", "Properties": {
            "DomainName": "pay.example.com", "ValidationMethod": "DNS"}},
        "Https": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 443, "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": {"Ref": "Cert"}}],
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Tg"}}],
            "MutualAuthentication": {"Mode": "verify", "TrustStoreArn": verify_with,
                                     "IgnoreClientCertificateExpiry": False}}},
    })
    template["Outputs"] = {"Listener": {"Value": {"Ref": "Https"}}, "Store": {"Value": {"Ref": "Store"}}}
    return template


def test_listener__verify_mode__kept_and_its_trust_store_cannot_be_deleted(emulator, stacks, bucket):
    name = stacks.unique("ts")[:30]
    deployed = stacks.create(_listener_template(bucket, name, {"Ref": "Store"}))
    elbv2 = emulator.client("elbv2")
    (listener,) = elbv2.describe_listeners(ListenerArns=[deployed.outputs["Listener"]])["Listeners"]
    assert listener["MutualAuthentication"]["Mode"] == "verify"
    assert listener["MutualAuthentication"]["TrustStoreArn"] == deployed.outputs["Store"]
    with pytest.raises(ClientError, match="TrustStoreInUse"):
        elbv2.delete_trust_store(TrustStoreArn=deployed.outputs["Store"])
    stacks.delete(deployed)


def test_listener__verify_mode_with_a_trust_store_that_does_not_exist__create_fails(emulator, stacks, bucket):
    ghost = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ghost/0123456789abcdef"
    name = stacks.unique("ts")[:30]
    deployed = stacks.create(_listener_template(bucket, name, ghost), name=name, expect="ROLLBACK_COMPLETE")
    assert any("trust store does not exist" in r for r in stacks.failure_reasons(deployed.stack_id))  # TrustStoreNotFound
