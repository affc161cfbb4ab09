"""Making untrusted text (scanned codes, imported titles) safe to keep and to show."""

from __future__ import annotations

import unicodedata

MAX_CODE_LENGTH = 256
"""Longer scans are refused before any parsing: no card or label is this long."""


def printable(text: str, limit: int = 80) -> str:
    """``text`` with control and escape characters made visible and length capped.

    The result can be shown in a terminal: ESC, other C0/C1 controls, bidi overrides
    and the like become ``\\xNN``/``\\uNNNN`` escapes, so no scanned code can move the
    cursor, change colours or hide characters.
    """
    if text.isprintable():  # none of the characters below: the common case, 20 times faster
        return text if len(text) <= limit else text[: limit - 1] + "…"
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    result = "".join(out)
    return result if len(result) <= limit else result[: limit - 1] + "…"


def clean_code(raw: str) -> str | None:
    """The scanned code stripped of surrounding blanks, or ``None`` if it is unusable.

    A usable code is at most :data:`MAX_CODE_LENGTH` characters of printable ASCII;
    cards and accession labels never hold anything else, so anything else is
    damaged or hostile and is refused without further parsing.
    """
    code = raw.strip()
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    if not all(" " < char <= "~" for char in code):
        return None
    return code
