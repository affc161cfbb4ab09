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

from kiosk.data.desk.pdf.cards import CardFace, CardSheet, render_cards
from kiosk.data.desk.pdf.codes import draw_code128, draw_qr, qr_matrix
from kiosk.data.desk.pdf.fonts import CID_FALLBACK, FONT_ENV, Fonts, find_cjk_font, load_fonts
from kiosk.data.desk.pdf.labels import LABEL_SYMBOLOGIES, LabelFace, LabelSheet, render_labels
from kiosk.data.desk.pdf.summary import Bar, Summary, render_summary

__all__ = [
    "CID_FALLBACK", "FONT_ENV", "LABEL_SYMBOLOGIES", "Bar", "CardFace", "CardSheet", "Fonts",
    "LabelFace", "LabelSheet", "Summary", "draw_code128", "draw_qr", "find_cjk_font",
    "load_fonts", "qr_matrix", "render_cards", "render_labels", "render_summary",
]
