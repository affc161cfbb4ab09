"""The librarian's screen at the kiosk: the end-of-term switch and leaving kiosk mode."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.data.circulation import PatronView
from kiosk.data.errors import KioskError
from kiosk.locale import t
from kiosk.screens.base import KioskScreen
from kiosk.widgets.big_button import BigButton


class LibrarianScreen(KioskScreen):
    """Opened with a librarian's card and PIN; times out like every screen."""

    BINDINGS = [
        Binding("f2", "press('returns-only')", show=False, id="librarian.returns_only"),
        Binding("f3", "press('back')", show=False, id="librarian.back"),
        Binding("f10", "press('exit')", show=False, id="librarian.exit"),
    ]

    IDLE_TIMEOUT: ClassVar[float | None] = 120.0

    def __init__(self, librarian: PatronView) -> None:
        super().__init__()
        self.librarian = librarian

    def compose_body(self) -> ComposeResult:
        with Vertical(id="librarian"):
            yield Static(t("librarian.heading"), id="headline", markup=False)
            yield Static(t("librarian.hello", name=self.librarian.name), id="hint", markup=False)
            yield Static(id="returns-state", markup=False)
            with Horizontal(id="actions"):
                yield BigButton("", key="f2", id="returns-only", variant="warning")
                yield BigButton(t("librarian.back"), key="f3", id="back", variant="primary")
                yield BigButton(t("librarian.exit"), key="f10", id="exit", variant="error")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_state()

    def _show_state(self) -> None:
        on_ = self.kiosk.returns_only
        state = t("librarian.state_on") if on_ else t("librarian.state_off")
        self.query_one("#returns-state", Static).update(
            t("librarian.returns_only_state", state=state)
        )
        label = t("librarian.returns_only_off") if on_ else t("librarian.returns_only_on")
        self.query_one("#returns-only", Button).label = f"{label}  F2"

    @on(Button.Pressed, "#returns-only")
    async def toggle_returns_only(self) -> None:
        """Turn the end-of-term "returns only" switch over."""
        on = not self.kiosk.returns_only
        try:
            await self.call(self.circulation.set_returns_only, on)
        except KioskError as error:
            self.notify(t(error.key, **error.params), severity="error")
            return
        self.kiosk.returns_only = on
        self._show_state()

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        """Back to the attract screen, signed out."""
        self.kiosk.reset_to_attract()

    @on(Button.Pressed, "#exit")
    def leave(self) -> None:
        """Leave kiosk mode: the program ends."""
        self.app.exit()
