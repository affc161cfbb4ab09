"""``kiosk desk``: the librarian's screens on the desk computer, in a normal window.

The same tabs as the kiosk's librarian screen (:mod:`kiosk.screens.librarian_panel`)
on the desk's database (SQLite or PostgreSQL), after a sign-in with the librarian's
card (scanned or typed number) and PIN. Not locked: ctrl+q quits. Facts made here
(returns and renewals by hand, revoked cards, reviewed cases) are the desk's own,
numbered like every fact the desk accepts, so every kiosk receives them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from kiosk.bridges.db_thread import DatabaseThread
from kiosk.config import Config
from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import Circulation, PatronView
from kiosk.data.lending.holds import Holds
from kiosk.data.librarian.daybook import DayBook, export_folder
from kiosk.locale import set_language, t
from kiosk.screens.base import ACTIVITY
from kiosk.screens.desk_holds import DeskHoldsScreen
from kiosk.screens.librarian_actions import PanelActions, device_lines
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets import text_wrap
from kiosk.widgets.big_button import BigButton

T = TypeVar("T")

log = logging.getLogger(__name__)

DESK_KIOSK_ID = "desk"
"""The name the desk's own facts carry (as the desk's master data does)."""

IDLE_CHECK_EVERY = 0.5
"""Seconds between two looks at how long the desk has been quiet."""



class DeskApp(App[None]):
    """The desk: sign in, then the librarian's tabs.

    After ``config.desk_idle_minutes`` without a key, click or scroll the librarian is
    signed out (as the kiosk forgets a student who walked away): a desk left open
    shows every reader's loans and can revoke cards, to whoever sits down next.
    """

    TITLE = "Library Desk"
    CSS_PATH = str(files("kiosk.assets").joinpath("kiosk.tcss"))
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 (App's type)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", show=False, priority=True, id="desk.quit")]

    def __init__(
        self, circulation: Circulation, config: Config, *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.circulation = circulation
        self.config = config
        self.daybook = DayBook(circulation)
        self._db = DatabaseThread(circulation.store)
        self._monotonic = monotonic
        self._last_activity = monotonic()
        set_language(config.language)
        text_wrap.install()  # Chinese lines break by Chinese rules

    async def run_db(self, function: Callable[..., T], *args: Any) -> T:
        """Run a service call on the desk's database thread and await its result."""
        return await self._db.run(function, *args)

    def on_mount(self) -> None:
        self.push_screen(DeskLogin())
        self.set_interval(IDLE_CHECK_EVERY, self.sign_out_when_idle)

    def on_unmount(self) -> None:
        self._db.close()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, ACTIVITY):  # the librarian is at the desk
            self.touch()
        await super().on_event(event)

    def touch(self) -> None:
        """The librarian is at the desk: the quiet minutes start again."""
        self._last_activity = self._monotonic()

    def sign_out_when_idle(self) -> None:
        """Sign out when the librarian has been away for the configured minutes."""
        minutes = self.config.desk_idle_minutes
        if minutes <= 0 or not any(isinstance(s, DeskScreen) for s in self.screen_stack):
            return
        if self._monotonic() - self._last_activity >= minutes * 60:
            log.info("desk signed out after %s quiet minutes", minutes)
            self.sign_out(t("lib.desk.idle_signed_out", minutes=f"{minutes:g}"))

    def signed_in(self, librarian: PatronView) -> None:
        """The right card and PIN: the librarian's tabs."""
        self.touch()
        self.switch_screen(DeskScreen(librarian))

    def sign_out(self, message: str = "") -> None:
        """Back to the sign-in (closing any dialog over the tabs), saying ``message``."""
        while len(self.screen_stack) > 2 and not isinstance(self.screen, DeskScreen):
            self.pop_screen()
        self.switch_screen(DeskLogin(message))


class DeskLogin(Screen[None]):
    """The librarian's card (scanned or typed number) and PIN."""

    def __init__(self, message: str = "") -> None:
        super().__init__()
        self.message = message
        """Said under the fields (why the librarian was signed out)."""

    @property
    def desk(self) -> DeskApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("lib.desk.heading"), id="question", markup=False)
            yield Input(placeholder=t("lib.desk.card"), max_length=200, id="card")
            yield Input(placeholder=t("lib.desk.pin"), password=True, max_length=32, id="pin")
            yield Static(self.message, id="pin-message", markup=False)
            with Horizontal(id="choices"):
                yield Button(t("lib.desk.sign_in"), id="sign-in", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#card", Input).focus()

    @on(Input.Submitted, "#card")
    def _card_entered(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#sign-in")
    async def sign_in(self) -> None:
        """Check the card and the PIN; the right pair opens the tabs."""
        code = self.query_one("#card", Input).value.strip()
        pin_field = self.query_one("#pin", Input)
        pin, pin_field.value = pin_field.value, ""
        circulation = self.desk.circulation
        if not code:
            self._say(t("lib.desk.card_first"), "#card")
            return
        try:
            if await self.desk.run_db(circulation.is_card, code):
                patron = await self.desk.run_db(circulation.open_card, code)
            else:
                patron = await self.desk.run_db(circulation.patron, code)
        except KioskError as error:
            self._say(t(error.key, **error.params), "#card")
            return
        if patron.kind != "librarian":
            self._say(t("card.not_staff"), "#card")
            return
        try:
            ok = await self.desk.run_db(circulation.check_librarian, patron.number, pin)
        except KioskError as error:
            self._say(t(error.key, **error.params), "#pin")
            return
        if not ok:
            self._say(t("pin.wrong"), "#pin")
            return
        self.desk.signed_in(patron)

    def _say(self, message: str, focus: str) -> None:
        self.query_one("#pin-message", Static).update(message)
        self.query_one(focus, Input).focus()


class DeskScreen(PanelActions, Screen[None]):
    """The librarian's tabs at the desk."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f3", "sign_out", show=False, id="desk.sign_out"),
        Binding("f10", "quit_desk", show=False, id="desk.quit_button"),
        Binding("f11", "holds", show=False, id="desk.holds"),
        *PanelActions.PANEL_BINDINGS,
    ]

    def __init__(self, librarian: PatronView) -> None:
        super().__init__()
        self.librarian = librarian

    @property
    def desk(self) -> DeskApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def daybook(self) -> DayBook:
        """The desk's librarian service."""
        return self.desk.daybook

    def compose(self) -> ComposeResult:
        with Vertical(id="librarian"):
            yield Static(" · ".join((
                t("lib.desk.title"), t("librarian.hello", name=self.librarian.name)
            )) + "\n" + t("lib.keys"), id="librarian-head", markup=False)
            yield LibrarianPanel(self, id="panel")
            with Horizontal(id="actions"):
                yield BigButton(t("lib.desk.sign_out"), key="f3", id="sign-out",
                                variant="primary")
                yield BigButton(t("deskholds.button"), key="f11", id="holds", variant="default")
                yield BigButton(t("stock.menu_short"), key="f12", id="stock-menu")
                yield BigButton(t("lib.desk.quit"), key="f10", id="quit", variant="error")

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a service call on the desk's database thread."""
        return await self.desk.run_db(function, *args)

    def export_folder(self) -> Path:
        """The configured export folder, or the user's documents."""
        return export_folder(self.desk.config.export_dir)

    def system_lines(self) -> list[str]:
        """The desk has no camera; its scanner types where the cursor is."""
        return device_lines("off", None)

    @on(Button.Pressed, "#stock-menu")
    def _stock_menu_pressed(self) -> None:
        self.action_stock_menu()

    @on(Button.Pressed, "#sign-out")
    def action_sign_out(self) -> None:
        """Sign out: back to the card and PIN."""
        self.desk.sign_out()

    @on(Button.Pressed, "#holds")
    def action_holds(self) -> None:
        """The reservations: see, cancel, reserve for a teacher (screens/desk_holds.py)."""
        holds = Holds(self.desk.circulation)
        self.app.push_screen(DeskHoldsScreen(holds, self.run, self.librarian.number))

    @on(Button.Pressed, "#quit")
    def action_quit_desk(self) -> None:
        """Close the desk program, after asking (F10 is next to F9, the next tab)."""
        self._quit()

    @work(exclusive=True, group="desk-quit", exit_on_error=False)
    async def _quit(self) -> None:
        if await self.confirm(t("lib.desk.ask_quit")):
            self.app.exit()
