"""The librarian's PIN, asked after their card is scanned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView
from kiosk.locale import t
from kiosk.widgets.status_bar import Countdown

if TYPE_CHECKING:
    from kiosk.screens.host import KioskHost


class PinModal(ModalScreen[bool]):
    """Asks the librarian for the PIN until it is right (dismisses ``True``) or cancelled.

    A wrong PIN is said so here and recorded by the service; after five wrong ones
    the card is locked for a while, and the dialog says for how long.
    """

    BINDINGS = [Binding("escape", "cancel", show=False, id="pin.cancel")]

    def __init__(self, librarian: PatronView) -> None:
        super().__init__()
        self.librarian = librarian

    def compose(self) -> ComposeResult:
        yield Countdown(classes="-docked")  # the idle timeout's last seconds
        with Vertical(id="dialog"):
            yield Static(t("pin.heading"), id="question", markup=False)
            yield Static("", id="pin-message", markup=False)
            yield Input(password=True, max_length=32, id="pin")
            with Horizontal(id="choices"):
                yield Button(t("pin.ok"), id="ok", variant="primary")
                yield Button(t("pin.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#ok")
    async def submit(self) -> None:
        """Check the PIN; a right one closes the dialog."""
        field = self.query_one("#pin", Input)
        pin, field.value = field.value, ""
        kiosk: KioskHost = self.app  # type: ignore[assignment]
        try:
            ok = await kiosk.run_db(kiosk.circulation.check_librarian, self.librarian.number, pin)
        except KioskError as error:
            self._say(t(error.key, **error.params))
            return
        if ok:
            self.dismiss(True)
        else:
            self._say(t("pin.wrong"))

    def _say(self, message: str) -> None:
        self.query_one("#pin-message", Static).update(message)
        self.query_one("#pin", Input).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Give up: back to where the card was scanned."""
        self.dismiss(False)
