"""Reading printed sheets back: render a PDF with pypdfium2 and decode each card or label
with the kiosk's own decoder, as a webcam held over one card would see it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from reportlab.lib.units import mm

from kiosk.devices.decoder import Decoder

PRINT_DPI = 200
"""A print-like resolution: a QR module of a card is about 7 pixels."""


def pages(pdf: Path, dpi: int = PRINT_DPI) -> list[np.ndarray]:
    """Every page of ``pdf`` as a grayscale picture."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        return [
            np.asarray(page.render(scale=dpi / 72).to_pil().convert("L"))
            for page in document
        ]
    finally:
        document.close()


def text(pdf: Path) -> str:
    """The text of every page (from the PDF's own text layer)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def cut(page: np.ndarray, x: float, y: float, width_mm: float, height_mm: float,
        dpi: int = PRINT_DPI) -> np.ndarray:
    """The part of ``page`` at (x, y) points (PDF origin: bottom left) of that size."""
    scale = dpi / 72
    height = page.shape[0]
    top = int(height - (y + height_mm * mm) * scale)
    bottom = int(height - y * scale)
    left = int(x * scale)
    right = int((x + width_mm * mm) * scale)
    return np.ascontiguousarray(page[max(top, 0):bottom, max(left, 0):right])


def read_slots(pdf: Path, sheet: object, count: int, *, skip: int = 0) -> list[list[str]]:
    """The codes read from each of the ``count`` cards or labels of ``sheet`` in ``pdf``
    (one list per slot, in print order, starting ``skip`` slots into the first page)."""
    decoder = Decoder()
    pictures = pages(pdf)
    per_page = sheet.per_page  # type: ignore[attr-defined]
    found = []
    for index in range(skip, skip + count):
        page = pictures[index // per_page]
        x, y = sheet.slot(index % per_page)  # type: ignore[attr-defined]
        crop = cut(page, x, y, sheet.width, sheet.height)  # type: ignore[attr-defined]
        found.append([d.text for d in decoder.decode(crop)])
    return found
