"""Class visits: a teacher brings a class for its reading lesson, with an optional roll call.

The visit starts with the teacher's card and a class picked from a list, ends with the
teacher's card again, at the end of the period or when the next class comes in; every
change is a journal fact (applied by :mod:`kiosk.data.core.projection_roles`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.errors import NotFound
from kiosk.data.core.facts import day_bounds, to_db_time
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    ClassTeacher,
    ClassVisit,
    Patron,
    SchoolClass,
    VisitAttendee,
)
from kiosk.data.core.text import printable
from kiosk.data.roles.common import STUDENT_KINDS, RoleService, aware, tuples

log = logging.getLogger(__name__)


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


# -- the service -------------------------------------------------------------------


class Visits(RoleService):
    """A teacher's class visits: start, roll call, end, and what they were."""


    def classes_for(self, teacher: str) -> list[ClassChoice]:
        """Every active class, the teacher's own first, then by grade and name."""
        with self.store.reading():
            own = {
                class_id
                for (class_id,) in tuples(
                    ClassTeacher.select(ClassTeacher.school_class)
                    .join(Patron)
                    .where(Patron.number == teacher)
                )
            }
            rows = tuples(
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
                for (name,) in tuples(
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
            started_at=aware(visit.started_at),  # type: ignore[arg-type]
            ended_at=aware(visit.ended_at),
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
            for (left_open,) in tuples(
                ClassVisit.select(ClassVisit.id)
                .join(Patron)
                .where((Patron.number == teacher) & ClassVisit.ended_at.is_null())
            ):
                journal.record(
                    self.fact(
                        Kind.VISIT_ENDED, patron=teacher, visit=left_open, note="",
                        ended_by="new_visit",
                    )
                )
            fact = self.record_started(
                Kind.VISIT_STARTED, "visit", patron=teacher, **{"class": class_name}
            )
            return self._visit_view(self._visits().where(ClassVisit.id == fact.uuid).get())

    def class_list(self, visit_id: str) -> list[tuple[str, str, bool]]:
        """The visiting class's students (number, name, counted already), by name: for
        the teacher to pick a child who forgot the card.

        Raises:
            NotFound: ``visit.unknown``.
        """
        with self.store.reading():
            visit: Any = ClassVisit.get_or_none(ClassVisit.id == visit_id)
            if visit is None:
                raise NotFound("visit.unknown")
            counted = {
                patron for (patron,) in tuples(
                    VisitAttendee.select(VisitAttendee.patron)
                    .where(VisitAttendee.visit == visit_id)
                )
            }
            rows = tuples(
                Patron.select(Patron._meta.primary_key, Patron.number, Patron.name)
                .where((Patron.school_class == visit.school_class_id)
                       & Patron.kind.in_(STUDENT_KINDS) & Patron.active)
                .order_by(Patron.name, Patron.number)
            )
        return [(number, name, patron_id in counted) for patron_id, number, name in rows]

    def roll_call(self, visit_id: str, number: str, *, no_card: bool = False) -> RollCall:
        """Count patron ``number`` (whose card was just checked) in the visit's roll call.

        ``no_card``: the child forgot the card and the teacher picked the name from the
        class list (the fact says so, and names the teacher).
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
            extra: dict[str, Any] = {}
            if no_card:
                extra = {"no_card": True, "by": Patron.get_by_id(visit.teacher_id).number}
            journal.record(self.fact(
                Kind.VISIT_ATTENDEE, patron=number, visit=visit_id, other_class=other, **extra
            ))
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
                journal.record(self.fact(Kind.VISIT_ENDED, patron=visit.teacher.number, **data))
            return self._visit_view(self._visits().where(ClassVisit.id == visit_id).get())

    def end_due_visits(self, minutes: float) -> list[VisitView]:
        """End this kiosk's visits that have lasted a whole period of ``minutes``.

        Each ends at the end of its period, whenever this runs (a kiosk switched off
        during the lesson ends it correctly when it starts again).
        """
        period = timedelta(minutes=minutes)
        with self.store.reading():
            due = tuples(
                ClassVisit.select(ClassVisit.id, ClassVisit.started_at).where(
                    ClassVisit.ended_at.is_null()
                    & (ClassVisit.kiosk == self.store.kiosk_id)
                    & (ClassVisit.started_at <= self.now() - period)
                )
            )
        return [
            self.end_visit(visit_id, ended_by="period", at=started + period)
            for visit_id, started in due
        ]
