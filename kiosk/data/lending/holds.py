"""Reservations (预约): placing, cancelling and expiring holds, and class sets.

The one place the screens, the desk and the SIP2 server go to reserve a book. A
patron reserves a *title*; the first copy of it to come back (or one the librarian
takes off the shelf and scans as a return) goes to the hold shelf for them, and waits
there for :attr:`HoldRules.pickup_days` open days. A copy not picked up in time goes to
the next in line, or back to the shelf (:meth:`Holds.expire_due`). The librarian
reserves for a teacher at the desk, one copy or a class set: N copies of one title for
a day (教师借阅书刊预约登记表 in the plans).

The rules are library settings (master data, set at the desk, synced to the kiosks):

- ``holds_students``: ``1`` if students (and helpers) may reserve; teachers always
  may, librarians too;
- ``hold_limit``: how many open holds a patron may have (a class set does not count);
- ``hold_pickup_days``: how many days a copy waits on the hold shelf;
- ``hold_shelf``: where to pick it up, as the patron's page says it (empty: "the hold
  shelf at the library desk" in the kiosk's language).

Every change is a fact (``hold``, ``class_set``, ``hold_cancelled``, ``hold_expired``:
see :mod:`kiosk.data.core.projection_holds`) written in the transaction that decides it;
every refusal is a ``refusal`` fact, as the lending service records them. Plain values
in, plain values out; no Peewee object leaves this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core import journal, settings
from kiosk.data.core.errors import CardRefused, NotFound, Refused
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    OPEN_HOLDS,
    Copy,
    Hold,
    Loan,
    Patron,
    SchoolClass,
    Title,
    shelf_area,
)
from kiosk.data.core.store import Outcome
from kiosk.data.core.text import clean_code, printable
from kiosk.data.lending.circulation import Circulation

log = logging.getLogger(__name__)

HOLD_DEFAULTS = {
    "holds_students": "0",
    "hold_limit": "3",
    "hold_pickup_days": "7",
    "hold_shelf": "",
}
"""The holds' settings when the library has not set them (see the module's text)."""

CLASS_SET_MAX = 60
"""The most copies one class set may reserve (a class, with room to spare)."""

STAFF = ("teacher", "librarian")
"""Who may always reserve."""


@dataclass(frozen=True)
class HoldRules:
    """The library's rules for reservations."""

    students: bool
    """Students (and helpers) may reserve; teachers and librarians always may."""
    limit: int
    """Open holds a patron may have at once (class sets apart)."""
    pickup_days: int
    """Days a copy waits on the hold shelf (moved on to a day the library is open)."""
    place: str
    """Where to pick it up, as the library named it (``""``: the hold shelf)."""

    def may_reserve(self, patron_kind: str) -> bool:
        """Whether a patron of this kind may reserve."""
        return patron_kind in STAFF or self.students


@dataclass(frozen=True)
class HoldView:
    """One open hold, as the patron's page and the librarian's list show it."""

    hold_id: str
    title: str
    title_key: str
    status: str
    """``waiting`` (for a copy) or ``ready`` (a copy waits on the hold shelf)."""
    patron: str
    name: str
    class_name: str
    placed_on: date
    barcode: str = ""
    """The copy on the hold shelf (ready holds)."""
    until: date | None = None
    """The last day a ready copy waits (ready holds)."""
    needed_on: date | None = None
    """The day the hold is for (a teacher's class set)."""
    position: int = 0
    """A waiting hold's place in its title's queue (1: the next copy is theirs)."""
    on_shelf: str = ""
    """A waiting hold among the first in line, as many as copies are on the shelf: the
    shelf to fetch one from (the librarian scans it as a return: it goes to the hold
    shelf for them)."""
    class_set: str = ""
    placed_by: str = ""

    @property
    def ready(self) -> bool:
        """Whether a copy waits on the hold shelf."""
        return self.status == "ready"


@dataclass(frozen=True)
class Placed:
    """Holds placed: the title, how many, the first one's place, and whether a copy is
    already there for the patron (``ready``) or on the shelf now (``on_shelf``)."""

    title: str
    count: int
    position: int
    on_shelf: str
    ready: bool
    hold_id: str


@dataclass(frozen=True)
class TitleChoice:
    """A title a patron or the librarian may reserve, as a dialog confirms it."""

    key: str
    title: str
    author: str
    copies: int
    """Its copies that may be lent (not reference, lost or withdrawn)."""
    available: int
    """Of those, how many are on the shelf now."""
    shelf: str


@dataclass(frozen=True)
class Reshelve:
    """A copy on the hold shelf that waits for nobody now (its hold ended)."""

    barcode: str
    title: str
    shelf: str


def _local_day(stored: datetime) -> date:
    """The school's day of a stored (naive UTC) time."""
    return stored.replace(tzinfo=UTC).astimezone().date()


class Holds:
    """Reservations on the database the lending service uses.

    Args:
        circulation: the lending service (its store, clock and open days).
    """

    def __init__(self, circulation: Circulation) -> None:
        self.circulation = circulation
        self.store = circulation.store

    # -- rules --------------------------------------------------------------------------

    def rules(self) -> HoldRules:
        """The library's rules for reservations now."""
        with self.store.reading():
            return self._rules()

    def _rules(self) -> HoldRules:
        def number(key: str, low: int, high: int) -> int:
            try:
                value = int(self._setting(key))
            except ValueError:
                value = int(HOLD_DEFAULTS[key])
            return max(low, min(value, high))

        return HoldRules(
            students=self._setting("holds_students") == "1",
            limit=number("hold_limit", 0, 50),
            pickup_days=number("hold_pickup_days", 1, 60),
            place=self._setting("hold_shelf"),
        )

    @staticmethod
    def _setting(key: str) -> str:
        value = settings.get(key)
        return value if value != "" or key == "hold_shelf" else HOLD_DEFAULTS[key]

    def until(self, ready_at: datetime, needed_on: date | None, pickup_days: int) -> date:
        """The last day a copy that came to the hold shelf at ``ready_at`` waits: the
        pickup days on, moved to a day the library is open; a class set's copies wait
        at least until the day they are for."""
        last = self.circulation.due_date(pickup_days, _local_day(ready_at))
        return max(last, needed_on) if needed_on else last

    # -- finding a title ----------------------------------------------------------------

    def find_title(self, code: str) -> TitleChoice:
        """The title a typed or scanned code names: a book's barcode, its ISBN, or the
        title's key (what the find-a-book screen passes).

        Raises:
            NotFound: ``hold.unknown_title``.
        """
        with self.store.reading():
            return self._choice(self._title(code))

    def _title(self, code: str) -> Title:
        text = clean_code(code) or ""
        if not text:
            raise NotFound("hold.unknown_title", code=printable(code, 40))
        copy = Copy.select(Copy.title).where(Copy.barcode == text).first()
        if copy is not None:
            return Title.get_by_id(copy.title_id)
        title = Title.select().where(Title.key == text).first()
        if title is None:
            title = Title.select().where(Title.isbn == text.replace("-", "")).order_by(
                Title.id
            ).first()
        if title is None:
            raise NotFound("hold.unknown_title", code=printable(code, 40))
        return title

    @staticmethod
    def _lendable(title: Title) -> pw.ModelSelect:
        return Copy.select().where(
            (Copy.title == title.id) & ~Copy.reference_only
            & Copy.status.not_in(["lost", "withdrawn"])
        )

    def _choice(self, title: Title) -> TitleChoice:
        copies = [] if title.kind == "reference" else list(self._lendable(title))
        available = [c for c in copies if c.status == "available"]
        shelf = shelf_area(available[0].shelf if available else (
            copies[0].shelf if copies else ""), title.classification)
        return TitleChoice(
            key=title.key or "", title=title.title, author=title.author, copies=len(copies),
            available=len(available), shelf=shelf,
        )

    # -- placing ------------------------------------------------------------------------

    def place(
        self, number: str, *, title_key: str | None = None, barcode: str | None = None,
        by: str | None = None, needed_on: date | None = None,
    ) -> Placed:
        """Patron ``number`` reserves a title, named by its key (the find-a-book screen,
        the patron's page) or by one of its copies' barcodes (a scanned book, SIP2).
        ``by`` is the librarian who reserves it for them at the desk.

        Raises:
            NotFound: ``patron.unknown``, ``hold.unknown_title``.
            CardRefused: ``card.inactive`` / ``card.blocked``.
            Refused: ``hold.not_allowed``, ``hold.limit``, ``hold.already``,
                ``hold.on_loan_to_you``, ``hold.not_lendable``, ``hold.day_passed``
                (each recorded as a refusal).
        """
        return self._place(number, title_key, barcode, by, needed_on, None)

    def place_class_set(
        self, number: str, count: int, needed_on: date, *, title_key: str | None = None,
        barcode: str | None = None, by: str,
    ) -> Placed:
        """The librarian ``by`` reserves ``count`` copies of a title for teacher
        ``number``, for the day ``needed_on`` (a class set).

        Raises:
            as :meth:`place`, and ``hold.not_teacher`` (a class set is for a teacher),
            ``hold.count`` (from 1 to the title's lendable copies, at most
            :data:`CLASS_SET_MAX`).
        """
        return self._place(number, title_key, barcode, by, needed_on, count)

    def _place(
        self, number: str, title_key: str | None, barcode: str | None, by: str | None,
        needed_on: date | None, count: int | None,
    ) -> Placed:
        code = title_key if title_key is not None else (barcode or "")

        def decide() -> Outcome:
            patron = Patron.get_or_none(Patron.number == number)
            if patron is None:
                return Outcome(refusal=NotFound("patron.unknown"))
            try:
                title = self._title(code)
            except NotFound as missing:
                return Outcome(refusal=self.store.refusal(missing, patron=number, code=code))
            copies = [] if title.kind == "reference" else list(
                self._lendable(title).order_by(Copy.barcode)
            )
            try:
                self._may_place(patron, title, copies, by, needed_on, count)
            except Refused as refusal:
                copy = copies[0].barcode if copies else None
                return Outcome(refusal=self.store.refusal(refusal, patron=number, copy=copy))
            # The fact names a copy of the title (the one scanned, else the first): the
            # journal and the sync find a title's facts by its copies.
            named = next((c for c in copies if c.barcode == clean_code(code)), copies[0])
            data: dict[str, Any] = {"title": title.key or ""}
            if by:
                data["by"] = by
            if needed_on is not None:
                data["needed_on"] = needed_on.isoformat()
            if count is None:
                fact = self.store.fact(Kind.HOLD, patron=number, copy=named.barcode, **data)
            else:
                fact = self.store.fact(
                    Kind.CLASS_SET, patron=number, copy=named.barcode, count=count, **data
                )
            journal.record(fact)
            return Outcome(value=self._placed(fact.uuid, title, count or 1))

        return self.store.run(decide)

    def _may_place(
        self, patron: Patron, title: Title, copies: list[Copy], by: str | None,
        needed_on: date | None, count: int | None,
    ) -> None:
        if not patron.active:
            raise CardRefused("card.inactive", number=patron.number, name=patron.name)
        if patron.blocked_reason:
            raise CardRefused(
                "card.blocked", number=patron.number, name=patron.name,
                reason=patron.blocked_reason,
            )
        rules = self._rules()
        if count is not None and patron.kind not in STAFF:
            raise Refused("hold.not_teacher", name=patron.name)
        if not rules.may_reserve(patron.kind) and not by:
            raise Refused("hold.not_allowed")
        if not copies:
            raise Refused("hold.not_lendable", title=title.title)
        if needed_on is not None and needed_on < self.store.today():
            raise Refused("hold.day_passed", date=needed_on.isoformat())
        if count is not None:
            if not 1 <= count <= min(len(copies), CLASS_SET_MAX):
                raise Refused("hold.count", limit=min(len(copies), CLASS_SET_MAX),
                              title=title.title)
            return
        mine = Hold.select().where((Hold.patron == patron.id) & Hold.status.in_(OPEN_HOLDS))
        if mine.where((Hold.title == title.id) & Hold.class_set.is_null()).exists():
            raise Refused("hold.already", title=title.title)
        if Loan.select().join(Copy).where(
            (Loan.patron == patron.id) & (Copy.title == title.id) & Loan.returned_at.is_null()
        ).exists():
            raise Refused("hold.on_loan_to_you", title=title.title)
        if mine.where(Hold.class_set.is_null()).count() >= rules.limit:
            raise Refused("hold.limit", limit=rules.limit)

    def _placed(self, hold_id: str, title: Title, count: int) -> Placed:
        hold = Hold.get_by_id(hold_id)
        position = 0
        if hold.status == "waiting":
            position = self._position(hold)
        choice = self._choice(title)
        return Placed(
            title=title.title, count=count, position=position,
            on_shelf=choice.shelf if choice.available else "", ready=hold.status == "ready",
            hold_id=hold_id,
        )

    @staticmethod
    def _position(hold: Hold) -> int:
        return Hold.select().where(
            (Hold.title == hold.title_id) & (Hold.status == "waiting")
            & ((Hold.placed_at < hold.placed_at)
               | ((Hold.placed_at == hold.placed_at) & (Hold.id <= hold.id)))
        ).count()

    # -- cancelling ---------------------------------------------------------------------

    def cancel(
        self, hold_id: str, *, number: str | None = None, by: str | None = None,
        whole_set: bool = False,
    ) -> str:
        """Cancel an open hold: the patron ``number``'s own, or any, by the librarian
        ``by`` (``whole_set``: every open hold of its class set). A copy it had on the
        hold shelf goes to the next in line. Returns the title.

        Raises:
            NotFound: ``hold.unknown`` (no such open hold, or not this patron's).
        """

        def decide() -> Outcome:
            hold = (
                Hold.select(Hold, Patron, Title).join(Patron).switch(Hold).join(Title)
                .where((Hold.id == hold_id) & Hold.status.in_(OPEN_HOLDS)).first()
            )
            if hold is None or (number is not None and hold.patron.number != number):
                return Outcome(refusal=NotFound("hold.unknown"))
            data: dict[str, Any] = {"title": hold.title.key or ""}
            if whole_set and hold.class_set:
                data["class_set"] = hold.class_set
            else:
                data["holds"] = [hold.id]
            if by:
                data["by"] = by
            self.store.record(
                Kind.HOLD_CANCELLED, patron=hold.patron.number,
                copy=self._copy_named(hold), **data,
            )
            return Outcome(value=hold.title.title)

        return str(self.store.run(decide))

    def cancel_title(self, number: str, code: str) -> str:
        """Patron ``number`` cancels their own reservation of the title a code names (a
        copy's barcode, an ISBN, the title's key: what a self-check unit sends). Returns
        the title.

        Raises:
            NotFound: ``hold.unknown`` (no open reservation of theirs on that title).
        """
        with self.store.reading():
            try:
                title = self._title(code)
            except NotFound:
                title = None
            hold = None if title is None else (
                Hold.select(Hold.id).join(Patron)
                .where((Patron.number == number) & (Hold.title == title.id)
                       & Hold.status.in_(OPEN_HOLDS) & Hold.class_set.is_null())
                .order_by(Hold.placed_at).first()
            )
        if hold is None:
            raise NotFound("hold.unknown")
        return self.cancel(hold.id, number=number)

    @staticmethod
    def _copy_named(hold: Hold) -> str | None:
        """The copy a fact about ``hold`` names: the one on the hold shelf for it, else a
        copy of its title (the journal finds a title's facts by its copies)."""
        if hold.copy_id is not None:
            return Copy.get_by_id(hold.copy_id).barcode
        row = Copy.select(Copy.barcode).where(Copy.title == hold.title_id).order_by(
            Copy.barcode
        ).first()
        return row.barcode if row else None

    # -- expiring -----------------------------------------------------------------------

    def expire_due(self) -> int:
        """End the holds whose time ran out: a copy not picked up by its last day (it
        goes to the next in line, or waits to be put back on the shelf), a hold for a
        day that has passed. Returns how many holds ended.

        Run by the kiosk now and then and by the desk; two kiosks expiring one hold
        make two facts, and the second changes nothing.
        """

        with self.store.reading():  # (most runs find nothing: no write, no journal lock)
            if not self._any_due():
                return 0

        def decide() -> Outcome:
            today = self.store.today()
            rules = self._rules()
            ended = 0
            # the holds for a day that has passed first: a copy another one leaves on
            # the hold shelf must not go to them
            passed = list(
                Hold.select(Hold, Patron).join(Patron)
                .where((Hold.status == "waiting") & (Hold.needed_on < today))
                .order_by(Hold.placed_at, Hold.id)
            )
            groups: dict[str, list[Hold]] = {}
            for hold in passed:
                groups.setdefault(hold.class_set or hold.id, []).append(hold)
            for holds in groups.values():
                self.store.record(
                    Kind.HOLD_EXPIRED, patron=holds[0].patron.number,
                    copy=self._copy_named(holds[0]), holds=[h.id for h in holds],
                    was="waiting",
                )
                ended += len(holds)
            ready = list(
                Hold.select(Hold, Patron, Copy).join(Patron).switch(Hold)
                .join(Copy, on=(Hold.copy == Copy.id))
                .where(Hold.status == "ready").order_by(Hold.ready_at, Hold.id)
            )
            for hold in ready:
                if hold.ready_at is None:
                    continue
                if self.until(hold.ready_at, hold.needed_on, rules.pickup_days) >= today:
                    continue
                self.store.record(
                    Kind.HOLD_EXPIRED, patron=hold.patron.number, copy=hold.copy.barcode,
                    holds=[hold.id], was="ready",
                )
                ended += 1
            return Outcome(value=ended)

        ended = int(self.store.run(decide))
        if ended:
            log.info("%d holds expired", ended)
        return ended

    def _any_due(self) -> bool:
        """Whether a hold's time may have run out (cheap: read before a write is taken)."""
        today = self.store.today()
        if Hold.select().where((Hold.status == "waiting") & (Hold.needed_on < today)).exists():
            return True
        rules = self._rules()
        return any(
            self.until(ready_at, needed_on, rules.pickup_days) < today
            for ready_at, needed_on in Hold.select(Hold.ready_at, Hold.needed_on)
            .where((Hold.status == "ready") & Hold.ready_at.is_null(False)).tuples()
        )

    # -- views --------------------------------------------------------------------------

    def of_patron(self, number: str) -> tuple[HoldView, ...]:
        """Patron ``number``'s open holds, the copies waiting for them first. A ready
        hold past its last day is left out (its expiry is on its way)."""
        with self.store.reading():
            views = self._views(Patron.number == number)
        today = self.store.today()
        return tuple(v for v in views if not (v.ready and v.until and v.until < today))

    def open_holds(self) -> list[HoldView]:
        """Every open hold, for the librarian: the copies waiting on the hold shelf first
        (by their last day), then the holds waiting for a copy (by title and place)."""
        with self.store.reading():
            return self._views(None)

    def _views(self, where: Any) -> list[HoldView]:
        rules = self._rules()
        query = (
            Hold.select(Hold, Patron, Title, SchoolClass)
            .join(Patron).join(SchoolClass, pw.JOIN.LEFT_OUTER)
            .switch(Hold).join(Title)
            .where(Hold.status.in_(OPEN_HOLDS))
            .order_by(Hold.placed_at, Hold.id)
        )
        if where is not None:
            query = query.where(where)
        holds = list(query)
        copies = {
            c.id: c for c in Copy.select().where(
                Copy.id.in_([h.copy_id for h in holds if h.copy_id is not None])
            )
        } if any(h.copy_id for h in holds) else {}
        views: list[HoldView] = []
        for hold in holds:
            title: Title = hold.title
            patron: Patron = hold.patron
            base: dict[str, Any] = {
                "hold_id": hold.id, "title": title.title, "title_key": title.key or "",
                "status": hold.status, "patron": patron.number, "name": patron.name,
                "class_name": patron.school_class.name if patron.school_class_id else "",
                "placed_on": _local_day(hold.placed_at), "needed_on": hold.needed_on,
                "class_set": hold.class_set or "", "placed_by": hold.placed_by or "",
            }
            if hold.status == "ready" and hold.copy_id in copies and hold.ready_at:
                base["barcode"] = copies[hold.copy_id].barcode
                base["until"] = self.until(hold.ready_at, hold.needed_on, rules.pickup_days)
            else:
                base["position"] = self._position(hold)
                choice = self._choice(title)
                # the first in line have a copy to fetch, as many as are on the shelf
                fetch = base["position"] <= choice.available
                base["on_shelf"] = choice.shelf if fetch else ""
            views.append(HoldView(**base))
        views.sort(key=lambda v: (not v.ready, v.until or date.max, v.title, v.position))
        return views

    def to_reshelve(self) -> list[Reshelve]:
        """Copies on the hold shelf that wait for nobody now: put them back on the shelf
        (or scan them as returns, which sends them where they go)."""
        with self.store.reading():
            ready = Hold.select(Hold.copy).where(
                (Hold.status == "ready") & Hold.copy.is_null(False)
            )
            rows = (
                Copy.select(Copy, Title).join(Title)
                .where((Copy.status == "hold_shelf") & Copy.id.not_in(ready))
                .order_by(Copy.barcode)
            )
            return [
                Reshelve(c.barcode, c.title.title, shelf_area(c.shelf, c.title.classification))
                for c in rows
            ]


__all__ = [
    "CLASS_SET_MAX",
    "HOLD_DEFAULTS",
    "HoldRules",
    "HoldView",
    "Holds",
    "Placed",
    "Reshelve",
    "TitleChoice",
]
