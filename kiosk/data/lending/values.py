"""What the lending service returns: plain values for the screens, the SIP2 adapter
and the tests (a loan, a patron's page, the outcome of a checkout or a return)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class LoanView:
    """One of a patron's current loans, as the screens show it."""

    loan_id: str
    barcode: str
    title: str
    author: str
    due_on: date
    days_overdue: int
    renewals: int
    item_kind: str = "book"
    """The title's kind (book, picture_book, periodical, reference)."""

    @property
    def overdue(self) -> bool:
        """Whether the book should have been back already."""
        return self.days_overdue > 0


@dataclass(frozen=True)
class PatronView:
    """A patron as the kiosk shows them after their card is scanned."""

    number: str
    name: str
    kind: str
    class_name: str
    loans: tuple[LoanView, ...]
    may_borrow: int
    """How many more items the patron may borrow now (0 when blocked by overdue)."""
    card: int | None = None
    """The serial of the card that opened this page (``None``: typed number or plain card).
    Loans made on the page name it, so the desk can tell a revoked card used offline."""
    blocked: bool = False
    """The patron may not borrow (the librarian blocked the card); only a card opened
    with ``blocked_ok`` (a class visit's roll call) comes back blocked."""

    @property
    def overdue_count(self) -> int:
        """How many of the patron's loans are overdue."""
        return sum(1 for loan in self.loans if loan.overdue)


@dataclass(frozen=True)
class CheckoutResult:
    """A successful loan."""

    loan: LoanView
    patron: PatronView


@dataclass(frozen=True)
class ReturnResult:
    """A returned copy and where it must go now.

    ``destination`` is ``shelf`` (with ``shelf`` naming the area), ``hold_shelf`` (with
    ``hold_for`` naming who reserved it), ``desk`` (the librarian must see it), or
    ``not_on_loan`` (it was not lent: put it back on its shelf). ``lent``: the return
    ended a loan (a book that was not on loan may still go to the hold shelf or desk).
    """

    barcode: str
    title: str
    destination: str
    shelf: str = ""
    hold_for: str = ""
    borrower: str = ""
    days_overdue: int = 0
    lent: bool = False
