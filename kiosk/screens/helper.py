"""Helper mode: a student helper's return station, one scan a book, fast.

A helper's card opens :class:`HelperScreen` and starts the helper's shift. Each book
scanned is returned at once, and the screen says in big words where it goes: its
shelf, the hold shelf (with the name of who reserved it), or the repair box when the
helper pressed the "damaged" key first. Every book counts once for the helper's shift
(the best-helper award). The helper's card again, another card, or the idle timeout ends
helper mode and the shift; "My books" ends it and opens the helper's own page, to
borrow and return like any student.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static
from textual.worker import Worker

from kiosk.bridges.messages import Scanned
from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView, ReturnResult
from kiosk.data.roles import HelperScan, ShiftView
from kiosk.locale import t
from kiosk.locale.names import shown
from kiosk.screens.base import KioskScreen
from kiosk.screens.patron import PatronScreen
from kiosk.screens.shelf_check import ROLES_CSS, ShelfCheckScreen
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.big_words import BigWords
from kiosk.widgets.verdict import KINDS, Verdict

log = logging.getLogger(__name__)


def big_words(result: ReturnResult, damaged: bool) -> str:
    """The few words a helper reads from afar: the shelf's code, else where it goes."""
    if damaged:
        return t("helper.big.repair")
    if result.destination == "hold_shelf":
        return t("helper.big.hold")
    if result.destination == "desk":
        return t("helper.big.desk")
    return result.shelf or t("helper.big.trolley")


def where_it_goes(result: ReturnResult, damaged: bool) -> tuple[str, str, str]:
    """Where a returned book goes, in big words first, the message's kind and its sound
    (``librarian`` for a book for the desk, else ``done``: the helper's scan worked)."""
    if damaged:
        big, kind = t("helper.to_repair"), "warn"
    elif result.destination == "hold_shelf":
        big, kind = t("helper.to_hold", name=shown(result.hold_for)), "warn"
    elif result.destination == "desk":
        big, kind = t("helper.to_desk"), "warn"
    elif result.shelf:
        big, kind = t("helper.to_shelf", shelf=result.shelf), "ok"
    else:
        big, kind = t("helper.to_trolley"), "ok"
    lines = [big, result.title]
    if result.destination == "not_on_loan":
        lines.append(t("helper.not_on_loan"))
        kind = "info"
    sound = "librarian" if result.destination == "desk" and not damaged else "done"
    return "\n".join(lines), kind, sound


class HelperScreen(KioskScreen):
    """The return station of a helper's shift."""

    CSS_PATH = ROLES_CSS
    SHOWS_CAMERA = True
    ENDED_TIMEOUT: ClassVar[float] = 10.0

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "primary", show=False, id="helper.done"),
        Binding("f3", "press('damaged')", show=False, id="helper.damaged"),
        Binding("f4", "press('check-shelf')", show=False, id="helper.shelf_check"),
        Binding("f5", "press('mine')", show=False, id="helper.my_books"),
        Binding("f6", "corner", show=False, id="helper.corner"),
    ]

    def __init__(self, helper: PatronView) -> None:
        super().__init__()
        self.helper = helper
        self.shift: ShiftView | None = None
        self.damaged = False
        """The next book scanned is damaged: it goes to the repair box."""
        self.ended = False
        self._starting: Worker[None] | None = None
        self.leaving = False
        """The helper pressed "My books" (a second press does nothing)."""
        self.returned: set[str] = set()
        self.not_lent: set[str] = set()
        """Books scanned in this shift that were not on loan: put away, not returned,
        so said apart from the count of books returned (which the shift keeps)."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="helper"):
            yield Static(t("helper.heading", name=shown(self.helper.name)), id="headline",
                         markup=False)
            yield Static(t("helper.hint"), id="hint", markup=False)
            with Horizontal(id="where"):  # the shelf in block letters beside the message
                yield BigWords(id="big-where")
                yield Verdict(id="verdict", classes="big")
            yield Static(t("helper.damaged_armed"), id="damaged-armed", markup=False)
            yield Static(t("helper.count", count=0), id="count", markup=False)
            with Horizontal(id="actions"):
                yield BigButton(t("helper.done"), key="f2", id="done", variant="success")
                yield BigButton(t("helper.damaged"), key="f3", id="damaged", variant="warning")
                yield BigButton(t("helper.shelf_check"), key="f4", id="check-shelf")
                yield BigButton(t("corner.start"), key="f6", id="corner")
                yield BigButton(t("helper.ok"), key="f2", id="ok", variant="success")
                yield BigButton(t("helper.my_books"), key="f5", id="mine", variant="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_buttons()
        # The app, not this screen, runs the start: a screen that goes meanwhile (the
        # idle timeout, another card) neither cancels it half-way nor waits for it.
        self._starting = self.kiosk.run_worker(
            self._start_shift(), group="helper-shift", exit_on_error=False
        )

    async def _start_shift(self) -> None:
        """Start the shift; if the screen has gone meanwhile, end the shift at once."""
        try:
            shift = await self.kiosk.run_db(self.roles.shifts.start_shift, self.helper.number)
        except KioskError as error:
            self.show_error(error)
            return
        self.shift = shift
        if self not in self.kiosk.screen_stack:
            # Its unmount found no shift to end: end it now, or it stays open for ever.
            self._end_in_background()

    async def _started(self) -> None:
        """Wait for the shift's start (a scan or a key in the first moment waits for it)."""
        if self._starting is not None and not self._starting.is_finished:
            try:
                await self._starting.wait()
            except Exception:  # the start failed: the screen has said why
                log.exception("the helper's shift did not start")

    def on_unmount(self) -> None:
        """Helper mode ends however the screen goes (the idle timeout, most often)."""
        self._end_in_background()

    def _end_in_background(self) -> None:
        """End the shift (once) without waiting: the screen may be gone already."""
        if self.shift is not None and not self.ended:
            self.ended = True
            app, shift_id = self.kiosk, self.shift.id
            app.run_worker(
                app.run_db(self.roles.shifts.end_shift, shift_id, "timeout"),
                group="helper-shift", exit_on_error=False,
            )

    def timeout(self, configured: float) -> float | None:
        return self.ENDED_TIMEOUT if self.ended else self.kiosk.config.helper_idle_timeout

    def _show_buttons(self) -> None:
        # (a class corner's button: shown by the styles, wide screens only; F6 always)
        self.query_one("#helper").set_class(self.ended, "-ended")
        for name in ("done", "damaged", "check-shelf"):
            self.query_one(f"#{name}").display = not self.ended
        self.query_one("#ok").display = self.ended
        self.query_one("#damaged-armed").display = self.damaged and not self.ended

    def action_primary(self) -> None:
        """F2: "Done" in helper mode, "OK" on the thank-you."""
        self.action_press("ok" if self.ended else "done")

    @on(Button.Pressed, "#damaged")
    def toggle_damaged(self) -> None:
        """The next book is damaged (pressed again: it is not)."""
        self.damaged = not self.damaged
        self._show_buttons()

    @on(Button.Pressed, "#check-shelf")
    def shelf_check(self) -> None:
        """Check a shelf; the shift goes on meanwhile."""
        self.damaged = False
        self._show_buttons()
        self.app.push_screen(ShelfCheckScreen(self.helper))

    def action_corner(self) -> None:
        """F6, whether its button is shown or not (a narrow screen has no room for it)."""
        self.corner()

    @on(Button.Pressed, "#corner")
    def corner(self) -> None:
        """Bring a class corner's books back in one go (the missing ones are listed)."""
        from kiosk.screens.corner import CornerModal

        if self.ended:
            return
        self.damaged = False
        self._show_buttons()
        self.app.push_screen(
            CornerModal(self.call, self.roles, self.helper.number, returns_only=True)
        )

    @on(Button.Pressed, "#done")
    async def done(self) -> None:
        """End helper mode with thanks."""
        await self.finish("button")

    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        """Back to the start."""
        self.kiosk.reset_to_attract()

    @on(Button.Pressed, "#mine")
    async def my_books(self) -> None:
        """End the shift and open the helper's own page: a helper borrows like anyone."""
        if self.leaving:
            return  # pressed twice: the page is opening
        self.leaving = True
        await self.close_shift("own_books")
        self.kiosk.touch()
        self.app.switch_screen(PatronScreen(self.helper))  # (not the routing: helper mode)

    async def close_shift(self, ended_by: str) -> ShiftView | None:
        """End the shift (once)."""
        await self._started()
        if self.shift is None or self.ended:
            return None
        self.ended = True
        try:
            self.shift = await self.call(self.roles.shifts.end_shift, self.shift.id, ended_by)
        except KioskError as error:
            self.show_error(error)
            return None
        return self.shift

    async def finish(self, ended_by: str) -> None:
        """End the shift and thank the helper."""
        shift = await self.close_shift(ended_by)
        self.damaged = False
        self._show_buttons()
        self.show_big("")
        if shift is not None:
            self.query_one("#hint", Static).update("")
            self.query_one(Verdict).say(
                t("helper.thanks", name=shown(self.helper.name), count=shift.books), "ok"
            )

    async def handle_scan(self, code: str) -> None:
        verdict = self.query_one(Verdict)
        self.show_big("")
        await self._started()
        if self.ended:
            self.kiosk.reset_to_attract()
            self.kiosk.attract.post_message(Scanned(code, "scanner"))
            return
        if self.shift is None:
            if await self.call(self.circulation.is_card, code):
                await self._card(code)
            else:
                verdict.refuse(KioskError("helper.no_shift"))
            return
        damaged, self.damaged = self.damaged, False
        try:
            result = await self.call(self._scan, self.shift.id, code, damaged)
        except KioskError as error:
            verdict.refuse(error)
            return
        finally:
            if damaged:
                self._show_buttons()
        if result is None:
            self.damaged = damaged  # a card, not the damaged book: still armed
            self._show_buttons()
            await self._card(code)
            return
        done = result.result
        if done.lent:
            self.returned.add(done.barcode)
        elif done.barcode not in self.returned:
            self.not_lent.add(done.barcode)
        self.query_one("#count", Static).update(self.count_text(result.books), layout=False)
        text, kind, sound = where_it_goes(done, damaged)
        self.show_big(big_words(done, damaged), kind)
        verdict.say(text, kind, sound)

    def show_big(self, words: str, kind: str = "") -> None:
        """Where the book goes in block letters above the message (hidden: ``""``)."""
        big = self.query_one(BigWords)
        big.display = bool(words)
        for name in KINDS:
            big.set_class(name == kind, f"-{name}")
        big.show(words)

    def count_text(self, books: int) -> str:
        """The shift's count of books returned, and apart from it the books that were
        not on loan (one line, always)."""
        text = t("helper.count", count=books)
        if self.not_lent:
            text += "  " + t("helper.count_not_lent", count=len(self.not_lent))
        return text

    def _scan(self, shift_id: str, code: str, damaged: bool) -> HelperScan | None:
        return self.roles.shifts.helper_scan(shift_id, code, damaged=damaged)

    async def _card(self, code: str) -> None:
        patron = await self.open_card(code)
        if patron is None:
            return
        if patron.number == self.helper.number:
            await self.finish("card")
        elif patron.kind == "librarian":
            self.kiosk.open_patron(patron)  # the PIN; helper mode carries on underneath
        else:
            await self.close_shift("other_card")
            self.kiosk.open_patron(patron, replace=True)
