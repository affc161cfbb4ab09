"""The librarian's screen at the kiosk: the librarian's tabs, the end-of-term switch and
leaving kiosk mode.

The tabs (:class:`~kiosk.screens.librarian_panel.LibrarianPanel`) are the same at the
desk; this screen is their host at the kiosk: it runs their service calls on the
kiosk's database thread and knows the kiosk's camera, decoder and sync. A card or a
book scanned here opens that patron or copy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView
from kiosk.data.librarian.daybook import DayBook, export_folder
from kiosk.locale import t
from kiosk.screens.base import KioskScreen
from kiosk.screens.librarian_actions import PanelActions, device_lines
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.scan_bar import ScanBar
from kiosk.widgets.status_bar import sync_text

T = TypeVar("T")


class LibrarianScreen(PanelActions, KioskScreen):
    """Opened with a librarian's card and PIN; times out like every screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "press('returns-only')", show=False, id="librarian.returns_only"),
        Binding("f3", "press('back')", show=False, id="librarian.back"),
        Binding("f10", "press('exit')", show=False, id="librarian.exit"),
        *PanelActions.PANEL_BINDINGS,
    ]

    IDLE_TIMEOUT: ClassVar[float | None] = 120.0

    def __init__(self, librarian: PatronView) -> None:
        super().__init__()
        self.librarian = librarian
        self.daybook = DayBook(self.circulation)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="librarian"):
            yield Static(id="librarian-head", markup=False)
            yield LibrarianPanel(self, id="panel")
            with Horizontal(id="actions"):
                yield BigButton("", key="f2", id="returns-only", variant="warning")
                yield BigButton(t("librarian.back"), key="f3", id="back", variant="primary")
                yield BigButton(t("stock.menu_short"), key="f12", id="stock-menu")
                yield BigButton(t("librarian.exit"), key="f10", id="exit", variant="error")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_state()

    def on_screen_resume(self) -> None:
        """Back from a dialog: the focus goes back where it was (the kiosk's screens give
        it to the scan field; here typing belongs to the tab's filter)."""
        focused = self.focused
        if focused is not None and not isinstance(focused, ScanBar):
            self.call_after_refresh(focused.focus)
        else:
            self.call_after_refresh(self.panel.focus_tab)

    # -- the panel's host -------------------------------------------------------------

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a service call on the kiosk's database thread."""
        return await self.call(function, *args)

    def export_folder(self) -> Path:
        """The configured export folder, or the user's documents."""
        return export_folder(self.kiosk.config.export_dir)

    def system_lines(self) -> list[str]:
        """The kiosk's sync and devices, in words."""
        status = self.kiosk.sync.status
        lines = [t("lib.system.sync", state=sync_text(status) if status else t("lib.system.no_sync"))]
        if status is not None and status.last_sync is not None:
            lines.append(t("lib.system.last_sync", at=status.last_sync.strftime("%H:%M:%S")))
        camera = self.kiosk.camera
        return lines + device_lines(camera.state, getattr(camera.camera, "decoder", None))

    # -- scans ------------------------------------------------------------------------

    async def handle_scan(self, code: str) -> None:
        """A card opens its patron, a book its copy."""
        if await self.call(self.circulation.is_card, code):
            patron = await self.open_card(code)
            if patron is not None:
                self.open_patron(patron.number)
        else:
            self.open_copy(code.strip())

    def show_error(self, error: KioskError) -> None:
        """This screen has no message box: a refused card or a failed lookup is a notice."""
        self.notify(t(error.key, **error.params), severity="warning", markup=False)

    # -- the end-of-term switch and leaving -------------------------------------------

    def _show_state(self) -> None:
        on_ = self.kiosk.returns_only
        state = t("librarian.state_on") if on_ else t("librarian.state_off")
        self.query_one("#librarian-head", Static).update(" · ".join((
            t("librarian.heading"), t("librarian.hello", name=self.librarian.name),
            t("librarian.returns_only_state", state=state),
        )) + "\n" + t("lib.keys"))
        label = t("librarian.returns_only_off") if on_ else t("librarian.returns_only_on")
        self.query_one("#returns-only", Button).label = f"{label}  F2"

    @on(Button.Pressed, "#returns-only")
    async def toggle_returns_only(self) -> None:
        """Turn the end-of-term "returns only" switch over."""
        on = not self.kiosk.returns_only
        try:
            await self.call(self.circulation.set_returns_only, on)
        except KioskError as error:
            self.notify(t(error.key, **error.params), severity="error", markup=False)
            return
        self.kiosk.returns_only = on
        self._show_state()

    @on(Button.Pressed, "#stock-menu")
    def _stock_menu_pressed(self) -> None:
        self.action_stock_menu()

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        """Back to the attract screen, signed out."""
        self.kiosk.reset_to_attract()

    @on(Button.Pressed, "#exit")
    def leave(self) -> None:
        """Leave kiosk mode, after asking: the program ends and no student can use the
        kiosk until it is started again (F10 is next to F9, the next tab)."""
        self._leave()

    @work(exclusive=True, group="librarian-leave", exit_on_error=False)
    async def _leave(self) -> None:
        if await self.confirm(t("librarian.ask_exit")):
            self.app.exit()
