"""Applying facts to the circulation state (loans, holds, copy status, cards).

Each kind of fact that changes this state has one function here, named in its row of
the registry of fact kinds (:mod:`kiosk.data.core.kinds`), which applies them. They are
written so that applying the facts of the journal in clock order, on any database,
gives the same state; a fact that names a patron or copy this database does not know
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from kiosk.data.core.facts import Fact
from kiosk.data.core.models import OPEN_HOLDS, Card, Copy, Hold, Loan, Patron
from kiosk.data.core.prepared import Prepared

_UNKNOWN: Any = object()


@dataclass
class Known:
    """Rows the caller has already read in this transaction, so the projection need not.

    The projection also leaves its results here: the copy's new ``status`` (on
    ``copy``) and the hold a returned copy now waits for (``ready_hold``).
    """

    copy: Copy | None = None
    patron: Patron | None = None
    open_loan: Loan | None = _UNKNOWN
    ready_hold: Hold | None = None
    holds_possible: bool = True
    """False when the caller knows the copy's title has no waiting or ready hold
    (a batch of facts read that once for all its titles): the hold queries are skipped."""


COPY_BY_BARCODE = Prepared(lambda barcode: Copy.select().where(Copy.barcode == barcode).limit(1))
PATRON_BY_NUMBER = Prepared(
    lambda number: Patron.select().where(Patron.number == number).limit(1)
)
OPEN_LOAN_OF_COPY = Prepared(
    lambda copy_id: Loan.select()
    .where((Loan.copy == copy_id) & Loan.returned_at.is_null())
    .limit(1)
)
_INSERT_LOAN = Prepared(
    lambda loan_id, copy_id, patron_id, out_at, due_on, kiosk: Loan.insert(
        id=loan_id, copy=copy_id, patron=patron_id, out_at=out_at, due_on=due_on, kiosk=kiosk
    )
)
_INSERT_ENDED_LOAN = Prepared(
    lambda loan_id, copy_id, patron_id, out_at, due_on, kiosk, returned_at: Loan.insert(
        id=loan_id, copy=copy_id, patron=patron_id, out_at=out_at, due_on=due_on, kiosk=kiosk,
        returned_at=returned_at,
    )
)
_CLOSE_LOAN = Prepared(
    lambda returned_at, loan_id: Loan.update(returned_at=returned_at).where(Loan.id == loan_id)
)
_END_HOLD = Prepared(
    lambda status, ended_at, hold_id: Hold.update(status=status, ended_at=ended_at).where(
        Hold.id == hold_id
    )
)
_OWN_OPEN_HOLD = Prepared(
    # a patron's own open hold on a title: a waiting one first (no copy is set aside for
    # it), then the oldest
    lambda patron_id, title_id: Hold.select()
    .where(
        (Hold.patron == patron_id)
        & (Hold.title == title_id)
        & Hold.status.in_(OPEN_HOLDS)
    )
    .order_by(Hold.status.desc(), Hold.placed_at, Hold.id)
    .limit(1)
)
_BACK_TO_WAITING = Prepared(
    lambda hold_id: Hold.update(status="waiting", copy=None, ready_at=None).where(
        Hold.id == hold_id
    )
)
_SET_STATUS = Prepared(lambda status, copy_id: Copy.update(status=status).where(Copy.id == copy_id))
_READY_HOLD_OF_COPY = Prepared(
    lambda copy_id: Hold.select().where((Hold.copy == copy_id) & (Hold.status == "ready")).limit(1)
)
_FIRST_WAITING_HOLD = Prepared(
    lambda title_id: Hold.select()
    .where((Hold.title == title_id) & (Hold.status == "waiting"))
    .order_by(Hold.placed_at, Hold.id)  # (a class set's holds share their time)
    .limit(1)
)
_MAKE_HOLD_READY = Prepared(
    lambda copy_id, ready_at, hold_id: Hold.update(
        status="ready", copy=copy_id, ready_at=ready_at
    ).where(Hold.id == hold_id)
)


def copy_of(fact: Fact, known: Known) -> Copy | None:
    """The copy a fact names (read once, then kept in ``known``)."""
    if known.copy is None:
        known.copy = COPY_BY_BARCODE.first(fact.copy)
    return known.copy


def patron_of(fact: Fact, known: Known) -> Patron | None:
    """The patron a fact names (read once, then kept in ``known``)."""
    if known.patron is None:
        known.patron = PATRON_BY_NUMBER.first(fact.patron)
    return known.patron


_copy, _patron = copy_of, patron_of


def _open_loan(copy: Copy, known: Known) -> Loan | None:
    if known.open_loan is _UNKNOWN:
        known.open_loan = OPEN_LOAN_OF_COPY.first(copy.id)
    return known.open_loan


def _set_status(copy: Copy, status: str) -> None:
    if copy.status != status:
        copy.status = status
        _SET_STATUS.execute(status, copy.id)


copy_of = _copy
"""The fact's copy (read once, kept in ``known``), for the other projection modules."""
patron_of = _patron
"""The fact's patron (read once, kept in ``known``)."""
open_loan_of = _open_loan
"""The copy's open loan (read once, kept in ``known``)."""
set_status = _set_status
"""Set a copy's status (written only when it changes)."""


def checkout(fact: Fact, known: Known) -> None:
    """A loan begins (and, if the copy was lent meanwhile elsewhere, the loans are ordered by time)."""
    copy, patron = _copy(fact, known), _patron(fact, known)
    if copy is None or patron is None:
        return
    earlier = _open_loan(copy, known)
    due_on = date.fromisoformat(fact.data["due_on"])
    if earlier is not None and earlier.out_at > fact.wall_time:
        # Lent twice while offline, and this checkout is the older one: the book is
        # in the later borrower's hands, so this loan ended when it changed hands.
        _INSERT_ENDED_LOAN.execute(
            fact.uuid, copy.id, patron.id, fact.wall_time, due_on, fact.kiosk, earlier.out_at
        )
    else:
        if earlier is not None:
            # Lent twice while offline, this checkout the later one: the earlier
            # loan ends when the copy changed hands.
            _CLOSE_LOAN.execute(fact.wall_time, earlier.id)
        _INSERT_LOAN.execute(
            fact.uuid, copy.id, patron.id, fact.wall_time, due_on, fact.kiosk
        )
        known.open_loan = Loan(id=fact.uuid, copy=copy.id, patron=patron.id, out_at=fact.wall_time)
    # A copy written off stays written off: a kiosk that did not know lent it, the
    # loan stands, and its return brings it to the librarian's desk (docs/sync.md).
    # (first: the copy is no longer on the hold shelf)
    _set_status(copy, "withdrawn" if copy.status == "withdrawn" else "on_loan")
    if known.holds_possible:
        _holds_at_checkout(fact, copy, patron)


def _holds_at_checkout(fact: Fact, copy: Copy, patron: Patron) -> None:
    """What a loan does to the title's holds (docs/holds.md).

    The borrower's hold is fulfilled: the one this copy waited on the hold shelf for,
    else their waiting hold, else their hold whose copy waits on the hold shelf (that
    copy then goes to the next in line). A copy set aside for someone else and lent
    anyway (at a kiosk that did not know: the desk's ``lent_held`` case) is in the
    borrower's hands: that hold waits again, in its place, for the next copy.
    """
    ready = _READY_HOLD_OF_COPY.first(copy.id)
    if ready is not None and ready.patron_id != patron.id:
        _BACK_TO_WAITING.execute(ready.id)
        fill(copy.title_id, fact.wall_time)
        ready = None
    if ready is not None:
        _END_HOLD.execute("fulfilled", fact.wall_time, ready.id)
        return
    own = _OWN_OPEN_HOLD.first(patron.id, copy.title_id)
    if own is None:
        return
    _END_HOLD.execute("fulfilled", fact.wall_time, own.id)
    if own.status == "ready":
        fill(copy.title_id, fact.wall_time)  # its copy, on the hold shelf, to the next


def _unheld_on_hold_shelf(title_id: int) -> list[Copy]:
    """Copies of a title on the hold shelf that no hold is ready on (their hold ended)."""
    ready = Hold.select(Hold.copy).where(
        (Hold.title == title_id) & (Hold.status == "ready") & Hold.copy.is_null(False)
    )
    return list(
        Copy.select()
        .where((Copy.title == title_id) & (Copy.status == "hold_shelf") & Copy.id.not_in(ready))
        .order_by(Copy.id)
    )


def fill(title_id: int, when: Any) -> None:
    """Give the copies of a title on the hold shelf that wait for nobody to the title's
    waiting holds, first placed first (a copy whose hold ended, a new hold that finds one
    there). A copy left over stays on the hold shelf until it is put back (a return
    there sends it to the shelf), and is lendable meanwhile."""
    for copy in _unheld_on_hold_shelf(title_id):
        hold = _FIRST_WAITING_HOLD.first(title_id)
        if hold is None:
            return
        _MAKE_HOLD_READY.execute(copy.id, when, hold.id)


def checkin(fact: Fact, known: Known) -> None:
    """A copy comes back: its loan ends and it goes to the shelf, the hold shelf or repair."""
    copy = _copy(fact, known)
    if copy is None:
        return
    loan = _open_loan(copy, known)
    if loan is not None and loan.out_at > fact.wall_time:
        # A return older than the copy's current loan (made at a kiosk that was
        # offline while the book was lent again): the book is with the new borrower.
        return
    if loan is not None:
        _CLOSE_LOAN.execute(fact.wall_time, loan.id)
        known.open_loan = None
    if fact.data.get("damaged"):
        _set_status(copy, "repair")
    elif copy.status in ("on_loan", "available", "hold_shelf"):
        hold = _READY_HOLD_OF_COPY.first(copy.id) if known.holds_possible else None
        if hold is None and known.holds_possible:
            hold = _FIRST_WAITING_HOLD.first(copy.title_id)
            if hold is not None:
                _MAKE_HOLD_READY.execute(copy.id, fact.wall_time, hold.id)
                hold.status, hold.copy_id, hold.ready_at = "ready", copy.id, fact.wall_time
        known.ready_hold = hold
        _set_status(copy, "hold_shelf" if hold is not None else "available")


_RENEW_LOAN = Prepared(
    lambda due_on, loan_id: Loan.update(due_on=due_on, renewals=Loan.renewals + 1).where(
        (Loan.id == loan_id) & Loan.returned_at.is_null()
    )
)


def renew(fact: Fact, known: Known) -> None:
    """A loan gets a new due date (a loan that has ended, or is unknown here, is not
    renewed: the update finds no row)."""
    _RENEW_LOAN.execute(date.fromisoformat(fact.data["due_on"]), fact.data["loan"])


def card_issued(fact: Fact, known: Known) -> None:
    """A patron gets a new card, which revokes every older one."""
    patron = _patron(fact, known)
    if patron is None:
        return
    expires = fact.data.get("expires_on")
    Card.insert(
        patron=patron,
        serial=fact.data["serial"],
        issued_at=fact.wall_time,
        expires_on=date.fromisoformat(expires) if expires else None,
    ).on_conflict_ignore().execute()
    # Issuing a card revokes every older card of the patron.
    Card.update(revoked_at=fact.wall_time).where(
        (Card.patron == patron) & (Card.serial < fact.data["serial"]) & Card.revoked_at.is_null()
    ).execute()


def card_revoked(fact: Fact, known: Known) -> None:
    """A card stops working (lost, stolen)."""
    patron = _patron(fact, known)
    if patron is None:
        return
    Card.update(revoked_at=fact.wall_time).where(
        (Card.patron == patron) & (Card.serial == fact.data["serial"]) & Card.revoked_at.is_null()
    ).execute()


def nothing(fact: Fact, known: Known) -> None:
    """The projection of the kinds that change no state: refusals, sign-ins..."""


@dataclass(frozen=True)
class Extra:
    """A further effect another module gives a kind of fact, on the facts it concerns.

    A helper's return is a ``checkin`` like any other that also counts for the
    helper's shift (:mod:`kiosk.data.core.projection_roles`); an extra keeps the kind's own
    projection in one place and tells the sync's batch path which facts it must
    leave to the per-fact way.
    """

    concerns: Callable[[Fact], bool]
    apply: Callable[[Fact, Known], None]
