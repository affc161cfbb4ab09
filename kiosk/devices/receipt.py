"""The visitor's printed receipt, on an ESC/POS thermal printer (optional).

Kiosks print on small thermal printers that speak ESC/POS, over USB, over the network
(raw TCP, port 9100) or through a device file (``/dev/usb/lp0``). The commands come
from python-escpos, the maintained ESC/POS library: it opens each connection, knows
the printers' capabilities, and writes text with Chinese characters in GB18030, which
the printers sold in China print in their (default) Chinese mode. The receipt ends
with a cut.

Printing is slow and a printer can be off, empty or unplugged: :func:`print_receipt`
blocks, so the kiosk calls it on a thread of its own, after the loans are recorded,
and an absent printer is only a :class:`PrinterUnavailable` to say calmly. This
module knows nothing of the settings or the screens: it takes the printer's address
as plain values and the receipt as lines already in the visitor's language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

TIMEOUT = 5.0
"""Seconds a network or USB printer may take to answer before it counts as absent."""

WIDTH = 32
"""Characters a line holds on a 58 mm printer (Chinese characters count twice)."""


class PrinterUnavailable(Exception):
    """The printer cannot be reached or refused the receipt; ``reason`` says why (for
    the log: the visitor is told only that the receipt was not printed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Address(Protocol):
    """Where the printer is (``kiosk.config.PrinterAddress`` is one)."""

    kind: str
    vendor: int
    product: int
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class ReceiptText:
    """A receipt in words: the school, a heading, the visitor, the items, a last line.

    ``items`` are pairs: a book's title and what to say under it (its due date).
    """

    school: str
    heading: str
    visitor: str
    items: Sequence[tuple[str, str]]
    footer: str = ""


def open_printer(address: Address, timeout: float = TIMEOUT) -> Any:
    """A python-escpos printer for ``address`` (not yet connected)."""
    from escpos import printer

    if address.kind == "network":
        return printer.Network(address.host, address.port, timeout=timeout)
    if address.kind == "file":
        return printer.File(address.path)
    if address.kind == "usb":
        return printer.Usb(address.vendor, address.product, timeout=int(timeout * 1000))
    raise ValueError(f"unknown printer kind {address.kind!r}")


def write_receipt(device: Any, receipt: ReceiptText) -> None:
    """Send ``receipt`` to an opened python-escpos printer, and cut."""
    device.set(align="center", bold=True, double_height=True, double_width=True)
    device.textln(receipt.school)
    device.set(align="center", bold=True, normal_textsize=True)
    device.textln(receipt.heading)
    device.set(align="left", normal_textsize=True)
    device.textln("-" * WIDTH)
    device.textln(receipt.visitor)
    for title, note in receipt.items:
        device.textln(title)
        if note:
            device.textln("  " + note)
    device.textln("-" * WIDTH)
    if receipt.footer:
        device.textln(receipt.footer)
    device.cut()


def print_receipt(address: Address, receipt: ReceiptText, timeout: float = TIMEOUT) -> None:
    """Print ``receipt`` on the printer at ``address`` (blocks: call it off the UI thread).

    Raises:
        PrinterUnavailable: the printer cannot be reached, or failed while printing.
    """
    from escpos.exceptions import Error as EscposError

    device = open_printer(address, timeout)
    try:
        device.open()
        if device.device is None:
            raise PrinterUnavailable("not found")
        write_receipt(device, receipt)
    except PrinterUnavailable:
        raise
    except (OSError, EscposError, RuntimeError, ValueError) as error:
        log.warning("the receipt was not printed on %s: %s", address.kind, error)
        raise PrinterUnavailable(str(error) or type(error).__name__) from error
    finally:
        try:
            device.close()
        except Exception:  # closing a printer that never opened
            log.debug("closing the printer failed", exc_info=True)
    log.info("receipt printed on the %s printer (%d items)", address.kind, len(receipt.items))
