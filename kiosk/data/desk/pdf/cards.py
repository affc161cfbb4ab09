"""Library cards: a sheet of card faces with cut marks (:class:`CardSheet`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from kiosk.data.desk.pdf.codes import draw_qr
from kiosk.data.desk.pdf.fonts import Fonts, load_fonts
from kiosk.locale import t

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardFace:
    """What one printed library card shows; ``payload`` goes into its QR code."""

    payload: str
    name: str
    number: str
    serial: int
    school_class: str = ""
    library_name: str = ""
    expires_on: date | None = None
    kind: str = "student"
    """The patron's kind: a student's (or helper's) card names the class and the
    student number (学号); a teacher's or librarian's names the role and a staff
    number, never a class as if they were in it."""


STUDENT_KINDS = ("student", "helper")
"""Patron kinds whose card names their class and student number."""


def card_lines(card: CardFace) -> tuple[str, str]:
    """The two lines under the name: the class (or the role) and the number."""
    if card.kind in STUDENT_KINDS:
        second = card.school_class
        if card.kind == "helper":
            role = t("print.card.role.helper")
            second = f"{second} · {role}" if second else role
        return second, t("print.card.number", number=card.number)
    role = t(f"print.card.role.{card.kind}") if card.kind in ("teacher", "librarian") else ""
    return role, t("print.card.staff_number", number=card.number)


@dataclass(frozen=True)
class CardSheet:
    """Where cards go on a page: ``columns`` x ``rows`` cards of ``width`` x ``height``
    millimetres, side by side and centred on the page (one cut between two cards)."""

    width: float = 85.6
    height: float = 54.0
    columns: int = 2
    rows: int = 5
    page: tuple[float, float] = A4

    @property
    def per_page(self) -> int:
        """Cards on one page."""
        return self.columns * self.rows

    def origin(self) -> tuple[float, float]:
        """The bottom left of the grid, in points."""
        return (
            (self.page[0] - self.columns * self.width * mm) / 2,
            (self.page[1] - self.rows * self.height * mm) / 2,
        )

    def slot(self, index: int) -> tuple[float, float]:
        """The bottom left corner (points) of the ``index``-th card of a page
        (left to right, top to bottom)."""
        left, bottom = self.origin()
        row, col = divmod(index % self.per_page, self.columns)
        return (
            left + col * self.width * mm,
            bottom + (self.rows - 1 - row) * self.height * mm,
        )


def _cut_marks(canvas: Canvas, xs: Sequence[float], ys: Sequence[float]) -> None:
    """Short lines in the margins where the cuts go (never over a card)."""
    length, gap = 5 * mm, 1.5 * mm
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.3)
    for x in xs:
        canvas.line(x, ys[-1] + gap, x, ys[-1] + gap + length)
        canvas.line(x, ys[0] - gap, x, ys[0] - gap - length)
    for y in ys:
        canvas.line(xs[0] - gap, y, xs[0] - gap - length, y)
        canvas.line(xs[-1] + gap, y, xs[-1] + gap + length, y)


def _draw_card(canvas: Canvas, fonts: Fonts, card: CardFace, x: float, y: float,
               sheet: CardSheet) -> None:
    width, height = sheet.width * mm, sheet.height * mm
    band = 9 * mm
    # the library's name on a band across the top
    canvas.setFillGray(0.88)
    canvas.rect(x, y + height - band, width, band, stroke=0, fill=1)
    canvas.setFillGray(0)
    fonts.draw(canvas, x + width / 2, y + height - band + 3 * mm,
               card.library_name or t("print.card.library"), 10, bold=True,
               width=width - 6 * mm, align="centre")
    # the QR code on the left, with a white quiet zone around it
    qr_side = 32 * mm
    qr_x, qr_y = x + 3.5 * mm, y + (height - band - qr_side) / 2
    draw_qr(canvas, card.payload, qr_x, qr_y, qr_side, level="M")
    # who it belongs to, on the right
    text_x = qr_x + qr_side + 4 * mm
    text_w = x + width - 3 * mm - text_x
    top = y + height - band - 9 * mm
    fonts.draw(canvas, text_x, top, card.name, 15, bold=True, width=text_w)
    who, number = card_lines(card)
    if who:
        fonts.draw(canvas, text_x, top - 7 * mm, who, 10, width=text_w)
    fonts.draw(canvas, text_x, top - 13 * mm, number, 8.5, width=text_w)
    fonts.draw(canvas, text_x, top - 18 * mm, t("print.card.serial", serial=card.serial), 8.5,
               width=text_w)
    if card.expires_on is not None:
        fonts.draw(canvas, text_x, top - 23 * mm,
                   t("print.card.expires", day=card.expires_on.isoformat()), 7, width=text_w)
    canvas.setFillGray(0.35)
    fonts.draw(canvas, x + width / 2, y + 2.2 * mm, t("print.card.found"), 6,
               width=width - 6 * mm, align="centre")
    canvas.setFillGray(0)


def render_cards(
    cards: Iterable[CardFace],
    out: Path | Any,
    *,
    sheet: CardSheet | None = None,
    font: str | None = None,
    title: str = "",
) -> int:
    """Draw ``cards`` on A4 sheets with cut marks into the PDF ``out`` (a path or a
    binary file); return how many pages."""
    sheet = sheet or CardSheet()
    fonts = load_fonts(font)
    canvas = Canvas(str(out) if isinstance(out, Path) else out, pagesize=sheet.page,
                    pageCompression=1)
    canvas.setTitle(title or t("print.card.title"))
    left, bottom = sheet.origin()
    xs = [left + i * sheet.width * mm for i in range(sheet.columns + 1)]
    ys = [bottom + i * sheet.height * mm for i in range(sheet.rows + 1)]
    pages = 0
    on_page = 0
    for card in cards:
        if on_page == 0:
            pages += 1
            _cut_marks(canvas, xs, ys)
        x, y = sheet.slot(on_page)
        _draw_card(canvas, fonts, card, x, y, sheet)
        on_page += 1
        if on_page == sheet.per_page:
            canvas.showPage()
            on_page = 0
    if on_page or pages == 0:
        canvas.showPage()
        pages = max(pages, 1)
    canvas.save()
    return pages
