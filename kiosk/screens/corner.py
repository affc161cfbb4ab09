"""Class book corners (班级图书角): lend a set of books to a class, take the set back.

Opened by a teacher at the kiosk (their page, **Book corner F6**), by the librarian
from the tabs (**F12**, kiosk and desk), or by a helper in helper mode (**Class corner
F6**: bring one back). First the corners still out (to bring one
back) and the classes (to lend to: the teacher's own first); for the librarian, the
teacher who answers for it; then the due date (the term's end, or a few weeks). Then
each book scanned (camera, scanner or typed) is lent to the corner, or brought back;
**Finished F2** closes a corner being brought back and lists the books missing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.roles import CornerBook, CornerView, Roles
from kiosk.locale import format_date, t
from kiosk.screens.choice import ChoiceModal
from kiosk.screens.takes_codes import TakesCodes
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.row_table import Column, RowTable
from kiosk.widgets.verdict import Verdict

log = logging.getLogger(__name__)

Runner = Callable[..., Awaitable[Any]]
"""Runs a service call off the UI thread: ``await run(function, *args)``."""

def missing_text(class_name: str, missing: list[CornerBook]) -> str:
    """The corner is back: all of it, or how many are missing (listed below it)."""
    if not missing:
        return t("corner.all_back", cls=class_name)
    return t("corner.missing_heading", cls=class_name, count=len(missing))


class CornerModal(TakesCodes, ModalScreen[bool]):
    """A teacher's (or the librarian's) class corners: lend a set, or take one back.

    Args:
        run: runs a service call off the UI thread.
        roles: the role services (the corners, the classes).
        keeper: the patron number of the teacher at the kiosk, or the librarian's.
        librarian: whether the librarian is lending (then a teacher is picked to answer
            for the corner, and every corner can be brought back).
    """

    TAKES_SCANS: ClassVar[bool] = True
    """A camera's or scanner's code comes here while it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", show=False, id="corner.close"),
        Binding("f2", "finish", show=False, id="corner.finish"),
    ]

    def __init__(
        self, run: Runner, roles: Roles, keeper: str, *, librarian: bool = False,
        returns_only: bool = False,
    ) -> None:
        super().__init__()
        self.run = run
        self.roles = roles
        self.keeper = keeper
        self.librarian = librarian
        self.returns_only = returns_only
        """A helper brings a corner back for its teacher (any corner; no lending)."""
        self.corner: CornerView | None = None
        self.mode = ""  # "lend" or "return" once a corner is chosen
        self.rows: list[tuple[str, str]] = []
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="corner", classes="librarian-detail"):
            yield Static(t("corner.heading"), id="corner-head", classes="detail-heading",
                         markup=False)
            yield Static("", id="corner-state", markup=False)
            yield Input(placeholder=t("corner.placeholder"), id="corner-code", max_length=80)
            yield Verdict(id="corner-said")
            yield RowTable([Column(t("lib.log.col.copy"), 12), Column(t("lib.log.col.title"), 0)],
                           id="corner-books")
            with Horizontal(classes="detail-actions"):
                yield BigButton(t("corner.finish"), key="f2", id="corner-finish",
                                variant="success")
                yield BigButton(t("lib.detail.close"), key="escape", id="corner-close")

    def on_mount(self) -> None:
        self.query_one("#corner-code", Input).display = False
        self.query_one("#corner-finish", Button).display = False
        self._choose()

    # -- choosing the corner ----------------------------------------------------------

    @work(exclusive=True, group="corner-choose", exit_on_error=False)
    async def _choose(self) -> None:
        said = self.query_one("#corner-said", Verdict)
        try:
            corner, mode = await self._pick()
        except KioskError as error:
            said.refuse(error)
            return
        if corner is None:
            self.dismiss(self.changed)
            return
        self.corner, self.mode = corner, mode
        self.query_one("#corner-code", Input).display = True
        self.query_one("#corner-code", Input).focus()
        finish = self.query_one("#corner-finish", Button)
        finish.display = True
        finish.label = f"{t('corner.finish' if mode == 'lend' else 'corner.all_scanned')}  F2"
        if mode == "return":
            books = await self.run(self.roles.corners.books, corner.id)
            self.rows = [(book.barcode, book.title) for book in books]
            self.query_one("#corner-books", RowTable).set_rows(self.rows)
        self._show_state()
        said.say(t(f"corner.{mode}_hint"), "info")

    async def _pick(self) -> tuple[CornerView | None, str]:
        corners = self.roles.corners
        keeper = None if self.librarian or self.returns_only else self.keeper
        out = await self.run(corners.open_corners, keeper)
        answers = [(f"back:{c.id}", t("corner.bring_back", cls=c.class_name, count=c.books,
                                       due=format_date(c.due_on))) for c in out]
        if not self.returns_only:
            classes = await self.run(self.roles.visits.classes_for, self.keeper)
            answers += [(f"lend:{c.name}", t("corner.lend_to", cls=c.name)) for c in classes]
        if not answers:
            raise KioskError("corner.none_out" if self.returns_only else "visit.no_classes")
        choice = await self.app.push_screen(
            ChoiceModal(t("corner.ask_which"), answers), wait_for_dismiss=True
        )
        if choice is None:
            return None, ""
        kind, _, value = choice.partition(":")
        if kind == "back":
            return next(c for c in out if c.id == value), "return"
        teacher = self.keeper
        if self.librarian:
            keepers = await self.run(corners.keepers, value)
            teacher = keepers[0][0] if len(keepers) == 1 else await self.app.push_screen(
                ChoiceModal(t("corner.ask_teacher", cls=value),
                            [*keepers, (self.keeper, t("corner.myself"))]),
                wait_for_dismiss=True,
            )
            if teacher is None:
                return None, ""
        due = await self._ask_due()
        if due is None:
            return None, ""
        return await self.run(corners.new, teacher, value, due), "lend"

    async def _ask_due(self) -> date | None:
        choices = await self.run(self.roles.corners.due_choices)
        answers = [
            (day.isoformat(), t("corner.due_default", date=format_date(day)) if weeks == 0
             else t("corner.due_weeks", weeks=weeks, date=format_date(day)))
            for weeks, day in choices
        ]
        choice = await self.app.push_screen(
            ChoiceModal(t("corner.ask_due"), answers), wait_for_dismiss=True
        )
        return None if choice is None else date.fromisoformat(choice)

    def _show_state(self) -> None:
        corner = self.corner
        if corner is None:
            return
        self.query_one("#corner-head", Static).update(t(
            "corner.heading_lend" if self.mode == "lend" else "corner.heading_return",
            cls=corner.class_name, teacher=corner.teacher_name, due=format_date(corner.due_on),
        ))
        self.query_one("#corner-state", Static).update(t("corner.count", count=corner.books))

    # -- scanning ---------------------------------------------------------------------

    @on(Input.Submitted, "#corner-code")
    async def _typed(self, event: Input.Submitted) -> None:
        await self.take_typed(event)

    async def take(self, code: str) -> None:
        """Lend the book to the corner, or take it back, and say so."""
        said = self.query_one("#corner-said", Verdict)
        corner = self.corner
        if corner is None:
            return
        by = self.keeper if self.librarian or self.returns_only else ""
        try:
            if self.mode == "lend":
                scan = await self.run(self.roles.corners.lend, corner, code, by)
            else:
                scan = await self.run(self.roles.corners.give_back, corner.id, code, by)
        except KioskError as error:
            said.refuse(error)
            return
        except Exception:
            log.exception("a class corner's scan failed")
            said.refuse(KioskError("error.unexpected"))
            return
        self.changed = True
        self.corner = CornerView(corner.id, corner.class_name, corner.teacher,
                                 corner.teacher_name, corner.due_on, scan.books)
        if self.mode == "lend" and scan.status == "lent":
            self.rows.insert(0, (code.strip()[:24], scan.title))
        elif self.mode == "return":
            self.rows = [row for row in self.rows if row[0] != code.strip()]
        with self.app.batch_update():  # one frame for the three
            said.say(t(f"corner.scan.{scan.status}", title=scan.title),
                     "warn" if scan.status in ("already", "not_in_corner") else "ok")
            self.query_one("#corner-books", RowTable).set_rows(self.rows)
            self.query_one("#corner-state", Static).update(t("corner.count", count=scan.books))

    # -- finishing --------------------------------------------------------------------

    @on(Button.Pressed, "#corner-finish")
    def action_finish(self) -> None:
        """F2: lending: done; bringing back: close the corner and list what is missing."""
        if self.corner is None:
            return
        if self.mode == "lend":
            self.dismiss(self.changed)
            return
        self._close_corner()

    @work(exclusive=True, group="corner-finish", exit_on_error=False)
    async def _close_corner(self) -> None:
        corner = self.corner
        if corner is None:
            return
        try:
            missing = await self.run(self.roles.corners.close, corner.id, self.keeper)
        except KioskError as error:
            self.query_one("#corner-said", Verdict).refuse(error)
            return
        self.changed = True
        self.mode = "closed"
        self.query_one("#corner-code", Input).display = False
        self.query_one("#corner-finish", Button).display = False
        self.query_one("#corner-state", Static).update(missing_text(corner.class_name, missing))
        self.query_one("#corner-said", Verdict).say(
            t("corner.closed", cls=corner.class_name), "warn" if missing else "ok"
        )
        self.rows = [(book.barcode, book.title) for book in missing]
        self.query_one("#corner-books", RowTable).set_rows(self.rows)

    @on(Button.Pressed, "#corner-close")
    def action_close(self) -> None:
        """Back (what was scanned is recorded already)."""
        self.dismiss(self.changed)
