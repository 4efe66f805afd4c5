"""An existing Ed25519 key can be imported into the signing key's secret (issue 28): a PKCS#8 PEM value is
used as the key itself; a generated value is the secret the key is derived from; anything else is refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from payment_api import signing


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_imported_pem__signs_with_that_very_key():
    existing = Ed25519PrivateKey.generate()
    public_raw = existing.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signer = signing.Signer(pem(existing))

    assert signer.public_keys() == {signing.key_id(public_raw): signing.SigningKey.from_secret(pem(existing)).public_b64}
    header = signer.sign(201, b"{}")
    assert signing.verify(signer.public_keys(), 201, b"{}", header)


def test_generated_secret__derived_key_as_before():
    assert signing.Signer("a" * 64).public_keys() == signing.Signer("a" * 64).public_keys()
    assert signing.Signer("a" * 64).public_keys() != signing.Signer("b" * 64).public_keys()


def test_imported_pem__not_ed25519__refused():
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        signing.Signer(pem(generate_private_key(SECP256R1())))
