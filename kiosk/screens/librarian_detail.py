"""A patron or a copy opened from a row of the librarian's tabs, with the actions by hand.

A patron: their cards, loans and last facts; renew or return a loan, revoke the card.
A copy: where it is, who has it, its last facts; return or renew it, open the
borrower, mark it repaired, to repair, lost, found or withdrawn
(:mod:`kiosk.screens.stock`). Every action asks first
(:class:`~kiosk.screens.confirm.ConfirmModal`) and
is written as a fact by the service. The dialog dismisses ``True`` when something
changed, so the tabs behind it read the day again.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import LoanView, ReturnResult
from kiosk.data.librarian.stock import ALLOWED_FROM, Stock, StockDone
from kiosk.data.librarian.views import COPY_STATUSES, CopyDetail, LogEntry, PatronDetail
from kiosk.locale import format_date, t
from kiosk.screens.confirm import ConfirmModal
from kiosk.screens.librarian_panel import LibrarianHost
from kiosk.screens.stock import Decision, ask_decision, done_text
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.row_table import Column, RowTable

log = logging.getLogger(__name__)


def recent_rows(entries: tuple[LogEntry, ...]) -> list[tuple[str, ...]]:
    """The last facts of a patron or copy, as rows."""
    return [(e.at.strftime("%m-%d %H:%M"), e.kind_label, e.what) for e in entries]


def recent_columns() -> list[Column]:
    """The columns of a patron's or a copy's last facts."""
    return [Column(t("lib.log.col.time"), 11), Column(t("lib.log.col.kind"), 8),
            Column(t("lib.log.col.what"), 0)]


def return_text(result: ReturnResult) -> str:
    """Where a copy returned by hand goes now."""
    if result.destination == "hold_shelf":
        return t("return.hold_shelf", title=result.title, name=result.hold_for)
    if result.destination == "desk":
        return t("lib.detail.returned_desk", title=result.title)
    if result.destination == "not_on_loan":
        return t("return.not_on_loan", title=result.title, shelf=result.shelf or "?")
    return t("lib.detail.returned", title=result.title, shelf=result.shelf or "?")


class _Detail(ModalScreen[bool]):
    """What both dialogs share: the host, a message line, asking before acting."""

    def __init__(self, host: LibrarianHost) -> None:
        super().__init__()
        self.host = host
        self.changed = False

    def say(self, text: str, *, error: bool = False) -> None:
        """Show the result of an action (or why it failed)."""
        box = self.query_one("#detail-message", Static)
        box.update(text)
        box.set_class(error, "-error")

    async def act(self, question: str, function: Any, *args: Any) -> Any:
        """Ask ``question``; on yes run ``function(*args)`` on the database thread.

        Returns its result, or ``None`` when the librarian said no or it failed
        (the reason is shown).
        """
        if not await self.app.push_screen(ConfirmModal(question), wait_for_dismiss=True):
            return None
        try:
            result = await self.host.run(function, *args)
        except KioskError as error:
            self.say(t(error.key, **error.params), error=True)
            return None
        except Exception:
            log.exception("an action by hand failed")
            self.say(t("error.unexpected"), error=True)
            return None
        self.changed = True
        return result

    def action_close(self) -> None:
        """Back to the tabs."""
        self.dismiss(self.changed)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.action_close()

    def offer(self, button_id: str, applies: bool) -> None:
        """Show the action ``button_id`` only where it applies (a book on the shelf has
        no loan to renew, no borrower to open); its function key does nothing then."""
        button = self.query_one(f"#{button_id}", Button)
        button.disabled = not applies
        button.display = applies

    def action_press(self, button_id: str) -> None:
        """A function key presses its button."""
        button = self.query_one(f"#{button_id}", Button)
        if not button.disabled:
            button.press()

    async def reload(self) -> None:
        """Read what the dialog shows again (each dialog its own)."""
        raise NotImplementedError

    async def renew_loan(self, title: str, loan_id: str) -> None:
        """Renew loan ``loan_id`` by hand, after asking (the fact names the librarian)."""
        done = await self.act(
            t("lib.detail.ask_renew", title=title),
            self.host.daybook.renew, loan_id, self.host.librarian.number,
        )
        if done is not None:
            await self.reload()
            self.say(t("renew.ok", title=done.title, due=format_date(done.due_on)))

    async def return_copy(self, title: str, barcode: str) -> None:
        """Take copy ``barcode`` back by hand, after asking (the fact names the librarian)."""
        done = await self.act(
            t("lib.detail.ask_return", title=title),
            self.host.daybook.checkin, barcode, self.host.librarian.number,
        )
        if done is not None:
            await self.reload()
            self.say(return_text(done))


class PatronModal(_Detail):
    """A patron: cards, loans and last facts; renew, return, revoke the card."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", show=False, id="detail.close"),
        Binding("f2", "press('renew')", show=False, id="detail.renew"),
        Binding("f3", "press('return')", show=False, id="detail.return"),
        Binding("f6", "press('revoke')", show=False, id="detail.revoke"),
    ]

    def __init__(self, host: LibrarianHost, number: str) -> None:
        super().__init__(host)
        self.number = number
        self.detail: PatronDetail | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail", classes="librarian-detail"):
            yield Static(t("lib.detail.loading"), id="detail-head", markup=False)
            yield Static("", id="detail-cards", markup=False)
            yield Static("", id="detail-message", markup=False)
            yield Static(t("lib.detail.loans"), classes="detail-heading")
            yield RowTable([
                Column(t("lib.log.col.title"), 0), Column(t("lib.log.col.copy"), 10),
                Column(t("lib.overdue.col.due"), 14), Column(t("lib.overdue.col.days"), 5),
            ], id="detail-loans")
            yield Static(t("lib.detail.recent"), classes="detail-heading")
            yield RowTable(recent_columns(), id="detail-recent")
            with Horizontal(classes="detail-actions"):
                yield BigButton(t("lib.detail.renew"), key="f2", id="renew", variant="success")
                yield BigButton(t("lib.detail.return"), key="f3", id="return", variant="primary")
                yield BigButton(t("lib.detail.revoke"), key="f6", id="revoke", variant="error")
                yield BigButton(t("lib.detail.close"), key="escape", id="close")

    async def on_mount(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        """Read the patron again."""
        try:
            detail = await self.host.run(self.host.daybook.patron, self.number)
        except KioskError as error:
            self.say(t(error.key, **error.params), error=True)
            self.query_one("#detail-head", Static).update(self.number)
            for button in ("renew", "return", "revoke"):
                self.offer(button, False)
            return
        self.detail = detail
        head = t("lib.detail.patron", name=detail.name, number=detail.number,
                 kind=t(f"lib.detail.kind.{detail.kind}"), cls=detail.class_name or "—")
        if not detail.active:
            head += " · " + t("lib.detail.inactive")
        if detail.blocked_reason:
            head += " · " + t("lib.detail.blocked", reason=detail.blocked_reason)
        self.query_one("#detail-head", Static).update(head)
        card = detail.current_card
        self.query_one("#detail-cards", Static).update(
            t("lib.detail.card", serial=card) if card is not None else t("lib.detail.no_card")
        )
        # (the librarian's own card is not revoked here: it is the key to these screens)
        self.offer("revoke", card is not None and detail.number != self.host.librarian.number)
        loans = detail.loans
        self.query_one("#detail-loans", RowTable).set_rows([
            (loan.title, loan.barcode, format_date(loan.due_on), str(loan.days_overdue or ""))
            for loan in loans
        ], list(loans))
        self.offer("renew", bool(loans))
        self.offer("return", bool(loans))
        self.query_one("#detail-recent", RowTable).set_rows(recent_rows(detail.recent))

    def _loan(self) -> LoanView | None:
        key = self.query_one("#detail-loans", RowTable).chosen_key
        return key if isinstance(key, LoanView) else None

    @on(Button.Pressed, "#renew")
    async def renew(self) -> None:
        """Renew the loan under the cursor, after asking."""
        self.run_worker(self._renew(), exclusive=True, group="detail-action")

    async def _renew(self) -> None:
        loan = self._loan()
        if loan is not None:
            await self.renew_loan(loan.title, loan.loan_id)

    @on(Button.Pressed, "#return")
    async def return_(self) -> None:
        """Return the loan under the cursor, after asking."""
        self.run_worker(self._return(), exclusive=True, group="detail-action")

    async def _return(self) -> None:
        loan = self._loan()
        if loan is not None:
            await self.return_copy(loan.title, loan.barcode)

    @on(Button.Pressed, "#revoke")
    async def revoke(self) -> None:
        """Revoke the patron's card (lost or stolen), after asking."""
        self.run_worker(self._revoke(), exclusive=True, group="detail-action")

    async def _revoke(self) -> None:
        if self.detail is None or self.detail.current_card is None:
            return
        serial = await self.act(
            t("lib.detail.ask_revoke", name=self.detail.name, serial=self.detail.current_card),
            self.host.daybook.revoke_card, self.number, self.host.librarian.number,
        )
        if serial is not None:
            await self.reload()
            self.say(t("lib.detail.revoked", serial=serial))


class CopyModal(_Detail):
    """A copy: where it is, who has it, last facts; return, renew, open the borrower."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", show=False, id="detail.close"),
        Binding("f2", "press('renew')", show=False, id="detail.renew"),
        Binding("f3", "press('return')", show=False, id="detail.return"),
        Binding("f4", "press('borrower')", show=False, id="detail.borrower"),
        Binding("f6", "press('decide')", show=False, id="detail.decide"),
    ]

    def __init__(self, host: LibrarianHost, barcode: str) -> None:
        super().__init__(host)
        self.barcode = barcode
        self.detail: CopyDetail | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail", classes="librarian-detail"):
            yield Static(t("lib.detail.loading"), id="detail-head", markup=False)
            yield Static("", id="detail-where", markup=False)
            yield Static("", id="detail-message", markup=False)
            yield Static(t("lib.detail.recent"), classes="detail-heading")
            yield RowTable(recent_columns(), id="detail-recent")
            with Horizontal(classes="detail-actions"):
                yield BigButton(t("lib.detail.renew"), key="f2", id="renew", variant="success")
                yield BigButton(t("lib.detail.return"), key="f3", id="return", variant="primary")
                yield BigButton(t("lib.detail.borrower"), key="f4", id="borrower")
                yield BigButton(t("stock.decide"), key="f6", id="decide", variant="warning")
                yield BigButton(t("lib.detail.close"), key="escape", id="close")

    async def on_mount(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        """Read the copy again."""
        try:
            detail = await self.host.run(self.host.daybook.copy, self.barcode)
        except KioskError as error:
            self.say(t(error.key, **error.params), error=True)
            self.query_one("#detail-head", Static).update(self.barcode)
            for button in ("renew", "return", "borrower", "decide"):
                self.offer(button, False)
            return
        self.detail = detail
        self.offer("decide", any(
            detail.status in ALLOWED_FROM[action] for action in ALLOWED_FROM
        ))
        self.query_one("#detail-head", Static).update(
            t("lib.detail.copy", title=detail.title, author=detail.author, barcode=detail.barcode)
        )
        status = detail.status
        if status in COPY_STATUSES:
            status = t(f"lib.copy_status.{status}")
        where = t("lib.detail.status", status=status, shelf=detail.shelf or "—")
        if detail.borrower:
            where += "\n" + t(
                "lib.detail.lent_to", name=detail.borrower_name, number=detail.borrower,
                due=format_date(detail.due_on) if detail.due_on else "",
            )
        self.query_one("#detail-where", Static).update(where)
        on_loan = bool(detail.loan_id)
        for button in ("renew", "return", "borrower"):
            self.offer(button, on_loan)
        self.query_one("#detail-recent", RowTable).set_rows(recent_rows(detail.recent))

    @on(Button.Pressed, "#renew")
    def renew(self) -> None:
        """Renew the copy's loan, after asking."""
        self.run_worker(self._renew(), exclusive=True, group="detail-action")

    async def _renew(self) -> None:
        if self.detail is not None and self.detail.loan_id:
            await self.renew_loan(self.detail.title, self.detail.loan_id)

    @on(Button.Pressed, "#return")
    def return_(self) -> None:
        """Return the copy by hand, after asking."""
        self.run_worker(self._return(), exclusive=True, group="detail-action")

    async def _return(self) -> None:
        if self.detail is not None:
            await self.return_copy(self.detail.title, self.detail.barcode)

    @on(Button.Pressed, "#decide")
    def decide(self) -> None:
        """Repaired, to repair, lost, found or withdrawn: ask which (and why), then do it."""
        self.run_worker(self._decide(), exclusive=True, group="detail-action")

    async def _decide(self) -> None:
        if self.detail is None:
            return
        decision = await ask_decision(self.app, self.detail.title, self.detail.status)
        if decision is None:
            return
        done = await self.act(
            t("stock.ask_sure", title=t("stock.the_book", title=self.detail.title),
              what=decision.words()),
            self._act, decision,
        )
        if done is not None:
            await self.reload()
            self.say(done_text(done))

    def _act(self, decision: Decision) -> StockDone:
        return Stock(self.host.daybook.store).act(
            self.barcode, decision.action, by=self.host.librarian.number,
            reason=decision.reason, settlement=decision.settlement,
        )

    @on(Button.Pressed, "#borrower")
    def borrower(self) -> None:
        """Open the borrower's page (over this one)."""
        if self.detail is not None and self.detail.borrower:
            self.app.push_screen(PatronModal(self.host, self.detail.borrower), self._back)

    def _back(self, changed: bool | None) -> None:
        if changed:
            self.changed = True
            self.run_worker(self.reload(), exclusive=True, group="detail-load")
