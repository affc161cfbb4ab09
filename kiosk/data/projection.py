"""Applying facts to the circulation state (loans, holds, copy status, cards).

Each kind of fact has one function here. They are written so that applying the
facts of the journal in clock order, on any database, gives the same state; a fact
that names a patron or copy this database does not know changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from kiosk.data.models import Card, Copy, Hold, Loan, Patron

if TYPE_CHECKING:
    from kiosk.data.journal import Fact


def _copy(fact: Fact) -> Copy | None:
    return Copy.get_or_none(Copy.barcode == fact.copy)


def _patron(fact: Fact) -> Patron | None:
    return Patron.get_or_none(Patron.number == fact.patron)


def _open_loan(copy: Copy) -> Loan | None:
    return Loan.get_or_none((Loan.copy == copy) & Loan.returned_at.is_null())


def _checkout(fact: Fact) -> None:
    copy, patron = _copy(fact), _patron(fact)
    if copy is None or patron is None:
        return
    earlier = _open_loan(copy)
    if earlier is not None:
        # A copy lent twice (two kiosks offline): the later loan wins, the earlier
        # one ends when the copy changed hands.
        earlier.returned_at = fact.wall_time
        earlier.save()
    Loan.create(
        id=fact.uuid,
        copy=copy,
        patron=patron,
        out_at=fact.wall_time,
        due_on=date.fromisoformat(fact.data["due_on"]),
        kiosk=fact.kiosk,
    )
    Hold.update(status="fulfilled").where(
        (Hold.patron == patron)
        & (Hold.title == copy.title_id)
        & Hold.status.in_(["waiting", "ready"])
    ).execute()
    copy.status = "on_loan"
    copy.save(only=[Copy.status])


def _checkin(fact: Fact) -> None:
    copy = _copy(fact)
    if copy is None:
        return
    loan = _open_loan(copy)
    if loan is not None:
        loan.returned_at = fact.wall_time
        loan.save(only=[Loan.returned_at])
    if fact.data.get("damaged"):
        copy.status = "repair"
    elif copy.status in ("on_loan", "available", "hold_shelf"):
        waiting = (
            Hold.select()
            .where((Hold.title == copy.title_id) & (Hold.status == "waiting"))
            .order_by(Hold.placed_at)
            .first()
        )
        already = Hold.get_or_none((Hold.copy == copy) & (Hold.status == "ready"))
        if already is not None:
            copy.status = "hold_shelf"
        elif waiting is not None:
            waiting.status, waiting.copy, waiting.ready_at = "ready", copy, fact.wall_time
            waiting.save()
            copy.status = "hold_shelf"
        else:
            copy.status = "available"
    copy.save(only=[Copy.status])


def _renew(fact: Fact) -> None:
    loan = Loan.get_or_none(Loan.id == fact.data["loan"])
    if loan is None or loan.returned_at is not None:
        return
    loan.due_on = date.fromisoformat(fact.data["due_on"])
    loan.renewals += 1
    loan.save(only=[Loan.due_on, Loan.renewals])


def _hold(fact: Fact) -> None:
    copy, patron = _copy(fact), _patron(fact)
    if copy is None or patron is None:
        return
    Hold.insert(
        id=fact.uuid, title=copy.title_id, patron=patron, placed_at=fact.wall_time
    ).on_conflict_ignore().execute()


def _card_issued(fact: Fact) -> None:
    patron = _patron(fact)
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


def _card_revoked(fact: Fact) -> None:
    patron = _patron(fact)
    if patron is None:
        return
    Card.update(revoked_at=fact.wall_time).where(
        (Card.patron == patron) & (Card.serial == fact.data["serial"]) & Card.revoked_at.is_null()
    ).execute()


def _nothing(fact: Fact) -> None:
    """Facts that change no state: refusals, sign-ins."""


APPLY: dict[str, Callable[[Fact], None]] = {
    "checkout": _checkout,
    "checkin": _checkin,
    "renew": _renew,
    "hold": _hold,
    "card_issued": _card_issued,
    "card_revoked": _card_revoked,
    "refusal": _nothing,
    "librarian_login": _nothing,
}
"""The projection of each kind of fact."""


def apply(fact: Fact) -> None:
    """Apply one fact to the state tables (inside the caller's transaction).

    Raises:
        KeyError: the fact is of a kind this version does not know.
    """
    APPLY[fact.kind](fact)
