"""The circulation service: the one place the screens go to lend, return and renew.

Every method takes and returns plain values (the dataclasses below) and raises
:class:`~kiosk.data.core.errors.KioskError` subclasses with a translation key; no Peewee
object leaves this module. Every change is a journal fact written in the same
transaction as the state it changes; every refusal is a fact too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import peewee as pw

from kiosk.data.core import cards, journal, settings
from kiosk.data.core.errors import (
    AlreadyBorrowed,
    CardRefused,
    KioskError,
    NotFound,
    Refused,
    StorageError,
)
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    OPEN_HOLDS,
    Card,
    Copy,
    Hold,
    Loan,
    LoanRule,
    Patron,
    SchoolClass,
    Title,
    shelf_area,
)
from kiosk.data.core.prepared import Prepared
from kiosk.data.core.projection import Known
from kiosk.data.core.security import check_pin
from kiosk.data.core.store import Outcome, Store
from kiosk.data.core.text import clean_code, printable
from kiosk.data.core.titles import issue_title
from kiosk.data.lending import renewals
from kiosk.data.lending.pin_guard import pin_state
from kiosk.data.lending.terms import Terms
from kiosk.data.lending.values import CheckoutResult, LoanView, PatronView, ReturnResult
from kiosk.locale import format_date

log = logging.getLogger(__name__)

# The hot path's queries, built once per database dialect (see kiosk.data.core.prepared).
_PATRON = Prepared(
    lambda number: Patron.select(Patron, SchoolClass)
    .join(SchoolClass, pw.JOIN.LEFT_OUTER)
    .where(Patron.number == number)
    .limit(1)
)
_CARD = Prepared(
    lambda patron_id, serial: Card.select()
    .where((Card.patron == patron_id) & (Card.serial == serial))
    .limit(1)
)
_COPY = Prepared(
    lambda barcode: Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode).limit(1)
)
_HELD = Hold.alias("held")
_COPY_TO_LEND = Prepared(
    # A copy as a checkout or a return decides by, in one round trip: its title, its open
    # loan and borrower (``open_loan``, None when it is in), and whether any reservation
    # could concern it (``held``: an open one of its title, or one ready on this very copy,
    # which a copy moved to another title may still carry; if none, the projection skips
    # the hold queries, which would find nothing).
    lambda barcode: Copy.select(
        Copy, Title, Loan, Patron,
        (
            pw.fn.EXISTS(
                _HELD.select(_HELD.id).where(
                    (_HELD.title == Copy.title) & _HELD.status.in_(OPEN_HOLDS)
                )
            )
            | pw.fn.EXISTS(
                # (copy_id: on an alias, ``.copy`` is peewee's Node.copy method)
                _HELD.select(_HELD.id).where((_HELD.copy_id == Copy.id) & (_HELD.status == "ready"))
            )
        ).alias("held"),
    )
    .join(Title)
    .switch(Copy)
    .join(
        Loan, pw.JOIN.LEFT_OUTER, attr="open_loan",
        on=((Loan.copy == Copy.id) & Loan.returned_at.is_null()),
    )
    .join(Patron, pw.JOIN.LEFT_OUTER)
    .where(Copy.barcode == barcode)
    .limit(1)
)
_PATRON_LOANS = Prepared(
    lambda patron_id: Loan.select(Loan, Copy, Title)
    .join(Copy)
    .join(Title)
    .where((Loan.patron == patron_id) & Loan.returned_at.is_null() & Loan.corner.is_null())
    .order_by(Loan.due_on, Loan.out_at)
)
"""A patron's own open loans (a class corner's books, lent under a teacher, are the
class's: they are not the teacher's books, nor counted against the teacher's quota)."""
_PATRON_NAME = Prepared(
    lambda patron_id: Patron.select(Patron.name).where(Patron.id == patron_id).limit(1).tuples()
)
_READY_HOLD_FOR = Prepared(
    lambda copy_id: Hold.select(Hold, Patron)
    .join(Patron)
    .where((Hold.copy == copy_id) & (Hold.status == "ready"))
    .limit(1)
)


_UNSET: Any = object()


@dataclass(frozen=True)
class _LoanPlan:
    """What the rules decided for a checkout: the due date, and what they looked at."""

    due: date
    loans: list[LoanView]
    overall: LoanRule | None


class Circulation:
    """Lending, returning and renewing on the database the models are bound to.

    Args:
        store: the library database, this kiosk and the clock (:class:`Store`).
        allow_plain_cards: accept a bare patron number as a card.
        terms_ttl: seconds the settings, loan rules and closed days may be kept between
            transactions (:class:`~kiosk.data.lending.terms.Terms`; 0, a kiosk's: read
            in every transaction).
    """

    def __init__(
        self, store: Store, *, allow_plain_cards: bool = False, terms_ttl: float = 0.0
    ) -> None:
        self.store = store
        self.allow_plain_cards = allow_plain_cards
        self.terms = Terms(store.today, terms_ttl)
        self.reload()

    def reload(self) -> None:
        """Read the card prefix and secret again (after a sync brought new settings)."""
        with self.store.connected():
            # one assignment: a scan on the database thread sees the old pair or the new
            self._card_keys = (settings.get("card_prefix"), settings.get("card_secret"))

    # -- time ---------------------------------------------------------------------

    def due_date(self, days: int, start: date | None = None) -> date:
        """``days`` after ``start`` (today), moved on to the next day the library is open."""
        with self.store.reading():
            return self._due_date(days, start, self._settings())

    def _settings(self) -> dict[str, str]:
        """The settings circulation decides by."""
        return self.terms.settings()

    def _due_date(self, days: int, start: date | None, values: dict[str, str]) -> date:
        due = (start or self.store.today()) + timedelta(days=days)
        weekdays = {int(d) for d in values["closed_weekdays"].split(",") if d.strip()}
        closed = self.terms.closed_days(due, due + timedelta(days=120))
        for _ in range(366):
            if due.weekday() not in weekdays and due not in closed:
                return due
            due += timedelta(days=1)
        return due

    # -- cards --------------------------------------------------------------------

    def is_card(self, raw: str) -> bool:
        """Whether a scanned code is meant as a library card rather than a book label."""
        code = clean_code(raw)
        if code is None:
            return True  # damaged input is refused as a card, with the card's message
        if cards.is_card_code(code, self._card_keys[0]):
            return True
        if self.allow_plain_cards and code.isdigit():
            # a bare number is a card only if it names a patron and no book has it
            with self.store.reading():
                return (
                    Patron.select().where(Patron.number == code).exists()
                    and not Copy.select().where(Copy.barcode == code).exists()
                )
        return False

    def check_book(self, raw: str) -> None:
        """Make sure a code that is not a card is a book of the library.

        Raises:
            NotFound: ``scan.neither`` (recorded as a refusal): neither a card nor a
                copy's barcode (a word typed at the keyboard, another library's label).
        """
        barcode = clean_code(raw)

        def decide() -> Outcome:
            if barcode is not None and _COPY.first(barcode) is not None:
                return Outcome(value=None)
            shown = printable(barcode or raw, 40)
            return Outcome(refusal=self.store.refusal(NotFound("scan.neither", code=shown),
                                                      code=raw))

        return self.store.run(decide)

    def open_card(self, raw: str, *, blocked_ok: bool = False) -> PatronView:
        """The patron whose card was scanned.

        ``blocked_ok``: a blocked patron is still who they are (a roll call counts them;
        only borrowing is refused): their view comes back with ``blocked`` set and
        nothing to borrow, and no refusal is recorded.

        Raises:
            CardRefused: ``card.damaged``, ``card.forged``, ``card.unknown``,
                ``card.revoked``, ``card.expired``, ``card.inactive`` or
                ``card.blocked`` (each recorded as a refusal).
            StorageError: the database cannot be read or written.
        """

        # A card is read without the write lock (at a PostgreSQL desk, the journal lock
        # every checkout waits for): only a refusal is written, in a transaction of its own.
        with self.store.reading():
            try:
                patron, serial = self._card_patron(raw, blocked_ok=blocked_ok)
            except CardRefused as refusal:
                refused = refusal
            else:
                view = self._patron_view(patron, card=serial)
                if patron.blocked_reason:
                    view = replace(view, blocked=True, may_borrow=0)
                return view
        with self.store.writing():
            self.store.refusal(refused, patron=refused.params.get("number"), code=raw)
        raise refused

    def _card_patron(self, raw: str, *, blocked_ok: bool = False) -> tuple[Patron, int | None]:
        code = clean_code(raw)
        if code is None:
            raise CardRefused("card.damaged")
        prefix, secret = self._card_keys
        if self.allow_plain_cards and code.isdigit() and not cards.is_card_code(code, prefix):
            patron = _PATRON.first(code)
            if patron is None:
                raise CardRefused("card.unknown")
            self._check_patron(patron, blocked_ok=blocked_ok)
            return patron, None
        parsed = cards.verify(code, prefix, secret)
        patron = _PATRON.first(parsed.number)
        if patron is None:
            raise CardRefused("card.unknown")
        card = _CARD.first(patron.id, parsed.serial)
        if card is None:
            raise CardRefused("card.unknown", number=patron.number)
        if card.revoked_at is not None:
            raise CardRefused("card.revoked", number=patron.number, name=patron.name)
        if card.expires_on is not None and card.expires_on < self.store.today():
            raise CardRefused(
                "card.expired", number=patron.number, name=patron.name,
                date=card.expires_on.isoformat(),
            )
        self._check_patron(patron, blocked_ok=blocked_ok)
        return patron, parsed.serial

    def _check_patron(self, patron: Patron, *, blocked_ok: bool = False) -> None:
        if not patron.active:
            raise CardRefused("card.inactive", number=patron.number, name=patron.name)
        if patron.blocked_reason and not blocked_ok:
            raise CardRefused(
                "card.blocked", number=patron.number, name=patron.name,
                reason=patron.blocked_reason,
            )

    def check_librarian(self, number: str, pin: str) -> bool:
        """Whether ``pin`` is the librarian ``number``'s PIN (lets them leave kiosk mode).

        Five wrong PINs in a row lock the card for five minutes; each wrong PIN is
        recorded as a refusal, and the lock is worked out from those facts, so it
        survives a restart and reaches the desk and the other kiosks
        (:mod:`kiosk.data.lending.pin_guard`).

        Raises:
            Refused: ``pin.locked`` while the card is locked.
        """

        now = self.store.clock()
        with self.store.reading():
            patron = Patron.get_or_none(Patron.number == number)
            stored = patron.pin_hash if patron and patron.kind == "librarian" else None
            locked = pin_state(number, now).locked_until is not None
        ok = not locked and check_pin(pin, stored)  # (slow: outside the transaction)

        def decide() -> Outcome:
            state = pin_state(number, now)  # again: an attempt meanwhile may have locked it
            if state.locked_until is not None:
                refusal = Refused("pin.locked", minutes=state.minutes_left(now))
                return Outcome(refusal=self.store.refusal(refusal, patron=number))
            kind = "librarian_login" if ok else "refusal"
            data = {} if ok else {"reason": "pin.wrong"}
            journal.record(self.store.fact(kind, patron=number, **data))
            return Outcome(value=ok)

        return bool(self.store.run(decide))

    # -- views --------------------------------------------------------------------

    def patron(self, number: str) -> PatronView:
        """The patron's current page: loans, due dates, how many more they may borrow.

        Raises:
            NotFound: ``patron.unknown``.
        """
        with self.store.reading():
            patron = _PATRON.first(number)
            if patron is None:
                raise NotFound("patron.unknown")
            return self._patron_view(patron)

    def _loan_view(self, loan: Loan, copy: Copy, title: Title) -> LoanView:
        return LoanView(
            loan_id=loan.id,
            barcode=copy.barcode,
            title=issue_title(title.title, title.issue_date),
            author=title.author,
            due_on=loan.due_on,
            days_overdue=max(0, (self.store.today() - loan.due_on).days),
            renewals=loan.renewals,
            item_kind=title.kind,
        )

    def _open_loans(self, patron: Patron) -> list[LoanView]:
        return [
            self._loan_view(loan, loan.copy, loan.copy.title)
            for loan in _PATRON_LOANS.rows(patron.id)
        ]

    def _rules(self, patron_kind: str, item_kind: str) -> tuple[LoanRule | None, LoanRule | None]:
        """The patron kind's overall (``*``) rule and its rule for ``item_kind``."""
        overall = specific = None
        for rule in self.terms.rules(patron_kind, item_kind):
            if rule.item_kind == "*":
                overall = rule
            else:
                specific = rule
        return overall, specific

    def _patron_view(
        self,
        patron: Patron,
        loans: list[LoanView] | None = None,
        overall: LoanRule | None = _UNSET,
        card: int | None = None,
    ) -> PatronView:
        loans = self._open_loans(patron) if loans is None else loans
        if overall is _UNSET:
            overall, _ = self._rules(patron.kind, "*")
        if any(loan.overdue for loan in loans) or overall is None:
            may = 0
        else:
            may = max(0, overall.max_items - len(loans))
        return PatronView(
            number=patron.number,
            name=patron.name,
            kind=patron.kind,
            class_name=patron.school_class.name if patron.school_class_id else "",
            loans=tuple(loans),
            may_borrow=may,
            card=card,
        )

    def returns_only(self) -> bool:
        """Whether the end-of-term "returns only" switch is on (as checkouts see it)."""
        with self.store.reading():
            return self._settings()["returns_only"] == "1"

    def set_returns_only(self, on: bool) -> None:
        """Turn the end-of-term "returns only" switch on or off."""
        with self.store.writing():
            settings.put("returns_only", "1" if on else "0")

    def library_name(self) -> str:
        """The school library's name, for the screens' headings."""
        with self.store.reading():
            return settings.get("library_name")

    # -- checkout -----------------------------------------------------------------

    def checkout(
        self, number: str, raw_barcode: str, card: int | None = None, *,
        teacher: str | None = None,
    ) -> CheckoutResult:
        """Lend the copy ``raw_barcode`` to patron ``number`` (whose card ``card`` opened
        the page, if a card did). ``teacher`` lends it for a child who forgot the card
        in a class visit (the fact names the teacher).

        Raises:
            AlreadyBorrowed: the patron has this copy already (offer return or renew).
            NotFound: ``copy.unknown`` / ``patron.unknown``.
            Refused: ``circ.returns_only``, ``copy.on_loan_other``,
                ``copy.reference_only``, ``copy.periodical_current``,
                ``copy.not_lendable``, ``copy.on_hold_other``, ``patron.overdue``,
                ``patron.quota``, ``patron.no_rule`` (each recorded as a refusal).
            StorageError: the database cannot be written; nothing was recorded.
        """
        barcode = clean_code(raw_barcode)

        def decide() -> Outcome:
            patron = _PATRON.first(number)
            if patron is None:
                return Outcome(refusal=NotFound("patron.unknown"))
            if barcode is None:
                return Outcome(
                    refusal=self.store.refusal(
                        NotFound("copy.damaged_code"), patron=patron.number, code=raw_barcode
                    )
                )
            copy = _COPY_TO_LEND.first(barcode)
            if copy is None:
                return Outcome(
                    refusal=self.store.refusal(
                        NotFound("copy.unknown", code=printable(barcode, 40)),
                        patron=patron.number, code=barcode,
                    )
                )
            try:
                plan = self._may_lend(patron, copy)
            except AlreadyBorrowed as mine:
                return Outcome(refusal=mine)
            except Refused as refusal:
                return Outcome(
                    refusal=self.store.refusal(refusal, patron=patron.number, copy=copy.barcode)
                )
            extra: dict[str, Any] = {"card": card} if card is not None else {}
            if teacher:
                extra["teacher"] = teacher
            fact = self.store.fact(
                Kind.CHECKOUT, patron=patron.number, copy=copy.barcode,
                due_on=plan.due.isoformat(), **extra,
            )
            journal.record(
                fact, Known(copy=copy, patron=patron, open_loan=None, holds_possible=bool(copy.held))
            )
            title: Title = copy.title
            loan = LoanView(
                loan_id=fact.uuid, barcode=copy.barcode,
                title=issue_title(title.title, title.issue_date), author=title.author,
                due_on=plan.due, days_overdue=0, renewals=0, item_kind=title.kind,
            )
            loans = sorted([*plan.loans, loan], key=lambda view: view.due_on)
            view = self._patron_view(patron, loans, plan.overall, card=card)
            return Outcome(value=CheckoutResult(loan, view))

        return self.store.run(decide)

    def _may_lend(self, patron: Patron, copy: Copy) -> _LoanPlan:
        """How lending ``copy`` (read by :data:`_COPY_TO_LEND`) to ``patron`` would go,
        or the reason not to."""
        title: Title = copy.title
        name = issue_title(title.title, title.issue_date)  # what the reader is told
        values = self._settings()
        current: Loan | None = copy.open_loan
        if current is not None and current.patron_id == patron.id:
            # offer to return it (always possible) or renew it (the rules decide)
            raise AlreadyBorrowed(self._loan_view(current, copy, title))
        if values["returns_only"] == "1":
            raise Refused("circ.returns_only")
        self._check_patron(patron)
        if current is not None:
            raise Refused("copy.on_loan_other", title=name)
        if copy.reference_only or title.kind == "reference":
            raise Refused("copy.reference_only", title=name)
        if title.kind == "periodical" and self._current_issue(title):
            raise Refused("copy.periodical_current", title=name)
        if copy.status not in ("available", "hold_shelf"):
            raise Refused("copy.not_lendable", title=name)
        if copy.status == "hold_shelf":
            hold = _READY_HOLD_FOR.first(copy.id)
            if hold is not None and hold.patron_id != patron.id:
                raise Refused("copy.on_hold_other", title=name)
        loans = self._open_loans(patron)
        overdue = sum(1 for loan in loans if loan.overdue)
        if overdue:
            raise Refused("patron.overdue", count=overdue)
        overall, specific = self._rules(patron.kind, title.kind)
        rule = specific or overall
        if rule is None:
            raise Refused("patron.no_rule")
        if overall is not None and len(loans) >= overall.max_items:
            raise Refused("patron.quota", limit=overall.max_items)
        if specific is not None:
            same_kind = sum(1 for loan in loans if loan.item_kind == title.kind)
            if same_kind >= specific.max_items:
                raise Refused("patron.quota_kind", limit=specific.max_items)
        return _LoanPlan(self._due_date(rule.loan_days, None, values), loans, overall)

    def _current_issue(self, title: Title) -> bool:
        issue = title.issue_date
        today = self.store.today()
        return issue is None or (issue.year, issue.month) >= (today.year, today.month)

    # -- renew --------------------------------------------------------------------

    def renew(
        self, number: str, loan_id: str, card: int | None = None, *, by: str | None = None
    ) -> LoanView:
        """Give patron ``number`` more time with loan ``loan_id``.

        ``card`` is the serial of the card that opened the patron's page; ``by`` the
        librarian who renewed it by hand (both recorded in the fact).

        Raises:
            NotFound: ``loan.unknown`` (not this patron's open loan).
            Refused: ``renew.overdue``, ``renew.limit``, ``renew.held``,
                ``renew.too_early``, ``circ.returns_only`` (each recorded as a refusal).

        The rule (docs/lending.md): a loan is renewed from a few days before it is due
        (:mod:`kiosk.data.lending.renewals`), for a whole loan period from today (never earlier than
        it was due). The librarian renewing by hand may do it at any time, and gives a
        loan period beyond the current due date.
        """

        def decide() -> Outcome:
            loan = (
                Loan.select(Loan, Copy, Title, Patron)
                .join(Copy)
                .join(Title)
                .switch(Loan)
                .join(Patron)
                .where((Loan.id == loan_id) & Loan.returned_at.is_null())
                .first()
            )
            if loan is None or loan.patron.number != number:
                return Outcome(refusal=NotFound("loan.unknown"))
            copy, title, patron = loan.copy, loan.copy.title, loan.patron
            try:
                due = self._may_renew(loan, patron, title, by_hand=bool(by))
            except Refused as refusal:
                return Outcome(
                    refusal=self.store.refusal(refusal, patron=number, copy=copy.barcode)
                )
            extra: dict[str, Any] = {"card": card} if card is not None else {}
            if by:
                extra["by"] = by
            journal.record(
                self.store.fact(
                    Kind.RENEW, patron=number, copy=copy.barcode, loan=loan.id,
                    due_on=due.isoformat(), **extra,
                )
            )
            fresh = Loan.get_by_id(loan.id)
            return Outcome(value=self._loan_view(fresh, copy, title))

        return self.store.run(decide)

    def _may_renew(self, loan: Loan, patron: Patron, title: Title, *, by_hand: bool) -> date:
        values = self._settings()
        name = issue_title(title.title, title.issue_date)
        if values["returns_only"] == "1":
            raise Refused("circ.returns_only")
        if loan.due_on < self.store.today():
            raise Refused("renew.overdue", title=name)
        overall, specific = self._rules(patron.kind, title.kind)
        rule = specific or overall
        if rule is None or loan.renewals >= rule.max_renewals:
            raise Refused("renew.limit", title=name)
        waiting = Hold.select().where(
            (Hold.title == title) & (Hold.status == "waiting") & (Hold.patron != patron)
        )
        if waiting.exists():
            raise Refused("renew.held", title=name)
        today = self.store.today()
        if by_hand:
            return self._due_date(rule.loan_days, max(today, loan.due_on), values)
        opens = renewals.renewal_opens(loan.due_on, values.get(renewals.SETTING))
        if today < opens:
            raise Refused("renew.too_early", title=name, due=format_date(loan.due_on),
                          date=format_date(opens))
        return max(self._due_date(rule.loan_days, today, values), loan.due_on)

    # -- checkin ------------------------------------------------------------------

    def checkin(
        self, raw_barcode: str, *, damaged: bool = False, shift: str | None = None,
        by: str | None = None,
    ) -> ReturnResult:
        """Take back the copy ``raw_barcode`` (no card needed) and say where it goes.

        A ``damaged`` copy goes to the desk for repair instead of the shelf. ``shift``
        names the helper's shift the return is made in (counted for the helper); ``by``
        the librarian who took it back by hand.

        Raises:
            NotFound: ``copy.unknown`` or ``copy.damaged_code``.
        """
        barcode = clean_code(raw_barcode)

        def decide() -> Outcome:
            if barcode is None:
                return Outcome(
                    refusal=self.store.refusal(NotFound("copy.damaged_code"), code=raw_barcode)
                )
            copy = _COPY_TO_LEND.first(barcode)
            if copy is None:
                return Outcome(
                    refusal=self.store.refusal(
                        NotFound("copy.unknown", code=printable(barcode, 40)), code=barcode
                    )
                )
            loan: Loan | None = copy.open_loan
            status_before = copy.status
            extra: dict[str, Any] = {"damaged": True} if damaged else {}
            if shift:
                extra["shift"] = shift
            if by:
                extra["by"] = by
            known = journal.record(
                self.store.fact(
                    Kind.CHECKIN, patron=loan.patron.number if loan else None,
                    copy=copy.barcode, loan=loan.id if loan else None, **extra,
                ),
                Known(copy=copy, open_loan=loan, holds_possible=bool(copy.held)),
            )
            if damaged:
                status_before = "repair"  # to the desk, like any copy that is not for the shelf
            return Outcome(value=self._route(copy, loan, status_before, known.ready_hold))

        return self.store.run(decide)

    def _route(
        self, copy: Copy, loan: Loan | None, status_before: str, hold: Hold | None
    ) -> ReturnResult:
        """Where a copy goes after its return (``copy.status`` is already the new one)."""
        title: Title = copy.title
        shelf = shelf_area(copy.shelf, title.classification)
        base: dict[str, Any] = {"barcode": copy.barcode,
                                "title": issue_title(title.title, title.issue_date), "shelf": shelf}
        if loan is not None:
            base["borrower"] = loan.patron.name
            base["lent"] = True
            base["days_overdue"] = max(0, (self.store.today() - loan.due_on).days)
        if status_before in ("lost", "withdrawn", "repair"):
            return ReturnResult(destination="desk", **base)
        if copy.status == "hold_shelf":
            holder = _PATRON_NAME.first(hold.patron_id) if hold is not None else None
            return ReturnResult(
                destination="hold_shelf", hold_for=holder[0] if holder else "", **base
            )
        if loan is None:
            return ReturnResult(destination="not_on_loan", **base)
        return ReturnResult(destination="shelf", **base)


__all__ = [
    "AlreadyBorrowed",
    "CardRefused",
    "CheckoutResult",
    "Circulation",
    "KioskError",
    "LoanView",
    "NotFound",
    "PatronView",
    "Refused",
    "ReturnResult",
    "StorageError",
]
