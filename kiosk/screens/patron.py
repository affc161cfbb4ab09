"""The patron's page: their loans, how many more they may borrow, and borrowing."""

from __future__ import annotations

from dataclasses import replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.data.core.errors import AlreadyBorrowed, KioskError
from kiosk.data.lending.circulation import CheckoutResult, LoanView, PatronView
from kiosk.data.lending.holds import Holds
from kiosk.locale import format_date, t
from kiosk.locale.names import shown
from kiosk.screens.base import KioskScreen
from kiosk.screens.find import FindScreen
from kiosk.screens.mine import MineModal
from kiosk.screens.reserve import reserve, waiting_lines
from kiosk.screens.returns import describe_return
from kiosk.screens.session import Session
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.loan_table import LoanTable
from kiosk.widgets.verdict import Verdict


class PatronScreen(KioskScreen):
    """Shown after a card is scanned: scan books here to borrow them.

    Scanning a book the patron already has offers to return or renew it; another
    patron's card ends this visit and opens theirs.
    """

    SHOWS_CAMERA = True

    BINDINGS = [Binding("f2", "press('finish')", show=False, id="patron.finish"),
                Binding("f3", "press('class-visit')", show=False, id="patron.class_visit"),
                Binding("f4", "press('reserve')", show=False, id="patron.reserve"),
                Binding("f5", "press('find')", show=False, id="patron.find"),
                Binding("f6", "press('class-corner')", show=False, id="patron.class_corner")]

    def __init__(
        self, patron: PatronView, session: Session | None = None, *,
        lent_by: str | None = None, lent_by_name: str = "",
    ) -> None:
        super().__init__()
        self.lent_by = lent_by
        """The teacher lending for a child who forgot the card (in a class visit)."""
        self.lent_by_name = lent_by_name
        self.patron = patron
        self.session = session or Session()
        self.session.name = shown(patron.name)

    def compose_body(self) -> ComposeResult:
        patron = self.patron
        with Vertical(id="patron"):
            with Horizontal(id="patron-head"):
                yield Static(t("patron.hello", name=shown(patron.name)), id="hello", markup=False)
                yield Static(patron.class_name, id="class-name", markup=False)
            yield Static(id="allowance", markup=False)
            yield Static(id="holds-note", markup=False)
            yield Static(t("patron.loans_heading"), id="loans-heading", markup=False)
            yield Static(t("patron.no_loans"), id="no-loans", markup=False)
            yield LoanTable(id="loans")
            yield Verdict(id="verdict")
            with Horizontal(id="actions"):
                yield BigButton(t("patron.finish"), key="f2", id="finish", variant="success")
                yield BigButton(t("visit.start"), key="f3", id="class-visit", variant="primary")
                yield BigButton(t("reserve.button"), key="f4", id="reserve", variant="default")
                yield BigButton(t("find.button"), key="f5", id="find")
                yield BigButton(t("corner.start"), key="f6", id="class-corner")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#class-visit").display = self.patron.kind == "teacher"
        self.query_one("#class-corner").display = self.patron.kind == "teacher"
        self.query_one("#reserve").display = False  # until the rules say this patron may
        self.query_one("#holds-note").display = False
        self.show_patron(self.patron)
        self.show_holds()
        if self.lent_by:
            self.query_one(Verdict).say(
                t("visit.lending_for", name=self.patron.name, teacher=self.lent_by_name), "info"
            )
        if self.patron.overdue_count:
            self.query_one(Verdict).say(
                t("patron.overdue", count=self.patron.overdue_count), "warn"
            )

    def show_patron(self, patron: PatronView) -> None:
        """Redraw the page for the patron's current state."""
        if patron.card is None and patron.number == self.patron.number:
            patron = replace(patron, card=self.patron.card)  # still the same card's visit
        self.patron = patron
        if self.kiosk.returns_only:
            allowance = t("patron.returns_only")
        elif patron.may_borrow:
            allowance = t("patron.may_borrow", count=patron.may_borrow) + " " + t(
                "patron.scan_books"
            )
        else:
            allowance = t("patron.may_borrow_none")
        self.query_one("#allowance", Static).update(allowance)
        self.query_one("#no-loans").display = not patron.loans
        table = self.query_one(LoanTable)
        table.display = bool(patron.loans)
        table.show(patron.loans)

    @work(group="holds", exclusive=True, exit_on_error=False)
    async def show_holds(self) -> None:
        """Say which reserved books wait for the patron (title, where, until when), and
        offer "Reserve" where the library lets them."""
        holds = Holds(self.circulation)
        try:
            mine = await self.call(holds.of_patron, self.patron.number)
            rules = await self.call(holds.rules)
        except KioskError:
            return  # (the page works without: the next scan says what is wrong)
        note = self.query_one("#holds-note", Static)
        note.update(waiting_lines(mine, rules))
        note.display = bool(mine)
        self.query_one("#patron").set_class(bool(mine), "-held")
        self.query_one("#reserve").display = rules.may_reserve(self.patron.kind)

    @on(Button.Pressed, "#reserve")
    def open_reserve(self) -> None:
        """Reserve a book (kiosk/screens/reserve.py); the page then shows it."""

        def done(text: str, kind: str) -> None:
            self.query_one(Verdict).say(text, kind)
            self.show_holds()

        reserve(self.app, self.patron.number, done=done)

    @on(Button.Pressed, "#class-visit")
    def class_visit(self) -> None:
        """A teacher brings a class: pick it (kiosk/screens/visit.py)."""
        self.kiosk.open_class_visit(self.patron, self.session)

    @on(Button.Pressed, "#find")
    def find_a_book(self) -> None:
        """Find a book (kiosk/screens/find.py); back here afterwards."""
        self.app.push_screen(FindScreen(self.patron))

    @on(Button.Pressed, "#class-corner")
    def class_corner(self) -> None:
        """A teacher lends a set of books to a class's corner, or brings one back."""
        from kiosk.screens.corner import CornerModal

        self.app.push_screen(CornerModal(self.call, self.roles, self.patron.number))

    @on(Button.Pressed, "#finish")
    def finish(self) -> None:
        """End the visit and show the receipt (a child the teacher lent for: back to the
        class visit's roll call)."""
        if self.lent_by and len(self.app.screen_stack) > 1:
            self.app.pop_screen()
            return
        self.kiosk.show_receipt(self.session)

    async def handle_scan(self, code: str) -> None:
        verdict = self.query_one(Verdict)
        if await self.call(self.circulation.is_card, code):
            await self._other_card(code)
            return
        try:
            result = await self.call(self._checkout, code)
        except AlreadyBorrowed as mine:
            self.offer_return_or_renew(mine.loan)
            return
        except KioskError as error:
            verdict.refuse(error)
            return
        self.session.add("borrowed", result.loan.title, result.loan.due_on)
        self.show_patron(result.patron)
        verdict.say(
            t("checkout.ok", title=result.loan.title, due=format_date(result.loan.due_on)), "ok"
        )

    def _checkout(self, code: str) -> CheckoutResult:
        return self.circulation.checkout(
            self.patron.number, code, self.patron.card, teacher=self.lent_by
        )

    async def _other_card(self, code: str) -> None:
        try:
            patron = await self.call(self.circulation.open_card, code)
        except KioskError as error:
            if error.params.get("number") == self.patron.number:
                self.query_one(Verdict).refuse(error)
                return
            # Another child's card was refused: this child's page must not stay open
            # for them; the start screen says why.
            self.kiosk.attract.refuse_on_return(error)
            self.kiosk.reset_to_attract()
            return
        if patron.number == self.patron.number:
            self.show_patron(patron)
            return
        self.kiosk.open_patron(patron, replace=True)

    @work(group="mine", exclusive=True, exit_on_error=False)
    async def offer_return_or_renew(self, loan: LoanView) -> None:
        """Ask what to do with a book the patron already has, then do it."""
        choice = await self.app.push_screen_wait(MineModal(loan.title))
        verdict = self.query_one(Verdict)
        try:
            if choice == "return":
                result = await self.call(self.circulation.checkin, loan.barcode)
                self.session.add("returned", result.title)
                verdict.say(*describe_return(result))
            elif choice == "renew":
                renewed = await self.call(
                    self.circulation.renew, self.patron.number, loan.loan_id, self.patron.card
                )
                self.session.add("renewed", renewed.title, renewed.due_on)
                verdict.say(
                    t("renew.ok", title=renewed.title, due=format_date(renewed.due_on)), "ok"
                )
            else:
                verdict.clear()
                return
            self.show_patron(await self.call(self.circulation.patron, self.patron.number))
        except KioskError as error:
            verdict.refuse(error)
