"""The text a QR code's maker meant: its bytes read in the charset it was written in.

A QR code holds bytes. The standard way to say which charset they are in is an ECI
designator in the symbol (zxing-cpp reports it, see :func:`split_eci`); without one,
the reader has to guess. zxing-cpp's own guess knows UTF-8, Shift_JIS and ISO-8859-1
only, and libzbar's reads GB18030 as Big5 (both measured): a card made by a Chinese QR
generator (GBK/GB2312/GB18030 bytes, no ECI) would come back garbled. So the bytes of
both engines come here, and:

1. with an ECI, each segment is decoded in the charset its designator names;
2. without one, :func:`guess` picks, among UTF-8, GB18030, Shift_JIS, Big5 and
   ISO-8859-1, the reading whose characters look most like real text: valid UTF-8
   wins outright (random bytes are almost never valid UTF-8); otherwise each
   candidate is scored by the share of its bytes that became ordinary characters
   (ASCII, the common hanzi and kanji of each standard's first level, kana, CJK
   punctuation, accented letters next to plain ones).

``charset-normalizer`` was measured for step 2 and left out: on short texts such as a
child's name in GB18030 it answered Big5 for 7 of 9 (this guess: 9 of 9), and a library
card's text is short. Bytes that fit no candidate come back as ISO-8859-1, which keeps
every byte; the kiosk's code check refuses such text (it takes printable ASCII only).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

ECI_CODECS: dict[int, str] = {
    0: "cp437", 1: "latin-1", 2: "cp437", 3: "latin-1",
    **{eci: f"iso8859-{eci - 2}" for eci in range(4, 13)},  # ISO-8859-2 .. ISO-8859-10
    13: "iso8859-11", 15: "iso8859-13", 16: "iso8859-14", 17: "iso8859-15", 18: "iso8859-16",
    20: "shift_jis", 21: "cp1250", 22: "cp1251", 23: "cp1252", 24: "cp1256",
    25: "utf-16-be", 26: "utf-8", 27: "ascii", 28: "big5", 29: "gb18030", 30: "euc-kr",
    31: "gbk", 32: "gb18030", 33: "utf-16-le", 34: "utf-32-be", 35: "utf-32-le",
    170: "ascii", 899: "latin-1",
}  # fmt: skip
"""ECI assignment number -> Python codec (AIM ECI; 29 is GB2312, read as its superset)."""

GUESSES = ("utf-8", "gb18030", "shift_jis", "big5", "latin-1")
"""The charsets :func:`guess` chooses between, in order of preference on a tie."""

_ECI = re.compile(rb"\\(\d{6})")


def split_eci(data: bytes) -> list[tuple[int | None, bytes]] | None:
    """The segments of ECI-escaped bytes: ``(eci or None, bytes)``; None if no ECI at all.

    ``data`` is a symbol's content in the AIM ECI protocol (what zxing-cpp gives with
    ``TextMode.HexECI`` after the symbology identifier ``]Q2``): ``\\NNNNNN`` switches
    charset, a doubled backslash is one backslash of data.
    """
    segments: list[tuple[int | None, bytes]] = []
    eci: int | None = None
    current = bytearray()
    index = 0
    seen = False
    while index < len(data):
        if data[index : index + 1] == b"\\":
            if data[index + 1 : index + 2] == b"\\":
                current += b"\\"
                index += 2
                continue
            match = _ECI.match(data, index)
            if match:
                if current:
                    segments.append((eci, bytes(current)))
                    current = bytearray()
                eci = int(match[1])
                seen = True
                index = match.end()
                continue
        current.append(data[index])
        index += 1
    if current:
        segments.append((eci, bytes(current)))
    return segments if seen else None


def decode_segments(segments: list[tuple[int | None, bytes]]) -> str:
    """The text of ECI segments, each in its declared charset (unknown ones guessed)."""
    parts = []
    for eci, chunk in segments:
        name = ECI_CODECS.get(eci) if eci is not None else None
        if name is None:
            parts.append(guess(chunk)[0])
            continue
        try:
            parts.append(chunk.decode(name))
        except UnicodeDecodeError:  # the symbol lies about its charset: guess instead
            parts.append(guess(chunk)[0])
    return "".join(parts)


def qr_text(data: bytes, eci_escaped: bool = False) -> str:
    """The text of a QR code's content: by its ECI if ``data`` carries one, else guessed."""
    if eci_escaped:
        segments = split_eci(data)
        if segments is not None:
            return decode_segments(segments)
        data = data.replace(b"\\\\", b"\\")
    return guess(data)[0]


def guess(data: bytes) -> tuple[str, str]:
    """``data`` read in the likeliest of :data:`GUESSES`, and that charset's name.

    Short GB18030 text is valid UTF-8 surprisingly often (鲁迅 is ``C2 B3 D1 B8``,
    which UTF-8 reads as "³Ѹ"), so UTF-8 is scored like the others and wins ties.
    """
    if data.isascii():
        return data.decode("ascii"), "ascii"
    best = (-1.0, data.decode("latin-1"), "latin-1")
    for name in GUESSES:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        score = _plausible(text, name) / len(data)
        if score > best[0]:
            best = (score, text, name)
    return best[1], best[2]


def _plausible(text: str, charset: str) -> int:
    """How many bytes of ``text`` (as encoded in ``charset``) are ordinary characters.

    Ordinary: printable ASCII, CJK punctuation and full-width forms, the common
    ideographs of the charset's standard, kana (Shift_JIS, UTF-8), an accented letter
    beside a plain one ("Müller", not "½èÊé" which is GB18030 read as ISO-8859-1),
    and in UTF-8 the letters of one other script (Cyrillic, Greek...; a chance reading
    mixes them).
    """
    total = 0
    others: dict[str, int] = {}
    for index, char in enumerate(text):
        if char.isascii():
            total += 1 if char.isprintable() or char in "\t\n\r" else 0
            continue
        size = len(codecs.encode(char, charset, "ignore")) or 1
        if _common(char, charset):
            total += size
        elif "\u00c0" <= char <= "\u00ff" and char not in "\u00d7\u00f7":
            near = text[index - 1 : index] + text[index + 1 : index + 2]
            total += size if any(c.isascii() and c.isalpha() for c in near) else 0
        elif charset == "utf-8" and unicodedata.category(char).startswith("L"):
            script = unicodedata.name(char, "?").split()[0]
            others[script] = others.get(script, 0) + size
    if len(others) == 1:
        total += sum(others.values())
    return total


_LEVEL_ONE = {"gb18030": [("gb2312", 0xB0A1, 0xD7FE)], "big5": [("big5", 0xA440, 0xC67E)],
              "shift_jis": [("shift_jis", 0x889F, 0x9872)]}  # fmt: skip
"""Each standard's most used ideographs: GB2312 level 1, Big5's common, JIS level 1."""
_LEVEL_ONE["utf-8"] = [*_LEVEL_ONE["gb18030"], *_LEVEL_ONE["big5"], *_LEVEL_ONE["shift_jis"]]


def _common(char: str, charset: str) -> bool:
    """Whether ``char`` is ordinary text in ``charset``'s language (not a rare or odd sign)."""
    point = ord(char)
    if 0x3000 <= point <= 0x303F or 0xFF01 <= point <= 0xFF5E:
        return True  # CJK punctuation, full-width forms
    if 0x3041 <= point <= 0x30FF:
        return charset in ("shift_jis", "utf-8")  # kana: Japanese
    if not 0x4E00 <= point <= 0x9FFF:
        return False
    for standard, low, high in _LEVEL_ONE.get(charset, ()):
        try:
            code = int.from_bytes(char.encode(standard), "big")
        except UnicodeEncodeError:
            continue
        if low <= code <= high:
            return True
    return False
