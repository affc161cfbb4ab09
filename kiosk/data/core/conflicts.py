"""The desk's conflict rules: which facts pushed by a kiosk the librarian should look at.

A kiosk that was offline may have lent a copy another kiosk lent meanwhile, returned a
book twice, renewed a loan that had ended, or used a card the desk had revoked. The
projection settles every such fact the same way everywhere (docs/sync.md); these rules
only say which facts raise a case, and why. Each kind's rule is named in its row of the
registry of fact kinds (:mod:`kiosk.data.core.kinds`); the sync's batch path
(:mod:`kiosk.data.sync.batch`) plays the same rules in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.data.core.facts import Fact
from kiosk.data.core.models import Card, Copy, Hold, Loan, Patron
from kiosk.data.core.projection import Known


@dataclass(frozen=True)
class Case:
    """A conflict rule's finding about a fact: the case's kind, the other fact or loan
    it meets (if any) and what the librarian needs to see."""

    kind: str
    other: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def revoked_card(fact: Fact, patron: Patron | None) -> Case | None:
    """A loan or renewal made with a card the desk had revoked by then."""
    serial = fact.data.get("card")
    if serial is None or patron is None:
        return None
    card = Card.get_or_none((Card.patron == patron.id) & (Card.serial == serial))
    if card is not None and card.revoked_at is not None and card.revoked_at <= fact.wall_time:
        return Case("revoked_card", data={"serial": serial, "revoked_at": str(card.revoked_at)})
    return None


def checkout(fact: Fact, known: Known) -> list[Case]:
    """A copy lent twice, lent while written off or not lendable or while set aside on
    the hold shelf for someone else, to a patron who left, or on a revoked card."""
    found: list[Case] = []
    copy, patron, loan = known.copy, known.patron, known.open_loan
    if copy is None:
        return found
    if loan is not None:
        older = loan.out_at > fact.wall_time
        found.append(Case("lent_twice", other=loan.id, data={"this_loan_ended": older}))
    if copy.status == "withdrawn":
        # written off at the desk, lent by a kiosk that did not know: the loan stands,
        # the copy stays written off and comes back to the librarian's desk
        found.append(Case("lent_written_off", data={"status": copy.status}))
    elif copy.status in ("lost", "repair"):
        found.append(Case("lent_unavailable", data={"status": copy.status}))
    if copy.status == "hold_shelf" and patron is not None:
        held = Hold.select(Hold.id, Patron.number).join(Patron).where(
            (Hold.copy == copy.id) & (Hold.status == "ready") & (Hold.patron != patron.id)
        ).tuples().first()
        if held is not None:
            # the loan stands (the book left); the hold waits again for the next copy
            found.append(Case("lent_held", other=held[0], data={"hold_for": held[1]}))
    if patron is not None and not patron.active:
        open_loans = [
            barcode
            for (barcode,) in Loan.select(Copy.barcode)
            .join(Copy)
            .where((Loan.patron == patron.id) & Loan.returned_at.is_null())
            .tuples()
        ]
        found.append(Case("inactive_patron", data={"open_loans": open_loans}))
    if (case := revoked_card(fact, patron)) is not None:
        found.append(case)
    return found


def checkin(fact: Fact, known: Known) -> list[Case]:
    """A return older than the copy's loan, of a loan already ended or of another loan,
    or of a copy the desk wrote off."""
    found: list[Case] = []
    copy, loan = known.copy, known.open_loan
    if copy is None:
        return found
    believed = fact.data.get("loan")
    if loan is not None and loan.out_at > fact.wall_time:
        found.append(Case("stale_return", other=loan.id))
    elif loan is None and believed and copy.status != "lost":
        # (a loss ends its loan: the book back is the lost book found, said below)
        found.append(Case("returned_twice", other=believed))
    elif loan is not None and believed and believed != loan.id:
        found.append(Case("returned_other_loan", other=loan.id, data={"believed": believed}))
    if copy.status in ("lost", "withdrawn"):
        found.append(Case("lost_copy_returned", data={"status": copy.status}))
    return found


def renew(fact: Fact, known: Known) -> list[Case]:
    """A renewal of a loan that had ended, or made with a revoked card."""
    found: list[Case] = []
    loan = known.open_loan if known.copy is not None else None
    # the loan is open only if it is its copy's open loan (one open loan per copy)
    if loan is None or loan.id != fact.data.get("loan"):
        found.append(Case("renew_ended", other=fact.data.get("loan")))
    if (case := revoked_card(fact, known.patron)) is not None:
        found.append(case)
    return found


def copy_status(fact: Fact, known: Known) -> list[Case]:
    """A write-off decided at a kiosk of a copy a reader has (the kiosk did not know)."""
    copy = known.copy
    if copy is None or fact.data.get("status") != "withdrawn":
        return []
    loan = Loan.get_or_none((Loan.copy == copy.id) & Loan.returned_at.is_null())
    if loan is None:
        return []
    return [Case("lent_written_off", other=loan.id, data={"status": "withdrawn"})]
