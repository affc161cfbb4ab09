"""The attract screen: what the kiosk shows while nobody uses it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Static

from kiosk.data.core.errors import KioskError
from kiosk.locale import language, other_language, set_language, t
from kiosk.screens.base import KioskScreen
from kiosk.screens.find import FindScreen
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.verdict import Verdict


class AttractScreen(KioskScreen):
    """"Show your card" and "Return books", in Chinese or English.

    A card opens the patron's page (a librarian's card asks for the PIN); a book's
    barcode starts returning straight away, so a child with a pile of books need
    not find the button first. Anything else (a word typed at the keyboard) is said
    to be neither, here.
    """

    SHOWS_CAMERA = True

    BINDINGS = [Binding("f2", "press('return')", show=False, id="attract.return"),
               Binding("f3", "press('language')", show=False, id="attract.language"),
               Binding("f5", "press('find')", show=False, id="attract.find")]

    IDLE_TIMEOUT: ClassVar[float | None] = None
    VERDICT_SECONDS = 8.0

    def __init__(self) -> None:
        super().__init__()
        self.drawn_in = language()
        self._verdict_timer: Timer | None = None
        self._pending: KioskError | None = None

    def compose_body(self) -> ComposeResult:
        self.drawn_in = language()
        with Vertical(id="attract"):
            yield Static(id="headline", markup=False)
            yield Static(id="hint", markup=False)
            yield Verdict(id="verdict")
            with Center(), Horizontal(id="actions"):
                yield BigButton(
                    t("attract.return_button"), key="f2", id="return", variant="primary"
                )
                yield BigButton(t("language.switch"), key="f3", id="language")
                yield BigButton(t("find.button"), key="f5", id="find")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_mode()

    def show_mode(self) -> None:
        """Invite to borrow, or, at the end of term, say that books are only returned."""
        only = self.kiosk.returns_only
        headline = self.query_one("#headline", Static)
        headline.update(t("attract.headline_returns_only" if only else "attract.headline"))
        headline.set_class(only, "-returns-only")
        self.query_one("#hint", Static).update(
            t("attract.hint_returns_only" if only else "attract.hint"))

    async def on_screen_resume(self) -> None:
        if self.drawn_in != language():  # the visit ended: back to the kiosk's language
            await self.recompose()
            self.on_mount()
        super().on_screen_resume()
        self.show_mode()
        self.query_one(Verdict).clear()
        if self._pending is not None:
            error, self._pending = self._pending, None
            self.refuse(error)

    @on(Button.Pressed, "#return")
    def start_returns(self) -> None:
        """Open the returns screen."""
        self.kiosk.open_returns()

    @on(Button.Pressed, "#find")
    def find_a_book(self) -> None:
        """Open "find a book" (no card needed)."""
        self.kiosk.touch()
        self.app.push_screen(FindScreen())

    @on(Button.Pressed, "#language")
    async def switch_language(self) -> None:
        """Switch between Chinese and English and redraw."""
        set_language(other_language())
        await self.recompose()
        self.on_mount()

    async def handle_scan(self, code: str) -> None:
        verdict = self.query_one(Verdict)
        verdict.clear()
        if not await self.call(self.circulation.is_card, code):
            try:
                await self.call(self.circulation.check_book, code)
            except KioskError as error:  # neither a card nor a book: say so, stay here
                self.refuse(error)
                return
            self.kiosk.open_returns(first_code=code)
            return
        patron = await self.open_card(code)
        if patron is None:
            self._clear_later()
            return
        self.kiosk.open_patron(patron)

    def refuse_on_return(self, error: KioskError) -> None:
        """Show why a card was refused as soon as the kiosk is back at this screen."""
        self._pending = error

    def refuse(self, error: KioskError) -> None:
        """Show why a card was refused (for a while)."""
        self.query_one(Verdict).refuse(error)
        self._clear_later()

    def _clear_later(self) -> None:
        if self._verdict_timer is not None:
            self._verdict_timer.stop()
        self._verdict_timer = self.set_timer(self.VERDICT_SECONDS, self.query_one(Verdict).clear)
