"""Class book corners (班级图书角): a set of books lent to a class's reading corner.

The librarian, or a teacher at the kiosk, picks the class and the due date (often the
term's end), then scans the books: each is a ``corner_lent`` fact, a loan of the
teacher's responsible marked with the corner, which counts against no one's quota.
The teacher or a helper brings them back in one go: each book scanned is an ordinary
return, and **Finished** closes the corner (a ``corner_returned`` fact) listing the books
that did not come back (they stay on loan to the teacher, and show in the overdue list
under the class once the date has passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import peewee as pw

from kiosk.data.core import settings
from kiosk.data.core.errors import NotFound, Refused
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    ClassCorner,
    ClassTeacher,
    Copy,
    Loan,
    Patron,
    SchoolClass,
    Title,
    new_id,
)
from kiosk.data.core.projection import Known
from kiosk.data.core.store import Outcome
from kiosk.data.core.text import clean_code, printable
from kiosk.data.roles.common import RoleService, tuples

CORNER_KEEPERS = ("teacher", "librarian")
"""Who may be responsible for a class corner."""

TERM_END = "term_end"
"""The setting that holds the term's last day (``YYYY-MM-DD``), a corner's usual due date."""

CORNER_DAYS = 60
"""A corner's due date when the library has not said when the term ends."""


@dataclass(frozen=True)
class CornerView:
    """A class corner: which class, who answers for it, until when, how many books out."""

    id: str
    class_name: str
    teacher: str
    teacher_name: str
    due_on: date
    books: int
    closed: bool = False


@dataclass(frozen=True)
class CornerBook:
    """A book of a corner."""

    barcode: str
    title: str


@dataclass(frozen=True)
class CornerScan:
    """What one scanned book did: ``lent``, ``already`` (in this corner already),
    ``returned``, ``not_in_corner`` (returned, but it was not this corner's)."""

    status: str
    title: str
    books: int
    """The corner's books out now."""


class Corners(RoleService):
    """Lend a set of books to a class's corner, and take the set back."""

    def due_default(self) -> date:
        """The usual due date: the term's last day if the library set it and it is to
        come, else :data:`CORNER_DAYS` days on (moved to a day the library is open)."""
        with self.store.reading():
            text = settings.get(TERM_END)
        try:
            end = date.fromisoformat(text) if text else None
        except ValueError:
            end = None
        if end is not None and end > self.store.today():
            return end
        return self.circulation.due_date(CORNER_DAYS)

    def due_choices(self) -> list[tuple[int, date]]:
        """The due dates offered: the usual one (weeks ``0``), and four and eight weeks on."""
        today = self.store.today()
        return [(0, self.due_default()),
                *((weeks, today + timedelta(weeks=weeks)) for weeks in (4, 8))]

    def keepers(self, class_name: str) -> list[tuple[str, str]]:
        """The class's teachers (number, name), who may answer for its corner."""
        with self.store.reading():
            return [
                (number, name) for number, name in tuples(
                    Patron.select(Patron.number, Patron.name)
                    .join(ClassTeacher, on=ClassTeacher.teacher == Patron.id)
                    .join(SchoolClass, on=ClassTeacher.school_class == SchoolClass.id)
                    .where(SchoolClass.name == class_name)
                    .order_by(Patron.name)
                )
            ]

    def new(self, teacher: str, class_name: str, due_on: date) -> CornerView:
        """A new corner of ``class_name`` under ``teacher`` (nothing is recorded until its
        first book is scanned).

        Raises:
            NotFound: ``patron.unknown``, ``visit.no_class``.
            Refused: ``corner.not_teacher``, ``corner.past_date``.
        """
        with self.store.reading():
            keeper: Any = Patron.get_or_none(Patron.number == teacher)
            if keeper is None:
                raise NotFound("patron.unknown")
            if keeper.kind not in CORNER_KEEPERS:
                raise Refused("corner.not_teacher", name=keeper.name)
            if not SchoolClass.select().where(SchoolClass.name == class_name).exists():
                raise NotFound("visit.no_class", name=printable(class_name, 40))
        if due_on <= self.store.today():
            raise Refused("corner.past_date", date=due_on.isoformat())
        return CornerView(new_id(), class_name, teacher, keeper.name, due_on, 0)

    def _count(self, corner_id: str) -> int:
        return int(
            Loan.select().where((Loan.corner == corner_id) & Loan.returned_at.is_null()).count()
        )

    def lend(self, corner: CornerView, raw_barcode: str, by: str = "") -> CornerScan:
        """Lend the copy ``raw_barcode`` to ``corner`` (``by``: a librarian lending it
        for the teacher). A book scanned twice is lent once.

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code``.
            Refused: ``circ.returns_only``, ``copy.on_loan_other``, ``copy.reference_only``,
                ``copy.not_lendable`` (each recorded as a refusal).
        """
        barcode = clean_code(raw_barcode)

        def decide() -> Outcome:
            if barcode is None:
                return Outcome(refusal=self.store.refusal(
                    NotFound("copy.damaged_code"), patron=corner.teacher, code=raw_barcode
                ))
            copy: Any = Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode).first()
            if copy is None:
                return Outcome(refusal=self.store.refusal(
                    NotFound("copy.unknown", code=printable(barcode, 40)),
                    patron=corner.teacher, code=barcode,
                ))
            title = copy.title.title
            loan: Any = Loan.get_or_none((Loan.copy == copy.id) & Loan.returned_at.is_null())
            if loan is not None and loan.corner == corner.id:
                return Outcome(value=CornerScan("already", title, self._count(corner.id)))
            refusal = self._refusal(copy, loan)
            if refusal is not None:
                return Outcome(refusal=self.store.refusal(
                    refusal, patron=corner.teacher, copy=copy.barcode
                ))
            extra = {"by": by} if by else {}
            self.store.record(
                Kind.CORNER_LENT, Known(copy=copy, open_loan=None), patron=corner.teacher,
                copy=copy.barcode, corner=corner.id, due_on=corner.due_on.isoformat(),
                **{"class": corner.class_name}, **extra,
            )
            return Outcome(value=CornerScan("lent", title, self._count(corner.id)))

        return self.store.run(decide)

    def _refusal(self, copy: Any, loan: Any) -> Refused | None:
        title = copy.title.title
        if settings.get("returns_only") == "1":
            return Refused("circ.returns_only")
        if loan is not None:
            return Refused("copy.on_loan_other", title=title)
        if copy.reference_only or copy.title.kind == "reference":
            return Refused("copy.reference_only", title=title)
        if copy.status != "available":
            return Refused("copy.not_lendable", title=title)
        return None

    def _views(self, where: Any) -> list[CornerView]:
        books = pw.fn.COUNT(Loan.id)
        rows = tuples(
            ClassCorner.select(ClassCorner.id, SchoolClass.name, Patron.number, Patron.name,
                               ClassCorner.due_on, books, ClassCorner.closed_at)
            .join(SchoolClass).switch(ClassCorner).join(Patron)
            .join(Loan, pw.JOIN.LEFT_OUTER,
                  on=(Loan.corner == ClassCorner.id) & Loan.returned_at.is_null())
            .where(where)
            .group_by(ClassCorner.id, SchoolClass.name, Patron.number, Patron.name,
                      ClassCorner.due_on, ClassCorner.closed_at)
            .order_by(ClassCorner.due_on, SchoolClass.name)
        )
        return [
            CornerView(cid, cls, number, name, due, int(count), closed is not None)
            for cid, cls, number, name, due, count, closed in rows
        ]

    def open_corners(self, teacher: str | None = None) -> list[CornerView]:
        """The corners not yet brought back (``teacher``'s only, if given), by due date."""
        where: Any = ClassCorner.closed_at.is_null()
        if teacher is not None:
            where &= Patron.number == teacher
        with self.store.reading():
            return self._views(where)

    def corner(self, corner_id: str) -> CornerView:
        """One corner.

        Raises:
            NotFound: ``corner.unknown``.
        """
        with self.store.reading():
            found = self._views(ClassCorner.id == corner_id)
        if not found:
            raise NotFound("corner.unknown")
        return found[0]

    def books(self, corner_id: str) -> list[CornerBook]:
        """The corner's books still out, by title."""
        with self.store.reading():
            rows = tuples(
                Loan.select(Copy.barcode, Title.title).join(Copy).join(Title)
                .where((Loan.corner == corner_id) & Loan.returned_at.is_null())
                .order_by(Title.title, Copy.barcode)
            )
        return [CornerBook(barcode, title) for barcode, title in rows]

    def give_back(self, corner_id: str, raw_barcode: str, by: str = "") -> CornerScan:
        """One book of the set brought back (an ordinary return; a book of another
        corner or loan is returned too, and said so).

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code``.
        """
        barcode = clean_code(raw_barcode) or raw_barcode
        with self.store.reading():
            row = tuples(
                Loan.select(Loan.corner).join(Copy)
                .where((Copy.barcode == barcode) & Loan.returned_at.is_null())
            )
        result = self.circulation.checkin(raw_barcode, by=by or None)
        ours = bool(row) and row[0][0] == corner_id
        with self.store.reading():
            count = self._count(corner_id)
        return CornerScan("returned" if ours else "not_in_corner", result.title, count)

    def close(self, corner_id: str, by: str) -> list[CornerBook]:
        """The set is back: close the corner (``by``: who brought it) and return the books
        that are missing (they stay on loan to the teacher).

        Raises:
            NotFound: ``corner.unknown``.
        """
        def decide() -> Outcome:
            corner: Any = (
                ClassCorner.select(ClassCorner, SchoolClass).join(SchoolClass)
                .where(ClassCorner.id == corner_id).first()
            )
            if corner is None:
                return Outcome(refusal=NotFound("corner.unknown"))
            missing = [
                CornerBook(barcode, title) for barcode, title in tuples(
                    Loan.select(Copy.barcode, Title.title).join(Copy).join(Title)
                    .where((Loan.corner == corner_id) & Loan.returned_at.is_null())
                    .order_by(Title.title, Copy.barcode)
                )
            ]
            returned = Loan.select().where(
                (Loan.corner == corner_id) & Loan.returned_at.is_null(False)
            ).count()
            self.store.record(
                Kind.CORNER_RETURNED, patron=by, corner=corner_id,
                missing=[book.barcode for book in missing], returned=int(returned),
                **{"class": corner.school_class.name},
            )
            return Outcome(value=missing)

        return self.store.run(decide)
