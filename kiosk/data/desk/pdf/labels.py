"""Book labels: a sheet of spine or barcode labels (:class:`LabelSheet`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from kiosk.data.desk.pdf.codes import draw_code128, draw_qr
from kiosk.data.desk.pdf.fonts import Fonts, load_fonts
from kiosk.locale import t

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelFace:
    """One book label: the accession ``barcode`` (in the code), call number and title."""

    barcode: str
    call_number: str = ""
    title: str = ""


LABEL_SYMBOLOGIES = ("qr", "code128")


@dataclass(frozen=True)
class LabelSheet:
    """A sheet of sticky labels: ``columns`` x ``rows`` labels of ``width`` x ``height``
    mm, the first ``left``/``top`` mm from the page's corner, ``gap_x``/``gap_y`` apart.

    The default is the common A4 sheet of 24 labels of 70 x 37 mm (3 x 8).
    """

    columns: int = 3
    rows: int = 8
    width: float = 70.0
    height: float = 37.0
    left: float = 0.0
    top: float = 0.5
    gap_x: float = 0.0
    gap_y: float = 0.0
    page: tuple[float, float] = A4

    @property
    def per_page(self) -> int:
        """Labels on one sheet."""
        return self.columns * self.rows

    def slot(self, index: int) -> tuple[float, float]:
        """The bottom left corner (points) of the ``index``-th label of a sheet."""
        row, col = divmod(index % self.per_page, self.columns)
        x = (self.left + col * (self.width + self.gap_x)) * mm
        y = self.page[1] - (self.top + row * (self.height + self.gap_y) + self.height) * mm
        return x, y

    @classmethod
    def parse(cls, spec: str) -> LabelSheet:
        """A sheet from ``COLSxROWS:WIDTHxHEIGHT[:LEFT,TOP[,GAPX,GAPY]]`` (mm), e.g.
        ``3x8:70x37`` or ``3x7:63.5x38.1:7.2,15.1,2.5,0``.

        Raises:
            ValueError: the text is not such a sheet, or its labels leave the page.
        """
        try:
            parts = spec.lower().split(":")
            columns, rows = (int(v) for v in parts[0].split("x"))
            width, height = (float(v) for v in parts[1].split("x"))
            extra = [float(v) for v in parts[2].split(",")] if len(parts) > 2 else []
            left, top, gap_x, gap_y = [*extra, 0.0, 0.0, 0.0, 0.0][:4]
            if len(extra) < 2:
                left = (A4[0] / mm - columns * width) / 2
                top = (A4[1] / mm - rows * height) / 2
        except (ValueError, IndexError):
            raise ValueError(spec) from None
        sheet = cls(columns, rows, width, height, left, top, gap_x, gap_y)
        right = left + columns * width + (columns - 1) * gap_x
        bottom = top + rows * height + (rows - 1) * gap_y
        if (min(columns, rows) < 1 or min(width, height) < 20 or min(left, top) < 0
                or right > A4[0] / mm + 0.01 or bottom > A4[1] / mm + 0.01):
            raise ValueError(spec)
        return sheet


def _draw_label(canvas: Canvas, fonts: Fonts, label: LabelFace, x: float, y: float,
                sheet: LabelSheet, symbology: str) -> None:
    width, height = sheet.width * mm, sheet.height * mm
    pad = 3 * mm
    if symbology == "code128" and not all(" " <= c <= "~" for c in label.barcode):
        log.warning("barcode %r cannot be Code 128; its label gets a QR code", label.barcode)
        symbology = "qr"
    if symbology == "qr":
        side = min(height - 2 * pad, width * 0.45)
        draw_qr(canvas, label.barcode, x + pad, y + (height - side) / 2, side, level="M")
        text_x = x + pad + side + 2.5 * mm
        text_w = x + width - pad - text_x
        top = y + height - pad - 6 * mm
        fonts.draw(canvas, text_x, top, label.call_number, 13, bold=True, width=text_w)
        fonts.draw(canvas, text_x, top - 7 * mm, label.title, 8, width=text_w)
        fonts.draw(canvas, text_x, y + pad + 1 * mm, label.barcode, 9, width=text_w)
    else:
        bar_h = height * 0.38
        bar_y = y + height - pad - bar_h
        draw_code128(canvas, label.barcode, x + pad, bar_y, width - 2 * pad, bar_h)
        fonts.draw(canvas, x + width / 2, bar_y - 3.5 * mm, label.barcode, 8,
                   width=width - 2 * pad, align="centre")
        fonts.draw(canvas, x + pad, y + pad + 4.5 * mm, label.call_number, 12, bold=True,
                   width=width * 0.5)
        fonts.draw(canvas, x + pad, y + pad, label.title, 7.5, width=width - 2 * pad)


def render_labels(
    labels: Iterable[LabelFace],
    out: Path | Any,
    *,
    sheet: LabelSheet | None = None,
    symbology: str = "qr",
    font: str | None = None,
    skip: int = 0,
) -> int:
    """Draw ``labels`` on label sheets into the PDF ``out``; return how many pages.

    ``skip`` leaves the first labels of the first sheet empty (a sheet already partly
    used). Raises ValueError for an unknown ``symbology``.
    """
    if symbology not in LABEL_SYMBOLOGIES:
        raise ValueError(f"unknown symbology {symbology!r}")
    sheet = sheet or LabelSheet()
    fonts = load_fonts(font)
    canvas = Canvas(str(out) if isinstance(out, Path) else out, pagesize=sheet.page,
                    pageCompression=1)
    canvas.setTitle(t("print.label.title"))
    index, pages = skip % sheet.per_page, 1
    drawn = False
    for label in labels:
        if drawn and index % sheet.per_page == 0:
            canvas.showPage()
            pages += 1
        x, y = sheet.slot(index)
        _draw_label(canvas, fonts, label, x, y, sheet, symbology)
        index += 1
        drawn = True
    canvas.showPage()
    canvas.save()
    return pages
