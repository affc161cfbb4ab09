"""Returning books without a card: each scan says where the book goes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import ReturnResult
from kiosk.locale import t
from kiosk.locale.names import shown
from kiosk.screens.base import KioskScreen
from kiosk.screens.session import Session
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.verdict import Verdict


def describe_return(result: ReturnResult) -> tuple[str, str, str | None]:
    """Where a returned book goes, in words a child can follow, the message's kind and
    its sound.

    The kind is ``warn`` where the child must do something other than shelve it
    (the hold shelf, the desk), ``ok`` otherwise; a book for the desk sounds the
    ``librarian`` chime, any other return ``done``.
    """
    if result.destination == "hold_shelf":
        text = t("return.hold_shelf", title=result.title, name=shown(result.hold_for))
    elif result.destination == "desk":
        text = t("return.desk", title=result.title)
    elif result.destination == "not_on_loan":
        text = t("return.not_on_loan", title=result.title, shelf=result.shelf or "?")
    elif result.shelf:
        text = t("return.shelf", title=result.title, shelf=result.shelf)
    else:
        text = t("return.shelf_any", title=result.title)
    if result.days_overdue:
        text += "\n" + t("return.overdue_note", days=result.days_overdue)
    kind = "warn" if result.destination in ("desk", "hold_shelf") else "ok"
    return text, kind, "librarian" if result.destination == "desk" else "done"


class ReturnScreen(KioskScreen):
    """Scan each book to return it; a card scanned here opens the patron's page."""

    SHOWS_CAMERA = True

    BINDINGS = [Binding("f2", "press('done')", show=False, id="returns.done")]

    def __init__(self, first_code: str | None = None) -> None:
        super().__init__()
        self.first_code = first_code
        self.session = Session()

    def compose_body(self) -> ComposeResult:
        with Vertical(id="returns"):
            yield Static(t("return.headline"), id="headline", markup=False)
            yield Static(t("return.hint"), id="hint", markup=False)
            yield Verdict(id="verdict")
            yield Static(t("return.count", count=0), id="count", markup=False)
            with Horizontal(id="actions"):
                yield BigButton(t("return.done"), key="f2", id="done", variant="success")

    async def on_mount(self) -> None:
        super().on_mount()
        if self.first_code is not None:
            code, self.first_code = self.first_code, None
            await self.handle_scan(code)

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        """Show what was returned, then go back to the start."""
        self.kiosk.show_receipt(self.session)

    async def handle_scan(self, code: str) -> None:
        verdict = self.query_one(Verdict)
        if await self.call(self.circulation.is_card, code):
            patron = await self.open_card(code)
            if patron is not None:
                self.kiosk.open_patron(patron, replace=True, session=self.session)
            return
        try:
            result = await self.call(self.circulation.checkin, code)
        except KioskError as error:
            verdict.refuse(error)
            return
        if result.destination != "not_on_loan":
            self.session.add("returned", result.title)
        verdict.say(*describe_return(result))
        self.query_one("#count", Static).update(
            t("return.count", count=len(self.session.lines))
        )
