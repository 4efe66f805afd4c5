"""The clients' CA bundle and revocation list of the ALBs' trust store: what a valid one is, and
putting it into S3 (the ``!upload_trust_store`` hook and the nested parent's ``!package_nested``).

ELB reads both from S3 when it creates or modifies the trust store or adds a revocation: a bundle
of PEM CA certificates, a CRL in PEM (AWS, "Mutual authentication with TLS in Application Load
Balancer": CA certificates bundle, certificate revocation lists,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from botocore.exceptions import ClientError
from cryptography import x509

PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class TrustStoreError(ValueError):
    """A CA bundle or revocation list ELB would refuse; the message says what is wrong."""


def ca_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle, each a CA (basic constraints CA:TRUE); else TrustStoreError."""
    blocks = PEM_CERT.findall(data)
    if not blocks:
        raise TrustStoreError("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    certs = []
    for i, block in enumerate(blocks, start=1):
        try:
            cert = x509.load_pem_x509_certificate(block)
        except ValueError as err:
            raise TrustStoreError(f"certificate {i} of the bundle cannot be read: {err}") from None
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise TrustStoreError(f"certificate {i} ({cert.subject.rfc4514_string()}) is not a CA certificate")
        certs.append(cert)
    return certs


def check(kind: str, data: bytes) -> None:
    if kind == "CA bundle":
        ca_certificates(data)
        return
    try:
        x509.load_pem_x509_crl(data)
    except ValueError as err:
        raise TrustStoreError(f"is not a PEM certificate revocation list: {err}") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def same_object(s3: Any, bucket: str, key: str, data: bytes) -> bool:
    """True when ``key`` already holds exactly ``data`` (by the sha256 we store as metadata)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return head.get("Metadata", {}).get("sha256") == sha256(data)


def put(s3: Any, bucket: str, key: str, data: bytes, kms_key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/x-pem-file",
                  ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key, ChecksumAlgorithm="SHA256",
                  Metadata={"sha256": sha256(data)})


def missing_message(kind: str, bucket: str, key: str) -> str:
    return (f"the trust store's {kind} s3://{bucket}/{key} is missing: both ALBs refuse every client without it. "
            f"Upload the PEM {kind} of the CAs whose clients may connect (aws s3 cp <file> s3://{bucket}/{key} "
            f"--sse aws:kms), or name a file for it in the config (client_ca_bundle_file / client_crl_file)")
