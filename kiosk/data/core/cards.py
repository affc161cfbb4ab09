"""The library card's QR payload: ``PREFIX.NUMBER.SERIAL.MAC``.

``MAC`` is the first 80 bits of HMAC-SHA256 over ``PREFIX.NUMBER.SERIAL`` with the
library's secret, in base32. Everything in the payload is in QR's alphanumeric
alphabet (digits, capitals, ``.`` and ``-``), so a card's code is a small, robust
version-2 QR code. A code with a wrong MAC is a forgery; the serial says which of a
patron's cards this is, so a reissued card makes every older one invalid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from kiosk.data.core.errors import CardRefused

MAC_BYTES = 10
MAC_CHARS = 16  # base32 of 10 bytes, no padding
_CARD = re.compile(
    r"(?P<prefix>[A-Z0-9]{1,8})\.(?P<number>[A-Z0-9-]{1,20})\.(?P<serial>[0-9]{1,6})"
    r"\.(?P<mac>[A-Z2-7]{16})"
)
_NUMBER = re.compile(r"[A-Z0-9-]{1,20}")


@dataclass(frozen=True)
class CardCode:
    """What a card's code says: whose card it is and which of their cards."""

    prefix: str
    number: str
    serial: int


def new_secret() -> str:
    """A fresh random secret for a new library (hex, 256 bits)."""
    return secrets.token_hex(32)


def _mac(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode().rstrip("=")


def encode(prefix: str, number: str, serial: int, secret: str) -> str:
    """The payload printed on the card of patron ``number`` with this ``serial``.

    Raises:
        ValueError: the prefix or patron number cannot go on a card.
    """
    number = number.upper()
    if not re.fullmatch(r"[A-Z0-9]{1,8}", prefix) or not _NUMBER.fullmatch(number):
        raise ValueError(f"cannot make a card for {prefix!r}/{number!r}")
    if not 0 <= serial <= 999_999:
        raise ValueError(f"card serial out of range: {serial}")
    body = f"{prefix}.{number}.{serial}"
    return f"{body}.{_mac(secret, body)}"


def is_card_code(code: str, prefix: str) -> bool:
    """Whether ``code`` claims to be one of this library's cards (before any check)."""
    return code.upper().startswith(prefix + ".")


def verify(code: str, prefix: str, secret: str) -> CardCode:
    """Check a scanned card code and say whose card it is.

    The MAC is compared in constant time. Whether the serial is current, the card
    expired or the patron blocked is for the caller to check against the database.

    Raises:
        CardRefused: ``card.damaged`` when the code is not a card at all (truncated,
            wrong shape), ``card.forged`` when its MAC is wrong or its prefix belongs
            to another library.
    """
    match = _CARD.fullmatch(code.upper())
    if match is None:
        raise CardRefused("card.damaged")
    body = f"{match['prefix']}.{match['number']}.{match['serial']}"
    expected = _mac(secret, body)
    if not hmac.compare_digest(expected.encode(), match["mac"].encode()):
        raise CardRefused("card.forged")
    if match["prefix"] != prefix:
        raise CardRefused("card.forged")
    return CardCode(match["prefix"], match["number"], int(match["serial"]))
