"""The SIP2 server's one door to the library's data: every call it makes goes through here.

The desk answers each SIP2 terminal as if the terminal were a kiosk standing beside it:
a :class:`~kiosk.data.lending.circulation.Circulation` service bound to the desk's database,
with the terminal's name as its kiosk id. A loan made at a terminal is therefore a fact
like any other, written with the state it changes in one transaction under the journal
lock (numbered in the desk's order, so every kiosk pulls it), with the same rules and
the same refusals (recorded as facts). A loan or return the terminal made offline
("no block", with its own transaction date) is taken as a kiosk's pushed offline fact
is (:func:`kiosk.data.sync.accept_made_elsewhere`): the conflict rules decide and
their cases are recorded for the librarian.

Nothing from :mod:`kiosk.data` leaves this module: the protocol side gets the plain
values below and :class:`Refusal` (a translation key and its values). This is the only
module of :mod:`kiosk.sip2` that imports :mod:`kiosk.data`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import peewee as pw

from kiosk.data import sync
from kiosk.data.core import cards, settings
from kiosk.data.core.db import DatabaseMissing, database, mask, redact
from kiosk.data.core.errors import AlreadyBorrowed, CardRefused, KioskError, StorageError
from kiosk.data.core.facts import Fact, to_db_time, utcnow
from kiosk.data.core.kinds import Kind
from kiosk.data.core.library import open_library
from kiosk.data.core.models import (
    OPEN_HOLDS,
    Copy,
    Hold,
    Loan,
    LoanRule,
    Patron,
    Title,
    shelf_area,
)
from kiosk.data.core.prepared import Prepared
from kiosk.data.core.store import Store
from kiosk.data.core.text import clean_code, printable
from kiosk.data.desk.terminals import (
    UNKNOWN,
    Terminal,
    TerminalError,
    add_terminal,
    check_password,
    exists,
    remove_terminal,
    signed_in,
    terminals,
)
from kiosk.data.lending.circulation import Circulation, LoanView, PatronView
from kiosk.data.lending.holds import Holds

log = logging.getLogger(__name__)

SERVER = "sip2-server"
"""The name the server's own reads and writes run under (it makes no facts of its own)."""


TERMS_TTL = 1.0
"""Seconds the server keeps the settings, loan rules and closed days it lends by
(:class:`kiosk.data.lending.terms.Terms`): a change at the desk reaches the terminals
within a second (a kiosk learns it at its next sync)."""


class Refusal(Exception):
    """The library says no (or cannot answer): ``key`` names the message, ``params`` its
    values. ``card`` is set when the patron's card itself was refused."""

    def __init__(self, key: str, params: dict[str, Any] | None = None, *, card: bool = False) -> None:
        super().__init__(key)
        self.key = key
        self.params = params or {}
        self.card = card


class AlreadyYours(Exception):
    """The patron already has this copy (a checkout that may become a renewal)."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.title = title


@dataclass(frozen=True)
class LoanLine:
    """One of a patron's loans."""

    barcode: str
    title: str
    due_on: date
    overdue: bool
    item_kind: str


@dataclass(frozen=True)
class HoldLine:
    """One of a patron's holds: the title, and the copy waiting on the hold shelf if any."""

    title: str
    barcode: str
    ready: bool


@dataclass(frozen=True)
class PatronPage:
    """A patron as a terminal sees them: who, their loans and holds, what they may do."""

    number: str
    name: str
    card: int | None
    loans: tuple[LoanLine, ...]
    holds: tuple[HoldLine, ...]
    may_borrow: int
    returns_only: bool

    @property
    def overdue(self) -> tuple[LoanLine, ...]:
        """The loans that should be back already."""
        return tuple(loan for loan in self.loans if loan.overdue)


@dataclass(frozen=True)
class Lent:
    """A loan made (or renewed) at a terminal."""

    barcode: str
    title: str
    due_on: date
    item_kind: str
    patron: PatronPage | None = None


@dataclass(frozen=True)
class Returned:
    """A return at a terminal, and where the book goes.

    ``destination``: ``shelf``, ``hold_shelf``, ``desk`` or ``not_on_loan`` (as the
    kiosk says it); ``hold_for`` / ``hold_name`` the patron a hold shelf copy waits for.
    """

    barcode: str
    title: str
    destination: str
    shelf: str
    item_kind: str = ""
    """The title's kind, where known (offline returns)."""
    borrower: str = ""
    hold_for: str = ""
    hold_name: str = ""


@dataclass(frozen=True)
class Item:
    """A copy, for the item information answer."""

    barcode: str
    title: str
    author: str
    status: str
    shelf: str
    item_kind: str
    due_on: date | None
    holds_waiting: int
    hold_for: str


@dataclass(frozen=True)
class Placed:
    """A hold placed: the title, and the place in its queue."""

    title: str
    position: int
    available: bool


_OPEN_HOLDS = Prepared(
    lambda number: Hold.select(Title.title, Copy.barcode, Hold.status)
    .join(Title, on=(Hold.title == Title.id))
    .switch(Hold)
    .join(Copy, pw.JOIN.LEFT_OUTER, on=(Hold.copy == Copy.id))
    .join_from(Hold, Patron, on=(Hold.patron == Patron.id))
    .where((Patron.number == number) & Hold.status.in_(OPEN_HOLDS))
    .order_by(Hold.placed_at)
    .tuples()
)
"""A patron's reservations, oldest first (title, the copy waiting if one is, status)."""


def _loan(view: LoanView) -> LoanLine:
    return LoanLine(view.barcode, view.title, view.due_on, view.overdue, view.item_kind)


def offline_id(source: str, moment: datetime, request: str) -> str:
    """The id of a fact a terminal made offline: the same request always gives the same
    id (a terminal that sends its stored transaction again adds nothing), and like every
    fact id it starts with its time in milliseconds (RFC 9562 version 7 layout)."""
    ms = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256(f"{source}\n{request}".encode()).digest()[:10], "big")
    value = (ms << 80) | (0x7 << 76) | ((digest >> 68) & 0xFFF) << 64 | (0b10 << 62)
    value |= digest & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


class Library:
    """The desk's library, as the SIP2 server uses it (one per server, every thread).

    Each thread keeps its own connection (peewee's are per thread): call
    :meth:`connect` once in every worker thread.
    """

    def __init__(
        self, db: pw.Database, *, allow_plain_cards: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.allow_plain_cards = allow_plain_cards
        self.clock = clock
        self._desks: dict[str, Circulation] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, allow_plain_cards: bool = False) -> Library:
        """Open (and migrate) the library at ``url``: a desk, or a library of its own.

        Raises:
            TerminalError: ``sip2.cli.is_kiosk``: a kiosk that joined a desk (its desk
                is the one to serve the terminals); ``import.no_database`` /
                ``import.no_connection``: no such database, or it cannot be reached.
        """
        try:
            db = open_library(url)
        except DatabaseMissing as missing:
            raise TerminalError("import.no_database", path=str(missing.path)) from missing
        except pw.PeeweeException as error:
            log.warning("cannot open the database: %s", error)
            raise TerminalError("import.no_connection", reason=mask(str(error)).strip()[:200]) from error
        with database.session(db):
            role = sync.local_get("role")
        if role == "kiosk":
            db.close()
            raise TerminalError("sip2.cli.is_kiosk")
        return cls(db, allow_plain_cards=allow_plain_cards)

    # -- connections --------------------------------------------------------------

    def connect(self) -> None:
        """Open this thread's connection (again, after a failure closed it)."""
        self.db.connect(reuse_if_open=True)

    def close(self) -> None:
        """Close this thread's connection."""
        if not self.db.is_closed():
            self.db.close()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            with self._store().reading():
                yield
        except StorageError as error:
            raise Refusal(error.key) from error

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            with self._store().writing():
                yield
        except StorageError as error:
            raise Refusal(error.key) from error

    def _store(self) -> Store:
        """The desk's store, for what no terminal's facts are made in."""
        return self._desk(SERVER).store

    def _desk(self, terminal: str) -> Circulation:
        """The circulation service that writes ``terminal``'s facts."""
        with self._lock:
            desk = self._desks.get(terminal)
        if desk is None:
            desk = Circulation(
                Store(self.db, terminal, clock=self.clock),
                allow_plain_cards=self.allow_plain_cards, terms_ttl=TERMS_TTL,
            )
            with self._lock:
                desk = self._desks.setdefault(terminal, desk)
        return desk

    def now(self) -> datetime:
        """The time now (aware)."""
        return self.clock()

    def status(self) -> tuple[str, bool]:
        """The library's name (the ACS status's ``AM``) and whether only returns are
        taken now (the end-of-term switch)."""
        with self._reading():
            return settings.get("library_name"), self._desk(SERVER).returns_only()

    # -- terminals ----------------------------------------------------------------

    def login(self, name: str, password: str) -> Terminal | None:
        """The terminal ``name`` if ``password`` is its password; else record the
        refused login (a ``refusal`` fact, in the day log and the cases to review)."""
        with self._reading():  # (no write lock is held while the slow hash is checked)
            terminal = check_password(name, password)
            known = terminal is not None or exists(name)
        if terminal is not None:
            with self._writing():
                signed_in(terminal.name, self.clock())
        else:
            source = name if known else UNKNOWN
            with self._writing():
                self._desk(source).store.record(
                    Kind.REFUSAL, reason="sip2.login_refused",
                    params={"terminal": printable(name, 40)},
                )
        return terminal

    # -- patrons ------------------------------------------------------------------

    def open_patron(self, terminal: str, identifier: str) -> PatronPage:
        """The patron whose card (or, where plain cards are allowed, number) the terminal
        read, as the kiosk opens their page (a refused card is recorded).

        Raises:
            Refusal: the card's refusal (``card.*``, ``card=True``), or ``storage.*``.
        """
        desk = self._desk(terminal)
        try:
            view = desk.open_card(identifier)
        except KioskError as error:
            raise _refusal(error) from error
        return self._patron(view)

    def identify(self, terminal: str, identifier: str) -> tuple[str, int | None]:
        """:meth:`open_patron` for a loan: only who it is (patron number, card serial),
        without reading their holds.

        Raises:
            Refusal: the card's refusal (``card.*``, ``card=True``), or ``storage.*``.
        """
        try:
            view = self._desk(terminal).open_card(identifier)
        except KioskError as error:
            raise _refusal(error) from error
        return view.number, view.card

    def patron(self, terminal: str, number: str, card: int | None) -> PatronPage:
        """Patron ``number``'s page again (their card was read a moment ago)."""
        desk = self._desk(terminal)
        try:
            view = desk.patron(number)
        except KioskError as error:
            raise _refusal(error) from error
        return self._patron(replace(view, card=card))

    def _patron(self, view: PatronView) -> PatronPage:
        with self._reading():
            holds = tuple(
                HoldLine(title, barcode or "", status == "ready")
                for title, barcode, status in _OPEN_HOLDS.rows(view.number)
            )
            returns_only = self._desk(SERVER).returns_only()
        return PatronPage(
            number=view.number, name=view.name, card=view.card,
            loans=tuple(_loan(loan) for loan in view.loans), holds=holds,
            may_borrow=view.may_borrow, returns_only=returns_only,
        )

    # -- lending ------------------------------------------------------------------

    def checkout(self, terminal: str, number: str, card: int | None, barcode: str) -> Lent:
        """Lend ``barcode`` to ``number`` now, by the kiosk's rules.

        Raises:
            AlreadyYours: the patron has it already; Refusal: the rules' reason.
        """
        try:
            result = self._desk(terminal).checkout(number, barcode, card)
        except AlreadyBorrowed as mine:
            raise AlreadyYours(str(mine.params.get("title", ""))) from mine
        except KioskError as error:
            raise _refusal(error) from error
        loan = result.loan
        return Lent(loan.barcode, loan.title, loan.due_on, loan.item_kind)

    def renew(self, terminal: str, number: str, card: int | None, barcode: str) -> Lent:
        """Renew patron ``number``'s loan of ``barcode``, by the kiosk's rules.

        Raises:
            Refusal: ``loan.unknown`` (not this patron's loan) or the rules' reason.
        """
        code = clean_code(barcode) or ""
        with self._reading():
            row = (
                Loan.select(Loan.id).join(Copy).switch(Loan).join(Patron)
                .where((Copy.barcode == code) & (Patron.number == number)
                       & Loan.returned_at.is_null())
                .tuples().first()
            )
        if row is None:
            raise Refusal("loan.unknown")
        try:
            view = self._desk(terminal).renew(number, row[0], card)
        except KioskError as error:
            raise _refusal(error) from error
        return Lent(view.barcode, view.title, view.due_on, view.item_kind)

    def checkin(self, terminal: str, barcode: str) -> Returned:
        """Take ``barcode`` back now and say where it goes.

        Raises:
            Refusal: ``copy.unknown`` / ``copy.damaged_code`` (recorded), ``storage.*``.
        """
        try:
            result = self._desk(terminal).checkin(barcode)
        except KioskError as error:
            raise _refusal(error) from error
        hold_for = hold_name = ""
        if result.destination == "hold_shelf":
            with self._reading():
                hold_for, hold_name = self._ready_hold(result.barcode)
        return Returned(
            barcode=result.barcode, title=result.title, destination=result.destination,
            shelf=result.shelf, borrower=result.borrower, hold_for=hold_for,
            hold_name=hold_name,
        )

    def _ready_hold(self, barcode: str) -> tuple[str, str]:
        """Who the copy on the hold shelf waits for (number, name)."""
        row = (
            Hold.select(Patron.number, Patron.name).join(Patron)
            .switch(Hold).join(Copy, on=(Hold.copy == Copy.id))
            .where((Copy.barcode == barcode) & (Hold.status == "ready"))
            .tuples().first()
        )
        return (row[0], row[1]) if row else ("", "")

    # -- offline ------------------------------------------------------------------

    def _who(self, identifier: str) -> tuple[str | None, int | None]:
        """The patron number and card serial a card code (or plain number) names,
        without the checks of an online loan: an offline loan has happened already."""
        code = clean_code(identifier)
        if code is None:
            return None, None
        with self._reading():
            prefix, secret = settings.get("card_prefix"), settings.get("card_secret")
        if cards.is_card_code(code, prefix):
            try:
                parsed = cards.verify(code, prefix, secret)
            except CardRefused:
                return None, None
            return parsed.number, parsed.serial
        return (code, None) if self.allow_plain_cards else (None, None)

    def offline_checkout(
        self, terminal: str, identifier: str, barcode: str, when: datetime | None,
        due: date | None, request: str,
    ) -> Lent:
        """A loan the terminal made offline at ``when`` (due ``due``, if it said so),
        taken as a kiosk's pushed offline fact is (the conflict rules decide, their
        cases recorded). A repeat of the same ``request`` (its text) adds nothing.

        Raises:
            Refusal: ``copy.damaged_code`` (nothing to record), ``storage.*``.
        """
        code = clean_code(barcode)
        if code is None:
            raise Refusal("copy.damaged_code")
        number, serial = self._who(identifier)
        moment = min(when or self.clock(), self.clock())
        desk = self._desk(terminal)
        title, kind = "", "book"
        with self._writing():
            row = Copy.select(Title.title, Title.kind).join(Title).where(Copy.barcode == code).tuples().first()
            if row:
                title, kind = row
            due = due or self._due(desk, number, kind, moment)
            data: dict[str, Any] = {"due_on": due.isoformat(), "offline": True}
            if serial is not None:
                data["card"] = serial
            fact = Fact(
                kind=Kind.CHECKOUT, uuid=offline_id(terminal, moment, request), kiosk=terminal,
                wall_time=to_db_time(moment), hlc=desk.store.hlc.tick(moment),
                patron=number or printable(identifier, 40), copy=code, data=data,
            )
            sync.accept_made_elsewhere([fact], terminal)
        return Lent(code, title, due, kind)

    def _due(self, desk: Circulation, number: str | None, kind: str, moment: datetime) -> date:
        """The due date the rules give a loan made at ``moment`` (inside a transaction)."""
        patron_kind = Patron.select(Patron.kind).where(Patron.number == number).scalar() or "student"
        days = 14
        for rule in LoanRule.select().where(
            (LoanRule.patron_kind == patron_kind) & LoanRule.item_kind.in_(["*", kind])
        ).order_by(LoanRule.item_kind.desc()):
            days = rule.loan_days
            break
        return desk.due_date(days, moment.astimezone().date())

    def offline_checkin(
        self, terminal: str, barcode: str, when: datetime | None, request: str
    ) -> Returned:
        """A return the terminal took offline at ``when``, taken as a kiosk's pushed
        offline return is (a return older than the copy's current loan changes nothing).

        Raises:
            Refusal: ``copy.damaged_code``, ``copy.unknown``, ``storage.*``.
        """
        code = clean_code(barcode)
        if code is None:
            raise Refusal("copy.damaged_code")
        moment = min(when or self.clock(), self.clock())
        desk = self._desk(terminal)
        with self._writing():
            copy = Copy.select(Copy, Title).join(Title).where(Copy.barcode == code).first()
            if copy is None:
                raise Refusal("copy.unknown", {"code": printable(code, 40)})
            borrower = (
                Loan.select(Patron.number).join(Patron)
                .where((Loan.copy == copy.id) & Loan.returned_at.is_null()).scalar()
            )
            fact = Fact(
                kind=Kind.CHECKIN, uuid=offline_id(terminal, moment, request), kiosk=terminal,
                wall_time=to_db_time(moment), hlc=desk.store.hlc.tick(moment),
                patron=borrower, copy=code, data={"offline": True},
            )
            sync.accept_made_elsewhere([fact], terminal)
            status = Copy.select(Copy.status).where(Copy.id == copy.id).scalar()
            hold_for, hold_name = self._ready_hold(code) if status == "hold_shelf" else ("", "")
        title: Title = copy.title
        destination = {"hold_shelf": "hold_shelf", "available": "shelf", "on_loan": "shelf"}.get(
            status, "desk"
        )
        return Returned(
            barcode=code, title=title.title, destination=destination,
            shelf=shelf_area(copy.shelf, title.classification), item_kind=title.kind,
            hold_for=hold_for, hold_name=hold_name,
        )

    # -- items and holds ----------------------------------------------------------

    def item(self, barcode: str) -> Item:
        """Copy ``barcode``: what it is, where it is, when it is due, who waits for it.

        Raises:
            Refusal: ``copy.unknown``.
        """
        code = clean_code(barcode) or ""
        with self._reading():
            copy = Copy.select(Copy, Title).join(Title).where(Copy.barcode == code).first()
            if copy is None:
                raise Refusal("copy.unknown", {"code": printable(barcode, 40)})
            due = (
                Loan.select(Loan.due_on)
                .where((Loan.copy == copy.id) & Loan.returned_at.is_null()).scalar()
            )
            waiting = Hold.select().where(
                (Hold.title == copy.title_id) & (Hold.status == "waiting")
            ).count()
            hold_for = self._ready_hold(code)[0] if copy.status == "hold_shelf" else ""
        title: Title = copy.title
        return Item(
            barcode=copy.barcode, title=title.title, author=title.author, status=copy.status,
            shelf=shelf_area(copy.shelf, title.classification), item_kind=title.kind,
            due_on=due, holds_waiting=waiting, hold_for=hold_for,
        )

    def place_hold(self, terminal: str, number: str, barcode: str) -> Placed:
        """Patron ``number`` reserves the title of copy ``barcode``, by the library's rules
        for reservations (:class:`kiosk.data.lending.holds.Holds`: who may reserve, how
        many; a ``hold`` fact made under the terminal's name).

        Raises:
            Refusal: ``hold.unknown_title``, ``hold.already``, ``hold.on_loan_to_you``,
                ``hold.not_allowed``, ``hold.limit``, ``hold.not_lendable``, ``card.*``
                for a patron who may not (each but the first recorded as a refusal), or
                ``storage.*``.
        """
        try:
            placed = Holds(self._desk(terminal)).place(number, barcode=barcode)
        except KioskError as error:
            raise _refusal(error) from error
        return Placed(placed.title, max(placed.position, 1), bool(placed.on_shelf or placed.ready))

    def cancel_hold(self, terminal: str, number: str, barcode: str) -> str:
        """Patron ``number`` cancels their reservation of the title of copy ``barcode``
        (a ``hold_cancelled`` fact); returns the title.

        Raises:
            Refusal: ``hold.unknown`` (no open reservation of theirs on it), ``storage.*``.
        """
        try:
            return Holds(self._desk(terminal)).cancel_title(number, barcode)
        except KioskError as error:
            raise _refusal(error) from error


def _refusal(error: KioskError) -> Refusal:
    """A data service's refusal as the SIP2 side sees it."""
    if isinstance(error, StorageError):
        return Refusal(error.key)
    params = {k: v for k, v in error.params.items() if isinstance(v, (str, int))}
    return Refusal(error.key, params, card=isinstance(error, CardRefused))


__all__ = [
    "AlreadyYours",
    "HoldLine",
    "Item",
    "Lent",
    "Library",
    "LoanLine",
    "PatronPage",
    "Placed",
    "Refusal",
    "Returned",
    "Terminal",
    "TerminalError",
    "add_terminal",
    "offline_id",
    "redact",
    "remove_terminal",
    "terminals",
]
