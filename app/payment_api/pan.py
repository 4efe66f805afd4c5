"""Is this string a primary account number? PCI DSS 3.4: a PAN must never reach storage or logs.

A card token that looks like a card number (13-19 digits, spaces or dashes allowed, passing the
Luhn check) is refused before anything stores or logs it.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def looks_like_pan(value: str) -> bool:
    digits = _SEPARATORS.sub("", value)
    return digits.isascii() and digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits)
