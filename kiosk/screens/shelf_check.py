"""A shelf check: a helper scans every book on one shelf area and sees what is missing.

The helper picks the shelf area (touching its letter, or scanning any book that
belongs there), then scans the books on the shelf one by one; each scan says whether
the book belongs there. "Finished" lists the books that should be on the shelf but
were not found, and the books found there that belong elsewhere.
"""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView
from kiosk.data.roles import ShelfCopy, ShelfReport, ShelfScan
from kiosk.locale import t
from kiosk.screens.base import KioskScreen
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.scan_bar import ScanBar
from kiosk.widgets.verdict import Verdict

ROLES_CSS = str(files("kiosk.assets").joinpath("roles.tcss"))
"""The styles of the roles' screens (class visit, helper mode, shelf check)."""

REPORT_LINES = 12
"""Books listed by name in each part of the report (the rest are counted)."""


class TouchScroll(VerticalScroll, can_focus=False):
    """A scrolling box of buttons or text that never takes the keyboard focus.

    Touching a button in a plain ``VerticalScroll`` focuses the box (the nearest
    focusable ancestor); hidden a moment later, it leaves the focus nowhere and the
    USB scanner's keys are lost. The scan field keeps the focus; touch and the mouse
    wheel still scroll the box, and the screen binds Page Up / Page Down.
    """


def list_copies(copies: tuple[ShelfCopy, ...], *, with_area: bool = False) -> list[str]:
    """Lines naming ``copies`` (and where each belongs), the rest summed up."""
    lines = []
    for copy in copies[:REPORT_LINES]:
        line = f"  {copy.barcode}  {copy.title}"
        if with_area:
            line += "  → " + t("shelf.belongs", area=copy.area)
        lines.append(line)
    if len(copies) > REPORT_LINES:
        lines.append("  " + t("shelf.more", count=len(copies) - REPORT_LINES))
    return lines


def report_text(report: ShelfReport) -> str:
    """The shelf check's result, as the helper (and the librarian) read it."""
    lines = [t("shelf.report_found", count=len(report.found))]
    lines.append(t("shelf.report_missing", count=len(report.missing)))
    lines += list_copies(report.missing)
    lines.append(t("shelf.report_misplaced", count=len(report.misplaced)))
    lines += list_copies(report.misplaced, with_area=True)
    return "\n".join(lines)


class ShelfCheckScreen(KioskScreen):
    """Choose a shelf area, scan its books, see what is missing and misplaced."""

    CSS_PATH = ROLES_CSS
    SHOWS_CAMERA = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "primary", show=False, id="shelf.finish"),
        Binding("f3", "press('back')", show=False, id="shelf.back"),
        Binding("pagedown", "scroll_report(1)", show=False, id="shelf.page_down"),
        Binding("pageup", "scroll_report(-1)", show=False, id="shelf.page_up"),
    ]

    def __init__(self, helper: PatronView | None = None) -> None:
        super().__init__()
        self.helper = helper
        self.check_id: str | None = None
        self.shelf = ""
        self.finished = False
        self.starting = False
        """A check is being started (a second tap meanwhile does nothing)."""
        self.areas: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        with Vertical(id="shelf-check"):
            yield Static(t("shelf.heading"), id="headline", markup=False)
            yield Static(t("shelf.choose_hint"), id="hint", markup=False)
            yield Verdict(id="verdict")
            yield Static(id="count", markup=False)
            yield TouchScroll(id="areas")
            with TouchScroll(id="report-box"):
                yield Static(id="report", markup=False)
            with Horizontal(id="actions"):
                yield BigButton(t("shelf.finish"), key="f2", id="finish", variant="success")
                yield BigButton(t("shelf.back"), key="f3", id="back")

    async def on_mount(self) -> None:  # type: ignore[override]  # (Textual awaits it)
        super().on_mount()
        self._show_state()
        try:
            areas = await self.call(self.roles.shelf_checks.shelf_areas)
        except KioskError as error:
            self.show_error(error)
            return
        buttons = []
        for n, area in enumerate(areas):
            self.areas[f"area-{n}"] = area
            buttons.append(BigButton(area, id=f"area-{n}", classes="area"))
        await self.query_one("#areas").mount_all(buttons)

    def on_unmount(self) -> None:
        """A check left unfinished (the idle timeout) is finished as it stands."""
        if self.check_id is not None and not self.finished:
            self.finished = True
            app, check_id = self.kiosk, self.check_id
            app.run_worker(
                app.run_db(self.roles.shelf_checks.end_shelf_check, check_id),
                group="shelf-check", exit_on_error=False,
            )

    def timeout(self, configured: float) -> float | None:
        return self.kiosk.config.helper_idle_timeout

    def _show_state(self) -> None:
        checking = self.check_id is not None and not self.finished
        self.query_one("#areas").display = self.check_id is None
        self.query_one("#report-box").display = self.finished
        self.query_one("#count").display = checking
        self.query_one("#finish").display = checking
        # Whatever was touched, the scanner's keys go to the scan field.
        self.query_one(ScanBar).focus()

    def action_primary(self) -> None:
        """F2: "Finished" while checking, "Back" once the report is shown."""
        self.action_press("back" if self.finished else "finish")

    def action_scroll_report(self, pages: int) -> None:
        """Page Up / Page Down move through a long report (a touch screen scrolls it)."""
        box = self.query_one("#report-box", TouchScroll)
        box.scroll_to(y=box.scroll_y + pages * max(1, box.size.height - 1), animate=False)

    @on(Button.Pressed, ".area")
    async def pick(self, event: Button.Pressed) -> None:
        """The helper touched a shelf area's name."""
        area = self.areas.get(event.button.id or "")
        if area is None or self.check_id is not None or self.starting:
            return
        self.starting = True  # a double tap starts one check
        try:
            await self.start(area)
        except KioskError as error:  # a busy or broken database: say so, never end the app
            self.query_one(Verdict).refuse(error)
        finally:
            self.starting = False

    @on(Button.Pressed, "#back")
    def back(self) -> None:
        """Back to the return station (an unfinished check is finished as it stands)."""
        self.app.pop_screen()

    @on(Button.Pressed, "#finish")
    async def finish(self) -> None:
        """Finish the check and show what is missing and misplaced."""
        if self.check_id is None or self.finished:
            return
        try:
            report = await self.call(self.roles.shelf_checks.end_shelf_check, self.check_id)
        except KioskError as error:
            self.show_error(error)
            return
        self.finished = True
        self._show_state()
        self.query_one("#headline", Static).update(t("shelf.done_hint", shelf=report.shelf))
        self.query_one("#hint").display = False  # room for the list
        self.query_one("#report", Static).update(report_text(report))
        self.query_one(Verdict).say(
            t("shelf.summary", missing=len(report.missing), misplaced=len(report.misplaced)),
            "warn" if report.missing or report.misplaced else "ok",
        )

    async def start(self, area: str) -> None:
        """Start checking ``area``."""
        number = self.helper.number if self.helper else None
        self.check_id = await self.call(self.roles.shelf_checks.start_shelf_check, area, number)
        self.shelf = area
        self.query_one("#headline", Static).update(t("shelf.checking", shelf=area))
        self.query_one("#hint", Static).update(t("shelf.scan_hint"))
        self.query_one("#count", Static).update(t("shelf.count", count=0))
        self._show_state()

    async def handle_scan(self, code: str) -> None:
        verdict = self.query_one(Verdict)
        if self.finished:
            verdict.say(t("shelf.finished_hint"), "info")
            return
        if await self.call(self.circulation.is_card, code):
            verdict.say(t("shelf.card_hint"), "info")
            return
        if self.check_id is None:
            try:
                area = await self.call(self.roles.shelf_checks.area_of, code)
            except KioskError as error:
                verdict.refuse(error)
                return
            await self.start(area)
        assert self.check_id is not None
        try:
            scan = await self.call(self.roles.shelf_checks.shelf_scan, self.check_id, code)
        except KioskError as error:
            verdict.refuse(error)
            return
        self.show_scan(scan)

    def show_scan(self, scan: ShelfScan) -> None:
        """Say whether the book belongs on this shelf."""
        verdict = self.query_one(Verdict)
        if scan.status == "here":
            verdict.say(t("shelf.here", title=scan.copy.title), "ok")
        elif scan.status == "misplaced":
            verdict.say(t("shelf.misplaced", title=scan.copy.title, area=scan.copy.area), "warn")
        else:
            verdict.say(t("shelf.repeat", title=scan.copy.title), "info")
        self.query_one("#count", Static).update(t("shelf.count", count=scan.scanned))
