"""Term reports and end-of-term lists: the figures, as plain values for screens and files.

:func:`term_report` answers the librarian's end-of-term questions for a period:
loans per student against the school's target (say 10 books a term), per class and
per grade, the reading stars of each class, the most borrowed titles, class visits,
helpers ranked by books handled, and the overdue and lost books. The figures are
SQL aggregates (``GROUP BY``) over the loans of the period plus small lookups, so a
term of a million loans takes a few seconds (``bench/desk_print.py``).

:func:`still_out` lists every book on loan by class (the end-of-term round-up), and
:func:`stock_check` the latest shelf check of each shelf (found, missing, misplaced).

Counting rules, so the numbers can be checked by hand:

* a loan counts in the period when it was *checked out* in it (from local midnight
  of ``start`` to local midnight after ``end``); a renewal is not a new loan;
* students are patrons of kind ``student`` or ``helper``: the active ones, and any
  who borrowed in the period; each counts in the class they are in *now*;
* a student reached the target with at least ``target`` loans;
* a class's or grade's "per student" is its students' loans over its students;
* overdue means on loan with a due date before ``as_of`` (the report's day);
* visit minutes count finished visits only; helpers' books are the returns their
  shifts recorded;
* a class corner's books (lent under its teacher) are no one's loans: they count in
  the corners' figures of the class, by the day the corner opened; repairs and
  write-offs count by the day of the decision (:mod:`kiosk.data.desk.term_stock`).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core import models, settings
from kiosk.data.core.facts import day_bounds
from kiosk.data.core.masterdata import chunks
from kiosk.data.desk import term_stock
from kiosk.data.lending.corner_loans import corner_classes

log = logging.getLogger(__name__)

STUDENT_KINDS = ("student", "helper")
"""Whose loans are measured against the target."""

TOP_TITLES = 20
"""How many of the most borrowed titles a report lists."""

# peewee's models are dynamic: their columns are typed Any in this module
Copy: Any = models.Copy
Loan: Any = models.Loan
Patron: Any = models.Patron
SchoolClass: Any = models.SchoolClass
Title: Any = models.Title
Hold: Any = models.Hold


# -- values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentLoans:
    """One student's loans in the period, and whether that reached the target."""

    number: str
    name: str
    school_class: str
    grade: int | None
    loans: int
    reached: bool


@dataclass(frozen=True)
class GroupFigures:
    """A class's or a grade's figures: students, their loans and who reached the target.

    ``name`` is the class name, or for a grade the grade as text (``""``: no grade).
    """

    name: str
    grade: int | None
    students: int
    loans: int
    at_target: int

    @property
    def per_student(self) -> float:
        """Loans per student (0 for a group without students)."""
        return self.loans / self.students if self.students else 0.0

    @property
    def share(self) -> float:
        """The share (0..1) of students who reached the target."""
        return self.at_target / self.students if self.students else 0.0


@dataclass(frozen=True)
class Star:
    """A reading star: one of the top readers of a class (``rank`` 1 is the top; ties
    share a rank)."""

    school_class: str
    rank: int
    number: str
    name: str
    loans: int


@dataclass(frozen=True)
class TitleLoans:
    """A title and how often it was borrowed in the period."""

    rank: int
    title: str
    author: str
    call_number: str
    loans: int


@dataclass(frozen=True)
class ClassVisits:
    """A class's visits to the library in the period."""

    school_class: str
    visits: int
    minutes: int
    headcount: int


@dataclass(frozen=True)
class HelperWork:
    """A helper's shifts and the books they handled in the period (``rank`` 1 is the best)."""

    rank: int
    number: str
    name: str
    school_class: str
    shifts: int
    books: int


@dataclass(frozen=True)
class OutLoan:
    """A book on loan: who has it, since when, and how many days it is overdue (0: not)."""

    school_class: str
    number: str
    name: str
    barcode: str
    title: str
    out_on: date
    due_on: date
    days_overdue: int
    corner: bool = False
    """A class corner's book (``school_class`` is the corner's class, the borrower its
    teacher)."""


@dataclass(frozen=True)
class LostCopy:
    """A copy marked lost, with its last borrower when it had one."""

    barcode: str
    title: str
    call_number: str
    last_borrower: str
    school_class: str
    last_out_on: date | None


@dataclass(frozen=True)
class Reservation:
    """A line of the reservation register (教师借阅书刊预约登记表 in the plans): a hold, or
    a class set, placed in the period, and how it went."""

    placed_on: date
    number: str
    name: str
    kind: str
    title: str
    copies: int
    needed_on: date | None
    placed_by: str
    lent: int
    """Of its copies, how many the patron borrowed."""
    open: int
    cancelled: int
    expired: int


@dataclass
class TermReport:
    """Every figure of a term report (see the module's counting rules)."""

    start: date
    end: date
    target: int
    as_of: date
    library_name: str
    total_loans: int
    students: list[StudentLoans] = field(default_factory=list)
    classes: list[GroupFigures] = field(default_factory=list)
    grades: list[GroupFigures] = field(default_factory=list)
    stars: list[Star] = field(default_factory=list)
    titles: list[TitleLoans] = field(default_factory=list)
    visits: list[ClassVisits] = field(default_factory=list)
    helpers: list[HelperWork] = field(default_factory=list)
    overdue: list[OutLoan] = field(default_factory=list)
    lost: list[LostCopy] = field(default_factory=list)
    reservations: list[Reservation] = field(default_factory=list)
    corners: list[term_stock.CornerFigures] = field(default_factory=list)
    stock: term_stock.StockFigures | None = None
    """Repairs and write-offs of the period (:mod:`kiosk.data.desk.term_stock`)."""

    @property
    def teacher_reservations(self) -> int:
        """Reservations teachers made (or the librarian made for them) in the period."""
        return sum(1 for r in self.reservations if r.kind == "teacher")

    @property
    def student_loans(self) -> int:
        """Loans made by students (the total also counts teachers')."""
        return sum(s.loans for s in self.students)

    @property
    def at_target(self) -> int:
        """Students who reached the target."""
        return sum(1 for s in self.students if s.reached)

    @property
    def per_student(self) -> float:
        """Loans per student over the whole school."""
        return self.student_loans / len(self.students) if self.students else 0.0

    @property
    def share_at_target(self) -> float:
        """The share (0..1) of students who reached the target."""
        return self.at_target / len(self.students) if self.students else 0.0


# -- the period ------------------------------------------------------------------------


def natural(text: str) -> tuple[Any, ...]:
    """A sort key that puts 三年级2班 before 三年级10班 (numbers compared as numbers)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _local_day(moment: datetime) -> date:
    """The local date of a stored (naive UTC) time."""
    return moment.replace(tzinfo=UTC).astimezone().date()


# -- the term report -------------------------------------------------------------------


def term_report(
    start: date, end: date, *, target: int = 10, stars: int = 3, as_of: date | None = None
) -> TermReport:
    """The figures of the period from ``start`` to ``end`` (both days included).

    ``stars`` is how many top readers of each class are named; ``as_of`` the day
    that decides what is overdue (default: today). Read-only; call with a connection.

    Raises:
        ValueError: ``end`` is before ``start`` or ``target`` is negative.
    """
    if end < start:
        raise ValueError(f"the period ends before it starts: {start} to {end}")
    if target < 0:
        raise ValueError(f"a negative target: {target}")
    as_of = as_of or date.today()
    low, high = day_bounds(start, end)
    in_period = (Loan.out_at >= low) & (Loan.out_at < high)

    # ``+ 0`` keeps SQLite from walking an index on the patron (or copy) to group
    # by it, which reads the rows in random order: one sequential scan and a temporary
    # B-tree are 6x faster on a million loans (bench/desk_print.py).
    borrower = Loan.patron + 0
    # (a class corner's books are the class's, lent under its teacher: counted apart)
    per_patron: dict[int, int] = dict(
        Loan.select(borrower, pw.fn.COUNT(pw.SQL("*"))).where(in_period & Loan.corner.is_null())
        .group_by(borrower).tuples()
    )
    report = TermReport(
        start=start, end=end, target=target, as_of=as_of,
        library_name=settings.get("library_name"), total_loans=sum(per_patron.values()),
    )
    report.students = _students(per_patron, target)
    report.classes, report.grades = _groups(report.students)
    report.stars = _stars(report.students, stars)
    report.titles = _titles(in_period)
    report.visits = _visits(low, high)
    report.helpers = _helpers(low, high)
    report.overdue = [loan for loan in still_out(as_of) if loan.days_overdue > 0]
    report.lost = _lost()
    report.reservations = _reservations(low, high)
    report.corners = sorted(term_stock.corner_figures(low, high),
                            key=lambda c: natural(c.school_class))
    report.stock = term_stock.stock_figures(start, end)
    return report


def _students(per_patron: dict[int, int], target: int) -> list[StudentLoans]:
    """Every student (active, or who borrowed), ordered by class then number."""
    query = (
        Patron.select(Patron.id, Patron.number, Patron.name, Patron.active,
                      SchoolClass.name.alias("class_name"), SchoolClass.grade)
        .join(SchoolClass, pw.JOIN.LEFT_OUTER, on=Patron.school_class == SchoolClass.id)
        .where(Patron.kind.in_(STUDENT_KINDS))
        .dicts()
    )
    out = []
    for row in query:
        loans = per_patron.get(row["id"], 0)
        if not row["active"] and not loans:
            continue
        out.append(StudentLoans(
            number=row["number"], name=row["name"], school_class=row["class_name"] or "",
            grade=row["grade"], loans=loans, reached=loans >= target,
        ))
    out.sort(key=lambda s: (s.grade is None, s.grade or 0, natural(s.school_class), s.number))
    return out


def _groups(students: Sequence[StudentLoans]) -> tuple[list[GroupFigures], list[GroupFigures]]:
    """The figures per class and per grade, from the students' figures."""
    classes: dict[str, list[StudentLoans]] = defaultdict(list)
    grades: dict[int | None, list[StudentLoans]] = defaultdict(list)
    for student in students:
        classes[student.school_class].append(student)
        grades[student.grade].append(student)

    def figures(name: str, grade: int | None, group: list[StudentLoans]) -> GroupFigures:
        return GroupFigures(name, grade, len(group), sum(s.loans for s in group),
                            sum(1 for s in group if s.reached))

    by_class = [figures(name, group[0].grade, group) for name, group in classes.items()]
    by_class.sort(key=lambda g: (g.grade is None, g.grade or 0, natural(g.name)))
    by_grade = [
        figures("" if grade is None else str(grade), grade, group)
        for grade, group in grades.items()
    ]
    by_grade.sort(key=lambda g: (g.grade is None, g.grade or 0))
    return by_class, by_grade


def _ranks(values: Sequence[int]) -> list[int]:
    """Competition ranks of ``values``, already in order from the best: ties share the
    rank of the first of them (1, 2, 2, 4)."""
    ranks: list[int] = []
    for position, value in enumerate(values, start=1):
        ranks.append(ranks[-1] if ranks and value == values[position - 2] else position)
    return ranks


def _stars(students: Sequence[StudentLoans], count: int) -> list[Star]:
    """The top ``count`` readers of each class (ties share a rank and are all named;
    a student with no loan is never a star)."""
    by_class: dict[str, list[StudentLoans]] = defaultdict(list)
    for student in students:
        if student.loans:
            by_class[student.school_class].append(student)
    out = []
    for name in sorted(by_class, key=natural):
        ranked = sorted(by_class[name], key=lambda s: (-s.loans, s.number))
        for rank, student in zip(_ranks([s.loans for s in ranked]), ranked, strict=True):
            if rank > count:
                break
            out.append(Star(name, rank, student.number, student.name, student.loans))
    return out


def _titles(in_period: Any) -> list[TitleLoans]:
    """The most borrowed titles of the period (ties ordered by title)."""
    copy = Loan.copy + 0  # a sequential scan (see term_report)
    per_copy = (
        Loan.select(copy.alias("copy_id"), pw.fn.COUNT(pw.SQL("*")).alias("n"))
        .where(in_period)
        .group_by(copy)
    )
    count = pw.fn.SUM(per_copy.c.n)
    top = list(
        Copy.select(Copy.title, count)
        .join(per_copy, on=Copy.id == per_copy.c.copy_id)
        .group_by(Copy.title)
        .order_by(count.desc(), Copy.title)
        .limit(TOP_TITLES * 3)
        .tuples()
    )
    if not top:
        return []
    titles = {
        t.id: t for t in Title.select(Title.id, Title.title, Title.author, Title.classification)
        .where(Title.id.in_([title_id for title_id, _ in top]))
    }
    rows = sorted(
        ((title_id, int(loans)) for title_id, loans in top),
        key=lambda pair: (-pair[1], titles[pair[0]].title),
    )[:TOP_TITLES]
    out = []
    for rank, (title_id, loans) in zip(_ranks([n for _, n in rows]), rows, strict=True):
        title = titles[title_id]
        out.append(TitleLoans(rank, title.title, title.author, title.classification, loans))
    return out


def _visits(low: datetime, high: datetime) -> list[ClassVisits]:
    """Visits per class that started in the period."""
    visit: Any = models.ClassVisit
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    query = (
        visit.select(SchoolClass.name, visit.started_at, visit.ended_at, visit.headcount)
        .join(SchoolClass, on=visit.school_class == SchoolClass.id)
        .where((visit.started_at >= low) & (visit.started_at < high))
        .tuples()
    )
    for name, started, ended, headcount in query:
        entry = totals[name]
        entry[0] += 1
        if ended is not None and ended > started:
            entry[1] += int((ended - started).total_seconds() // 60)
        entry[2] += headcount or 0
    return [ClassVisits(name, *totals[name]) for name in sorted(totals, key=natural)]


def _helpers(low: datetime, high: datetime) -> list[HelperWork]:
    """Helpers ranked by the books they handled in shifts started in the period."""
    shift: Any = models.HelperShift
    books = pw.fn.SUM(shift.books)
    rows = list(
        shift.select(Patron.number, Patron.name, SchoolClass.name, pw.fn.COUNT(shift.id), books)
        .join(Patron, on=shift.helper == Patron.id)
        .join(SchoolClass, pw.JOIN.LEFT_OUTER, on=Patron.school_class == SchoolClass.id)
        .where((shift.started_at >= low) & (shift.started_at < high))
        .group_by(Patron.number, Patron.name, SchoolClass.name)
        .tuples()
    )
    rows.sort(key=lambda r: (-(r[4] or 0), r[0]))
    handled = [int(r[4] or 0) for r in rows]
    return [
        HelperWork(rank, number, name, class_name or "", int(shifts), books)
        for rank, books, (number, name, class_name, shifts, _) in zip(
            _ranks(handled), handled, rows, strict=True
        )
    ]


def _reservations(low: datetime, high: datetime) -> list[Reservation]:
    """The holds placed in the period, a class set as one line, oldest first."""
    rows = (
        Hold.select(Hold.id, Hold.class_set, Hold.placed_at, Hold.needed_on, Hold.placed_by,
                    Hold.status, Patron.number, Patron.name, Patron.kind, Title.title)
        .join(Patron, on=(Hold.patron == Patron.id))
        .switch(Hold).join(Title, on=(Hold.title == Title.id))
        .where((Hold.placed_at >= low) & (Hold.placed_at < high))
        .order_by(Hold.placed_at, Hold.id)
        .tuples()
    )
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(row[1] or row[0], []).append(row)
    register = []
    for group in groups.values():
        _, _, placed_at, needed_on, placed_by, _, number, name, kind, title = group[0]
        statuses = [row[5] for row in group]
        register.append(Reservation(
            placed_on=_local_day(placed_at), number=number, name=name, kind=kind, title=title,
            copies=len(group), needed_on=needed_on, placed_by=placed_by or "",
            lent=statuses.count("fulfilled"),
            open=statuses.count("waiting") + statuses.count("ready"),
            cancelled=statuses.count("cancelled"), expired=statuses.count("expired"),
        ))
    return register


def _lost() -> list[LostCopy]:
    """Copies marked lost, with the borrower of their latest loan."""
    copies = list(
        Copy.select(Copy.id, Copy.barcode, Title.title, Title.classification)
        .join(Title).where(Copy.status == "lost").order_by(Copy.barcode).dicts()
    )
    latest: dict[int, tuple[datetime, str, str]] = {}
    for part in chunks([c["id"] for c in copies]):
        for copy_id, out_at, name, class_name in (
            Loan.select(Loan.copy, Loan.out_at, Patron.name, SchoolClass.name)
            .join(Patron, on=Loan.patron == Patron.id)
            .join(SchoolClass, pw.JOIN.LEFT_OUTER, on=Patron.school_class == SchoolClass.id)
            .where(Loan.copy.in_(part))
            .tuples()
        ):
            if copy_id not in latest or out_at > latest[copy_id][0]:
                latest[copy_id] = (out_at, name, class_name or "")
    out = []
    for copy in copies:
        last = latest.get(copy["id"])
        out.append(LostCopy(
            copy["barcode"], copy["title"], copy["classification"],
            last[1] if last else "", last[2] if last else "",
            _local_day(last[0]) if last else None,
        ))
    return out


# -- end of term -----------------------------------------------------------------------


def still_out(as_of: date | None = None) -> list[OutLoan]:
    """Every book on loan now, by class then borrower, with days overdue on ``as_of``.

    Read-only; call with a connection.
    """
    as_of = as_of or date.today()
    query = (
        Loan.select(SchoolClass.name, Patron.number, Patron.name, Copy.barcode, Title.title,
                    Loan.out_at, Loan.due_on, Loan.id)
        .join(Patron, on=Loan.patron == Patron.id)
        .join(SchoolClass, pw.JOIN.LEFT_OUTER, on=Patron.school_class == SchoolClass.id)
        .join_from(Loan, Copy, on=Loan.copy == Copy.id)
        .join(Title, on=Copy.title == Title.id)
        .where(Loan.returned_at.is_null())
        .tuples()
    )
    corners = corner_classes(Loan.returned_at.is_null())
    out = [
        OutLoan(corners.get(loan_id, class_name or ""), number, name, barcode, title,
                _local_day(out_at), due_on, max(0, (as_of - due_on).days), loan_id in corners)
        for class_name, number, name, barcode, title, out_at, due_on, loan_id in query
    ]
    out.sort(key=lambda o: (o.school_class == "", natural(o.school_class), o.name, o.number,
                            o.due_on))
    return out


@dataclass(frozen=True)
class StockLine:
    """One line of a stock check: a copy found, missing or misplaced on a checked shelf."""

    shelf: str
    state: str
    barcode: str
    title: str
    belongs: str
    checked_at: datetime


@dataclass
class StockCheck:
    """The latest finished shelf check of every shelf, as lines per copy."""

    checks: list[str] = field(default_factory=list)
    found: list[StockLine] = field(default_factory=list)
    missing: list[StockLine] = field(default_factory=list)
    misplaced: list[StockLine] = field(default_factory=list)


def stock_check() -> StockCheck:
    """The latest finished shelf check of each shelf: what was found, what is missing
    (should be there, was not scanned) and what was misplaced (scanned, belongs elsewhere).

    The found/missing/misplaced rules are those of the helpers' shelf check
    (:meth:`kiosk.data.roles.Roles.shelf_report`). Read-only; call with a connection.
    """
    stock = StockCheck()
    from kiosk.data.core.db import database
    from kiosk.data.core.store import Store
    from kiosk.data.lending.circulation import Circulation
    from kiosk.data.roles import Roles

    check: Any = models.ShelfCheck
    latest: dict[str, Any] = {}
    for row in check.select().where(check.ended_at.is_null(False)).order_by(check.ended_at):
        latest[row.shelf] = row
    if not latest:
        return stock
    db: Any = database.obj
    roles = Roles(Circulation(Store(db, "desk")))
    for shelf in sorted(latest):
        report = roles.shelf_checks.shelf_report(latest[shelf].id)
        when = latest[shelf].ended_at
        stock.checks.append(shelf)
        for state, copies, target in (
            ("found", report.found, stock.found),
            ("missing", report.missing, stock.missing),
            ("misplaced", report.misplaced, stock.misplaced),
        ):
            for copy in copies:
                target.append(StockLine(shelf, state, copy.barcode, copy.title, copy.area, when))
    return stock
