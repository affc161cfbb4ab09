"""The projection of the stock's facts: repair, loss, write-off, and class book corners.

``copy_status`` is the librarian's decision about a copy (to repair, repaired, lost,
found, withdrawn): it sets the copy's status, ends the loan of a copy its borrower lost,
and keeps a row of the repair log / write-off list (``copy_event``, keyed by the fact).
A ``checkin`` of a damaged book is the repair log's first line too (an extra of the
``checkin`` kind). ``corner_lent`` lends one copy to a class's reading corner: a loan of
the teacher's marked with its corner (no one's quota counts it), and the corner's row made
by the first; ``corner_returned`` closes the corner with the books that were missing.

Every function here may be applied again (a replay, the sync's per-title rebase) and
gives the same rows: rows keyed by the fact or the corner are inserted only once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.data.core import projection
from kiosk.data.core.facts import Fact
from kiosk.data.core.models import ClassCorner, CopyEvent, Loan, Patron, SchoolClass
from kiosk.data.core.projection import Known

STATUS_OF_ACTION = {
    "repair": "repair",
    "repaired": "available",
    "lost": "lost",
    "found": "available",
    "withdrawn": "withdrawn",
}
"""What each of the librarian's actions on a copy makes its status."""

ENTERS_REPAIR = ("damaged", "repair")
"""The copy events that put a copy in the repair box (the repair log's first line)."""


def action_of(data: dict[str, Any]) -> str:
    """The action a ``copy_status`` fact records (facts made before the actions had
    names say only the status: ``available`` then reads as ``found``)."""
    action = data.get("action")
    if isinstance(action, str) and action in STATUS_OF_ACTION:
        return action
    status = str(data.get("status", ""))
    return {"available": "found"}.get(status, status)


def _patron_id(number: str | None) -> int | None:
    if not number:
        return None
    row: Any = Patron.select(Patron.id).where(Patron.number == number).tuples().first()
    return int(row[0]) if row else None


def _event(fact: Fact, copy_id: int, action: str, status: str) -> None:
    data = fact.data
    CopyEvent.insert(
        fact=fact.uuid, copy=copy_id, action=action, status=status,
        reason=str(data.get("reason", ""))[:100], settlement=str(data.get("settlement", "")),
        patron=_patron_id(fact.patron), by=str(data.get("by", ""))[:40], at=fact.wall_time,
        kiosk=fact.kiosk,
    ).on_conflict_ignore().execute()


def copy_status(fact: Fact, known: Known) -> None:
    """The librarian's decision about a copy: to repair, repaired, lost, found, withdrawn.

    A copy lost while on loan ends the loan (its borrower lost it: the loan leaves their
    quota and the overdue list) unless that loan began after the loss, in the world (a
    kiosk that lent the "lost" copy offline had it in hand). A write-off leaves an open
    loan open: the book is with a reader, and comes back to the librarian's desk.
    """
    copy = projection.copy_of(fact, known)
    if copy is None:
        return
    status = str(fact.data.get("status", ""))
    if status == "lost":
        loan = projection.open_loan_of(copy, known)
        if loan is not None and loan.out_at <= fact.wall_time:
            Loan.update(returned_at=fact.wall_time).where(Loan.id == loan.id).execute()
            known.open_loan = None
    projection.set_status(copy, status)
    _event(fact, copy.id, action_of(fact.data), status)


def damaged_return(fact: Fact) -> bool:
    """Whether a ``checkin`` is of a damaged book (the repair log's first line)."""
    return bool(fact.data.get("damaged"))


def log_damaged(fact: Fact, known: Known) -> None:
    """A damaged book came back and went to the repair box: the repair log says so."""
    copy = projection.copy_of(fact, known)
    if copy is not None:
        _event(fact, copy.id, "damaged", "repair")


# -- class book corners ------------------------------------------------------------


def corner_lent(fact: Fact, known: Known) -> None:
    """One copy lent to a class's reading corner (the corner's row made by the first)."""
    teacher = projection.patron_of(fact, known)
    corner = str(fact.data.get("corner", ""))
    class_row: Any = (
        SchoolClass.select(SchoolClass.id)
        .where(SchoolClass.name == str(fact.data.get("class", ""))).tuples().first()
    )
    if teacher is None or class_row is None or not corner:
        return
    ClassCorner.insert(
        id=corner, school_class=class_row[0], teacher=teacher.id, opened_at=fact.wall_time,
        due_on=date.fromisoformat(fact.data["due_on"]), kiosk=fact.kiosk,
    ).on_conflict_ignore().execute()
    projection.checkout(fact, known)
    Loan.update(corner=corner).where(Loan.id == fact.uuid).execute()


def corner_returned(fact: Fact, known: Known) -> None:
    """The teacher (or a helper) brought the corner's books back: the corner is closed,
    with the number of books that were missing (they stay on loan to the teacher)."""
    missing = fact.data.get("missing")
    ClassCorner.update(
        closed_at=fact.wall_time, closed_by=fact.patron or "",
        missing=len(missing) if isinstance(missing, list) else 0,
    ).where(
        (ClassCorner.id == str(fact.data.get("corner", ""))) & ClassCorner.closed_at.is_null()
    ).execute()
