"""The term's repair log and write-off list (修补登记 / 剔旧报损清单), as the plans ask.

One workbook of two sheets (through :mod:`kiosk.data.desk.spreadsheet`, which neutralises
formulas) and one printable PDF of both tables, in the librarian's language, from the
plain values of :mod:`kiosk.data.desk.stock_log`. Written from the librarian's screens
(kiosk and desk) and by ``kiosk report repairs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from kiosk.data.core import settings
from kiosk.data.core.store import Store
from kiosk.data.desk.spreadsheet import Sheet, write_xlsx
from kiosk.data.desk.stock_log import RepairLine, WriteOff, repair_log, write_offs
from kiosk.locale import t

TERM_START = "term_start"
"""The setting that holds the term's first day (``YYYY-MM-DD``)."""


@dataclass(frozen=True)
class TermLists:
    """The term's two lists, and the period they cover."""

    start: date
    end: date
    repairs: list[RepairLine]
    write_offs: list[WriteOff]


@dataclass(frozen=True)
class ListsWritten:
    """Where the lists went, and how many lines each has."""

    xlsx: Path
    pdf: Path
    repairs: int
    write_offs: int


def term_period(today: date) -> tuple[date, date]:
    """This term: from the ``term_start`` setting (else 183 days back) to today.
    Read-only; call with a connection."""
    text = settings.get(TERM_START)
    try:
        start = date.fromisoformat(text) if text else None
    except ValueError:
        start = None
    if start is None or start > today:
        start = today - timedelta(days=183)
    return start, today


def term_lists(start: date, end: date) -> TermLists:
    """The repair log and the write-off list of ``start`` to ``end``. Read-only; call
    with a connection.

    Raises:
        ValueError: ``end`` is before ``start``.
    """
    if end < start:
        raise ValueError(f"the period ends before it starts: {start} to {end}")
    return TermLists(start, end, repair_log(start, end), write_offs(start, end))


def _how(line: RepairLine) -> str:
    return t(f"stock.list.how.{line.how}")


def _outcome(line: RepairLine) -> str:
    return t(f"stock.list.outcome.{line.outcome or 'waiting'}")


def _why(line: WriteOff) -> str:
    if line.action == "lost":
        said = t(f"stock.settlement.{line.settlement}") if line.settlement else t(
            "stock.settlement.none")
        return t("stock.list.lost_why", settlement=said)
    known = line.reason in ("worn_out", "outdated", "lost")
    return t(f"stock.reason.{line.reason}") if known else line.reason


def repair_rows(lists: TermLists) -> list[list[object]]:
    """The repair log's rows: came in, barcode, title, call number, how, left, outcome, by."""
    return [[x.came_in, x.barcode, x.title, x.call_number, _how(x), x.left_on or "",
             _outcome(x), x.by] for x in lists.repairs]


def write_off_rows(lists: TermLists) -> list[list[object]]:
    """The write-off list's rows: day, barcode, title, call number, what, why, who, class, by."""
    return [[x.day, x.barcode, x.title, x.call_number, t(f"stock.list.action.{x.action}"),
             _why(x), x.patron_name, x.school_class, x.by] for x in lists.write_offs]


REPAIR_HEAD = ("came_in", "barcode", "title", "call_number", "how", "left_on", "outcome", "by")
WRITE_OFF_HEAD = ("day", "barcode", "title", "call_number", "what", "why", "who", "class", "by")


def sheets(lists: TermLists) -> list[Sheet]:
    """The workbook's two sheets."""
    return [
        Sheet(t("stock.list.repairs"), [t(f"stock.head.{k}") for k in REPAIR_HEAD],
              repair_rows(lists), widths=(12, 12, 36, 14, 14, 12, 14, 10)),
        Sheet(t("stock.list.write_offs"), [t(f"stock.head.{k}") for k in WRITE_OFF_HEAD],
              write_off_rows(lists), widths=(12, 12, 36, 14, 10, 18, 14, 14, 10)),
    ]


def render_pdf(lists: TermLists, path: Path, *, library: str, font: str | None = None) -> None:
    """Both lists as A4 pages in landscape, headed with the library and the period."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from kiosk.data.desk.pdf import load_fonts

    fonts = load_fonts(font)
    width, height = landscape(A4)
    canvas = Canvas(str(path), pagesize=(width, height))
    canvas.setTitle(t("stock.list.title", library=library))
    margin, line = 12 * mm, 5.5 * mm
    period = t("stock.list.period", start=lists.start.isoformat(), end=lists.end.isoformat())

    def table(title: str, head: tuple[str, ...], rows: list[list[object]],
              shares: tuple[float, ...]) -> None:
        usable = width - 2 * margin
        xs = [margin]
        for share in shares[:-1]:
            xs.append(xs[-1] + usable * share)
        widths = [usable * share - 2 * mm for share in shares]
        y = height - margin

        def heading() -> float:
            fonts.draw(canvas, margin, height - margin, f"{library} · {title}", 13, bold=True,
                       width=usable)
            fonts.draw(canvas, margin, height - margin - line, period, 9, width=usable)
            top = height - margin - 2.6 * line
            for x, key, w in zip(xs, head, widths, strict=True):
                fonts.draw(canvas, x, top, t(f"stock.head.{key}"), 8, bold=True, width=w)
            canvas.line(margin, top - 1.5 * mm, width - margin, top - 1.5 * mm)
            return top - line

        y = heading()
        if not rows:
            fonts.draw(canvas, margin, y, t("stock.list.none"), 9, width=usable)
        for row in rows:
            if y < margin:
                canvas.showPage()
                y = heading()
            for x, cell, w in zip(xs, row, widths, strict=True):
                fonts.draw(canvas, x, y, str(cell), 8, width=w)
            y -= line
        canvas.showPage()

    table(t("stock.list.repairs"), REPAIR_HEAD, repair_rows(lists),
          (0.1, 0.1, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1))
    table(t("stock.list.write_offs"), WRITE_OFF_HEAD, write_off_rows(lists),
          (0.09, 0.09, 0.26, 0.09, 0.07, 0.13, 0.1, 0.09, 0.08))
    canvas.save()


def write_lists(lists: TermLists, folder: Path, *, library: str,
                font: str | None = None) -> ListsWritten:
    """Write ``repairs-and-write-offs-<start>-<end>.xlsx`` and ``.pdf`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"repairs-write-offs-{lists.start.isoformat()}-{lists.end.isoformat()}"
    xlsx, pdf = folder / f"{stem}.xlsx", folder / f"{stem}.pdf"
    write_xlsx(xlsx, sheets(lists))
    render_pdf(lists, pdf, library=library, font=font)
    return ListsWritten(xlsx, pdf, len(lists.repairs), len(lists.write_offs))


def export_term_lists(store: Store, folder: Path, *, font: str | None = None) -> ListsWritten:
    """This term's lists (:func:`term_period`) written into ``folder``, for the
    librarian's screens.

    Raises:
        OSError: the folder cannot be written; StorageError: the database cannot be read.
    """
    with store.reading():
        lists = term_lists(*term_period(store.today()))
        library = settings.get("library_name")
    return write_lists(lists, folder, library=library, font=font)
