"""Every answer is signed: HMAC-SHA256 of the exact response body bytes with PAYMENT_SIGNING_KEY.

A client (or the rehearsal's counter) recomputes it over the bytes it received; a proxy that
changed the body, or a task without the key, cannot produce a matching header.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Payment-Signature"
PREFIX = "sha256="


def sign(key: str, body: bytes) -> str:
    return PREFIX + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify(key: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(key, body), signature or "")
