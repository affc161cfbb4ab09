"""PDF sheets for the desk's printer: library cards, book labels and the term summary.

Everything here draws plain values (the dataclasses below) with reportlab and never
touches the database: the desk's services in :mod:`kiosk.data.desk.cardprint`,
:mod:`kiosk.data.desk.labelprint` and :mod:`kiosk.data.desk.reports` choose what to print.

Chinese text needs a font with CJK glyphs embedded in the PDF. :func:`find_cjk_font`
looks for one (a path given by the caller or ``$KIOSK_PDF_FONT``, then ``fc-list``,
then well-known places such as Debian's ``fonts-droid-fallback``); without one the
PDF names reportlab's built-in CID font ``STSong-Light`` (not embedded: the reader's
own fonts draw it) and a warning is logged. Many CJK fonts (Droid Sans Fallback among
them) have no Latin letters, so text is set in runs: Latin in Helvetica, the rest in
the CJK font (:class:`Fonts`).

The sheets' geometry is public (:class:`CardSheet`, :class:`LabelSheet`), so a test
can cut each card or label out of the rendered page and read its code with the
kiosk's own decoder.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from kiosk.data.core.text import printable
from kiosk.locale import t

log = logging.getLogger(__name__)

LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
CID_FALLBACK = "STSong-Light"
"""reportlab's built-in Chinese font, used (not embedded) when no CJK TTF is found."""

FONT_ENV = "KIOSK_PDF_FONT"
"""Environment variable naming a TTF/TTC with Chinese glyphs to embed."""

KNOWN_FONTS = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",  # Fedora
    "/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf",  # Fedora
    "/System/Library/Fonts/STHeiti Light.ttc",  # macOS
    "C:/Windows/Fonts/simhei.ttf",  # Windows
    "C:/Windows/Fonts/msyh.ttc",
)
"""Where Chinese TrueType fonts usually are (CFF-based OpenType fonts cannot be embedded
by reportlab, so Noto Sans CJK .otf files are not listed)."""

_PROBE = "中文图书馆"

MAX_BARS = 72
"""The most bars a summary chart shows (a school of 12 grades x 6 classes)."""


# -- fonts -----------------------------------------------------------------------------


def _fc_list() -> list[str]:
    """Font files fontconfig knows with Chinese glyphs (empty without fontconfig)."""
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = [line.split(":", 1)[0].strip() for line in out.splitlines() if line.strip()]
    return sorted(f for f in files if f.lower().endswith((".ttf", ".ttc")))


def _font_name(path: str) -> str:
    """The name a font file is registered under (one name per file)."""
    stem = "".join(c for c in Path(path).stem if c.isascii() and c.isalnum())
    return f"KioskCJK-{stem or 'font'}-{zlib.crc32(path.encode()):08x}"


@cache
def _try_font(path: str) -> Any | None:
    """A reportlab TTFont for ``path`` if it loads and has Chinese glyphs, else None
    (read once: :func:`find_cjk_font` tries it, :func:`load_fonts` registers it)."""
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        font = TTFont(_font_name(path), path, subfontIndex=0)
    except Exception as error:  # noqa: BLE001 - reportlab raises many kinds on odd fonts
        log.debug("font %s cannot be embedded: %s", path, error)
        return None
    glyphs = font.face.charToGlyph
    if not all(ord(char) in glyphs for char in _PROBE):
        log.debug("font %s has no Chinese glyphs", path)
        return None
    return font


def find_cjk_font(preferred: str | None = None) -> str | None:
    """The path of a TrueType font with Chinese glyphs that reportlab can embed, or None.

    Looks at ``preferred``, then ``$KIOSK_PDF_FONT``, then fontconfig, then
    :data:`KNOWN_FONTS`; a named font that is missing or unusable is logged and skipped.
    """
    named = [p for p in (preferred, os.environ.get(FONT_ENV)) if p]
    for path in [*named, *_fc_list(), *KNOWN_FONTS]:
        if Path(path).is_file() and _try_font(path) is not None:
            return path
        if path in named:
            log.warning("the font %s is missing or has no Chinese glyphs; looking further", path)
    return None


@dataclass(frozen=True)
class Fonts:
    """The fonts a sheet is set in: Helvetica for Latin text, ``cjk`` for the rest.

    ``glyphs`` are the characters the CJK font has (None: assume all, as for the CID
    fallback). ``embedded`` says whether the CJK font travels inside the PDF.
    """

    cjk: str
    glyphs: frozenset[int] | None = field(repr=False)
    embedded: bool
    path: str | None = None

    def runs(self, text: str, *, bold: bool = False) -> list[tuple[str, str]]:
        """``text`` split into (font name, text) runs, each drawable in its font."""
        latin = LATIN_BOLD if bold else LATIN
        out: list[tuple[str, str]] = []
        for char in text:
            if char.isascii():
                font = latin
            elif self._has(char) or not _in_cp1252(char):
                font = self.cjk
            else:
                font = latin
            if out and out[-1][0] == font:
                out[-1] = (font, out[-1][1] + char)
            else:
                out.append((font, char))
        return out

    def _has(self, char: str) -> bool:
        return self.glyphs is None or ord(char) in self.glyphs

    def width(self, text: str, size: float, *, bold: bool = False) -> float:
        """The width of ``text`` at ``size`` points."""
        return sum(
            pdfmetrics.stringWidth(part, font, size) for font, part in self.runs(text, bold=bold)
        )

    def fit(self, text: str, size: float, width: float, *, bold: bool = False,
            smallest: float = 6) -> tuple[str, float]:
        """``text`` and a size at most ``size`` that fits ``width``: shrunk down to
        ``smallest`` points, then cut with an ellipsis."""
        while size > smallest and self.width(text, size, bold=bold) > width:
            size = max(smallest, size - 0.5)
        if self.width(text, size, bold=bold) <= width:
            return text, size
        while len(text) > 1 and self.width(text + "…", size, bold=bold) > width:
            text = text[:-1]
        return text + "…", size

    def draw(
        self, canvas: Canvas, x: float, y: float, text: str, size: float, *,
        bold: bool = False, width: float | None = None, align: str = "left",
    ) -> float:
        """Draw ``text`` with its baseline at ``y`` (fitted into ``width`` if given);
        ``align`` is ``left``, ``centre`` or ``right`` of ``x``. Returns the size used."""
        text = printable(text, 200)
        if width is not None:
            text, size = self.fit(text, size, width, bold=bold)
        total = self.width(text, size, bold=bold)
        if align == "centre":
            x -= total / 2
        elif align == "right":
            x -= total
        for font, part in self.runs(text, bold=bold):
            canvas.setFont(font, size)
            canvas.drawString(x, y, part)
            x += pdfmetrics.stringWidth(part, font, size)
        return size


def _in_cp1252(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@cache
def load_fonts(preferred: str | None = None) -> Fonts:
    """Register the fonts for the PDFs (once per font path) and describe them."""
    path = find_cjk_font(preferred)
    if path is not None:
        font = _try_font(path)
        if font is not None:
            pdfmetrics.registerFont(font)
            return Fonts(font.fontName, frozenset(font.face.charToGlyph), True, path)
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    log.warning(
        "no font with Chinese glyphs found (install fonts-droid-fallback or set %s); "
        "PDFs use %s, which is not embedded", FONT_ENV, CID_FALLBACK,
    )
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return Fonts(CID_FALLBACK, None, False, None)


# -- codes -----------------------------------------------------------------------------


def qr_matrix(payload: str, *, level: str = "M") -> list[list[bool]]:
    """The modules of ``payload``'s QR code (True is dark), without the quiet zone.

    zxing-cpp (already the decoder's engine) encodes a card in a fraction of a
    millisecond; the pure-Python ``qrcode`` package, used when it is missing, takes
    about 10 ms, which is most of the time of 2,000 cards.
    """
    try:
        import zxingcpp

        symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=level)
        image = symbol.to_image(scale=1, add_quiet_zones=False)
        import numpy as np

        return (np.asarray(image) < 128).tolist()  # type: ignore[no-any-return]
    except (ImportError, AttributeError, TypeError) as error:
        log.debug("zxing-cpp cannot encode QR codes here (%s); using qrcode", error)
    import qrcode
    from qrcode import constants

    levels = {
        "L": constants.ERROR_CORRECT_L, "M": constants.ERROR_CORRECT_M,
        "Q": constants.ERROR_CORRECT_Q, "H": constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(error_correction=levels[level], border=0)
    code.add_data(payload)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def draw_qr(canvas: Canvas, payload: str, x: float, y: float, side: float, *,
            level: str = "M") -> None:
    """Draw ``payload`` as a QR code filling the square ``side`` at (x, y) (bottom left).

    The caller leaves the quiet zone (four modules) around it. Runs of dark modules
    are drawn as one rectangle each, which keeps a sheet of 2,000 cards small and fast.
    """
    matrix = qr_matrix(payload, level=level)
    count = len(matrix)
    module = side / count
    rects: list[str] = []
    for row_index, row in enumerate(matrix):
        top = y + side - (row_index + 1) * module
        start = None
        for col, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                rects.append(
                    f"{x + start * module:.3f} {top:.3f} {(col - start) * module:.3f} "
                    f"{module:.3f} re"
                )
                start = None
    path = canvas.beginPath()
    code = getattr(path, "_code", None)
    if isinstance(code, list):
        # reportlab formats every number in Python (slow without its C accelerator):
        # the rectangles go into the path's operators as formatted here.
        code.extend(rects)
    else:  # pragma: no cover - a reportlab without the list of operators
        for rect in rects:
            rx, ry, rw, rh, _ = rect.split()
            path.rect(float(rx), float(ry), float(rw), float(rh))
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)


def draw_code128(canvas: Canvas, text: str, x: float, y: float, width: float,
                 height: float) -> None:
    """Draw ``text`` as a Code 128 barcode in the box (x, y, width, height), centred,
    with quiet zones of ten modules."""
    from reportlab.graphics.barcode.code128 import Code128

    probe = Code128(text, barWidth=1, quiet=0)
    modules = probe.width  # width at one point per module
    bar = width / (modules + 20)
    symbol = Code128(text, barWidth=bar, barHeight=height, quiet=0)
    symbol.drawOn(canvas, x + (width - symbol.width) / 2, y)


# -- cards -----------------------------------------------------------------------------


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
    if card.school_class:
        fonts.draw(canvas, text_x, top - 7 * mm, card.school_class, 10, width=text_w)
    fonts.draw(canvas, text_x, top - 13 * mm, t("print.card.number", number=card.number), 8.5,
               width=text_w)
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


# -- labels ----------------------------------------------------------------------------


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


# -- the term summary ------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One bar of a summary chart: its label and value."""

    label: str
    value: float


@dataclass(frozen=True)
class Summary:
    """What the one-page term summary shows (already translated, plain values).

    ``figures`` are the headline (label, value) pairs; ``per_class``/``per_grade`` the
    loans per student bars, drawn against ``target``; ``at_target`` the share (0..1)
    of students who reached it; ``lists`` short ranked lists (heading, lines).
    """

    title: str
    period: str
    target: float
    target_label: str
    figures: Sequence[tuple[str, str]]
    per_class_title: str
    per_class: Sequence[Bar]
    per_grade_title: str
    per_grade: Sequence[Bar]
    at_target_title: str
    at_target: float
    at_target_labels: tuple[str, str]
    lists: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)


def _bar_chart(canvas: Canvas, fonts: Fonts, title: str, bars: Sequence[Bar], target: float,
               target_label: str, x: float, y: float, width: float, height: float) -> None:
    """A reportlab bar chart of ``bars`` with a dashed target line; labels drawn in runs."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, Line, String
    from reportlab.lib import colors

    fonts.draw(canvas, x, y + height - 4 * mm, title, 10, bold=True, width=width)
    if not bars:
        fonts.draw(canvas, x, y + height / 2, t("print.report.none"), 9, width=width)
        return
    shown = list(bars)[:MAX_BARS]
    if len(bars) > MAX_BARS:
        fonts.draw(canvas, x + width, y + height - 4 * mm, f"{MAX_BARS}/{len(bars)}", 8,
                   align="right")
    step = (width - 14 * mm) / len(shown)
    upright = step >= 10 * mm  # room to write each label under its bar; else turned
    plot_x, plot_y = 12 * mm, (14 if upright else 20) * mm
    plot_w, plot_h = width - plot_x - 2 * mm, height - plot_y - 9 * mm
    drawing = Drawing(width, height - 6 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = plot_x, plot_y, plot_w, plot_h
    chart.data = [[bar.value for bar in shown]]
    chart.categoryAxis.categoryNames = ["" for _ in shown]
    chart.categoryAxis.labels.fontSize = 1
    top = max([bar.value for bar in shown] + [target, 1.0]) * 1.1
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, top
    chart.valueAxis.labels.fontName = LATIN
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#4a7bb7")
    chart.bars[0].strokeColor = None
    if step >= 8 * mm:
        chart.barLabelFormat = "%.1f"
        chart.barLabels.fontName = LATIN
        chart.barLabels.fontSize = 6
        chart.barLabels.nudge = 5
    drawing.add(chart)
    if target > 0:
        line_y = plot_y + plot_h * target / top
        drawing.add(Line(plot_x, line_y, plot_x + plot_w, line_y, strokeColor=colors.red,
                         strokeDashArray=[3, 2], strokeWidth=0.8))
        drawing.add(String(plot_x + plot_w, line_y + 2, f"{target:g}", fontName=LATIN,
                           fontSize=7, fillColor=colors.red, textAnchor="end"))
    drawing.drawOn(canvas, x, y)
    step = plot_w / len(shown)
    for index, bar in enumerate(shown):
        centre = x + plot_x + step * (index + 0.5)
        if upright:
            fonts.draw(canvas, centre, y + plot_y - 4 * mm, bar.label, 7, width=step - 1,
                       align="centre")
        else:
            canvas.saveState()
            canvas.translate(centre + min(step, 7) / 3, y + plot_y - 1.5 * mm)
            canvas.rotate(90)
            fonts.draw(canvas, 0, 0, bar.label, min(6.5, step * 0.75), width=plot_y - 7 * mm,
                       align="right")
            canvas.restoreState()
    fonts.draw(canvas, x + plot_x, y + 2 * mm, target_label, 7, width=plot_w)


def _share_chart(canvas: Canvas, fonts: Fonts, title: str, share: float,
                 labels: tuple[str, str], x: float, y: float, width: float,
                 height: float) -> None:
    """A pie of the students who reached the target against those who did not."""
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    fonts.draw(canvas, x, y + height - 4 * mm, title, 10, bold=True, width=width)
    side = min(width * 0.45, height - 12 * mm)
    drawing = Drawing(side, side)
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 0, 0, side, side
    share = min(max(share, 0.0), 1.0)
    pie.data = [share, 1 - share] if 0 < share < 1 else [1.0]
    colours = [colors.HexColor("#3c9d5d"), colors.HexColor("#d9d9d9")]
    if share == 0:
        colours = colours[1:]
    for index, colour in enumerate(colours[: len(pie.data)]):
        pie.slices[index].fillColor = colour
        pie.slices[index].strokeColor = colors.white
    pie.labels = None
    drawing.add(pie)
    drawing.drawOn(canvas, x, y + 2 * mm)
    legend_x = x + side + 5 * mm
    for index, (label, value, colour) in enumerate(
        ((labels[0], share, "#3c9d5d"), (labels[1], 1 - share, "#d9d9d9"))
    ):
        line_y = y + side - 8 * mm - index * 7 * mm
        canvas.setFillColor(colors.HexColor(colour))
        canvas.rect(legend_x, line_y - 0.5 * mm, 3 * mm, 3 * mm, stroke=0, fill=1)
        canvas.setFillGray(0)
        fonts.draw(canvas, legend_x + 5 * mm, line_y, f"{label} {value:.0%}", 9,
                   width=width - side - 10 * mm)


def render_summary(summary: Summary, out: Path | Any, *, font: str | None = None) -> None:
    """Draw the one-page term summary with its charts into the PDF ``out``."""
    fonts = load_fonts(font)
    page_w, page_h = A4
    canvas = Canvas(str(out) if isinstance(out, Path) else out, pagesize=A4, pageCompression=1)
    canvas.setTitle(printable(summary.title, 120))
    margin = 15 * mm
    inner = page_w - 2 * margin
    y = page_h - margin - 6 * mm
    fonts.draw(canvas, margin, y, summary.title, 17, bold=True, width=inner)
    y -= 7 * mm
    fonts.draw(canvas, margin, y, summary.period, 10, width=inner)
    # headline figures in a row of boxes
    y -= 18 * mm
    count = max(len(summary.figures), 1)
    box_w = inner / count
    for index, (label, value) in enumerate(summary.figures):
        bx = margin + index * box_w
        canvas.setStrokeGray(0.7)
        canvas.setLineWidth(0.5)
        canvas.rect(bx + 1 * mm, y - 2 * mm, box_w - 2 * mm, 15 * mm, stroke=1, fill=0)
        fonts.draw(canvas, bx + box_w / 2, y + 5.5 * mm, value, 14, bold=True,
                   width=box_w - 4 * mm, align="centre")
        fonts.draw(canvas, bx + box_w / 2, y, label, 7.5, width=box_w - 4 * mm, align="centre")
    # charts
    chart_h = 62 * mm
    y -= 6 * mm + chart_h
    _bar_chart(canvas, fonts, summary.per_class_title, summary.per_class, summary.target,
               summary.target_label, margin, y, inner, chart_h)
    y -= chart_h + 3 * mm
    half = inner / 2
    _bar_chart(canvas, fonts, summary.per_grade_title, summary.per_grade, summary.target,
               summary.target_label, margin, y, half - 3 * mm, chart_h)
    _share_chart(canvas, fonts, summary.at_target_title, summary.at_target,
                 summary.at_target_labels, margin + half + 3 * mm, y, half - 3 * mm, chart_h)
    # short lists side by side at the bottom
    lists = list(summary.lists)[:3]
    if lists:
        col_w = inner / len(lists)
        top = y - 8 * mm
        for index, (heading, lines) in enumerate(lists):
            lx = margin + index * col_w
            fonts.draw(canvas, lx, top, heading, 9.5, bold=True, width=col_w - 3 * mm)
            for n, line in enumerate(list(lines)[:10] or [t("print.report.none")]):
                line_y = top - (n + 1) * 4.6 * mm
                if line_y < margin:
                    break
                fonts.draw(canvas, lx, line_y, line, 7.5, width=col_w - 3 * mm)
    canvas.showPage()
    canvas.save()

