"""!upload_trust_store: the clients' CA bundle (and CRL) put where the ALBs' trust store reads them, checked
first; a launch without the bundle (no file, nothing in the bucket) refused before the alb stack is touched."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError

from bluegreen.rehearsal.pki import CertificateAuthority
from bluegreen_hooks.upload_trust_store import UploadTrustStore

ROOT = Path(__file__).resolve().parents[2]
DEV_BUNDLE = "config/dev/mtls/client-ca-bundle.pem"


def hook(s3, root, **argument):
    return UploadTrustStore(argument, s3_client=s3, project_root=root)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "config/dev/mtls").mkdir(parents=True)
    shutil.copy(ROOT / DEV_BUNDLE, tmp_path / DEV_BUNDLE)
    return tmp_path


def test_file__uploaded_sse_kms_once(s3, kms_bucket, data_key_arn, project):
    done = hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem", ca_bundle_file=DEV_BUNDLE).run()
    again = hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem", ca_bundle_file=DEV_BUNDLE).run()
    head = s3.head_object(Bucket=kms_bucket, Key="mtls/ca.pem")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", data_key_arn)
    assert s3.get_object(Bucket=kms_bucket, Key="mtls/ca.pem")["Body"].read() == (ROOT / DEV_BUNDLE).read_bytes()
    assert done[0].startswith("uploaded") and "already holds" in again[0]


def test_no_file_and_nothing_in_the_bucket__refused_saying_what_to_upload(s3, kms_bucket, project):
    with pytest.raises(InvalidHookArgumentValueError, match=r"CA bundle s3://.*/mtls/ca.pem is missing: .*aws s3 cp"):
        hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem", ca_bundle_file="").run()


def test_no_file_but_in_the_bucket__accepted(s3, kms_bucket, project):
    s3.put_object(Bucket=kms_bucket, Key="mtls/ca.pem", Body=(ROOT / DEV_BUNDLE).read_bytes())
    assert "is there" in hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem").run()[0]


def test_file_not_a_ca_bundle__refused_and_nothing_uploaded(s3, kms_bucket, project):
    leaf = CertificateAuthority(project / "pki").client("m-1")
    with pytest.raises(InvalidHookArgumentValueError, match="is not a CA certificate"):
        hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem", ca_bundle_file=str(leaf.cert)).run()
    assert "Contents" not in s3.list_objects_v2(Bucket=kms_bucket)


def test_crl__checked_and_uploaded_beside_the_bundle(s3, kms_bucket, project):
    ca = CertificateAuthority(project / "pki")
    now = datetime.datetime.now(datetime.UTC)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.name).last_update(now)
           .next_update(now + datetime.timedelta(days=1)).sign(ca.key, hashes.SHA256()))
    (project / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    (project / "bad-crl.pem").write_bytes(b"not a crl")
    hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem", ca_bundle_file=DEV_BUNDLE,
         crl_key="mtls/crl.pem", crl_file="crl.pem").run()
    assert s3.head_object(Bucket=kms_bucket, Key="mtls/crl.pem")["ContentLength"] > 0
    with pytest.raises(InvalidHookArgumentValueError, match="not a PEM certificate revocation list"):
        hook(s3, project, bucket=kms_bucket, ca_bundle_key="mtls/ca.pem", ca_bundle_file=DEV_BUNDLE,
             crl_key="mtls/crl2.pem", crl_file="bad-crl.pem").run()


@pytest.mark.parametrize("argument", [None, "mtls/ca.pem", {"bucket": "b"}, {"bucket": "b", "ca_bundle_key": "k", "other": 1}])
def test_malformed_argument__refused(s3, project, argument):
    with pytest.raises(InvalidHookArgumentTypeError):
        UploadTrustStore(argument, s3_client=s3, project_root=project).run()
