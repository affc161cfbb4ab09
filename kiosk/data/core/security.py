"""Librarian PINs: stored as slow, salted scrypt hashes, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

# About 50 ms and 16 MiB per check: slow enough that a stolen database does not give
# up a 6-digit PIN in seconds, fast enough that the librarian does not wait.
_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    """A storable hash of ``pin``: ``scrypt$N$r$p$salt$hash``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(
        ["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)]
    )


def check_pin(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` matches ``stored`` (a hash from :func:`hash_pin`)."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
