"""What the librarian does from the tabs, shared by the kiosk's and the desk's screens.

Open a patron or a copy from a row, export the day's log, mark a case reviewed,
move between tabs: each with its function key, for a keyboard without a mouse.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.screen import Screen

from kiosk.data.core.errors import KioskError
from kiosk.data.librarian.views import Activity, Case, LogEntry
from kiosk.locale import t
from kiosk.screens.confirm import ConfirmModal
from kiosk.screens.librarian_detail import CopyModal, PatronModal
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets.filter_input import FilterInput
from kiosk.widgets.row_table import RowTable

log = logging.getLogger(__name__)


def device_lines(camera_state: str, decoder: Any) -> list[str]:
    """The camera, the scanner and the decoder in use, in words."""
    lines = [t("lib.system.camera", state=t(f"lib.system.camera_{camera_state}"))]
    lines.append(t("lib.system.scanner"))
    if decoder is not None:
        engines = ", ".join(getattr(decoder, "engines", ())) or "—"
        lines.append(t("lib.system.decoder", engines=engines))
        for name, hint in getattr(decoder, "missing", {}).items():
            lines.append(t("lib.system.decoder_missing", name=name, hint=hint))
    return lines


class PanelActions(Screen[Any]):
    """The librarian's actions on the tabs; the screen must hold a ``LibrarianPanel``."""

    PANEL_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f4", "open_patron_row", show=False, id="librarian.open_patron"),
        Binding("f5", "open_copy_row", show=False, id="librarian.open_copy"),
        Binding("f6", "export", show=False, id="librarian.export"),
        Binding("f7", "reviewed", show=False, id="librarian.reviewed"),
        Binding("f8", "tab(-1)", show=False, id="librarian.previous_tab"),
        Binding("f9", "tab(1)", show=False, id="librarian.next_tab"),
        Binding("f12", "stock_menu", show=False, id="librarian.stock_menu"),
    ]

    @property
    def panel(self) -> LibrarianPanel:
        """The tabs."""
        return self.query_one(LibrarianPanel)

    async def confirm(self, question: str) -> bool:
        """Ask ``question`` in a modal (call from a worker)."""
        answer = await self.app.push_screen(ConfirmModal(question), wait_for_dismiss=True)
        return bool(answer)

    # -- opening a patron or a copy ---------------------------------------------------

    def _detail_closed(self, changed: bool | None) -> None:
        if changed:
            self.panel.refresh_all()

    def open_patron(self, number: str) -> None:
        """Open patron ``number`` over the tabs."""
        if number:
            self.app.push_screen(PatronModal(self.panel.host, number), self._detail_closed)

    def open_copy(self, barcode: str) -> None:
        """Open copy ``barcode`` over the tabs."""
        if barcode:
            self.app.push_screen(CopyModal(self.panel.host, barcode), self._detail_closed)

    @on(RowTable.Chosen)
    def _row_chosen(self, event: RowTable.Chosen) -> None:
        """A row opens its copy if it names one, else its patron."""
        event.stop()
        item = event.key
        if isinstance(item, Activity):
            return
        copy, patron = self.panel.copy_of(item), self.panel.patron_of(item)
        if isinstance(item, (LogEntry, Case)) and copy:
            self.open_copy(copy)
        elif patron:
            self.open_patron(patron)
        elif copy:
            self.open_copy(copy)

    @on(FilterInput.CodeScanned)
    def _code_in_filter(self, event: FilterInput.CodeScanned) -> None:
        """A scanner typed a code into a filter: it is a scan, not words to filter by."""
        event.stop()
        self._open_code(event.code)

    @work(group="librarian-code", exit_on_error=False)
    async def _open_code(self, code: str) -> None:
        """A card opens its patron, anything else the copy of that barcode."""
        host = self.panel.host
        circulation = host.daybook.circulation
        try:
            if await host.run(circulation.is_card, code):
                patron = await host.run(circulation.open_card, code)
                self.open_patron(patron.number)
            else:
                self.open_copy(code)
        except KioskError as error:  # a lost card, a forged one, a failing database
            self.notify(t(error.key, **error.params), severity="warning", markup=False)

    def action_open_patron_row(self) -> None:
        """F4: the patron of the row under the cursor."""
        self.open_patron(self.panel.patron_of(self.panel.selected()))

    def action_open_copy_row(self) -> None:
        """F5: the copy of the row under the cursor."""
        self.open_copy(self.panel.copy_of(self.panel.selected()))

    def action_tab(self, step: int) -> None:
        """F8/F9: the previous or next tab."""
        self.panel.switch_tab(step)

    # -- repair, loss, write-off; class corners -----------------------------------------

    def action_stock_menu(self) -> None:
        """F12: repair, loss and write-off of a pile of books, or the class corners."""
        self._stock_menu()

    @work(exclusive=True, group="librarian-stock-menu", exit_on_error=False)
    async def _stock_menu(self) -> None:
        from kiosk.screens.choice import ChoiceModal

        choice = await self.app.push_screen(ChoiceModal(t("stock.menu_question"), [
            ("books", t("stock.books")), ("corners", t("corner.corners")),
        ]), wait_for_dismiss=True)
        if choice == "books":
            self.action_books()
        elif choice == "corners":
            self.action_corners()

    def action_books(self) -> None:
        """One decision (repaired, lost, withdrawn...) for a pile of books."""
        from kiosk.screens.stock import StockPileModal

        self.app.push_screen(StockPileModal(self.panel.host), self._detail_closed)

    def action_corners(self) -> None:
        """Lend a set of books to a class's corner, or take one back."""
        from kiosk.data.roles import Roles
        from kiosk.screens.corner import CornerModal

        host = self.panel.host
        self.app.push_screen(
            CornerModal(host.run, Roles(host.daybook.circulation), host.librarian.number,
                        librarian=True),
            self._detail_closed,
        )

    # -- export -----------------------------------------------------------------------

    def action_export(self) -> None:
        """F6: write the day's log (as filtered) to CSV and XLSX."""
        self._export()

    @work(exclusive=True, group="librarian-export", exit_on_error=False)
    async def _export(self) -> None:
        panel = self.panel
        if not panel.loaded or panel.day is None:
            return
        folder = panel.host.export_folder()
        book = panel.host.daybook
        # a second export of the day replaces the first (perhaps of the whole day, where
        # this one is filtered): that cannot be undone, so ask
        if await asyncio.to_thread(book.exported_before, panel.day, folder) and not (
            await self.confirm(t("lib.export.ask_replace", folder=str(folder)))
        ):
            return
        try:
            done = await panel.host.run(
                panel.host.daybook.export, list(panel.visible_entries()), panel.day, folder
            )
        except OSError as error:
            log.warning("export to %s failed: %s", folder, error)
            text = t("lib.export.failed", folder=str(folder), error=error.strerror or str(error))
        except KioskError as error:  # a locked or vanished database
            text = t(error.key, **error.params)
        except Exception:  # a bug: said in words, never the end of the program
            log.exception("export to %s failed", folder)
            text = t("error.unexpected")
        else:
            text = t("lib.export.done", rows=done.rows, csv=str(done.csv), xlsx=str(done.xlsx))
            panel.note(text)
            self.notify(text, timeout=10, markup=False)  # a folder is no markup
            return
        panel.note(text)
        self.notify(text, severity="error", timeout=10, markup=False)

    # -- cases ------------------------------------------------------------------------

    def action_reviewed(self) -> None:
        """F7: the case under the cursor is reviewed (after asking)."""
        self._reviewed()

    @work(exclusive=True, group="librarian-review", exit_on_error=False)
    async def _reviewed(self) -> None:
        panel = self.panel
        if panel.active_tab != "tab-cases":
            panel.show_tab("tab-cases")
            return
        case = panel.selected()
        if not isinstance(case, Case):
            return
        if not await self.confirm(t("lib.case.ask_reviewed", what=case.what)):
            return
        try:
            await panel.host.run(
                panel.host.daybook.mark_reviewed, case.ref, panel.host.librarian.number
            )
            cases = await panel.host.run(panel.host.daybook.cases)
        except KioskError as error:  # a locked database (the sync is writing): StorageError
            self.notify(t(error.key, **error.params), severity="error", markup=False)
            return
        except Exception:  # a bug: said in words, never the end of the program
            log.exception("marking case %s reviewed failed", case.ref)
            self.notify(t("error.unexpected"), severity="error", markup=False)
            return
        panel.show_cases(cases)
