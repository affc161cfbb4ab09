"""The printed receipt of a session: its words, and printing it without holding anyone up.

The receipt on screen is always shown; where the settings name a receipt printer
(``[receipt] printer``), the same lines are printed on it too
(:mod:`kiosk.devices.receipt`), in the visitor's language: the school, the visitor's
name, each book with its due date (or that it was returned), and when. Printing runs
on a thread after every loan of the session is recorded, so a printer that is off,
empty or unplugged costs nothing but a calm line on the screen.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from kiosk.devices.receipt import PrinterUnavailable, ReceiptText, print_receipt
from kiosk.locale import format_date, t
from kiosk.screens.session import Session

log = logging.getLogger(__name__)


def receipt_text(library: str, session: Session, printed_at: datetime) -> ReceiptText:
    """What the printed receipt says, in the current language."""
    items = []
    for line in session.lines:
        title = f"{t('receipt.' + line.action)}  {line.title}"
        note = t("receipt.due", due=format_date(line.due_on)) if line.due_on else ""
        items.append((title, note))
    visitor = t("receipt.print.visitor", name=session.name) if session.name else ""
    footer = t("receipt.print.footer", at=printed_at.strftime("%Y-%m-%d %H:%M"))
    return ReceiptText(
        school=library or t("receipt.print.library"), heading=t("receipt.heading"),
        visitor=visitor, items=items, footer=footer,
    )


async def print_session(address: Any, text: ReceiptText) -> str:
    """Print ``text`` on the printer at ``address`` on a thread; what to say on screen."""
    try:
        await asyncio.to_thread(print_receipt, address, text)
    except PrinterUnavailable as error:
        log.warning("receipt not printed: %s", error.reason)
        return t("receipt.print.failed")
    except Exception:  # a bug in printing must never reach the visitor
        log.exception("printing the receipt failed")
        return t("receipt.print.failed")
    return t("receipt.print.done")
