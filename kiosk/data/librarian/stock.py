"""Repair, loss and write-off (修补 / 报损 / 剔旧): the librarian's decisions about copies.

At the kiosk's librarian screens and at the desk the librarian marks a copy repaired
(back to the shelf), to repair, lost (by whom, and what was agreed: replaced, paid,
forgiven), found, or withdrawn with a reason (worn out, outdated, lost), one copy or a
scanned pile at a time. Each decision is a ``copy_status`` fact naming its ``action``
and the librarian (``by``); its projection (:mod:`kiosk.data.core.projection_stock`)
keeps the repair log and the write-off list, which
:mod:`kiosk.data.desk.stock_log` reads for a term. Plain values in and out; no Peewee object leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.data.core.errors import NotFound, Refused
from kiosk.data.core.fact_words import SETTLEMENTS, STOCK_ACTIONS, WITHDRAW_REASONS
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Copy, Loan, Patron, Title
from kiosk.data.core.projection import Known
from kiosk.data.core.projection_stock import STATUS_OF_ACTION
from kiosk.data.core.store import Outcome, Store
from kiosk.data.core.text import clean_code, printable

__all__ = ["SETTLEMENTS", "STOCK_ACTIONS", "WITHDRAW_REASONS", "Stock", "StockDone"]

ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "repair": ("available", "hold_shelf"),
    "repaired": ("repair",),
    "lost": ("available", "on_loan", "hold_shelf", "repair"),
    "found": ("lost",),
    "withdrawn": ("available", "repair", "lost"),
}
"""From which statuses each action may be taken (a book on loan is lost, not withdrawn:
its reader has it; one lent out must come back before it goes to the repair box)."""


@dataclass(frozen=True)
class StockDone:
    """One copy's decision made: the book, its status before and now, its borrower."""

    barcode: str
    title: str
    action: str
    before: str
    status: str
    lost_by: str = ""
    """The name of the reader who lost it (a loss of a book on loan)."""


class Stock:
    """The librarian's decisions about copies, on a store's database.

    Args:
        store: the library database, this kiosk and the clock.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def act(
        self, raw_barcode: str, action: str, *, by: str, reason: str = "",
        settlement: str = "",
    ) -> StockDone:
        """Take ``action`` on copy ``raw_barcode`` (``by``: the librarian).

        ``reason`` is why a copy is withdrawn (``worn_out``, ``outdated``, ``lost``);
        ``settlement`` what was agreed with the reader who lost it (``replaced``,
        ``paid``, ``forgiven``, or empty: not yet). A copy lost while on loan names its
        borrower as the one who lost it, and the loan ends.

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code``.
            Refused: ``stock.not_from`` (this action does not apply to the copy now),
                ``stock.reason_needed``; ValueError for an action or value not known.
        """
        if action not in STOCK_ACTIONS:
            raise ValueError(f"not an action on a copy: {action!r}")
        if action == "withdrawn" and reason not in WITHDRAW_REASONS:
            raise Refused("stock.reason_needed")
        if settlement and settlement not in SETTLEMENTS:
            raise ValueError(f"not a settlement: {settlement!r}")
        barcode = clean_code(raw_barcode)
        if barcode is None:
            raise NotFound("copy.damaged_code")

        def decide() -> Outcome:
            copy = Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode).first()
            if copy is None:
                return Outcome(refusal=NotFound("copy.unknown", code=printable(barcode, 40)))
            title = copy.title.title
            before = copy.status
            if before not in ALLOWED_FROM[action]:
                return Outcome(refusal=Refused(
                    f"stock.not_from.{before}", title=title, barcode=copy.barcode
                ))
            loan = (
                Loan.select(Loan, Patron).join(Patron)
                .where((Loan.copy == copy.id) & Loan.returned_at.is_null()).first()
            )
            data: dict[str, Any] = {"action": action, "status": STATUS_OF_ACTION[action],
                                    "by": by}
            if action == "withdrawn":
                data["reason"] = reason
            lost_by = ""
            patron = None
            if action == "lost":
                if settlement:
                    data["settlement"] = settlement
                if loan is not None:
                    patron, lost_by = loan.patron.number, loan.patron.name
                    data["loan"] = loan.id
            self.store.record(
                Kind.COPY_STATUS, Known(copy=copy, open_loan=loan), patron=patron,
                copy=copy.barcode, **data,
            )
            return Outcome(value=StockDone(
                copy.barcode, title, action, before, STATUS_OF_ACTION[action], lost_by
            ))

        return self.store.run(decide)
