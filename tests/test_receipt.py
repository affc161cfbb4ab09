"""The printed receipt (issue 14, "Receipt"): an ESC/POS receipt through python-escpos to
a file or a network printer, checked by the bytes the printer receives; an absent
printer is said calmly and never costs a loan.

The network printer is a real TCP server on this machine (a thermal printer listens
on port 9100 the same way) that keeps every byte it is sent.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from uikit import make_app, on_screen, scan_and_wait, scan_to, screen_text, wait_until

from kiosk.config import ConfigError, load_config, parse_printer
from kiosk.data.core import settings
from kiosk.data.core.models import Loan
from kiosk.locale import format_date, set_language

GS_CUT = b"\x1dV"
"""ESC/POS "cut the paper" (GS V)."""


@pytest.fixture(autouse=True)
def _language():
    yield
    set_language("zh_CN")


@pytest.fixture
def visit(make, library):
    """A school, a student with a card and two books on the shelf."""
    with library.connection_context():
        settings.put("library_name", "阳光小学图书馆")
    student = make.patron("20230001", name="王小明", school_class="三年级2班")
    make.copy(make.title("草房子"), barcode="10000001")
    make.copy(make.title("The Little Prince"), barcode="10000002")
    return make.card(student)


class PrinterServer:
    """A network receipt printer: a TCP server that keeps what each connection sent."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                chunks = []
                while data := connection.recv(65536):
                    chunks.append(data)
            self.received.append(b"".join(chunks))
            self.done.set()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def printer() -> Iterator[PrinterServer]:
    server = PrinterServer()
    yield server
    server.close()


async def borrow_two_and_finish(pilot, card: str) -> None:
    await scan_to(pilot, card, "PatronScreen")
    assert "草房子" in await scan_and_wait(pilot, "10000001")
    await scan_and_wait(pilot, "10000002")
    await pilot.press("f2")  # Done: the receipt
    await on_screen(pilot, "ReceiptScreen")


def assert_receipt(data: bytes, due: str) -> None:
    """The receipt's words arrive in GB18030, each book with its due date, then a cut."""
    for words in ("阳光小学图书馆", "借还凭条", "读者：王小明", "借出  草房子", f"{due} 前归还",
                  "打印时间：2025-03-12 10:00"):
        assert words.encode("gb18030") in data, words
    assert "借出  The Little Prince".encode("gb18030") in data
    assert data.count(f"{due} 前归还".encode("gb18030")) == 2
    assert "草房子".encode() not in data  # not UTF-8
    assert data.rstrip(b"\x00").endswith(GS_CUT) or GS_CUT in data[-8:]
    assert data.startswith(b"\x1b")  # ESC/POS commands, not bare text


async def test_a_receipt_printed_to_a_file_printer(circulation, visit, tmp_path, clock):
    device = tmp_path / "lp0"
    app = make_app(circulation, language="zh_CN", receipt_printer=f"file:{device}")
    async with app.run_test(size=(80, 24)) as pilot:
        await borrow_two_and_finish(pilot, visit)
        await wait_until(pilot, lambda: "小票打印好了，请取走。" in screen_text(pilot))
    due = format_date(clock.today.replace(day=26), "zh_CN")  # 14 days after 12 March
    assert_receipt(device.read_bytes(), due)


async def test_a_receipt_printed_on_a_network_printer(circulation, visit, printer, clock):
    app = make_app(circulation, language="zh_CN",
                   receipt_printer=f"network:127.0.0.1:{printer.port}")
    async with app.run_test(size=(80, 24)) as pilot:
        await borrow_two_and_finish(pilot, visit)
        await wait_until(pilot, lambda: "小票打印好了" in screen_text(pilot))
    assert printer.done.wait(5)
    [data] = printer.received
    assert_receipt(data, format_date(clock.today.replace(day=26), "zh_CN"))


async def test_an_absent_printer_is_said_calmly_and_the_loans_stand(circulation, visit, make):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: the printer is off
    app = make_app(circulation, language="en", receipt_printer=f"network:127.0.0.1:{port}")
    async with app.run_test(size=(80, 24)) as pilot:
        await borrow_two_and_finish(pilot, visit)
        await wait_until(pilot, lambda: "No receipt printed this time" in screen_text(pilot))
        assert "everything is recorded all the same." in screen_text(pilot)
        assert "Borrowed" in screen_text(pilot)  # the receipt on screen is whole
        await pilot.press("f2")
        await on_screen(pilot, "AttractScreen")
        # the next visitor borrows as before
        await scan_to(pilot, make.card(make.patron("20230002", name="李华")), "PatronScreen")
    with circulation.store.reading():
        assert Loan.select().where(Loan.returned_at.is_null()).count() == 2


async def test_without_a_printer_nothing_is_printed_or_said(circulation, visit):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await borrow_two_and_finish(pilot, visit)
        assert not app.screen.query("#printing")
        assert "小票" not in screen_text(pilot)


def test_printer_settings_are_checked(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[receipt]\nprinter = "network:192.168.1.50"\n')
    address = load_config(path).printer
    assert address is not None and (address.host, address.port) == ("192.168.1.50", 9100)
    assert parse_printer("usb:0416:5011") is not None
    assert parse_printer("usb:0416:5011").vendor == 0x0416  # type: ignore[union-attr]
    for wrong in ("lpt1", "usb:0416", "network:", "network:host:99999", "file:"):
        path.write_text(f'[receipt]\nprinter = "{wrong}"\n')
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        assert "receipt.printer must be empty" in raised.value.said_in("en")
        assert "receipt.printer 应为空" in raised.value.said_in("zh_CN")
