"""Finding a book (找书): type or touch letters, see the titles, their shelves, and
whether a copy is in.

Reached from the start screen and from a patron's page (F5, or the button). Every
keystroke searches (:class:`kiosk.data.lending.finding.Finder`, on the database
thread); one search runs at a time and, when it comes back, the newest text typed
meanwhile is searched next, so the database thread never queues up stale searches
and an older result never replaces a newer one on the screen.

A scanned book (its label or its ISBN) is looked up like typed text; a library card
opens that patron's page, as it would on the screen below.

Reserving: the title under the cursor is :attr:`FindScreen.chosen` (a plain
:class:`~kiosk.data.lending.finding.FoundTitle` with its ``title_id`` and ``key``); the
screen posts :class:`FindScreen.TitleChosen` when it changes, and
:meth:`FindScreen.compose_title_actions` yields the buttons that act on it, shown under
its details: "Reserve" (F3) for the patron whose page opened the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView
from kiosk.data.lending.finding import LIMIT, Finder, FindResult, FoundTitle
from kiosk.data.lending.holds import Holds
from kiosk.locale import format_date, t
from kiosk.screens.base import KioskScreen
from kiosk.screens.reserve import reserve
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.letter_pad import BACKSPACE, CLEAR, SPACE, LetterPad, typed
from kiosk.widgets.row_table import Column, RowTable
from kiosk.widgets.scan_bar import ScanBar
from kiosk.widgets.verdict import Verdict

FIND_CSS = str(files("kiosk.assets").joinpath("find.tcss"))

QUERY_LENGTH = 60
"""The longest text searched for (a title's worth)."""


class ResultTable(RowTable, can_focus=False):
    """The titles found; touched or moved with the arrow keys, never focused (typing
    stays in the search field). Posts :class:`ResultTable.Moved` as the cursor moves."""

    @dataclass
    class Moved(Message):
        """The cursor is on another row."""

        table: ResultTable

        @property
        def control(self) -> ResultTable:
            """The table whose cursor moved."""
            return self.table

    def watch_cursor(self, old: int, new: int) -> None:
        super().watch_cursor(old, new)
        self.post_message(self.Moved(self))


def describe(found: FoundTitle, today: date) -> str:
    """Where the title is and whether one is in, as a child reads it (two lines)."""
    head = [found.title]
    if found.author:
        head.append(t("find.by", author=found.author))
    if found.series:
        head.append(t("find.series", series=found.series))
    if found.shelf and found.call_number:
        where = t("find.where", shelf=found.shelf, call=found.call_number)
    elif found.shelf:
        where = t("find.where_no_call", shelf=found.shelf)
    else:
        where = ""
    if found.copies == 0:
        state = t("find.no_copies")
    elif found.reference:
        state = t("find.reference")
    elif found.copies_in:
        state = t("find.in", count=found.copies_in)
    elif found.next_due is not None:
        key = "find.out_overdue" if found.next_due < today else "find.out"
        state = t(key, date=format_date(found.next_due))
    else:
        state = t("find.unavailable")
    return "  ·  ".join(head) + "\n" + " ".join(part for part in (where, state) if part)


def row_of(found: FoundTitle) -> tuple[str, str, str, str, str]:
    """The table's cells for one title: title, call number, shelf, copies in, due back."""
    if found.reference and found.copies:
        copies_in = t("find.cell.read_here")
    elif found.copies:
        copies_in = t("find.cell.in", count=found.copies_in, total=found.copies)
    else:
        copies_in = t("find.cell.none")
    back = ""
    if found.copies and not found.copies_in and found.next_due is not None:
        back = format_date(found.next_due)
    return (found.title, found.call_number, found.shelf, copies_in, back)


class FindScreen(KioskScreen):
    """Search the catalogue by title, author, series, ISBN or pinyin initials.

    Args:
        patron: the patron whose page opened it (``None``: the start screen did);
            a reservation made here is theirs.
    """

    CSS_PATH = FIND_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "press('back')", show=False, id="find.back"),
        Binding("f3", "press('reserve')", show=False, id="find.reserve"),
        Binding("escape", "press('back')", show=False, id="find.escape"),
        Binding("down", "move(1)", show=False, id="find.down"),
        Binding("up", "move(-1)", show=False, id="find.up"),
        Binding("pagedown", "move(5)", show=False, id="find.page_down"),
        Binding("pageup", "move(-5)", show=False, id="find.page_up"),
    ]

    @dataclass
    class TitleChosen(Message):
        """The title under the cursor changed (``found`` is ``None``: no title)."""

        screen: FindScreen
        found: FoundTitle | None

        @property
        def control(self) -> FindScreen:
            """The find screen."""
            return self.screen

    def __init__(self, patron: PatronView | None = None) -> None:
        super().__init__()
        self.patron = patron
        self.result = FindResult("")
        """The result on screen."""
        self.searches = 0
        """How many searches ran (tests and the bench read it)."""
        self._wanted = ""
        self._shown = ""
        self._searching = False
        self._finder: Finder | None = None
        self._chosen_id: int | None = None

    @property
    def finder(self) -> Finder:
        """The search service on the kiosk's database."""
        if self._finder is None:
            self._finder = Finder(self.circulation.store)
        return self._finder

    # -- layout -----------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Vertical(id="find"):
            with Horizontal(id="find-head"):
                yield Static(t("find.heading"), id="find-heading", markup=False)
                yield Input(
                    placeholder=t("find.placeholder"), max_length=QUERY_LENGTH,
                    id="query", select_on_focus=False,
                )
            yield Static(t("find.hint"), id="find-state", markup=False)
            yield ResultTable(
                [
                    Column(t("find.col.title")),
                    Column(t("find.col.call"), 9),
                    Column(t("find.col.shelf"), 8),
                    Column(t("find.col.in"), 8),
                    Column(t("find.col.back"), 15),
                ],
                id="results",
                room=LIMIT,
            )
            yield Static("", id="find-detail", markup=False)
            with Horizontal(id="title-actions"):
                yield from self.compose_title_actions()
            yield Verdict(id="verdict")
            with Horizontal(id="find-bottom"):
                yield LetterPad(
                    {BACKSPACE: t("find.key.backspace"), SPACE: t("find.key.space"),
                     CLEAR: t("find.key.clear")},
                    id="pad",
                )
                yield BigButton(t("find.back"), key="f2", id="back")

    def compose_title_actions(self) -> ComposeResult:
        """The buttons that act on :attr:`chosen`, shown while a title is chosen:
        "Reserve", for the patron whose page opened this screen (where the library's
        rules let them: :meth:`_may_reserve`)."""
        if self.patron is not None:
            yield BigButton(t("reserve.button"), key="f3", id="reserve")

    def on_mount(self) -> None:
        # Typing goes to the search field: the scan field is neither shown nor focused
        # (KioskScreen's handlers give it the focus; Textual runs them after these).
        bar = self.query_one(ScanBar)
        bar.can_focus = False
        bar.display = False
        self.query_one("#title-actions").display = False
        self._may_reserve()
        self._fit()
        self.query_one("#query", Input).focus()

    def on_screen_resume(self) -> None:
        self.query_one("#query", Input).focus()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Big keys where the screen is tall enough for them."""
        self.query_one(LetterPad).roomy = self.app.size.height >= 36

    # -- typing -----------------------------------------------------------------------

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @on(LetterPad.Pressed)
    def _pad(self, event: LetterPad.Pressed) -> None:
        self.kiosk.touch()
        field = self.query_one("#query", Input)
        field.value = typed(field.value, event.value, QUERY_LENGTH)
        field.cursor_position = len(field.value)
        field.focus()

    @on(Input.Submitted, "#query")
    async def _entered(self, event: Input.Submitted) -> None:
        """Enter: a keyboard-wedge scanner ends a code with it (the field had its keys)."""
        code = event.value.strip()
        if code and await self.call(self.circulation.is_card, code):
            self.query_one("#query", Input).value = ""
            await self._card(code)

    def search(self, query: str) -> None:
        """Search for ``query`` (now, or as soon as the search running has come back)."""
        self._wanted = query
        if not self._searching:
            self._searching = True
            self.run_worker(self._search_newest(), group="find", exit_on_error=False)

    async def _search_newest(self) -> None:
        try:
            while self._shown != self._wanted:
                query = self._wanted
                try:
                    result = await self.call(self.finder.find, query)
                except KioskError as error:
                    self._shown = query
                    self.show_error(error)
                    continue
                self.searches += 1
                if query == self._wanted:  # else something newer was typed: search it
                    self._shown = query
                    self.show_result(result)
        finally:
            self._searching = False

    # -- showing ----------------------------------------------------------------------

    def show_result(self, result: FindResult) -> None:
        """Show what a search found.

        Nothing here changes the layout (the lines have fixed heights, the table stays),
        so a keystroke costs a repaint of what changed, not a layout of the screen.
        """
        self.result = result
        verdict = self.query_one(Verdict)
        if verdict.kind:
            verdict.clear()
        table = self.query_one(ResultTable)
        if not result.terms:
            state = t("find.hint")
        elif not result.titles:
            state = t("find.none", query=result.query.strip())
        elif result.more:
            state = t("find.more", count=len(result.titles))
        else:
            state = t("find.found", count=len(result.titles))
        self.query_one("#find-state", Static).update(state, layout=False)
        table.cursor = 0
        table.set_rows([row_of(found) for found in result.titles],
                       [found.title_id for found in result.titles])
        self._show_chosen()

    @property
    def chosen(self) -> FoundTitle | None:
        """The title under the cursor (``None``: nothing found)."""
        table = self.query_one(ResultTable)
        titles = self.result.titles
        return titles[table.cursor] if 0 <= table.cursor < len(titles) else None

    def _show_chosen(self) -> None:
        found = self.chosen
        detail = self.query_one("#find-detail", Static)
        detail.update(
            describe(found, self.circulation.store.today()) if found else "", layout=False
        )
        actions = self.query_one("#title-actions")
        shown = found is not None and any(button.display for button in actions.children)
        if actions.display != shown:
            actions.display = shown
        chosen_id = found.title_id if found else None
        if chosen_id != self._chosen_id:
            self._chosen_id = chosen_id
            self.post_message(self.TitleChosen(self, found))

    @on(ResultTable.Moved)
    def _moved(self) -> None:
        self._show_chosen()

    @on(RowTable.Chosen)
    def _touched(self, event: RowTable.Chosen) -> None:
        event.stop()
        self.kiosk.touch()
        self._show_chosen()
        self.query_one("#query", Input).focus()

    def action_move(self, step: int) -> None:
        """The arrow keys move through the titles while typing goes on in the field."""
        self.query_one(ResultTable).action_move(step)

    # -- reserving --------------------------------------------------------------------

    @work(group="reserve-rules", exclusive=True, exit_on_error=False)
    async def _may_reserve(self) -> None:
        """Show "Reserve" only where the library's rules let this patron reserve."""
        buttons = self.query("#reserve")
        if not buttons or self.patron is None:
            return
        try:
            rules = await self.call(Holds(self.circulation).rules)
        except KioskError:
            rules = None  # (the screen works without: a search says what is wrong)
        buttons.first().display = rules is not None and rules.may_reserve(self.patron.kind)
        self._show_chosen()

    @on(Button.Pressed, "#reserve")
    def reserve_chosen(self) -> None:
        """Reserve the chosen title for the patron (kiosk/screens/reserve.py asks first)."""
        found = self.chosen
        if self.patron is None or found is None:
            return
        reserve(self.app, self.patron.number, title_key=found.key,
                done=lambda text, kind: self.query_one(Verdict).say(text, kind))

    # -- leaving, and scans -----------------------------------------------------------

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        """Back to the screen that opened this one."""
        self.dismiss()

    async def handle_scan(self, code: str) -> None:
        if await self.call(self.circulation.is_card, code):
            await self._card(code)
            return
        field = self.query_one("#query", Input)
        field.value = code[:QUERY_LENGTH]  # a book's label or ISBN: find its title
        field.cursor_position = len(field.value)

    async def _card(self, code: str) -> None:
        """A card: its page, as the screen below would open it."""
        try:
            patron = await self.call(self.circulation.open_card, code)
        except KioskError as error:
            if self.patron is None or error.params.get("number") == self.patron.number:
                self.show_error(error)
                return
            # another child's card was refused: this child's pages must not stay open
            self.kiosk.attract.refuse_on_return(error)
            self.kiosk.reset_to_attract()
            return
        if self.patron is not None:
            self.dismiss()  # back on the patron's page first: it gives way to the new one
            if patron.number == self.patron.number:
                return
        self.kiosk.open_patron(patron, replace=True)
