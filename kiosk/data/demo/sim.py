"""A scripted day at the demo kiosk (``kiosk demo --sim``): what to scan, and when."""

from __future__ import annotations

import logging
from datetime import date

import peewee as pw

from kiosk.data.core.models import (
    Copy,
    Loan,
    Title,
)
from kiosk.data.demo.codes import interesting

log = logging.getLogger(__name__)


SIM_TIMEOUT_PAUSE = 50.0
"""Seconds of empty picture in the simulated camera's script: the kiosk's idle timeout
(45 s) runs out, counting down, and the kiosk goes back to the start."""


def sim_script(db: pw.Database, *, today: date | None = None) -> list[tuple[str, float]]:
    """What ``kiosk demo --camera sim`` holds up to its simulated camera, in a loop.

    A list of ``(code, seconds)``; an empty code is an empty picture. A student with
    room to borrow shows the card and borrows a book; a reference book is refused; a
    student with overdue books shows theirs; nobody touches the kiosk until it counts
    down to the start; the borrowed book is scanned at the start screen and returned.
    The loop then begins again from the returns screen, so it can run forever.
    """
    today = today or date.today()
    by_note = {
        name.rsplit(" (", 1)[-1].rstrip(")"): code for _, name, code in interesting(today)
    }
    book = (
        Copy.select(Copy.barcode)
        .join(Title)
        .where(
            (Copy.status == "available")
            & ~Copy.reference_only
            & (Title.kind == "book")
            & ~_ever_lent()
        )
        .order_by(Copy.barcode)
        .first()
    )
    script = [
        (by_note.get("may borrow more", ""), 2.0),
        (book.barcode if book else "", 2.0),
        (by_note.get("reference", ""), 2.0),
        (by_note.get("overdue books", ""), 2.0),
        ("", SIM_TIMEOUT_PAUSE),
        (book.barcode if book else "", 2.0),
    ]
    return [(code, seconds) for code, seconds in script if code or seconds > 2.0]


def _ever_lent() -> pw.Expression:
    """Copies that were never lent: the demo's own loans never touch them."""
    return pw.fn.EXISTS(Loan.select(Loan.id).where(Loan.copy == Copy.id))
