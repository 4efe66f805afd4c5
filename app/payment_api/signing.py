"""Every answer is signed with Ed25519, so any client can check it with the public key alone.

Header (one per answer)::

    X-Payment-Signature: v1 kid=<key id> sig=<signature>[, v1 kid=<key id> sig=<signature>]

* the signed message is ``b"payment-api-v1\\n" + <status code, ASCII> + b"\\n" + <the exact body bytes>``,
  so neither the body nor the status can be changed, nor one answer's signature moved to another status;
* ``sig`` is the Ed25519 signature (RFC 8032), unpadded base64url;
* ``kid`` names the key: the first 16 hex digits of SHA-256 of the raw 32-byte public key;
* during a key rotation's overlap window an answer carries two entries, one per key (the new one first),
  so a client that knows either public key verifies it.

The private key never leaves the task: it is derived from PAYMENT_SIGNING_KEY, a random secret that
nobody sees (Ed25519 private key = SHA-256 of ``payment-api-ed25519-v1`` and the secret: 32 uniformly
random bytes, RFC 8032's private key). PAYMENT_SIGNING_KEY_PREVIOUS, set during a rotation, signs
beside it until the window closes. The public keys are the service's ``GET /signing-keys`` and are
published in docs/payment-service.md (how to rotate: there).

A client verifies with :func:`verify` (this module needs only ``cryptography``; ``python -m
payment_api.signing verify`` is the same from a shell).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "X-Payment-Signature"
VERSION = "v1"
CONTEXT = b"payment-api-v1\n"
_DERIVE = b"payment-api-ed25519-v1\n"
PEM_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----"


class SigningKeyError(Exception):
    """The stored signing key cannot be read; the message says what to check."""


def load_stored_key(secret_arn: str, region: str = "") -> str:
    """The signing key held by the Secrets Manager secret ``secret_arn`` (its AWSCURRENT version), read with the
    task role's credentials; boto3 honours AWS_ENDPOINT_URL (the emulator). Only the task role may read it."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        # A session of its own: boto3's default session keeps the credentials it resolved first (read once, at start).
        client = boto3.session.Session().client("secretsmanager", region_name=region or None)
        value = client.get_secret_value(SecretId=secret_arn).get("SecretString") or ""
    except (BotoCoreError, ClientError) as err:
        raise SigningKeyError(f"cannot read the signing key from {secret_arn}: {err}") from err
    if not value:
        raise SigningKeyError(f"{secret_arn} holds no SecretString: put the key (or let the stack generate it)")
    return str(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def message(status: int, body: bytes) -> bytes:
    return CONTEXT + str(int(status)).encode() + b"\n" + body


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    public_raw: bytes

    @classmethod
    def from_secret(cls, secret: str) -> SigningKey:
        """From a secret the key is derived from (what Secrets Manager generates), or from an Ed25519 private key
        in PKCS#8 PEM (an existing key imported into the secret: docs/payment-service.md)."""
        if not secret:
            raise ValueError("the signing secret is empty")
        if secret.lstrip().startswith(PEM_PRIVATE_KEY):
            loaded = serialization.load_pem_private_key(secret.strip().encode(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError("the signing key's PEM is not an Ed25519 private key")
            private = loaded
        else:
            private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(_DERIVE + secret.encode()).digest())
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(key_id(raw), private, raw)

    @property
    def public_b64(self) -> str:
        return _b64(self.public_raw)


class Signer:
    """The task's signing keys: the current one, and the previous one during a rotation's overlap."""

    def __init__(self, current: str, previous: str = "") -> None:
        self.keys = [SigningKey.from_secret(current)] + ([SigningKey.from_secret(previous)] if previous else [])

    def sign(self, status: int, body: bytes) -> str:
        signed = message(status, body)
        return ", ".join(f"{VERSION} kid={k.kid} sig={_b64(k.private.sign(signed))}" for k in self.keys)

    def public_keys(self) -> dict[str, str]:
        """kid -> unpadded base64url of the raw 32-byte Ed25519 public key (what clients are given)."""
        return {k.kid: k.public_b64 for k in self.keys}


def parse(header: str) -> list[tuple[str, bytes]]:
    """(kid, signature) of every well-formed entry; malformed entries are skipped (they verify nothing)."""
    entries = []
    for part in (header or "").split(","):
        fields = part.split()
        if len(fields) != 3 or fields[0] != VERSION:
            continue
        values = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        try:
            entries.append((values["kid"], _unb64(values["sig"])))
        except (KeyError, ValueError):
            continue
    return entries


@lru_cache(maxsize=64)
def _public_key(encoded: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_unb64(encoded))


def verify(public_keys: Mapping[str, str], status: int, body: bytes, header: str) -> bool:
    """True when some entry of ``header`` is a valid signature of (status, body) by one of ``public_keys``
    (kid -> base64url raw public key, as GET /signing-keys and the docs give them)."""
    signed = message(status, body)
    for kid, signature in parse(header):
        encoded = public_keys.get(kid)
        if not encoded:
            continue
        try:
            _public_key(encoded).verify(signature, signed)
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def main(argv: list[str] | None = None) -> int:
    """``python -m payment_api.signing verify --public-key KID=KEY --status 201 --body-file B --header H``
    (exit 0: verified) and ``public-key`` (the public key of PAYMENT_SIGNING_KEY, for publishing)."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(prog="python -m payment_api.signing")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("verify", help="verify an answer with the public key alone")
    check.add_argument("--public-key", action="append", required=True, metavar="KID=KEY")
    check.add_argument("--status", type=int, required=True)
    check.add_argument("--body-file", required=True)
    check.add_argument("--header", required=True, help="the X-Payment-Signature value")
    sub.add_parser("public-key", help="print kid=key of PAYMENT_SIGNING_KEY (and _PREVIOUS) from the environment")
    args = parser.parse_args(argv)
    if args.command == "public-key":
        if not os.environ.get("PAYMENT_SIGNING_KEY"):
            print("PAYMENT_SIGNING_KEY is not set", file=sys.stderr)
            return 2
        signer = Signer(os.environ["PAYMENT_SIGNING_KEY"], os.environ.get("PAYMENT_SIGNING_KEY_PREVIOUS", ""))
        for kid, key in signer.public_keys().items():
            print(f"{kid}={key}")
        return 0
    keys = dict(k.split("=", 1) for k in args.public_key if "=" in k)
    with open(args.body_file, "rb") as body:
        ok = verify(keys, args.status, body.read(), args.header)
    print("verified" if ok else "NOT verified")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
