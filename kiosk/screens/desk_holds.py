"""The librarian's reservations at the desk (教师预约登记): see, cancel, reserve for a teacher.

Opened from ``kiosk desk`` (:mod:`kiosk.screens.desk`). The list puts the copies waiting
on the hold shelf first (for whom, until when), then the holds waiting for a copy (their
place in the queue, or the shelf to fetch a copy from when one is in), and names the
copies whose reservation ended and that go back to the shelf. The librarian reserves for
a teacher (one copy, or a class set of N copies for a day) and cancels a reservation
(a class set as a whole). Every change is the holds service's
(:class:`kiosk.data.lending.holds.Holds`), made on the desk's database thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.holds import CLASS_SET_MAX, Holds, HoldView
from kiosk.locale import format_date, t
from kiosk.screens.confirm import ConfirmModal
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.row_table import Column, RowTable

Run = Callable[..., Awaitable[Any]]
"""The desk's way to run a service call on its database thread."""

COLUMNS = (
    ("deskholds.col.patron", 10), ("deskholds.col.name", 8), ("deskholds.col.title", 0),
    ("deskholds.col.status", 14), ("deskholds.col.day", 16),
)
"""(Fits 80 columns with a 20-cell title; the copy on the hold shelf is found by its
title and the reader's name.)"""


def status_words(view: HoldView) -> str:
    """A hold's state as the list says it: on the hold shelf, a copy to fetch from a
    shelf, or its place in the queue."""
    if view.ready:
        return t("deskholds.status.ready")
    if view.on_shelf:
        return t("deskholds.status.fetch", shelf=view.on_shelf)
    return t("deskholds.status.waiting", position=view.position)


def hold_row(view: HoldView) -> tuple[str, ...]:
    """A hold as one line of the list: who, the book, its state and its day (the last
    day a ready copy waits, or the day a class set is for)."""
    day = view.until if view.ready else view.needed_on
    return (view.patron, view.name, view.title, status_words(view),
            format_date(day) if day else "")


class DeskHoldsScreen(Screen[None]):
    """The open reservations, with the librarian's actions on them.

    Args:
        holds: the holds service on the desk's database.
        run: runs a service call on the desk's database thread.
        librarian: the signed-in librarian's number (written into the facts as ``by``).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", show=False, id="deskholds.close"),
        Binding("f2", "reserve", show=False, id="deskholds.reserve"),
        Binding("f8", "cancel_hold", show=False, id="deskholds.cancel"),
    ]

    def __init__(self, holds: Holds, run: Run, librarian: str) -> None:
        super().__init__()
        self.holds = holds
        self.run_db = run
        self.librarian = librarian
        self.views: list[HoldView] = []
        self.filled = 0
        """How many times the list was filled (tests wait for a new one)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="librarian"):
            yield Static(t("deskholds.title"), id="librarian-head", markup=False)
            yield Static("", id="holds-count", markup=False)
            yield RowTable([Column(t(key), width) for key, width in COLUMNS], id="holds-table")
            yield Static("", id="holds-reshelve", markup=False)
            yield Static("", id="holds-message", markup=False)
            with Horizontal(id="actions"):
                yield BigButton(t("deskholds.reserve"), key="f2", id="holds-reserve",
                                variant="primary")
                yield BigButton(t("deskholds.cancel"), key="f8", id="holds-cancel",
                                variant="warning")
                yield BigButton(t("deskholds.close"), key="escape", id="holds-close")

    def on_mount(self) -> None:
        self.query_one(RowTable).focus()
        self.refresh_list(expire=True)

    @work(group="desk-holds", exclusive=True, exit_on_error=False)
    async def refresh_list(self, expire: bool = False) -> None:
        """Read the open reservations again (ending the expired ones first)."""
        try:
            if expire:
                await self.run_db(self.holds.expire_due)
            self.views = await self.run_db(self.holds.open_holds)
            back = await self.run_db(self.holds.to_reshelve)
        except KioskError as error:
            self.say(t(error.key, **error.params))
            return
        table = self.query_one(RowTable)
        table.set_rows([hold_row(v) for v in self.views], keys=[v.hold_id for v in self.views])
        ready = sum(1 for v in self.views if v.ready)
        count = self.query_one("#holds-count", Static)
        count.update(t("deskholds.count", ready=ready, waiting=len(self.views) - ready)
                     if self.views else t("deskholds.none"))
        reshelve = self.query_one("#holds-reshelve", Static)
        reshelve.update(t("deskholds.reshelve", books="; ".join(
            f"{r.barcode} “{r.title}” ({r.shelf})" for r in back
        )) if back else "")
        reshelve.display = bool(back)
        self.filled += 1

    def say(self, message: str) -> None:
        """A line under the list: what was done, or why not."""
        self.query_one("#holds-message", Static).update(message)

    def chosen(self) -> HoldView | None:
        """The reservation under the cursor."""
        key = self.query_one(RowTable).chosen_key
        return next((v for v in self.views if v.hold_id == key), None)

    @on(Button.Pressed, "#holds-cancel")
    @work(group="desk-holds-cancel", exclusive=True, exit_on_error=False)
    async def action_cancel_hold(self) -> None:
        """Cancel the reservation under the cursor (a class set: all of it), once asked."""
        view = self.chosen()
        if view is None:
            return
        key = "deskholds.ask_cancel_set" if view.class_set else "deskholds.ask_cancel"
        question = t(key, name=view.name, title=view.title)
        if not await self.app.push_screen_wait(ConfirmModal(question)):
            return
        try:
            title = await self.run_db(partial(
                self.holds.cancel, view.hold_id, by=self.librarian,
                whole_set=bool(view.class_set),
            ))
        except KioskError as error:
            self.say(t(error.key, **error.params))
        else:
            self.say(t("holds.cancelled", title=title))
        self.refresh_list()

    @on(Button.Pressed, "#holds-reserve")
    @work(group="desk-holds-reserve", exclusive=True, exit_on_error=False)
    async def action_reserve(self) -> None:
        """Reserve for a teacher (the form), then show the list again."""
        said = await self.app.push_screen_wait(TeacherReserveModal(self.holds, self.run_db,
                                                                   self.librarian))
        if said:
            self.say(said)
            self.refresh_list()

    @on(Button.Pressed, "#holds-close")
    def action_close(self) -> None:
        """Back to the librarian's tabs."""
        self.dismiss(None)


class TeacherReserveModal(ModalScreen[str | None]):
    """The teacher's number, the book, how many copies and for which day; dismisses with
    what was done (``None``: nothing)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", show=False, id="deskholds.form.back"),
    ]

    def __init__(self, holds: Holds, run: Run, librarian: str) -> None:
        super().__init__()
        self.holds = holds
        self.run_db = run
        self.librarian = librarian

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("deskholds.form.heading"), id="question", markup=False)
            yield Input(placeholder=t("deskholds.form.teacher"), max_length=40, id="teacher")
            yield Input(placeholder=t("deskholds.form.book"), max_length=64, id="book")
            yield Input(placeholder=t("deskholds.form.count"), max_length=3, id="count",
                        restrict=r"[0-9]*")
            yield Input(placeholder=t("deskholds.form.day"), max_length=10, id="day")
            yield Static("", id="pin-message", markup=False)
            with Horizontal(id="choices"):
                yield Button(t("deskholds.form.ok"), id="form-ok", variant="primary")
                yield Button(t("deskholds.form.back"), id="form-back")

    def on_mount(self) -> None:
        self.query_one("#teacher", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        order = ["teacher", "book", "count", "day"]
        name = event.input.id or ""
        if name in order[:-1]:
            self.query_one(f"#{order[order.index(name) + 1]}", Input).focus()
        else:
            self.run_worker(self.submit(), group="form", exclusive=True, exit_on_error=False)

    def _say(self, message: str, focus: str) -> None:
        self.query_one("#pin-message", Static).update(message)
        self.query_one(f"#{focus}", Input).focus()

    @on(Button.Pressed, "#form-ok")
    async def submit(self) -> None:
        """Check what was typed and reserve; a refusal is said here, the form kept."""
        number = self.query_one("#teacher", Input).value.strip()
        book = self.query_one("#book", Input).value.strip()
        count_text = self.query_one("#count", Input).value.strip() or "1"
        day_text = self.query_one("#day", Input).value.strip()
        if not number:
            self._say(t("deskholds.form.no_teacher", number="?"), "teacher")
            return
        count = int(count_text) if count_text.isdigit() else 0
        if not 1 <= count <= CLASS_SET_MAX:
            self._say(t("deskholds.form.bad_count", limit=CLASS_SET_MAX), "count")
            return
        try:
            day = date.fromisoformat(day_text) if day_text else None
        except ValueError:
            self._say(t("deskholds.form.bad_day"), "day")
            return
        try:
            if count == 1:
                placed = await self.run_db(partial(
                    self.holds.place, number, barcode=book, by=self.librarian, needed_on=day
                ))
            else:
                if day is None:
                    self._say(t("deskholds.form.bad_day"), "day")
                    return
                placed = await self.run_db(partial(
                    self.holds.place_class_set, number, count, day, barcode=book,
                    by=self.librarian,
                ))
        except KioskError as error:
            if error.key == "patron.unknown":
                self._say(t("deskholds.form.no_teacher", number=number), "teacher")
            else:
                self._say(t(error.key, **error.params), "book")
            return
        self.dismiss(t("deskholds.placed", count=placed.count, title=placed.title,
                       name=number))

    @on(Button.Pressed, "#form-back")
    def action_back(self) -> None:
        """Back to the list, reserving nothing."""
        self.dismiss(None)
