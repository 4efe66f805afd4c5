"""The rehearsal's certificates: a CA made for the run, HAProxy's server certificate, one client
certificate per merchant (what an acquirer or terminal presents to the ALBs' mutual TLS).

Nothing here outlives the run: the keys are made in memory and written, mode 0600, into the run's
temp dir. ECDSA P-256 throughout (the ALB's mutual TLS accepts ECDSA secp256r1 client keys, and
its handshakes are the cheaper for it).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORGANISATION = "payments rehearsal"
MERCHANT_UNIT = "merchants"


@dataclass(frozen=True)
class Issued:
    """A certificate and its key on disk, and the subject as the load balancer passes it on (RFC 2253)."""

    cert: Path
    key: Path
    subject: str
    certificate: x509.Certificate

    @property
    def pair(self) -> tuple[str, str]:
        return str(self.cert), str(self.key)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))


def merchant_subject(merchant_id: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, MERCHANT_UNIT),
                      x509.NameAttribute(NameOID.COMMON_NAME, merchant_id)])


class CertificateAuthority:
    """A CA of its own: ``issue`` client and server certificates, ``ca_file`` the bundle that trusts them."""

    def __init__(self, base: Path, name: str = "rehearsal client CA", *, days: int = 2) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                               x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = _now()
        self.certificate = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))
        self.ca_file = base / f"{name.replace(' ', '-')}.pem"
        self.ca_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, file_stem: str, subject: x509.Name, *, client: bool = True, hosts: tuple[str, ...] = (),
              not_before: datetime.datetime | None = None, not_after: datetime.datetime | None = None) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or now - datetime.timedelta(hours=1))
                   .not_valid_after(not_after or now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                         else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if hosts:
            names = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h) for h in hosts]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        paths = Issued(self.base / f"{file_stem}.crt", self.base / f"{file_stem}.key", subject.rfc4514_string(), cert)
        paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(paths.key, key)
        return paths

    def client(self, merchant_id: str, *, not_before: datetime.datetime | None = None,
               not_after: datetime.datetime | None = None) -> Issued:
        return self.issue(f"client-{merchant_id}", merchant_subject(merchant_id), not_before=not_before, not_after=not_after)

    def server(self, host: str = "127.0.0.1") -> Issued:
        """HAProxy's certificate with its key appended (the one file its ``crt`` takes)."""
        issued = self.issue("server", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]), client=False,
                            hosts=(host, "localhost"))
        combined = self.base / "server-with-key.pem"
        fd = os.open(combined, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(issued.cert.read_bytes() + issued.key.read_bytes())
        return Issued(combined, issued.key, issued.subject, issued.certificate)
