"""SIP2 on the wire: reading the self-service machine's requests, writing the answers.

Pure functions and values, no network and no library data. A message is a command
(two digits), fixed-length fields, then variable fields ``XXvalue|`` named by two
letters, optionally ``AY`` (a sequence digit) and ``AZ`` (a checksum), then a carriage
return (3M Standard Interchange Protocol 2.00). The checksum is the two's complement
of the 16-bit sum of every byte up to and including ``AZ``, in four hex digits; it is
checked over the bytes as they arrived, before any decoding, and made over the bytes
as they will leave, after encoding (UTF-8 by default, GB18030 for older machines).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

MAX_MESSAGE = 2048
"""Bytes a request may have, carriage return included: no machine sends more (a
request holds a few identifiers), so anything longer is refused unread."""

MAX_FIELD = 255
"""Bytes a variable field may hold (the standard's limit for its longest fields)."""

FIXED: dict[str, int] = {
    "93": 2,   # UID algorithm, PWD algorithm
    "99": 8,   # status code, max print width, protocol version
    "97": 0,
    "23": 21,  # language, transaction date
    "63": 31,  # language, transaction date, summary
    "11": 38,  # SC renewal policy, no block, transaction date, nb due date
    "09": 37,  # no block, transaction date, return date
    "29": 38,  # third party allowed, no block, transaction date, nb due date
    "65": 18,  # transaction date
    "17": 18,  # transaction date
    "15": 19,  # hold mode, transaction date
    "35": 18,  # transaction date
    "01": 19,  # card retained, transaction date
    "19": 18,  # transaction date
    "25": 18,  # transaction date
    "37": 25,  # transaction date, fee type, payment type, currency type
}
"""Each request's command and the length of its fixed-length fields."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "93": ("CN", "CO"),
    "23": ("AO", "AA"),
    "63": ("AO", "AA"),
    "11": ("AO", "AA", "AB"),
    "09": ("AO", "AB"),
    "29": ("AO", "AA"),
    "65": ("AO", "AA"),
    "17": ("AO", "AB"),
    "15": ("AO", "AA"),
    "35": ("AO", "AA"),
}
"""The variable fields a request must carry (others are optional). The terminal
password ``AC`` is required by the standard but left empty by most machines, whose
login already said who they are, so its absence is not an error here."""

SUPPORTED = (
    "23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15",
    "29", "65",
)
"""The sixteen requests in the order of the ACS status's ``BX`` field."""

BLANK_DATE = " " * 18


class MessageError(ValueError):
    """A request that cannot be read: the machine is asked to send it again (``96``)."""


@dataclass(frozen=True)
class Request:
    """One request as the machine sent it.

    ``fixed`` is the text of its fixed-length fields; ``fields`` every variable field by
    its two-letter name (a field sent several times keeps every value, in order);
    ``sequence`` the ``AY`` digit, if sent; ``checked`` whether it carried a checksum
    (the answer then carries one too).
    """

    command: str
    fixed: str
    fields: dict[str, list[str]]
    sequence: str | None = None
    checked: bool = False

    def get(self, name: str, default: str = "") -> str:
        """The first value of field ``name`` (``default`` when not sent)."""
        values = self.fields.get(name)
        return values[0] if values else default

    def has(self, name: str) -> bool:
        """Whether the field ``name`` was sent at all."""
        return name in self.fields

    def flag(self, offset: int) -> str:
        """The one-character fixed field at ``offset``."""
        return self.fixed[offset : offset + 1]

    def date(self, offset: int) -> str:
        """The 18-character date field at ``offset`` (blank when not given)."""
        return self.fixed[offset : offset + 18]


def checksum(data: bytes) -> str:
    """The four hex digits that make ``data`` (a message through ``AZ``) sum to zero."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def split_frames(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete messages in ``buffer`` (without their carriage return) and the rest.

    A line feed after the carriage return (some machines end with CR LF) and blank
    frames are dropped.
    """
    frames: list[bytes] = []
    while True:
        end = buffer.find(b"\r")
        if end < 0:
            return frames, buffer
        frame = buffer[:end].strip(b"\n")
        buffer = buffer[end + 1 :]
        if frame:
            frames.append(frame)


def parse(frame: bytes, encoding: str = "utf-8") -> Request:
    """Read one request (a frame without its carriage return).

    Raises:
        MessageError: a wrong checksum, an unknown command, fixed fields cut short, a
            field over :data:`MAX_FIELD` bytes, a required field missing, or a value
            that is not text.
    """
    if len(frame) + 1 > MAX_MESSAGE:
        raise MessageError("message too long")
    body, sequence, checked = _trailer(frame)
    command = body[:2].decode("ascii", errors="replace")
    if command not in FIXED:
        raise MessageError(f"unknown command {command!r}")
    width = FIXED[command]
    fixed_bytes = body[2 : 2 + width]
    if len(fixed_bytes) < width:
        raise MessageError("fixed fields cut short")
    try:
        fixed = fixed_bytes.decode("ascii")
    except UnicodeDecodeError as error:
        raise MessageError("fixed fields are not ASCII") from error
    fields: dict[str, list[str]] = {}
    rest = body[2 + width :]
    for part in rest.split(b"|"):
        if not part:
            continue
        if len(part) < 2:
            raise MessageError("a field without a name")
        if len(part) - 2 > MAX_FIELD:
            raise MessageError("a field longer than the standard allows")
        name = part[:2].decode("ascii", errors="replace")
        if not name.isalpha() or not name.isupper():
            raise MessageError(f"a field named {name!r}")
        fields.setdefault(name, []).append(part[2:].decode(encoding, errors="replace"))
    for name in REQUIRED.get(command, ()):
        if name not in fields:
            raise MessageError(f"field {name} missing")
    return Request(command, fixed, fields, sequence, checked)


def _trailer(frame: bytes) -> tuple[bytes, str | None, bool]:
    """Split off (and check) ``AYnAZxxxx``; the body keeps the last ``|`` before it."""
    at = _trailer_at(frame, b"AZ")
    if at >= 0:
        digits = frame[at + 2 :]
        if len(digits) != 4:
            raise MessageError("checksum is not four hex digits")
        try:
            value = int(digits, 16)
        except ValueError as error:
            raise MessageError("checksum is not hex") from error
        if (sum(frame[: at + 2]) + value) & 0xFFFF:
            raise MessageError("wrong checksum")
        body = frame[:at]
        sequence = None
        if len(body) >= 3 and body[-3:-1] == b"AY" and body[-1:].isdigit():
            sequence, body = body[-1:].decode(), body[:-3]
        return body, sequence, True
    at = _trailer_at(frame, b"AY")
    if at >= 0 and len(frame) - at == 3 and frame[-1:].isdigit():
        return frame[:at], frame[-1:].decode(), False
    return frame, None, False


def _trailer_at(frame: bytes, name: bytes) -> int:
    """Where the trailer's ``AY`` or ``AZ`` starts (-1: none): the last occurrence that
    follows a field's ``|``, a sequence digit or the fixed fields, within 6 bytes of
    the end (so an ``AZ`` inside a value is a value)."""
    at = frame.rfind(name)
    while at >= 0 and len(frame) - at <= 6:
        if _is_trailer_start(frame, at):
            return at
        at = frame.rfind(name, 0, at)
    return -1


def _is_trailer_start(frame: bytes, at: int) -> bool:
    """Whether ``AY``/``AZ`` at ``at`` starts the trailer rather than sitting in a value:
    it follows a field's ``|``, a sequence digit's ``AY``, or the fixed fields."""
    before = frame[:at]
    if before.endswith(b"|") or (len(before) >= 3 and before[-3:-1] == b"AY"):
        return True
    width = FIXED.get(frame[:2].decode("ascii", errors="replace"))
    return width is not None and at == 2 + width


@dataclass
class Response:
    """An answer being written: the command, its fixed fields, then its variable fields.

    Values are cleaned as they are added (no ``|``, no control characters, at most
    :data:`MAX_FIELD` bytes once encoded), so nothing a book's title holds can break
    the message. :meth:`encode` adds ``AY``/``AZ`` when the request had them.
    """

    command: str
    fixed: str = ""
    parts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str | int | None) -> Response:
        """Append field ``name`` (skipped when ``value`` is ``None``)."""
        if value is not None:
            self.parts.append((name, clean(str(value))))
        return self

    def add_all(self, name: str, values: Iterable[str]) -> Response:
        """Append field ``name`` once per value (a repeatable field)."""
        for value in values:
            self.add(name, value)
        return self

    def text(self) -> str:
        """The message as text, without the trailer (for the log)."""
        return self.command + self.fixed + "".join(f"{n}{v}|" for n, v in self.parts)

    def encode(self, encoding: str = "utf-8", request: Request | None = None) -> bytes:
        """The message as it leaves: encoded, each value cut to :data:`MAX_FIELD`
        bytes, with ``AY``/``AZ`` when ``request`` carried them, and the CR."""
        out = bytearray((self.command + self.fixed).encode("ascii", errors="replace"))
        for name, value in self.parts:
            data = value.encode(encoding, errors="replace")
            if len(data) > MAX_FIELD:
                data = _cut(value, encoding)
            out += name.encode("ascii") + data + b"|"
        if request is not None and request.sequence is not None:
            out += b"AY" + request.sequence.encode()
        if request is not None and request.checked:
            out += b"AZ"
            out += checksum(bytes(out)).encode()
        return bytes(out) + b"\r"


def _cut(value: str, encoding: str) -> bytes:
    """``value`` encoded and cut to :data:`MAX_FIELD` bytes at a character boundary."""
    data = b""
    for char in value:
        piece = char.encode(encoding, errors="replace")
        if len(data) + len(piece) > MAX_FIELD:
            break
        data += piece
    return data


def clean(value: str) -> str:
    """``value`` safe inside a field: ``|`` and control characters become spaces."""
    if value.isprintable() and "|" not in value:
        return value
    return "".join(" " if (char == "|" or not char.isprintable()) else char for char in value)


def resend_request(checked: bool = False) -> bytes:
    """``96``: please send your last message again (it did not arrive whole)."""
    return b"96AZ" + checksum(b"96AZ").encode() + b"\r" if checked else b"96\r"


def sip_date(moment: datetime) -> str:
    """``YYYYMMDD    HHMMSS``: a local time (four blanks for the time zone)."""
    return moment.strftime("%Y%m%d") + "    " + moment.strftime("%H%M%S")


def sip_day(day: date) -> str:
    """A date (a due date) in the 18-character form, at the end of the day."""
    return day.strftime("%Y%m%d") + "    235900"


def read_date(text: str) -> datetime | None:
    """An 18-character SIP2 date as a naive local time, or ``None`` when blank or unreadable.

    A ``Z`` zone means UTC (the result is then aware); blanks mean local time.
    """
    if not text.strip() or len(text) != 18:
        return None
    try:
        moment = datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if text[8:12].strip() == "Z":
        from datetime import UTC

        return moment.replace(tzinfo=UTC)
    return moment


def flags(positions: Sequence[int], width: int) -> str:
    """A fixed field of ``width`` blanks with ``Y`` at ``positions`` (patron status)."""
    chars = [" "] * width
    for position in positions:
        chars[position] = "Y"
    return "".join(chars)


def yes(value: bool) -> str:
    """``Y`` or ``N``."""
    return "Y" if value else "N"


def number(value: int, width: int = 4) -> str:
    """A count as a fixed field (``0003``), capped at what the width holds."""
    return f"{min(max(value, 0), 10**width - 1):0{width}d}"
