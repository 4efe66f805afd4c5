"""The pure pieces: PAN detection, error classification and backoff, answer signing."""

from __future__ import annotations

import random

import pymysql
import pytest

from payment_api import pan, retry, signing


@pytest.mark.parametrize("value", ["4111111111111111", "5500 0000 0000 0004", "3400-0000-0000-009",
                                   "6011000000000004", "4222222222222", "6759649826438453"])
def test_looks_like_pan__card_numbers__true(value):
    assert pan.looks_like_pan(value)


@pytest.mark.parametrize("value", ["4111111111111112", "tok_4111111111111111", "411111111111", "41111111111111111111",
                                   "", "abcd", "４１１１１１１１１１１１１１１１"])
def test_looks_like_pan__not_card_numbers__false(value):
    assert not pan.looks_like_pan(value)


@pytest.mark.parametrize("code, action", [
    (1142, retry.Action.REFRESH_AND_RETRY), (2006, retry.Action.RECONNECT_AND_RETRY),
    (2013, retry.Action.RECONNECT_AND_RETRY), (1927, retry.Action.RECONNECT_AND_RETRY),
    (1290, retry.Action.RECONNECT_AND_RETRY), (1836, retry.Action.RECONNECT_AND_RETRY),
    (2003, retry.Action.RECONNECT_AND_RETRY), (1213, retry.Action.RETRY), (1205, retry.Action.RETRY),
    (1062, retry.Action.FAIL), (1064, retry.Action.FAIL), (None, retry.Action.FAIL),
])
def test_classify__mysql_code__action(code, action):
    assert retry.classify(code) is action


def test_mysql_code__driver_error__its_number():
    assert retry.mysql_code(pymysql.err.OperationalError(1142, "INSERT command denied")) == 1142
    assert retry.mysql_code(ValueError("x")) is None


def test_commit_is_ambiguous__lost_connection_only():
    assert retry.commit_is_ambiguous(2013) and retry.commit_is_ambiguous(1927)
    assert not retry.commit_is_ambiguous(1142)


def test_backoff__grows_to_the_cap_and_stops_at_the_budget():
    b = retry.Backoff(budget_seconds=10)
    rng = random.Random(1)
    delays = [b.delay(a, 0, rng) for a in range(8)]
    # Full jitter in [ceiling / 2, ceiling], the ceiling doubling from 50 ms up to the cap.
    assert all(0 < d <= b.cap_seconds for d in delays) and delays[0] <= 0.05 and delays[-1] >= b.cap_seconds / 2
    assert b.delay(3, 9.9, rng) <= 0.1 + 1e-9
    assert b.delay(3, 10.0, rng) is None


def test_signing__answer__verifies_with_the_public_key_alone_and_is_tamper_evident():
    signer = signing.Signer("k")
    header = signer.sign(201, b'{"a":1}')
    public = signer.public_keys()
    (kid,) = public
    assert header.startswith(f"v1 kid={kid} sig=") and len(kid) == 16
    assert signing.verify(public, 201, b'{"a":1}', header)
    assert not signing.verify(public, 201, b'{"a":2}', header)  # another body
    assert not signing.verify(public, 200, b'{"a":1}', header)  # another status
    assert not signing.verify(signing.Signer("other").public_keys(), 201, b'{"a":1}', header)  # another key
    assert not signing.verify({kid: signing.Signer("other").public_keys().popitem()[1]}, 201, b'{"a":1}', header)
    assert not signing.verify(public, 201, b'{"a":1}', "sha256=" + "0" * 64)  # the old HMAC format: nothing


def test_signing__rotation__both_keys_sign_during_the_overlap_then_only_the_new():
    old, new = signing.Signer("old-secret"), signing.Signer("new-secret")
    overlap = signing.Signer("new-secret", previous="old-secret")
    header = overlap.sign(200, b"{}")
    assert overlap.public_keys() == {**new.public_keys(), **old.public_keys()}
    # A client that still knows only the old public key, and one that already has only the new one: both verify.
    assert signing.verify(old.public_keys(), 200, b"{}", header) and signing.verify(new.public_keys(), 200, b"{}", header)
    after = new.sign(200, b"{}")
    assert signing.verify(new.public_keys(), 200, b"{}", after) and not signing.verify(old.public_keys(), 200, b"{}", after)


def test_signing__private_key__derived_from_the_secret_and_the_published_key_is_its_public_half():
    from cryptography.hazmat.primitives import serialization

    key = signing.SigningKey.from_secret("s")
    raw = key.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw == key.public_raw and len(raw) == 32 and signing.SigningKey.from_secret("s").kid == key.kid


def test_signing_cli__verify__exit_0_only_for_a_good_signature(tmp_path, capsys):
    signer = signing.Signer("cli")
    (tmp_path / "body").write_bytes(b'{"ok":true}')
    header = signer.sign(201, b'{"ok":true}')
    keys = [f"{k}={v}" for k, v in signer.public_keys().items()]
    args = ["verify", *sum((["--public-key", k] for k in keys), []), "--body-file", str(tmp_path / "body"), "--header", header]
    assert signing.main([*args, "--status", "201"]) == 0
    assert signing.main([*args, "--status", "500"]) == 1
