"""The desk's printing and report commands: ``kiosk cards``, ``kiosk labels`` and
``kiosk report term|out|stock``.

:func:`add_commands` adds them to the ``kiosk`` parser (:mod:`kiosk.cli`). They run
before any full-screen app, so they talk to the librarian on the terminal, in the
configured language, through :func:`kiosk.locale.t`. Choosing and issuing happen in
the services of :mod:`kiosk.data` (cardprint, labelprint, reports); drawing in
:mod:`kiosk.data.desk.pdf`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.locale import t

log = logging.getLogger(__name__)


class _Refused(Exception):
    """A message for the librarian (already translated); the command exits with 2."""


def _say(message: str) -> None:
    print(message)


def _numbers(numbers: list[str]) -> str:
    """Patron numbers as the terminal may show them: they come from ``--file`` and
    ``--patron`` as typed, so an escape sequence in them is made visible, not obeyed."""
    from kiosk.data.core.text import printable

    return ", ".join(printable(number, 40) for number in numbers)


def _open(args: argparse.Namespace, config: Config) -> Any:
    """Open the library named by ``--db`` (a file path or a URL) or the settings, in the
    configured language, as the import commands do; a missing or unreachable database
    is a refusal in words."""
    import peewee

    from kiosk.commands.imports import cannot_open, open_for_command
    from kiosk.data.core.db import DatabaseMissing

    try:
        return open_for_command(args.db, config)
    except (DatabaseMissing, peewee.PeeweeException) as error:
        raise _Refused(cannot_open(error)) from error


def _pdf_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() != ".pdf":
        raise _Refused(t("print.file.not_pdf", path=value))
    return path


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A file that cannot be written is a refusal that names it."""
    try:
        yield
    except OSError as error:
        raise _Refused(t("print.file.cannot_write", path=path, reason=error)) from None


def _fonts_note(font: str | None) -> None:
    from kiosk.data.desk.pdf import load_fonts

    if not load_fonts(font).embedded:
        print(t("print.font.fallback"), file=sys.stderr)


def _run(command: Any) -> Any:
    """Wrap a command: a refusal or an unwritable file is a clear message, exit 2."""

    def run(args: argparse.Namespace, config: Config) -> int:
        try:
            return int(command(args, config))
        except _Refused as refused:
            print(f"kiosk: {refused}", file=sys.stderr)
            return 2

    run.__doc__ = command.__doc__
    return run


def _write_check(path: Path) -> None:
    """Refuse before anything is issued when ``path`` cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise _Refused(t("print.file.cannot_write", path=path, reason="no such folder"))
    if path.exists() and path.is_dir():
        raise _Refused(t("print.file.cannot_write", path=path, reason="it is a folder"))


# -- cards -----------------------------------------------------------------------------


@_run
def cmd_cards(args: argparse.Namespace, config: Config) -> int:
    """``kiosk cards``: print library cards (issuing first cards and reissued ones)."""
    from kiosk.data.desk.cardprint import CardPrintError, print_cards, read_numbers
    from kiosk.data.desk.pdf import CardFace, render_cards

    numbers = list(args.patron or [])
    for name in args.file or []:
        try:
            numbers += read_numbers(Path(name).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as error:
            raise _Refused(t("print.file.unreadable", path=name, reason=error)) from None
    if not (args.school_class or numbers or args.reissue):
        raise _Refused(t("print.cards.choose"))
    out = _pdf_path(args.output)
    _write_check(out)
    expires = _day(args.expires) if args.expires else None
    db = _open(args, config)
    pages: list[int] = []
    with db.connection_context(), _writing(out):
        try:
            batch = print_cards(
                expires_on=expires,
                school_class=args.school_class, numbers=numbers, reissue=args.reissue or [],
                render=lambda rows: pages.append(
                    render_cards([CardFace(**asdict(r)) for r in rows], out, font=args.font)
                ),
            )
        except CardPrintError as error:
            raise _Refused(t(error.key, **error.params)) from None
    _say(t("print.cards.done", count=len(batch.cards), pages=pages[0] if pages else 0,
           path=out))
    if batch.issued:
        _say(t("print.cards.issued", count=len(batch.issued)))
    if batch.reissued:
        _say(t("print.cards.reissued", numbers=_numbers(batch.reissued)))
    if batch.unknown:
        _say(t("print.cards.unknown", numbers=_numbers(batch.unknown)))
    if batch.inactive:
        _say(t("print.cards.inactive", numbers=_numbers(batch.inactive)))
    if batch.unprintable:
        _say(t("print.cards.unprintable", numbers=_numbers(batch.unprintable)))
    _fonts_note(args.font)
    return 0


# -- labels ----------------------------------------------------------------------------


@_run
def cmd_labels(args: argparse.Namespace, config: Config) -> int:
    """``kiosk labels``: print book labels for new copies or a range of barcodes."""
    from kiosk.data.desk.labelprint import LabelPrintError, new_labels, range_labels
    from kiosk.data.desk.pdf import LabelFace, LabelSheet, render_labels

    if not args.new and not (args.first and args.last):
        raise _Refused(t("print.labels.choose"))
    try:
        sheet = LabelSheet.parse(args.sheet) if args.sheet else LabelSheet()
    except ValueError:
        raise _Refused(t("print.labels.bad_sheet", sheet=args.sheet)) from None
    out = _pdf_path(args.output)
    _write_check(out)
    db = _open(args, config)
    pages: list[int] = []

    def render(rows: list[Any]) -> None:
        pages.append(render_labels(
            [LabelFace(**asdict(r)) for r in rows], out, sheet=sheet,
            symbology=args.code, font=args.font, skip=args.skip,
        ))

    with db.connection_context(), _writing(out):
        try:
            if args.new:
                rows = new_labels(render, limit=args.limit)
            else:
                rows = range_labels(args.first, args.last, render)
        except LabelPrintError as error:
            raise _Refused(t(error.key, **error.params)) from None
    _say(t("print.labels.done", count=len(rows), pages=pages[0] if pages else 0, path=out))
    _fonts_note(args.font)
    return 0


# -- reports ---------------------------------------------------------------------------


def _table_path(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise _Refused(t("print.file.not_table", path=value))
    _write_check(path)
    return path


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _Refused(t("print.report.bad_date", value=value)) from None


@_run
def cmd_report_term(args: argparse.Namespace, config: Config) -> int:
    """``kiosk report term``: the term's workbook (XLSX) and one-page summary (PDF)."""
    from kiosk.data.desk import report_sheets, reports
    from kiosk.data.desk.pdf import render_summary

    start, end = _day(args.start), _day(args.end)
    if end < start:
        raise _Refused(t("print.report.bad_period", start=start, end=end))
    if args.target < 0 or args.stars < 1:
        raise _Refused(t("print.report.bad_target"))
    xlsx = Path(args.output)
    if xlsx.suffix.lower() != ".xlsx":
        xlsx = xlsx.with_suffix(".xlsx")
    pdf = Path(args.pdf) if args.pdf else xlsx.with_suffix(".pdf")
    _write_check(xlsx)
    _write_check(pdf)
    db = _open(args, config)
    with db.connection_context():
        report = reports.term_report(start, end, target=args.target, stars=args.stars)
    with _writing(xlsx):
        report_sheets.write_term_xlsx(report, xlsx)
    with _writing(pdf):
        render_summary(summary_of(report), pdf, font=args.font)
    _say(t("print.report.done", xlsx=xlsx, pdf=pdf))
    _fonts_note(args.font)
    return 0


@_run
def cmd_report_out(args: argparse.Namespace, config: Config) -> int:
    """``kiosk report out``: every book still on loan, by class, with days overdue."""
    from kiosk.data.desk import report_sheets, reports
    from kiosk.data.desk.spreadsheet import write_table

    db = _open(args, config)
    with db.connection_context():
        loans = reports.still_out()
    if not loans:
        _say(t("print.report.out_none"))
        return 0
    if args.output:
        path = _table_path(args.output)
        with _writing(path):
            write_table(path, report_sheets.out_sheet(loans))
        _say(t("print.report.out_done", count=len(loans), path=path))
        return 0
    for line in report_sheets.out_lines(loans):
        _say(line)
    return 0


@_run
def cmd_report_stock(args: argparse.Namespace, config: Config) -> int:
    """``kiosk report stock``: the latest shelf checks: found, missing, misplaced."""
    from kiosk.data.desk import report_sheets, reports
    from kiosk.data.desk.spreadsheet import write_table

    db = _open(args, config)
    with db.connection_context():
        stock = reports.stock_check()
    if not stock.checks:
        _say(t("print.report.stock_none"))
        return 0
    path = _table_path(args.output or "stock.xlsx")
    with _writing(path):
        write_table(path, report_sheets.stock_sheet(stock))
    _say(t("print.report.stock_done", checks=len(stock.checks), path=path,
           found=len(stock.found), missing=len(stock.missing), misplaced=len(stock.misplaced)))
    return 0


@_run
def cmd_report_repairs(args: argparse.Namespace, config: Config) -> int:
    """``kiosk report repairs``: the period's repair log and write-off list (XLSX, PDF)."""
    from kiosk.data.core import settings
    from kiosk.data.desk import stock_lists
    from kiosk.data.desk.spreadsheet import write_xlsx

    start, end = _day(args.start), _day(args.end)
    if end < start:
        raise _Refused(t("print.report.bad_period", start=start, end=end))
    xlsx = Path(args.output)
    if xlsx.suffix.lower() != ".xlsx":
        xlsx = xlsx.with_suffix(".xlsx")
    pdf = Path(args.pdf) if args.pdf else xlsx.with_suffix(".pdf")
    _write_check(xlsx)
    _write_check(pdf)
    db = _open(args, config)
    with db.connection_context():
        lists = stock_lists.term_lists(start, end)
        library = settings.get("library_name")
    with _writing(xlsx):
        write_xlsx(xlsx, stock_lists.sheets(lists))
    with _writing(pdf):
        stock_lists.render_pdf(lists, pdf, library=library, font=args.font)
    _say(t("stock.lists_done", repairs=len(lists.repairs), write_offs=len(lists.write_offs),
           xlsx=xlsx, pdf=pdf))
    _fonts_note(args.font)
    return 0


def summary_of(report: Any) -> Any:
    """The one-page summary (:class:`kiosk.data.desk.pdf.Summary`) of a term report."""
    from kiosk.data.desk.pdf import Bar, Summary

    def grade_name(grade: int | None) -> str:
        return t("print.report.no_grade") if grade is None else t("print.report.grade",
                                                                   grade=grade)

    lists = [
        (t("print.report.top_titles"), [
            t("print.report.line_title", rank=x.rank, title=x.title, loans=x.loans)
            for x in report.titles[:10]
        ]),
        (t("print.report.stars"), [
            t("print.report.line_star", name=s.name, school_class=s.school_class, loans=s.loans)
            for s in sorted((s for s in report.students if s.loans),
                            key=lambda s: (-s.loans, s.number))[:10]
        ]),
        (t("print.report.helpers"), [
            t("print.report.line_helper", rank=h.rank, name=h.name, books=h.books)
            for h in report.helpers[:10]
        ]),
    ]
    figures = [
        (t("print.report.students"), str(len(report.students))),
        (t("print.report.loans"), str(report.student_loans)),
        (t("print.report.per_student"), f"{report.per_student:.1f}"),
        (t("print.report.at_target"), f"{report.share_at_target:.0%}"),
        (t("print.report.visits"), str(sum(v.visits for v in report.visits))),
        (t("term.corner_books"), str(sum(c.books for c in report.corners))),
    ]
    if report.stock is not None:
        figures += [(t("term.repairs"), str(report.stock.repairs)),
                    (t("term.withdrawn_lost"),
                     f"{report.stock.withdrawn} / {report.stock.lost}")]
    return Summary(
        title=t("print.report.title", library=report.library_name),
        period=t("print.report.period", start=report.start.isoformat(),
                 end=report.end.isoformat(), target=report.target),
        target=report.target,
        target_label=t("print.report.target_line", target=report.target),
        figures=figures,
        per_class_title=t("print.report.per_class"),
        per_class=[Bar(g.name, round(g.per_student, 2)) for g in report.classes],
        per_grade_title=t("print.report.per_grade"),
        per_grade=[Bar(grade_name(g.grade), round(g.per_student, 2)) for g in report.grades],
        at_target_title=t("print.report.share"),
        at_target=report.share_at_target,
        at_target_labels=(t("print.report.at_target"), t("print.report.not_yet")),
        lists=lists,
    )


# -- the parsers -----------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="database file or URL (default: from the settings)")


def add_commands(sub: Any) -> None:
    """Add ``cards``, ``labels`` and ``report`` to the ``kiosk`` command's subparsers."""
    cards = sub.add_parser(
        "cards", help="print library cards as a PDF (10 to an A4 page, with cut marks)",
        description="Readers without a card get their first one; --reissue gives a new "
        "card and the old one stops working at once.",
    )
    cards.add_argument("--class", dest="school_class", metavar="NAME",
                       help="every reader of this class")
    cards.add_argument("--patron", action="append", metavar="NUMBER",
                       help="a reader by number (repeat for more)")
    cards.add_argument("--file", action="append", metavar="FILE",
                       help="a text file of reader numbers, one a line")
    cards.add_argument("--reissue", action="append", metavar="NUMBER",
                       help="a lost card: issue a new card to this reader (the old one is revoked)")
    cards.add_argument("--expires", metavar="DATE",
                       help="new cards are valid until this day (default: no end)")
    cards.add_argument("-o", "--output", default="cards.pdf", metavar="FILE.pdf")
    cards.add_argument("--font", metavar="FILE", help="a TTF font with Chinese characters")
    _common(cards)
    cards.set_defaults(func=cmd_cards)

    labels = sub.add_parser("labels", help="print book labels (QR or Code 128) as a PDF sheet")
    labels.add_argument("--new", action="store_true",
                        help="the copies whose labels were not printed here yet")
    labels.add_argument("--from", dest="first", metavar="BARCODE", help="first barcode")
    labels.add_argument("--to", dest="last", metavar="BARCODE", help="last barcode")
    labels.add_argument("--code", choices=["qr", "code128"], default="qr")
    labels.add_argument("--sheet", metavar="SPEC",
                        help="label sheet COLSxROWS:WxH[:LEFT,TOP[,GAPX,GAPY]] in mm "
                        "(default 3x8:70x37, A4)")
    labels.add_argument("--skip", type=int, default=0,
                        help="leave the first N labels of the sheet empty (a used sheet)")
    labels.add_argument("--limit", type=int, help="with --new: at most N labels")
    labels.add_argument("-o", "--output", default="labels.pdf", metavar="FILE.pdf")
    labels.add_argument("--font", metavar="FILE", help="a TTF font with Chinese characters")
    _common(labels)
    labels.set_defaults(func=cmd_labels)

    report = sub.add_parser("report", help="term reports and end-of-term lists")
    report_sub = report.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    term = report_sub.add_parser(
        "term", help="the term's figures: an XLSX workbook and a one-page PDF summary"
    )
    term.add_argument("--from", dest="start", required=True, metavar="DATE")
    term.add_argument("--to", dest="end", required=True, metavar="DATE")
    term.add_argument("--target", type=int, default=10,
                      help="books each student should read in the term (default 10)")
    term.add_argument("--stars", type=int, default=3, help="reading stars per class")
    term.add_argument("-o", "--output", default="term-report.xlsx", metavar="FILE.xlsx")
    term.add_argument("--pdf", metavar="FILE.pdf", help="the summary (default: beside the XLSX)")
    term.add_argument("--font", metavar="FILE", help="a TTF font with Chinese characters")
    _common(term)
    term.set_defaults(func=cmd_report_term)
    out = report_sub.add_parser("out", help="every book still on loan, by class")
    out.add_argument("-o", "--output", metavar="FILE", help=".xlsx or .csv (default: print)")
    _common(out)
    out.set_defaults(func=cmd_report_out)
    stock = report_sub.add_parser(
        "stock", help="the latest shelf checks: books found, missing and misplaced"
    )
    stock.add_argument("-o", "--output", metavar="FILE", help=".xlsx or .csv (default stock.xlsx)")
    _common(stock)
    stock.set_defaults(func=cmd_report_stock)
    repairs = report_sub.add_parser(
        "repairs", help="the repair log and the write-off list of a period (XLSX and PDF)"
    )
    repairs.add_argument("--from", dest="start", required=True, metavar="DATE")
    repairs.add_argument("--to", dest="end", required=True, metavar="DATE")
    repairs.add_argument("-o", "--output", default="repairs.xlsx", metavar="FILE.xlsx")
    repairs.add_argument("--pdf", metavar="FILE.pdf", help="the lists (default: beside the XLSX)")
    repairs.add_argument("--font", metavar="FILE", help="a TTF font with Chinese characters")
    _common(repairs)
    repairs.set_defaults(func=cmd_report_repairs)
