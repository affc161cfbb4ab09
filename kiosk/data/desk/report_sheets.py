"""The term report and end-of-term lists as spreadsheet tables, in the librarian's language.

Each function turns the plain values of :mod:`kiosk.data.desk.reports` into
:class:`~kiosk.data.desk.spreadsheet.Sheet` tables with translated headings; the files are
written through :mod:`kiosk.data.desk.spreadsheet`, which neutralises any formula a name
or title might hold.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.data.core.text import printable
from kiosk.data.desk.reports import OutLoan, StockCheck, TermReport
from kiosk.data.desk.spreadsheet import Sheet, write_xlsx
from kiosk.locale import t


def _h(*keys: str) -> list[str]:
    return [t(f"print.head.{key}") for key in keys]


def _yes(value: bool) -> str:
    return t("print.head.yes") if value else t("print.head.no")


def term_sheets(report: TermReport) -> list[Sheet]:
    """The workbook's sheets: summary, students against the target, classes, grades,
    reading stars, top titles, class visits, helpers, overdue and lost books, and the
    reservation register (教师借阅书刊预约登记表)."""
    summary = Sheet(t("print.sheet.summary"), _h("item", "value"), [
        [t("print.head.from"), report.start],
        [t("print.head.to"), report.end],
        [t("print.head.target"), report.target],
        [t("print.report.students"), len(report.students)],
        [t("print.report.loans"), report.student_loans],
        [t("print.report.per_student"), round(report.per_student, 2)],
        [t("print.report.at_target"), report.at_target],
        [t("print.head.share"), round(report.share_at_target, 4)],
        [t("print.sheet.overdue"), len(report.overdue)],
        [t("print.sheet.lost"), len(report.lost)],
        [t("print.report.reservations"), len(report.reservations)],
        [t("print.report.teacher_reservations"), report.teacher_reservations],
        *_stock_summary(report),
    ], widths=(28, 16))
    sheets = [
        summary,
        Sheet(t("print.sheet.students"), _h("class", "number", "name", "loans", "target",
                                            "reached"),
              [[s.school_class, s.number, s.name, s.loans, report.target, _yes(s.reached)]
               for s in report.students], widths=(14, 12, 16, 10, 8, 10)),
        Sheet(t("print.sheet.classes"), _h("class", "grade", "students", "loans",
                                           "per_student", "at_target", "share"),
              [[g.name, g.grade, g.students, g.loans, round(g.per_student, 2), g.at_target,
                round(g.share, 4)] for g in report.classes], widths=(14, 8, 10, 10, 10, 12, 12)),
        Sheet(t("print.sheet.grades"), _h("grade", "students", "loans", "per_student",
                                          "at_target", "share"),
              [[g.grade, g.students, g.loans, round(g.per_student, 2), g.at_target,
                round(g.share, 4)] for g in report.grades], widths=(8, 10, 10, 10, 12, 12)),
        Sheet(t("print.sheet.stars"), _h("class", "rank", "number", "name", "loans"),
              [[s.school_class, s.rank, s.number, s.name, s.loans] for s in report.stars],
              widths=(14, 6, 12, 16, 10)),
        Sheet(t("print.sheet.titles"), _h("rank", "title", "author", "call_number", "loans"),
              [[x.rank, x.title, x.author, x.call_number, x.loans] for x in report.titles],
              widths=(6, 36, 18, 14, 10)),
    ]
    sheets.append(Sheet(t("print.sheet.visits"), _h("class", "visits", "minutes", "headcount"),
                        [[v.school_class, v.visits, v.minutes, v.headcount]
                         for v in report.visits], widths=(14, 10, 10, 14)))
    sheets.append(Sheet(t("print.sheet.helpers"), _h("rank", "number", "name", "class", "shifts",
                                                     "books"),
                        [[h.rank, h.number, h.name, h.school_class, h.shifts, h.books]
                         for h in report.helpers], widths=(6, 12, 16, 14, 8, 12)))
    sheets.append(Sheet(t("term.sheet.corners"), [t(f"term.head.{k}") for k in (
        "class", "corners", "books", "missing", "out")],
                        [[c.school_class, c.corners, c.books, c.missing, c.out]
                         for c in report.corners], widths=(14, 10, 10, 10, 10)))
    sheets.append(out_sheet(report.overdue, title=t("print.sheet.overdue")))
    sheets.append(Sheet(t("print.sheet.lost"), _h("barcode", "title", "call_number",
                                                  "last_borrower", "class", "borrowed"),
                        [[x.barcode, x.title, x.call_number, x.last_borrower, x.school_class,
                          x.last_out_on] for x in report.lost], widths=(12, 36, 14, 16, 14, 12)))
    sheets.append(Sheet(t("print.sheet.reservations"),
                        _h("placed", "number", "name", "title", "copies", "for_day",
                           "placed_by", "lent", "open", "cancelled", "expired"),
                        [[r.placed_on, r.number, r.name, r.title, r.copies, r.needed_on or "",
                          r.placed_by, r.lent, r.open, r.cancelled, r.expired]
                         for r in report.reservations],
                        widths=(12, 12, 16, 30, 8, 12, 12, 8, 8, 10, 10)))
    return sheets


def _stock_summary(report: TermReport) -> list[list[object]]:
    """The summary's lines of class corners, repairs and write-offs."""
    rows: list[list[object]] = [
        [t("term.corner_books"), sum(c.books for c in report.corners)],
        [t("term.corner_missing"), sum(c.missing for c in report.corners)],
    ]
    stock = report.stock
    if stock is not None:
        rows += [[t("term.repairs"), stock.repairs], [t("term.repaired"), stock.repaired],
                 [t("term.withdrawn"), stock.withdrawn], [t("term.lost"), stock.lost],
                 [t("term.lost_settled"), stock.lost_paid_or_replaced]]
    return rows


def write_term_xlsx(report: TermReport, path: Path) -> None:
    """Write the term report's workbook to ``path``."""
    write_xlsx(path, term_sheets(report))


def out_sheet(loans: list[OutLoan], *, title: str | None = None) -> Sheet:
    """Books on loan by class, with days overdue."""
    return Sheet(title or t("print.sheet.out"),
                 _h("class", "number", "name", "barcode", "title", "borrowed", "due",
                    "days_overdue"),
                 [[o.school_class, o.number, o.name, o.barcode, o.title, o.out_on, o.due_on,
                   o.days_overdue] for o in loans], widths=(14, 12, 16, 12, 36, 12, 12, 10))


def out_lines(loans: list[OutLoan]) -> list[str]:
    """Books on loan as lines for the terminal, a heading per class."""
    lines: list[str] = []
    current = None
    for loan in loans:
        if loan.school_class != current:
            current = loan.school_class
            lines.append(f"== {printable(current, 40) or '-'} ==")
        late = f"  {t('print.report.late', days=loan.days_overdue)}" if loan.days_overdue else ""
        if loan.corner:
            late += f"  ({t('lib.log.kind.corner')})"
        lines.append(f"  {printable(loan.number, 24)}  {printable(loan.name, 30)}  "
                     f"{printable(loan.barcode, 24)}  {printable(loan.title, 40)}  "
                     f"{loan.due_on.isoformat()}{late}")
    return lines


def stock_sheet(stock: StockCheck) -> Sheet:
    """The stock check: every copy missing, misplaced or found, by shelf."""
    order = {"missing": 0, "misplaced": 1, "found": 2}
    lines = sorted([*stock.missing, *stock.misplaced, *stock.found],
                   key=lambda x: (x.shelf, order[x.state], x.barcode))
    rows = [[x.shelf, t(f"print.stock.{x.state}"), x.barcode, x.title, x.belongs, x.checked_at]
            for x in lines]
    return Sheet(t("print.sheet.stock"),
                 _h("shelf", "state", "barcode", "title", "belongs", "checked"), rows,
                 widths=(10, 10, 12, 36, 10, 18))
