"""Fonts for the sheets: a CJK font found and embedded where there is one, Latin in
Helvetica, text set in runs of each."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from kiosk.data.core.text import printable

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
