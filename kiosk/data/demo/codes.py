"""The codes a tester scans: every card payload and copy barcode of the demo, the
interesting cases first (``kiosk demo --export-codes``)."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import peewee as pw

from kiosk.data.core import library
from kiosk.data.core.models import (
    Card,
    Copy,
    Hold,
    Loan,
    LoanRule,
    Patron,
    Title,
)
from kiosk.data.demo.builder import month_start
from kiosk.data.demo.school import CODES_HEADER, DEMO_LIBRARIAN, OLD_CARD_SUFFIX

log = logging.getLogger(__name__)


def export_codes(db: pw.Database, path: str | Path, *, today: date | None = None) -> int:
    """Write every card payload and copy barcode of the library to a CSV file.

    The columns are ``role,name,code``: role is the patron's kind (``student``,
    ``teacher``, ``helper``, ``librarian``) or ``copy``; name is the patron's name or
    the copy's title; code is the current card's payload or the copy's barcode. The
    cases a tester looks for come first, in this order (each only if the library
    has one): the librarian, a student with loans and room to borrow, a student at
    the quota, a student with overdue books, the blocked student, the reissued
    student's revoked *old* card (its name ends in :data:`OLD_CARD_SUFFIX`), the
    student who left, the student with a hold, a reference copy, this month's and
    last month's magazine, a copy on loan, the copy on the hold shelf, a copy at
    the repair desk, a written-off copy, a lost one, the teacher with a class set,
    the teacher of a class corner that is out and one of its books. Then come everyone
    else and every other copy.

    Args:
        db: the open library (any library, not only the demo).
        path: the CSV file to write (UTF-8).
        today: the day that decides what is overdue and which issue is current.

    Returns:
        The number of rows written, not counting the header.
    """
    today = today or date.today()
    with db.connection_context():
        rows = list(_dedupe([*interesting(today), *_everyone()]))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CODES_HEADER)
        writer.writerows(rows)
    log.info("wrote %d codes to %s", len(rows), target)
    return len(rows)


def _dedupe(rows: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str, str]]:
    """The rows without repeats of a role and code (the first one wins)."""
    seen: set[tuple[str, str]] = set()
    for role, name, code in rows:
        if (role, code) not in seen:
            seen.add((role, code))
            yield role, name, code


def _card_row(patron: Patron | None, note: str = "") -> list[tuple[str, str, str]]:
    """The row of the patron's current card (none without a patron or a card).

    ``note`` says, in brackets after the name, what the tester will see with it.
    """
    if patron is None:
        return []
    code = library.current_card(patron.number)
    name = f"{patron.name} ({note})" if note else patron.name
    return [(patron.kind, name, code)] if code else []


def _copy_row(copy: Copy | None, note: str = "") -> list[tuple[str, str, str]]:
    """The row of a copy (none without one), with an optional note after the title."""
    if copy is None:
        return []
    name = f"{copy.title.title} ({note})" if note else copy.title.title
    return [("copy", name, copy.barcode)]


def interesting(today: date) -> list[tuple[str, str, str]]:
    """The rows a tester wants first (see :func:`export_codes`)."""
    rows: list[tuple[str, str, str]] = []
    librarian = Patron.get_or_none(Patron.number == DEMO_LIBRARIAN) or (
        Patron.select().where(Patron.kind == "librarian").order_by(Patron.number).first()
    )
    rows += _card_row(librarian)

    rule = LoanRule.get_or_none(
        (LoanRule.patron_kind == "student") & (LoanRule.item_kind == "*")
    )
    limit = rule.max_items if rule else 0
    loans = {
        patron: (count, earliest)
        for patron, count, earliest in Loan.select(
            Loan.patron, pw.fn.COUNT(Loan.id), pw.fn.MIN(Loan.due_on)
        )
        .where(Loan.returned_at.is_null())
        .group_by(Loan.patron)
        .tuples()
    }
    holding = (
        Hold.select(Hold, Patron, Copy)
        .join(Patron)
        .switch(Hold)
        .join(Copy, pw.JOIN.LEFT_OUTER)
        .where(Hold.status.in_(["ready", "waiting"]))
        .order_by(Hold.status, Hold.placed_at)  # "ready" sorts before "waiting"
        .first()
    )
    hold_patron = holding.patron if holding else None
    students = list(
        Patron.select()
        .where(
            (Patron.kind == "student") & Patron.active & Patron.blocked_reason.is_null()
        )
        .order_by(Patron.number)
    )

    def first(test: Callable[[int, date], bool]) -> Patron | None:
        for student in students:
            count, earliest = loans.get(student.id, (0, None))
            if count and student != hold_patron and test(count, _as_date(earliest)):
                return student
        return None

    rows += _card_row(first(lambda count, due: count < limit and due >= today), "may borrow more")
    rows += _card_row(first(lambda count, due: count >= limit and due >= today), "at the limit")
    rows += _card_row(first(lambda count, due: due < today), "overdue books")
    rows += _card_row(
        Patron.select().where(Patron.blocked_reason.is_null(False)).order_by(Patron.number).first(),
        "blocked",
    )
    old = (
        Card.select(Card, Patron)
        .join(Patron)
        .where(Card.revoked_at.is_null(False))
        .order_by(Patron.number, Card.serial.desc())
        .first()
    )
    if old is not None:
        code = library.card_code(old.patron.number, old.serial)
        rows.append((old.patron.kind, old.patron.name + OLD_CARD_SUFFIX, code))
    rows += _card_row(
        Patron.select().where(~Patron.active).order_by(Patron.number).first(), "left the school"
    )
    rows += _card_row(hold_patron, "a reserved book waits")

    def copy_where(*conditions: Any) -> Copy | None:
        return (
            Copy.select(Copy, Title).join(Title).where(*conditions).order_by(Copy.barcode).first()
        )

    available = Copy.status == "available"
    rows += _copy_row(
        copy_where(Copy.reference_only | (Title.kind == "reference"), available), "reference"
    )
    for months_ago, note in ((0, "this month's issue"), (1, "last month's issue")):
        issue = month_start(today, months_ago)
        rows += _copy_row(
            copy_where(
                Title.kind == "periodical",
                Title.issue_date >= issue,
                Title.issue_date < month_start(today, months_ago - 1),
                available,
            ),
            note,
        )
    rows += _copy_row(copy_where(Copy.status == "on_loan"), "on loan")
    if holding is not None and holding.copy_id is not None:
        rows += _copy_row(copy_where(Copy.id == holding.copy_id), "on the hold shelf")
    rows += _copy_row(copy_where(Copy.status == "repair"), "in repair")
    rows += _copy_row(copy_where(Copy.status == "withdrawn"), "written off")
    rows += _copy_row(copy_where(Copy.status == "lost"), "lost, paid for")
    # (teachers: the first rows of the teachers that follow)
    class_set = Hold.select(Hold, Patron).join(Patron).where(
        Hold.class_set.is_null(False) & Hold.status.in_(["ready", "waiting"])
    ).order_by(Hold.placed_at).first()
    rows += _card_row(class_set.patron if class_set else None, "a class set reserved")
    corner = (
        Loan.select(Loan, Patron).join(Patron)
        .where(Loan.corner.is_null(False) & Loan.returned_at.is_null())
        .order_by(Loan.out_at).first()
    )
    if corner is not None:
        rows += _card_row(corner.patron, "a class corner out: Book corner F6 brings it back")
        rows += _copy_row(copy_where(Copy.id == corner.copy_id), "in a class corner")
    return rows


def _as_date(value: date | str | None) -> date:
    """A date from an aggregate (SQLite hands ``MIN`` of a date column back as text)."""
    if value is None:
        return date.max
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_KIND_ORDER = {"librarian": 0, "teacher": 1, "helper": 2, "student": 3}


def _everyone() -> list[tuple[str, str, str]]:
    """Every patron with a current card, then every copy, in a stable order."""
    patrons = sorted(Patron.select(), key=lambda p: (_KIND_ORDER.get(p.kind, 9), p.number))
    rows = [row for patron in patrons for row in _card_row(patron)]
    rows += [
        ("copy", title, barcode)
        for barcode, title in Copy.select(Copy.barcode, Title.title)
        .join(Title)
        .order_by(Copy.barcode)
        .tuples()
    ]
    return rows
