"""A desk answering SIP2 over real TCP, and a terminal that speaks to it, for the tests.

The terminal is :mod:`pysip2`'s codec (typed models of every SIP2 2.00 message, made and
read by an implementation of the standard that is not this project's) over a plain
socket (or a TLS one): every request the tests send is encoded by it, and every answer
must decode with it, so a field in the wrong place, a missing required field or a wrong
checksum fails the test.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import peewee as pw
import synckit
from pysip2 import (
    CheckinRequest,
    CheckoutRequest,
    EndPatronSessionRequest,
    LoginRequest,
    PatronStatusRequest,
    SIPMessage,
    decode_message,
    encode_message,
)

from kiosk.data.core.facts import utcnow
from kiosk.sip2.adapter import Library, add_terminal
from kiosk.sip2.server import Limits, ServerThread, Sip2Server

TERMINAL = "gate1"
PASSWORD = "open-sesame"
LOCATION = "HALL"


def now() -> str:
    """The time as a terminal writes it (local, four blanks for the zone)."""
    return datetime.now().strftime("%Y%m%d    %H%M%S")


def when(moment: datetime) -> str:
    """``moment`` (aware) as a terminal writes a local time."""
    return moment.astimezone().strftime("%Y%m%d    %H%M%S")


def read_frame(sock: socket.socket) -> bytes:
    """One message, up to and with its CR (``b""`` when the server closed)."""
    data = b""
    while not data.endswith(b"\r"):
        chunk = sock.recv(1)
        if not chunk:
            return data
        data += chunk
    return data


class Terminal:
    """A SIP2 terminal: pysip2's models in, pysip2's models out, over TCP.

    ``last`` is the last answer's raw bytes (for fields pysip2 does not model, such as
    the 3M extension's hold shelf fields).
    """

    def __init__(
        self, port: int, *, encoding: str = "utf-8", checksums: bool = True,
        tls: ssl.SSLContext | None = None, timeout: float = 10.0,
    ) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = tls.wrap_socket(sock, server_hostname="localhost") if tls else sock
        self.encoding = encoding
        self.checksums = checksums
        self.sequence = 0
        self.last = b""
        self.sent = b""

    def frame(self, message: SIPMessage) -> bytes:
        """The request as it goes on the wire (with the next sequence number)."""
        data = encode_message(message, sequence_number=self.sequence, checksum=self.checksums,
                              encoding=self.encoding)
        self.sequence = (self.sequence + 1) % 10
        return data

    def send(self, message: SIPMessage) -> Any:
        """Send ``message``; return the answer, decoded by pysip2."""
        return self.send_raw(self.frame(message))

    def send_raw(self, data: bytes) -> Any:
        """Send bytes as they are; return the answer, decoded by pysip2."""
        self.sent = data
        self.sock.sendall(data)
        self.last = read_frame(self.sock)
        assert self.last.endswith(b"\r"), f"no answer to {data!r}: {self.last!r}"
        return decode_message(self.last, encoding=self.encoding).message

    def login(self, name: str = TERMINAL, password: str = PASSWORD) -> Any:
        return self.send(LoginRequest(
            uid_algorithm="0", pwd_algorithm="0", login_user_id=name, login_password=password,
            location_code=LOCATION,
        ))

    def status(self, card: str, language: str = "001") -> Any:
        return self.send(PatronStatusRequest(
            language=language, transaction_date=now(), institution_id="LK",
            patron_identifier=card, terminal_password="", patron_password="",
        ))

    def checkout(self, card: str, barcode: str, *, renew: bool = False,
                 offline_at: datetime | None = None, due: str | None = None) -> Any:
        return self.send(CheckoutRequest(
            sc_renewal_policy="Y" if renew else "N", no_block="Y" if offline_at else "N",
            transaction_date=when(offline_at) if offline_at else now(),
            nb_due_date=due or now(), institution_id="LK", patron_identifier=card,
            item_identifier=barcode, terminal_password="",
        ))

    def checkin(self, barcode: str, *, offline_at: datetime | None = None) -> Any:
        date = when(offline_at) if offline_at else now()
        return self.send(CheckinRequest(
            no_block="Y" if offline_at else "N", transaction_date=date, return_date=date,
            current_location=LOCATION, institution_id="LK", item_identifier=barcode,
            terminal_password="",
        ))

    def end(self, card: str) -> Any:
        return self.send(EndPatronSessionRequest(
            transaction_date=now(), institution_id="LK", patron_identifier=card
        ))

    def closed(self) -> bool:
        """Whether the server has closed the connection (reads until it has, briefly)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self) -> None:
        self.sock.close()


@dataclass
class Desk:
    """A desk with a small library, a terminal allowed to sign in, and its SIP2 server."""

    site: synckit.Site
    library: Library
    port: int

    @property
    def db(self) -> pw.Database:
        return self.site.desk

    def card(self, number: str) -> str:
        return synckit.card_code(self.site, number)

    def terminal(self, **options: Any) -> Terminal:
        return Terminal(self.port, **options)

    def connected(self, **options: Any) -> Terminal:
        """A terminal that has logged in."""
        terminal = self.terminal(**options)
        assert terminal.login().ok == "1"
        return terminal


@contextmanager
def running_desk(
    url: str, folder: Path, *, allow_plain_cards: bool = False, limits: Limits | None = None,
    tls: ssl.SSLContext | None = None, **sizes: Any,
) -> Iterator[Desk]:
    """A desk at ``url`` with its SIP2 server listening on a free port of 127.0.0.1."""

    site = synckit.make_site(url, folder, utcnow, **sizes)
    add_terminal(site.desk, TERMINAL, PASSWORD, location=LOCATION, language="en")
    library = Library(site.desk, allow_plain_cards=allow_plain_cards)
    server = Sip2Server(library, host="127.0.0.1", port=0, tls=tls,
                        limits=limits or Limits(workers=2))
    try:
        with ServerThread(server) as port:
            yield Desk(site, library, port)
    finally:
        site.desk.close()
