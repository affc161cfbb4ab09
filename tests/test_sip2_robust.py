"""Hostile and clumsy terminals, over raw sockets: each gets a SIP2 answer or a clean close,
nothing is half-written, and the server keeps serving the others.

Bad checksums, unknown commands, oversize fields and messages, binary garbage, a client
that connects and says nothing, one that sends a byte at a time, one that starts a
message and never ends it, a hundred at once, and TLS (with a plain client knocking on
the TLS port).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pysip2 import decode_message
from sip2kit import PASSWORD, TERMINAL, Desk, now, read_frame, running_desk

from kiosk.sip2.server import Limits

LIMITS = Limits(login_timeout=1.0, idle_timeout=2.0, message_timeout=0.5, workers=2)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with running_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, limits=LIMITS) as running:
        yield running


def connect(desk: Desk) -> socket.socket:
    return socket.create_connection(("127.0.0.1", desk.port), timeout=10)


def login_frame() -> bytes:
    return f"9300CN{TERMINAL}|CO{PASSWORD}|".encode() + b"\r"


def ask(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    answer = read_frame(sock)
    assert answer.endswith(b"\r"), f"no whole answer to {data[:60]!r}: {answer!r}"
    decode_message(answer, encoding="utf-8")  # a whole, valid SIP2 message
    return answer


def closed(sock: socket.socket, within: float = 5.0) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def still_serving(desk: Desk) -> None:
    """A well-behaved terminal is answered in full."""
    terminal = desk.connected()
    assert terminal.status(desk.card("S0001")).valid_patron == "Y"
    terminal.close()


def test_a_wrong_checksum_is_answered_96_and_the_session_goes_on(desk: Desk) -> None:
    sock = connect(desk)
    assert ask(sock, login_frame()).startswith(b"941")
    body = f"23001{now()}AOLK|AA{desk.card('S0001')}|AC|AD|AY1AZ".encode()
    good = f"{(-sum(body)) & 0xFFFF:04X}".encode()
    bad = f"{(int(good, 16) + 1) & 0xFFFF:04X}".encode()
    assert ask(sock, body + bad + b"\r") == b"96AZFEF6\r"
    assert ask(sock, body + good + b"\r").startswith(b"24")
    still_serving(desk)


@pytest.mark.parametrize(
    "garbage",
    [
        b"XX\r",
        b"\x00\xff\xfe binary \x1b[2J\r",
        # a field over 255 bytes (a fixed date: the parameters must be the same in every
        # pytest-xdist worker, and a clock read here differs when a second ticks between them)
        b"1720260101    120000AOLK|AB" + b"9" * 400 + b"|\r",
        b"11NN\r",  # fixed fields cut short
    ],
    ids=["letters", "binary", "oversize-field", "cut-short"],
)
def test_unreadable_requests_get_96(desk: Desk, garbage: bytes) -> None:
    sock = connect(desk)
    assert ask(sock, login_frame()).startswith(b"941")
    assert ask(sock, garbage) == b"96\r"
    still_serving(desk)


def test_five_unreadable_requests_in_a_row_close_the_connection(desk: Desk) -> None:
    sock = connect(desk)
    assert ask(sock, login_frame()).startswith(b"941")
    for _ in range(4):
        assert ask(sock, b"XX\r") == b"96\r"
    sock.sendall(b"XX\r")
    assert read_frame(sock) == b"96\r"
    assert closed(sock)
    still_serving(desk)


def test_a_message_longer_than_sip2_allows_closes_the_connection(desk: Desk) -> None:
    sock = connect(desk)
    assert ask(sock, login_frame()).startswith(b"941")
    sock.sendall(b"17" + b"9" * 5000)  # no CR, ever
    assert closed(sock)
    still_serving(desk)


def test_a_client_that_says_nothing_is_closed(desk: Desk) -> None:
    sock = connect(desk)
    began = time.monotonic()
    assert closed(sock, within=5)
    assert 0.8 < time.monotonic() - began < 4
    still_serving(desk)


def test_a_client_that_never_logs_in_is_closed_even_if_it_talks(desk: Desk) -> None:
    sock = connect(desk)
    status = b"9900302.00\r"
    began = time.monotonic()
    while time.monotonic() - began < 3:
        sock.sendall(status)
        if read_frame(sock) == b"":
            break
        time.sleep(0.2)
    assert time.monotonic() - began < 3
    assert closed(sock)


def test_a_slow_sender_is_answered(desk: Desk) -> None:
    sock = connect(desk)
    for byte in login_frame():  # one byte at a time, the message finished within its time
        sock.sendall(bytes([byte]))
        time.sleep(0.005)
    answer = read_frame(sock)
    assert answer.startswith(b"941")
    still_serving(desk)


def test_a_message_left_unfinished_is_closed(desk: Desk) -> None:
    sock = connect(desk)
    assert ask(sock, login_frame()).startswith(b"941")
    sock.sendall(b"2300")  # ... and nothing more
    assert closed(sock)
    still_serving(desk)


def test_a_silent_terminal_is_closed_after_the_idle_time(desk: Desk) -> None:
    sock = connect(desk)
    assert ask(sock, login_frame()).startswith(b"941")
    began = time.monotonic()
    assert closed(sock, within=6)
    assert 1.5 < time.monotonic() - began < 5


def test_crlf_and_two_messages_in_one_packet(desk: Desk) -> None:
    sock = connect(desk)
    sock.sendall(login_frame()[:-1] + b"\r\n" + b"9900302.00\r\n")
    assert read_frame(sock).startswith(b"941")
    assert read_frame(sock).startswith(b"98")


@pytest.mark.slow
def test_a_hundred_terminals_at_once(tmp_path: Path) -> None:
    limits = Limits(login_timeout=60, message_timeout=5, workers=4)
    with running_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, limits=limits) as desk:
        hundred_at_once(desk)


def hundred_at_once(desk: Desk) -> None:
    """A hundred connect at once and log in (each a slow password check: 100 of them
    take a few seconds of CPU), then a quarter fall silent, a quarter send junk and the
    rest ask for a patron and a book."""
    card = desk.card("S0001")
    answers: list[bytes] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Event()

    def terminal(i: int) -> None:
        try:
            sock = connect(desk)
            sock.settimeout(60)
            start.wait(10)
            got = [ask(sock, login_frame())]
            if i % 4 == 0:  # a quarter are silent after logging in, a quarter send junk
                pass
            elif i % 4 == 1:
                got.append(ask(sock, b"XX\r"))
            else:
                got.append(ask(sock, f"23001{now()}AOLK|AA{card}|AC|AD|\r".encode()))
                got.append(ask(sock, f"17{now()}AOLK|ABB0000{i % 8 + 1}|\r".encode()))
            with lock:
                answers.extend(got)
            sock.close()
        except Exception as error:  # noqa: BLE001 (reported below)
            with lock:
                failures.append(f"{i}: {error!r}")

    threads = [threading.Thread(target=terminal, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len(answers) == 100 + 25 + 50 * 2
    assert sum(a.startswith(b"941") for a in answers) == 100
    assert sum(a.startswith(b"24") for a in answers) == 50
    still_serving(desk)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


def test_tls(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    from kiosk.sip2.server import tls_context

    cert, key = certificate
    with running_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, limits=LIMITS,
                      tls=tls_context(cert, key)) as desk:
        client = ssl.create_default_context(cafile=str(cert))
        terminal = desk.connected(tls=client)
        assert terminal.checkout(desk.card("S0001"), "B00001").ok == "1"
        assert isinstance(terminal.sock, ssl.SSLSocket) and terminal.sock.version()
        # a plain client on the TLS port: no answer, a clean close
        plain = connect(desk)
        plain.sendall(login_frame())
        assert closed(plain)
        terminal.close()
        again = desk.connected(tls=client)
        assert again.status(desk.card("S0001")).valid_patron == "Y"


def test_a_desk_that_cannot_write_says_so_and_records_nothing(desk: Desk, tmp_path: Path) -> None:
    terminal = desk.connected()
    card = desk.card("S0001")
    assert terminal.status(card).valid_patron == "Y"
    (tmp_path / "desk.sqlite").rename(tmp_path / "moved.sqlite")  # the file is gone
    refused = terminal.checkout(card, "B00001")
    assert refused.ok == "0"
    assert refused.screen_message == (
        "The kiosk cannot save right now, so nothing was recorded. Please tell the librarian.",
    )
    (tmp_path / "moved.sqlite").rename(tmp_path / "desk.sqlite")
    assert terminal.checkout(card, "B00001").ok == "1"  # back: the same terminal goes on
