"""The librarian's PIN, asked after their card is scanned."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kiosk.locale import t


class PinModal(ModalScreen[str | None]):
    """Dismisses with the typed PIN, or ``None`` when cancelled."""

    BINDINGS = [Binding("escape", "cancel", show=False, id="pin.cancel")]

    def __init__(self, message: str = "") -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("pin.heading"), id="question", markup=False)
            yield Static(self.message, id="pin-message", markup=False)
            yield Input(password=True, max_length=32, id="pin")
            with Horizontal(id="choices"):
                yield Button(t("pin.ok"), id="ok", variant="primary")
                yield Button(t("pin.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#pin-message").display = bool(self.message)
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        """Answer with the PIN."""
        self.dismiss(self.query_one("#pin", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Answer ``None``."""
        self.dismiss(None)
