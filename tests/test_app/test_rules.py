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
    (1142, retry.Action.RECONNECT_AND_RETRY), (2006, retry.Action.RECONNECT_AND_RETRY),
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


def test_signing__body__verifiable_and_tamper_evident():
    sig = signing.sign("k", b'{"a":1}')
    assert sig.startswith("sha256=") and signing.verify("k", b'{"a":1}', sig)
    assert not signing.verify("k", b'{"a":2}', sig) and not signing.verify("other", b'{"a":1}', sig)
