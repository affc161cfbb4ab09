"""The receipt: what this visit borrowed, returned and renewed, then goodbye."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Button, Static

from kiosk.bridges.messages import Scanned
from kiosk.locale import format_date, t
from kiosk.screens.base import KioskScreen
from kiosk.screens.receipt_print import print_session, receipt_text
from kiosk.screens.session import Session
from kiosk.widgets.big_button import BigButton


class ReceiptScreen(KioskScreen):
    """Shown at the end of a visit; goes back to the start by itself after a while."""

    BINDINGS = [Binding("f2", "press('ok')", show=False, id="receipt.ok")]

    IDLE_TIMEOUT: ClassVar[float | None] = 15.0

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose_body(self) -> ComposeResult:
        with Vertical(id="receipt"):
            yield Static(t("receipt.heading"), id="headline", markup=False)
            yield Static(self._text(), id="lines", markup=False)
            bye = (
                t("receipt.bye", name=self.session.name)
                if self.session.name
                else t("receipt.bye_anonymous")
            )
            yield Static(bye, id="bye", markup=False)
            if self._prints:
                yield Static(t("receipt.print.printing"), id="printing", markup=False)
            with Center():
                yield BigButton(t("receipt.ok"), key="f2", id="ok", variant="success")

    @property
    def _prints(self) -> bool:
        """Whether this receipt is printed too (a printer is set, and something was done)."""
        return self.kiosk.config.printer is not None and bool(self.session.lines)

    def on_mount(self) -> None:
        if self._prints:
            self.print_receipt()

    @work(group="receipt-print", exit_on_error=False)
    async def print_receipt(self) -> None:
        """Print the receipt too (the loans are recorded: the printer only says how it went)."""
        note = self.query_one("#printing", Static)
        text = receipt_text(self.kiosk.library_name, self.session, self.circulation.store.clock())
        note.update(await print_session(self.kiosk.config.printer, text))

    def _text(self) -> str:
        if not self.session.lines:
            return t("receipt.nothing")
        rows = []
        for line in self.session.lines:
            row = f"{t('receipt.' + line.action)}  {line.title}"
            if line.due_on is not None:
                row += "  (" + t("receipt.due", due=format_date(line.due_on)) + ")"
            rows.append(row)
        return "\n".join(rows)

    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        """Back to the start."""
        self.kiosk.reset_to_attract()

    async def handle_scan(self, code: str) -> None:
        """A scan on the receipt starts a new visit from the start screen."""
        self.kiosk.reset_to_attract()
        self.kiosk.attract.post_message(Scanned(code, "scanner"))
