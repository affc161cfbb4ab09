"""Class visits, student helpers' shifts and shelf checks: the service the screens call.

A teacher brings a class for its reading lesson (a *visit*, with an optional roll
call); a student helper returns piles of books in a *shift*; a helper checks a shelf
area against the catalogue (a *shelf check*). Every change is a journal fact made
with the circulation service's clock and transactions (so it sorts and syncs with
the loans) and applied by :mod:`kiosk.data.core.projection_roles`. Everything here takes and
returns plain values; no Peewee object leaves this module.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.errors import NotFound
from kiosk.data.core.facts import Fact, day_bounds, to_db_time
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    SHELF_LENGTH,
    ClassTeacher,
    ClassVisit,
    Copy,
    HelperReturn,
    HelperShift,
    Patron,
    SchoolClass,
    ShelfCheck,
    ShelfCheckItem,
    Title,
    VisitAttendee,
    shelf_area,
)
from kiosk.data.core.text import clean_code, printable
from kiosk.data.lending.circulation import Circulation, ReturnResult

log = logging.getLogger(__name__)

STUDENT_KINDS = ("student", "helper")
"""Who is counted in a roll call (a helper is a student with a helper card)."""


def _aware(moment: datetime | None) -> datetime | None:
    """A time from the database (naive UTC) as an aware UTC datetime."""
    return None if moment is None else moment.replace(tzinfo=UTC)


def _tuples(query: Any) -> list[tuple[Any, ...]]:
    """The rows of a ``.tuples()`` query (typed loosely: peewee's stubs cannot say)."""
    return list(query.tuples())


def _primary_key(model: type[pw.Model]) -> Any:
    """The model's id column (its stubs leave ``Model.id`` out)."""
    return model._meta.primary_key


def _area_sql() -> Any:
    """:func:`shelf_area` as an SQL expression over ``copy`` joined with ``title``."""
    return pw.Case(None, [(Copy.shelf != "", Copy.shelf)], pw.fn.SUBSTR(Title.classification, 1, 1))


# -- values ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassChoice:
    """A class a teacher may bring; ``own`` marks the teacher's own classes."""

    name: str
    own: bool
    grade: int | None = None


@dataclass(frozen=True)
class VisitView:
    """A class visit as the screens and the librarian see it (times aware, UTC)."""

    id: str
    class_name: str
    teacher_number: str
    teacher_name: str
    started_at: datetime
    ended_at: datetime | None
    headcount: int
    note: str
    ended_by: str
    kiosk: str
    attendees: tuple[str, ...] = ()
    """The names counted in the roll call, in the order they scanned."""

    @property
    def open(self) -> bool:
        """Whether the visit is still going on."""
        return self.ended_at is None

    @property
    def wants_note(self) -> bool:
        """Ended by the period before the teacher wrote what the class read: the
        teacher's card may still add the note (and the count)."""
        return self.ended_by == "period" and not self.note

    def minutes(self, now: datetime) -> int:
        """How long the visit lasted (or has lasted until ``now``), in whole minutes."""
        end = self.ended_at or now
        return max(0, int((end - self.started_at).total_seconds() // 60))


@dataclass(frozen=True)
class RollCall:
    """What one card scanned in a roll call did.

    ``status`` is ``counted`` (new on the list), ``other_class`` (counted, but the
    student belongs to another class), ``repeat`` (already on the list: nothing
    recorded) or ``not_student`` (a teacher's card: not counted).
    """

    status: str
    name: str
    class_name: str
    headcount: int


@dataclass(frozen=True)
class ShiftView:
    """A helper's shift: who, when, and how many books they returned."""

    id: str
    helper_number: str
    helper_name: str
    started_at: datetime
    ended_at: datetime | None
    books: int
    kiosk: str


@dataclass(frozen=True)
class HelperScan:
    """A book returned in a helper's shift: where it goes, and the shift's count.

    ``books`` is the shift's own count (each book once), not a tally of scans.
    """

    result: ReturnResult
    books: int


@dataclass(frozen=True)
class ShelfCopy:
    """A copy as a shelf check lists it: ``area`` is where it belongs."""

    barcode: str
    title: str
    area: str
    status: str


@dataclass(frozen=True)
class ShelfScan:
    """One book scanned in a shelf check: ``here`` (it belongs on this shelf),
    ``misplaced`` (it belongs on ``copy.area``) or ``repeat`` (scanned already)."""

    status: str
    copy: ShelfCopy
    scanned: int
    """How many different books this check has found so far."""


@dataclass(frozen=True)
class ShelfReport:
    """The result of a shelf check.

    ``missing`` are the copies that belong on the shelf and should be there (status
    ``available``) but were not scanned; ``misplaced`` were scanned but belong
    elsewhere; ``found`` are all the copies scanned.
    """

    check_id: str
    shelf: str
    helper_name: str
    started_at: datetime
    ended_at: datetime | None
    found: tuple[ShelfCopy, ...]
    missing: tuple[ShelfCopy, ...]
    misplaced: tuple[ShelfCopy, ...]


# -- the service -------------------------------------------------------------------


class Roles:
    """Class visits, helper shifts and shelf checks on a circulation service's database.

    It shares the service's transactions, clock and hybrid clock, so its facts are
    ordered with the loans made at the same kiosk. Creating one costs nothing.
    """

    def __init__(self, circulation: Circulation) -> None:
        self.circulation = circulation
        self.store = circulation.store

    def _fact(self, kind: str, **kwargs: Any) -> Fact:
        return self.store.fact(kind, **kwargs)

    def _now(self) -> datetime:
        return self.store.now_stored()

    def _record_started(self, kind: str, key: str, **kwargs: Any) -> Fact:
        """Record a ``*_started`` fact whose UUID is also the new row's id (``data[key]``)."""
        fact = self._fact(kind, **kwargs)
        fact = dataclasses.replace(fact, data={**fact.data, key: fact.uuid})
        journal.record(fact)
        return fact

    # -- class visits ------------------------------------------------------------

    def classes_for(self, teacher: str) -> list[ClassChoice]:
        """Every active class, the teacher's own first, then by grade and name."""
        with self.store.reading():
            own = {
                class_id
                for (class_id,) in _tuples(
                    ClassTeacher.select(ClassTeacher.school_class)
                    .join(Patron)
                    .where(Patron.number == teacher)
                )
            }
            rows = _tuples(
                SchoolClass.select(
                    SchoolClass._meta.primary_key, SchoolClass.name, SchoolClass.grade
                ).where(SchoolClass.active)
            )
        rows.sort(key=lambda r: (r[0] not in own, r[2] if r[2] is not None else 99, r[1]))
        return [ClassChoice(name, class_id in own, grade) for class_id, name, grade in rows]

    def _visit_view(self, visit: Any, with_names: bool = True) -> VisitView:
        names: tuple[str, ...] = ()
        if with_names:
            names = tuple(
                name
                for (name,) in _tuples(
                    VisitAttendee.select(Patron.name)
                    .join(Patron)
                    .where(VisitAttendee.visit == visit.id)
                    .order_by(VisitAttendee.scanned_at, VisitAttendee._meta.primary_key)
                )
            )
        return VisitView(
            id=visit.id,
            class_name=visit.school_class.name,
            teacher_number=visit.teacher.number,
            teacher_name=visit.teacher.name,
            started_at=_aware(visit.started_at),  # type: ignore[arg-type]
            ended_at=_aware(visit.ended_at),
            headcount=visit.headcount,
            note=visit.note,
            ended_by=visit.ended_by,
            kiosk=visit.kiosk,
            attendees=names,
        )

    def _visits(self) -> Any:
        return (
            ClassVisit.select(ClassVisit, SchoolClass, Patron)
            .join(SchoolClass)
            .switch(ClassVisit)
            .join(Patron)
        )

    def visit(self, visit_id: str) -> VisitView:
        """One visit, with the names of its roll call.

        Raises:
            NotFound: ``visit.unknown``.
        """
        with self.store.reading():
            row = self._visits().where(ClassVisit.id == visit_id).first()
            if row is None:
                raise NotFound("visit.unknown")
            return self._visit_view(row)

    def open_visit(self, teacher: str) -> VisitView | None:
        """The teacher's visit going on now (the newest, if several), if any."""
        with self.store.reading():
            row = (
                self._visits()
                .where((Patron.number == teacher) & ClassVisit.ended_at.is_null())
                .order_by(ClassVisit.started_at.desc())
                .first()
            )
            return self._visit_view(row) if row else None

    def visit_for_card(self, teacher: str) -> VisitView | None:
        """The visit the teacher's card is about: the one going on (:meth:`open_visit`),
        else the newest one of today that the period ended before the teacher wrote
        the note, so the card still adds the note and the count (:meth:`end_visit`)."""
        visit = self.open_visit(teacher)
        if visit is not None:
            return visit
        day_start, _ = day_bounds(self.store.today())
        with self.store.reading():
            row = (
                self._visits()
                .where(
                    (Patron.number == teacher)
                    & (ClassVisit.ended_by == "period")
                    & (ClassVisit.note == "")
                    & (ClassVisit.started_at >= day_start)
                )
                .order_by(ClassVisit.started_at.desc())
                .first()
            )
            return self._visit_view(row) if row else None

    def visits(self, since: datetime, until: datetime | None = None) -> list[VisitView]:
        """The visits started from ``since`` (to ``until``), oldest first, for the librarian."""
        with self.store.reading():
            query = self._visits().where(ClassVisit.started_at >= to_db_time(since))
            if until is not None:
                query = query.where(ClassVisit.started_at < to_db_time(until))
            return [
                self._visit_view(row, with_names=False)
                for row in query.order_by(ClassVisit.started_at)
            ]

    def start_visit(self, teacher: str, class_name: str) -> VisitView:
        """Start class ``class_name``'s visit with ``teacher``, now.

        A visit the teacher left open (at any kiosk) ends first (``new_visit``).

        Raises:
            NotFound: ``visit.no_class`` or ``patron.unknown``.
        """
        with self.store.writing():
            if not Patron.select().where(Patron.number == teacher).exists():
                raise NotFound("patron.unknown")
            if not SchoolClass.select().where(SchoolClass.name == class_name).exists():
                raise NotFound("visit.no_class", name=printable(class_name, 40))
            for (left_open,) in _tuples(
                ClassVisit.select(ClassVisit.id)
                .join(Patron)
                .where((Patron.number == teacher) & ClassVisit.ended_at.is_null())
            ):
                journal.record(
                    self._fact(
                        Kind.VISIT_ENDED, patron=teacher, visit=left_open, note="",
                        ended_by="new_visit",
                    )
                )
            fact = self._record_started(
                Kind.VISIT_STARTED, "visit", patron=teacher, **{"class": class_name}
            )
            return self._visit_view(self._visits().where(ClassVisit.id == fact.uuid).get())

    def roll_call(self, visit_id: str, number: str) -> RollCall:
        """Count patron ``number`` (whose card was just checked) in the visit's roll call.

        A repeat records nothing; a student of another class is counted and flagged.

        Raises:
            NotFound: ``visit.unknown`` or ``patron.unknown``; ``visit.ended`` when the
                visit has ended meanwhile.
        """
        with self.store.writing():
            visit: Any = ClassVisit.get_or_none(ClassVisit.id == visit_id)
            if visit is None:
                raise NotFound("visit.unknown")
            if visit.ended_at is not None:
                raise NotFound("visit.ended")
            row: Any = (
                Patron.select(Patron, SchoolClass)
                .join(SchoolClass, pw.JOIN.LEFT_OUTER)
                .where(Patron.number == number)
                .first()
            )
            if row is None:
                raise NotFound("patron.unknown")
            class_name = row.school_class.name if row.school_class_id else ""
            if row.kind not in STUDENT_KINDS:
                return RollCall("not_student", row.name, class_name, visit.headcount)
            counted = VisitAttendee.select().where(
                (VisitAttendee.visit == visit_id) & (VisitAttendee.patron == row.id)
            ).exists()
            if counted:
                return RollCall("repeat", row.name, class_name, visit.headcount)
            other = row.school_class_id != visit.school_class_id
            journal.record(
                self._fact(Kind.VISIT_ATTENDEE, patron=number, visit=visit_id, other_class=other)
            )
            headcount = ClassVisit.get_by_id(visit_id).headcount
            return RollCall("other_class" if other else "counted", row.name, class_name, headcount)

    def end_visit(
        self, visit_id: str, *, note: str = "", ended_by: str = "card", headcount: int = 0,
        at: datetime | None = None,
    ) -> VisitView:
        """End the visit (with the teacher's note of what the class read).

        ``headcount`` is the teacher's own count when there was no roll call (the
        larger of it and the roll call's count is kept); ``at`` is when it ended, if
        not now (the end of the period). A visit that has ended already keeps its end;
        it takes the note only if it has none, and a larger count (the teacher's card
        after the period ended the visit): the fact then only adds those.

        Raises:
            NotFound: ``visit.unknown``.
        """
        note = printable(note.strip(), 500)
        with self.store.writing():
            visit = self._visits().where(ClassVisit.id == visit_id).first()
            if visit is None:
                raise NotFound("visit.unknown")
            adds = bool(note and not visit.note) or headcount > visit.headcount
            if visit.ended_at is None or adds:
                data: dict[str, Any] = {"visit": visit_id, "note": note, "ended_by": ended_by}
                if headcount > 0:
                    data["headcount"] = int(headcount)
                if at is not None:
                    data["at"] = to_db_time(at).isoformat()
                if visit.ended_at is not None:
                    data["added"] = True  # (the day log says so, not "the class left" twice)
                journal.record(self._fact(Kind.VISIT_ENDED, patron=visit.teacher.number, **data))
            return self._visit_view(self._visits().where(ClassVisit.id == visit_id).get())

    def end_due_visits(self, minutes: float) -> list[VisitView]:
        """End this kiosk's visits that have lasted a whole period of ``minutes``.

        Each ends at the end of its period, whenever this runs (a kiosk switched off
        during the lesson ends it correctly when it starts again).
        """
        period = timedelta(minutes=minutes)
        with self.store.reading():
            due = _tuples(
                ClassVisit.select(ClassVisit.id, ClassVisit.started_at).where(
                    ClassVisit.ended_at.is_null()
                    & (ClassVisit.kiosk == self.store.kiosk_id)
                    & (ClassVisit.started_at <= self._now() - period)
                )
            )
        return [
            self.end_visit(visit_id, ended_by="period", at=started + period)
            for visit_id, started in due
        ]

    # -- helper shifts -----------------------------------------------------------

    def _shift_view(self, shift: Any) -> ShiftView:
        return ShiftView(
            id=shift.id,
            helper_number=shift.helper.number,
            helper_name=shift.helper.name,
            started_at=_aware(shift.started_at),  # type: ignore[arg-type]
            ended_at=_aware(shift.ended_at),
            books=shift.books,
            kiosk=shift.kiosk,
        )

    def _shifts(self) -> Any:
        return HelperShift.select(HelperShift, Patron).join(Patron)

    def shift(self, shift_id: str) -> ShiftView:
        """One shift.

        Raises:
            NotFound: ``helper.unknown_shift``.
        """
        with self.store.reading():
            row = self._shifts().where(HelperShift.id == shift_id).first()
            if row is None:
                raise NotFound("helper.unknown_shift")
            return self._shift_view(row)

    def shifts(self, since: datetime, until: datetime | None = None) -> list[ShiftView]:
        """The shifts started from ``since`` (to ``until``), oldest first (for the award)."""
        with self.store.reading():
            query = self._shifts().where(HelperShift.started_at >= to_db_time(since))
            if until is not None:
                query = query.where(HelperShift.started_at < to_db_time(until))
            return [self._shift_view(row) for row in query.order_by(HelperShift.started_at)]

    def _end_shift(self, shift: Any, ended_by: str) -> None:
        data: dict[str, Any] = {"shift": shift.id, "ended_by": ended_by}
        if ended_by in ("timeout", "new_shift"):
            # The helper left after their last book, not when the kiosk noticed.
            last = (
                HelperReturn.select(pw.fn.MAX(HelperReturn.returned_at))
                .where(HelperReturn.shift == shift.id)
                .scalar()
            )
            data["at"] = (last or shift.started_at).isoformat()
        journal.record(self._fact(Kind.SHIFT_ENDED, patron=shift.helper.number, **data))

    def start_shift(self, helper: str) -> ShiftView:
        """Start helper ``helper``'s shift now (ending one they left open here).

        Raises:
            NotFound: ``patron.unknown``.
        """
        with self.store.writing():
            if not Patron.select().where(Patron.number == helper).exists():
                raise NotFound("patron.unknown")
            for left_open in self._shifts().where(
                (Patron.number == helper)
                & HelperShift.ended_at.is_null()
                & (HelperShift.kiosk == self.store.kiosk_id)
            ):
                self._end_shift(left_open, "new_shift")
            fact = self._record_started(Kind.SHIFT_STARTED, "shift", patron=helper)
            return self._shift_view(self._shifts().where(HelperShift.id == fact.uuid).get())

    def helper_return(self, shift_id: str, raw_barcode: str, *, damaged: bool = False) -> ReturnResult:
        """Return a book in the helper's shift (counted for them) and say where it goes.

        Raises:
            NotFound: ``copy.unknown`` or ``copy.damaged_code`` (as ``checkin`` does).
        """
        return self.circulation.checkin(raw_barcode, damaged=damaged, shift=shift_id)

    def helper_scan(self, shift_id: str, raw_code: str, *, damaged: bool = False) -> HelperScan | None:
        """A code scanned in helper mode: ``None`` for a card (the screen decides what
        it does), else the book returned as :meth:`helper_return` does, with the
        shift's count of books after it. One call, so a scan costs one trip to the
        database thread.

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code`` or ``helper.unknown_shift``.
        """
        if self.circulation.is_card(raw_code):
            return None
        result = self.helper_return(shift_id, raw_code, damaged=damaged)
        return HelperScan(result, self.shift(shift_id).books)

    def end_shift(self, shift_id: str, ended_by: str = "card") -> ShiftView:
        """End the shift (``card``, ``timeout``, ``other_card``...); an ended one stays as it is.

        A shift ended by the idle timeout ends at its last book.

        Raises:
            NotFound: ``helper.unknown_shift``.
        """
        with self.store.writing():
            shift = self._shifts().where(HelperShift.id == shift_id).first()
            if shift is None:
                raise NotFound("helper.unknown_shift")
            if shift.ended_at is None:
                self._end_shift(shift, ended_by)
            return self._shift_view(self._shifts().where(HelperShift.id == shift_id).get())

    # -- shelf checks ------------------------------------------------------------

    def shelf_areas(self) -> list[str]:
        """Every shelf area the catalogue's copies belong to, sorted."""
        area = _area_sql()
        with self.store.reading():
            found = {
                value for (value,) in _tuples(Copy.select(area).join(Title).distinct()) if value
            }
        return sorted(found)

    def _copy(self, raw_barcode: str) -> tuple[Any, ShelfCopy]:
        barcode = clean_code(raw_barcode)
        if barcode is None:
            raise NotFound("copy.damaged_code")
        copy: Any = Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode).first()
        if copy is None:
            raise NotFound("copy.unknown", code=printable(barcode, 40))
        return copy, self._shelf_copy(copy, copy.title)

    @staticmethod
    def _shelf_copy(copy: Any, title: Any) -> ShelfCopy:
        return ShelfCopy(
            copy.barcode, title.title, shelf_area(copy.shelf, title.classification), copy.status
        )

    def area_of(self, raw_barcode: str) -> str:
        """The shelf area the scanned book belongs to (to start a check from a book).

        Raises:
            NotFound: ``copy.unknown`` or ``copy.damaged_code``.
        """
        with self.store.reading():
            return self._copy(raw_barcode)[1].area

    def start_shelf_check(self, shelf: str, helper: str | None = None) -> str:
        """Start checking shelf area ``shelf`` (by ``helper``, if a helper); return its id."""
        with self.store.writing():
            fact = self._record_started(
                Kind.SHELF_CHECK_STARTED, "check", patron=helper, shelf=printable(shelf, SHELF_LENGTH)
            )
            return fact.uuid

    def shelf_scan(self, check_id: str, raw_barcode: str) -> ShelfScan:
        """Note a book found on the shelf; say whether it belongs there.

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code`` or ``shelf.unknown_check``.
        """
        with self.store.writing():
            check: Any = ShelfCheck.get_or_none(ShelfCheck.id == check_id)
            if check is None:
                raise NotFound("shelf.unknown_check")
            copy, view = self._copy(raw_barcode)
            repeat = ShelfCheckItem.select().where(
                (ShelfCheckItem.check == check_id) & (ShelfCheckItem.copy == copy.id)
            ).exists()
            if not repeat:
                journal.record(self._fact(Kind.SHELF_SCAN, copy=copy.barcode, check=check_id))
            scanned = ShelfCheckItem.select().where(ShelfCheckItem.check == check_id).count()
            if repeat:
                status = "repeat"
            else:
                status = "here" if view.area == check.shelf else "misplaced"
            return ShelfScan(status, view, scanned)

    def end_shelf_check(self, check_id: str) -> ShelfReport:
        """Finish the check and report what is missing and misplaced.

        Raises:
            NotFound: ``shelf.unknown_check``.
        """
        with self.store.writing():
            check = ShelfCheck.get_or_none(ShelfCheck.id == check_id)
            if check is None:
                raise NotFound("shelf.unknown_check")
            if check.ended_at is None:
                journal.record(self._fact(Kind.SHELF_CHECK_ENDED, check=check_id))
        return self.shelf_report(check_id)

    def shelf_report(self, check_id: str) -> ShelfReport:
        """What a shelf check found, missed and found out of place.

        Raises:
            NotFound: ``shelf.unknown_check``.
        """
        with self.store.reading():
            check: Any = (
                ShelfCheck.select(ShelfCheck, Patron)
                .join(Patron, pw.JOIN.LEFT_OUTER)
                .where(ShelfCheck.id == check_id)
                .first()
            )
            if check is None:
                raise NotFound("shelf.unknown_check")
            found = self._copies(
                Copy.select(Copy, Title)
                .join(Title)
                .join_from(Copy, ShelfCheckItem)
                .where(ShelfCheckItem.check == check_id)
                .order_by(ShelfCheckItem.scanned_at, ShelfCheckItem._meta.primary_key)
            )
            scanned = ShelfCheckItem.select(ShelfCheckItem.copy).where(
                ShelfCheckItem.check == check_id
            )
            missing = self._copies(
                Copy.select(Copy, Title)
                .join(Title)
                .where(
                    (_area_sql() == check.shelf)
                    & (Copy.status == "available")
                    & _primary_key(Copy).not_in(scanned)
                )
                .order_by(Title.classification, Copy.barcode)
            )
        return ShelfReport(
            check_id=check.id,
            shelf=check.shelf,
            helper_name=check.helper.name if check.helper_id else "",
            started_at=_aware(check.started_at),  # type: ignore[arg-type]
            ended_at=_aware(check.ended_at),
            found=tuple(found),
            missing=tuple(missing),
            misplaced=tuple(c for c in found if c.area != check.shelf),
        )

    def _copies(self, query: Iterable[Any]) -> list[ShelfCopy]:
        return [self._shelf_copy(copy, copy.title) for copy in query]
