"""The projection of the roles' facts: class visits, helper shifts and shelf checks.

Each ``*_started`` fact (re)creates its row from nothing, and every later fact of
the visit, shift or check is written so that applying it again changes nothing.
So a replay (``journal.rebuild``), a per-title rebase of the sync and a plain
first application all end in the same rows, whatever the tables held before.

Each kind's function is named in its row of the registry of fact kinds
(:mod:`kiosk.data.core.kinds`), and :func:`count_for_shift` is the extra of the ``checkin``
facts :func:`in_shift`: a return made in a helper's shift (``data["shift"]``) is
counted for that shift, each book once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import peewee as pw

from kiosk.data.core.facts import Fact
from kiosk.data.core.models import (
    ClassVisit,
    Copy,
    HelperReturn,
    HelperShift,
    Journal,
    Patron,
    SchoolClass,
    ShelfCheck,
    ShelfCheckItem,
    VisitAttendee,
)
from kiosk.data.core.projection import Known


def _id_of(model: type[pw.Model], field: Any, value: str) -> int | None:
    """The row id of the ``model`` row whose natural key ``field`` is ``value``."""
    row: Any = model.select(model._meta.primary_key).where(field == value).tuples().first()
    return int(row[0]) if row else None


def _patron_id(fact: Fact, known: Known) -> int | None:
    if fact.patron is None:
        return None
    patron: Any = known.patron
    if patron is not None and patron.number == fact.patron:
        return int(patron.id)
    return _id_of(Patron, Patron.number, fact.patron)


def _copy_id(fact: Fact, known: Known) -> int | None:
    if fact.copy is None:
        return None
    copy: Any = known.copy
    if copy is not None and copy.barcode == fact.copy:
        return int(copy.id)
    return _id_of(Copy, Copy.barcode, fact.copy)


def _at(fact: Fact) -> datetime:
    """When a visit or shift ended: ``data["at"]`` (the end of a period...) or the fact's time."""
    return _end_time(fact.data, fact.wall_time)


def _end_time(data: dict[str, Any], wall: datetime) -> datetime:
    at = data.get("at")
    return datetime.fromisoformat(at) if at else wall


# -- class visits ------------------------------------------------------------------


def visit_started(fact: Fact, known: Known) -> None:
    """A class's visit begins (its row made anew: a replay gives the same row)."""
    teacher = _patron_id(fact, known)
    school_class = _id_of(SchoolClass, SchoolClass.name, str(fact.data.get("class", "")))
    if teacher is None or school_class is None:
        return
    visit = fact.data.get("visit") or fact.uuid
    VisitAttendee.delete().where(VisitAttendee.visit == visit).execute()
    ClassVisit.delete().where(ClassVisit.id == visit).execute()
    ClassVisit.insert(
        id=visit, school_class=school_class, teacher=teacher, started_at=fact.wall_time,
        kiosk=fact.kiosk,
    ).execute()


def _count_attendees(visit: Any, given: int = 0) -> None:
    """The head count: the largest of the roll call, the teacher's count ``given`` and
    what it was (a count only grows, so facts applied again or late change nothing)."""
    counted = VisitAttendee.select().where(VisitAttendee.visit == visit).count()
    now: Any = ClassVisit.select(ClassVisit.headcount).where(ClassVisit.id == visit).scalar()
    ClassVisit.update(headcount=max(counted, given, now or 0)).where(
        ClassVisit.id == visit
    ).execute()


def visit_attendee(fact: Fact, known: Known) -> None:
    """A student scanned for the roll call (once per visit)."""
    visit = fact.data.get("visit")
    patron = _patron_id(fact, known)
    if patron is None or not ClassVisit.select().where(ClassVisit.id == visit).exists():
        return
    VisitAttendee.insert(
        visit=visit, patron=patron, scanned_at=fact.wall_time,
        other_class=bool(fact.data.get("other_class")),
    ).on_conflict_ignore().execute()
    _count_attendees(visit)


def visit_ended(fact: Fact, known: Known) -> None:
    """The visit's end, made from every end of it this database holds: it ended at the
    earliest (``at``, or the fact's time), as that end says (``ended_by``), with the note
    of the earliest end that has one; the count only grows.

    Two kiosks may end one visit while offline (the teacher's card at one, a new visit
    of the same teacher at the other), and each database applies the two ends in its
    own order; taking the first applied made the databases disagree. Every end is in the
    journal before it is applied (``journal.record``, the sync, ``journal.rebuild``), so
    the result depends only on which ends there are. On one kiosk the earliest end is
    the first made, and a later one only adds a note (the teacher's card after the
    period ended the visit), as before.
    """
    visit = fact.data.get("visit")
    ends: dict[str, tuple[dict[str, Any], datetime, str]] = {
        fact.uuid: (fact.data, fact.wall_time, fact.hlc)
    }
    rows = (
        Journal.select(Journal.uuid, Journal.data, Journal.wall_time, Journal.hlc)
        .where((Journal.kind == fact.kind) & (Journal.patron == fact.patron))  # (its kind's)
        .tuples()
    )
    for uuid, data, wall, hlc in rows:
        values = json.loads(data)
        if values.get("visit") == visit:
            ends[uuid] = (values, wall, hlc)

    first = min(ends.values(), key=lambda end: (_end_time(end[0], end[1]), end[1], end[2]))
    noted = [end for end in ends.values() if end[0].get("note")]
    note = min(noted, key=lambda end: (end[1], end[2]))[0]["note"] if noted else ""
    ClassVisit.update(
        ended_at=_end_time(first[0], first[1]), note=str(note),
        ended_by=str(first[0].get("ended_by", "")),
    ).where(ClassVisit.id == visit).execute()
    given = fact.data.get("headcount")
    if isinstance(given, int) and given > 0:
        _count_attendees(visit, given)


# -- helper shifts -----------------------------------------------------------------


def shift_started(fact: Fact, known: Known) -> None:
    """A helper's shift begins (its row made anew, its returns forgotten)."""
    helper = _patron_id(fact, known)
    if helper is None:
        return
    shift = fact.data.get("shift") or fact.uuid
    HelperReturn.delete().where(HelperReturn.shift == shift).execute()
    HelperShift.delete().where(HelperShift.id == shift).execute()
    HelperShift.insert(
        id=shift, helper=helper, started_at=fact.wall_time, kiosk=fact.kiosk
    ).execute()


def shift_ended(fact: Fact, known: Known) -> None:
    """A helper's shift ends (once)."""
    HelperShift.update(ended_at=_at(fact)).where(
        (HelperShift.id == fact.data.get("shift")) & HelperShift.ended_at.is_null()
    ).execute()


def in_shift(fact: Fact) -> bool:
    """Whether ``fact`` (a ``checkin``) was made in a helper's shift."""
    return bool(fact.data.get("shift"))


def count_for_shift(fact: Fact, known: Known) -> None:
    """A return made in a helper's shift counts for that shift: each book once, and
    only a book that was on loan.

    Every return of a lent book is kept (keyed by its fact, so a replay adds nothing),
    and the shift's ``books`` is the number of different copies among them: scanning
    the same book again (now "not on loan") does not count it twice, in whatever order
    the facts are applied. A book that was not on loan (taken from a shelf, scanned
    again) is put away but not returned: the helper's screen says those apart, and
    they do not count for the best-helper award.
    """
    shift = fact.data.get("shift")
    copy = _copy_id(fact, known)
    if not fact.data.get("loan"):
        return
    if copy is None or not HelperShift.select().where(HelperShift.id == shift).exists():
        return
    HelperReturn.insert(
        fact=fact.uuid, shift=shift, copy=copy, returned_at=fact.wall_time
    ).on_conflict_ignore().execute()
    counted = HelperReturn.select(pw.fn.COUNT(HelperReturn.copy.distinct())).where(
        HelperReturn.shift == shift
    )
    HelperShift.update(books=counted).where(HelperShift.id == shift).execute()


# -- shelf checks ------------------------------------------------------------------


def shelf_check_started(fact: Fact, known: Known) -> None:
    """A shelf check begins (its row made anew, its scans forgotten)."""
    check = fact.data.get("check") or fact.uuid
    ShelfCheckItem.delete().where(ShelfCheckItem.check == check).execute()
    ShelfCheck.delete().where(ShelfCheck.id == check).execute()
    ShelfCheck.insert(
        id=check, shelf=str(fact.data.get("shelf", "")), helper=_patron_id(fact, known),
        started_at=fact.wall_time, kiosk=fact.kiosk,
    ).execute()


def shelf_scan(fact: Fact, known: Known) -> None:
    """A book found on the shelf being checked (once per check)."""
    check = fact.data.get("check")
    copy = _copy_id(fact, known)
    if copy is None or not ShelfCheck.select().where(ShelfCheck.id == check).exists():
        return
    ShelfCheckItem.insert(
        check=check, copy=copy, scanned_at=fact.wall_time
    ).on_conflict_ignore().execute()


def shelf_check_ended(fact: Fact, known: Known) -> None:
    """A shelf check ends (once)."""
    ShelfCheck.update(ended_at=fact.wall_time).where(
        (ShelfCheck.id == fact.data.get("check")) & ShelfCheck.ended_at.is_null()
    ).execute()
