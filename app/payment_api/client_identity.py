"""Who is calling: the client certificate the load balancer verified, and which merchants it may act for.

Both ALBs' HTTPS listeners run mutual TLS in verify mode (templates/listeners.py): a client without a
certificate from a CA of the trust store, or with an expired or revoked one, never completes the TLS
handshake. The ALB then passes the verified certificate to the target in these headers (AWS,
"Mutual authentication with TLS in Application Load Balancer", HTTP headers section,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html):

    X-Amzn-Mtls-Clientcert-Serial-Number  hexadecimal serial number of the leaf certificate
    X-Amzn-Mtls-Clientcert-Issuer         RFC 2253 string of the issuer's distinguished name
    X-Amzn-Mtls-Clientcert-Subject        RFC 2253 string of the subject's distinguished name
    X-Amzn-Mtls-Clientcert-Validity       NotBefore=<ISO 8601>;NotAfter=<ISO 8601>
    X-Amzn-Mtls-Clientcert-Leaf           the leaf certificate, URL-encoded PEM (+=/ left as they are)

Only the load balancer reaches a task (the app security group admits the ALB security group alone,
templates/network.py; the rehearsal's HAProxy removes any such header a client sent and sets its
own). Here every header must be present exactly once and well formed, and they must agree with each
other (the leaf's serial number, subject, issuer and validity are the headers'), or the request is
refused: a header a proxy mangled or a caller made up is never taken for an identity.

The subject is the identity. ``client_merchants`` (migration 0002) maps a subject to the merchant
ids it may create and read payments for; ``payment-api clients`` onboards and revokes
(docs/payment-service.md).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from sqlalchemy import Engine, select

from payment_api.schema import SUBJECT_MAX, client_merchants

PREFIX = "X-Amzn-Mtls-Clientcert"
SERIAL = f"{PREFIX}-Serial-Number"
ISSUER = f"{PREFIX}-Issuer"
SUBJECT = f"{PREFIX}-Subject"
VALIDITY = f"{PREFIX}-Validity"
LEAF = f"{PREFIX}-Leaf"
REQUIRED = (SERIAL, ISSUER, SUBJECT, VALIDITY, LEAF)

_SERIAL = re.compile(r"^[0-9A-Fa-f]{1,64}$")
_INSTANT = r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"
_VALIDITY = re.compile(rf"^NotBefore={_INSTANT};NotAfter={_INSTANT}$")
_PEM = re.compile(r"^-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----\s*$")
LEAF_MAX = 16384


class IdentityError(ValueError):
    """The request carries no usable client identity; the message says which header and why (never a value)."""


@dataclass(frozen=True)
class ClientIdentity:
    subject: str
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime


def _one(headers: Any, name: str) -> str:  # Starlette's Headers or any mapping
    getlist = getattr(headers, "getlist", None)  # Starlette's Headers: every occurrence, any letter case
    values = getlist(name) if getlist else ([headers[name]] if name in headers else [])
    if not values:
        raise IdentityError(f"{name} is missing: requests are accepted only through the load balancer's mutual TLS")
    if len(values) > 1:
        raise IdentityError(f"{name} appears {len(values)} times")
    return values[0]


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _dn(name: str, text: str) -> x509.Name:
    if not text or len(text) > SUBJECT_MAX or not text.isprintable():
        raise IdentityError(f"{name} must be a distinguished name of 1-{SUBJECT_MAX} printable characters")
    try:
        return x509.Name.from_rfc4514_string(text)
    except ValueError:
        raise IdentityError(f"{name} is not an RFC 2253 distinguished name") from None


def _same_name(a: x509.Name, b: x509.Name) -> bool:
    """Equal attribute by attribute (OID and value): the string forms of two encoders may differ in escaping."""
    return sorted((attr.oid.dotted_string, attr.value) for attr in a) == sorted((attr.oid.dotted_string, attr.value) for attr in b)


def leaf_certificate(header: str) -> x509.Certificate:
    if len(header) > LEAF_MAX:
        raise IdentityError(f"{LEAF} is longer than {LEAF_MAX} characters")
    match = _PEM.match(unquote(header))
    if not match:
        raise IdentityError(f"{LEAF} is not a URL-encoded PEM certificate")
    import base64

    try:
        # Re-wrapped from the base64 body: a PEM on one line (as a proxy may send it) is as valid as 64-column lines.
        return x509.load_der_x509_certificate(base64.b64decode("".join(match.group(1).split()), validate=True))
    except ValueError:
        raise IdentityError(f"{LEAF} does not hold a readable X.509 certificate") from None


def from_headers(headers: Mapping[str, str], now: datetime | None = None) -> ClientIdentity:
    """The verified client, or IdentityError. Pure: reads the headers and the clock, nothing else."""
    identity = _identity(*(_one(headers, name) for name in REQUIRED))
    # The load balancer refused an expired certificate at the handshake; a long-lived connection or a
    # replayed header must not outlive it here either.
    if not identity.not_before <= (now or datetime.now(UTC)) <= identity.not_after:
        raise IdentityError("the client certificate is not valid at this time")
    return identity


@lru_cache(maxsize=4096)
def _identity(serial_header: str, issuer_text: str, subject_text: str, validity_header: str, leaf_header: str) -> ClientIdentity:
    """The five headers' identity, checked (a client presents the same certificate on every request: parsing
    it once per task, not per request, keeps the ~1 ms of X.509 work off the payment path)."""
    serial_text = serial_header.replace(":", "")
    if not _SERIAL.match(serial_text):
        raise IdentityError(f"{SERIAL} must be a hexadecimal serial number")
    subject, issuer = _dn(SUBJECT, subject_text), _dn(ISSUER, issuer_text)
    validity = _VALIDITY.match(validity_header)
    if not validity:
        raise IdentityError(f"{VALIDITY} must read NotBefore=<ISO 8601 UTC>;NotAfter=<ISO 8601 UTC>")
    try:
        not_before, not_after = _instant(validity.group(1)), _instant(validity.group(2))
    except ValueError:
        raise IdentityError(f"{VALIDITY} holds a date that does not exist") from None
    leaf = leaf_certificate(leaf_header)
    serial = int(serial_text, 16)
    if leaf.serial_number != serial or not _same_name(leaf.subject, subject) or not _same_name(leaf.issuer, issuer):
        raise IdentityError(f"the {PREFIX}-* headers disagree with the certificate in {LEAF}")
    if (leaf.not_valid_before_utc, leaf.not_valid_after_utc) != (not_before, not_after):
        raise IdentityError(f"{VALIDITY} disagrees with the certificate in {LEAF}")
    return ClientIdentity(subject_text, issuer_text, serial, not_before, not_after)


class MerchantDirectory:
    """subject -> the merchant ids it may act for, from ``client_merchants``, cached for ``ttl`` seconds.

    A revocation in the table takes effect within ``ttl`` (a certificate's revocation in the trust
    store's CRL stops the handshake itself). A failed read raises; the caller answers 503.
    """

    def __init__(self, engine: Engine, *, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.ttl, self.clock = engine, ttl, clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def merchants(self, subject: str) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(subject)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        with self.engine.connect() as conn:
            rows = conn.execute(select(client_merchants.c.merchant_id)
                                .where(client_merchants.c.client_subject == subject)).scalars().all()
        found = frozenset(rows)
        with self._lock:
            self._cache[subject] = (now, found)
        return found


def alb_headers(cert: x509.Certificate) -> dict[str, str]:
    """The headers the ALB sets for a verified ``cert``: for whatever stands in for it (the benchmark,
    the tests). Hex serial, RFC 2253 issuer and subject, ISO 8601 validity, the leaf as URL-encoded PEM
    with +=/ left as they are."""
    from urllib.parse import quote

    from cryptography.hazmat.primitives import serialization

    iso = "%Y-%m-%dT%H:%M:%SZ"
    return {
        SERIAL: f"{cert.serial_number:X}",
        ISSUER: cert.issuer.rfc4514_string(),
        SUBJECT: cert.subject.rfc4514_string(),
        VALIDITY: f"NotBefore={cert.not_valid_before_utc.strftime(iso)};NotAfter={cert.not_valid_after_utc.strftime(iso)}",
        LEAF: quote(cert.public_bytes(serialization.Encoding.PEM).decode(), safe="+=/"),
    }


def self_signed_client(common_name: str, *, days: int = 1) -> x509.Certificate:
    """A throw-away client certificate (the benchmark's, which talks to the service without a load balancer)."""
    import datetime as dt

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "payment-api"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(dt.UTC).replace(microsecond=0)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))


def grant(conn, subject: str, merchant_ids: Sequence[str]) -> int:  # a SQLAlchemy Connection
    """Onboard: ``subject`` may act for ``merchant_ids`` (existing grants are kept). Returns rows added."""
    _dn(SUBJECT, subject)
    from sqlalchemy.dialects.mysql import insert as mysql_insert

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{"client_subject": subject, "merchant_id": m, "created_at": now} for m in merchant_ids]
    if not rows:
        return 0
    return conn.execute(mysql_insert(client_merchants).prefix_with("IGNORE"), rows).rowcount


def grants(conn, subject: str | None = None) -> list[tuple[str, str]]:
    """(subject, merchant id) of every grant, or of one subject's."""
    query = select(client_merchants.c.client_subject, client_merchants.c.merchant_id).order_by(
        client_merchants.c.client_subject, client_merchants.c.merchant_id)
    if subject:
        query = query.where(client_merchants.c.client_subject == subject)
    return [(s, m) for s, m in conn.execute(query)]


def revoke(conn, subject: str, merchant_ids: Sequence[str] = ()) -> int:
    """Offboard: remove ``subject``'s grants (all of them when no merchant is named). Returns rows removed."""
    query = client_merchants.delete().where(client_merchants.c.client_subject == subject)
    if merchant_ids:
        query = query.where(client_merchants.c.merchant_id.in_(list(merchant_ids)))
    return conn.execute(query).rowcount
