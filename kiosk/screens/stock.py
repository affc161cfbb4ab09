"""Repair, loss and write-off at the librarian's screens (kiosk and desk).

:func:`ask_decision` asks what to do with a copy (only what applies to it now), then
why it is withdrawn or what was agreed for a lost one. :class:`StockPileModal` does one
decision to a pile of books: each book scanned (camera, scanner or typed) gets it, and
its line says how it went; **F6** writes the term's repair log and write-off list
(XLSX and PDF) into the export folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.librarian.stock import (
    ALLOWED_FROM,
    SETTLEMENTS,
    STOCK_ACTIONS,
    WITHDRAW_REASONS,
    Stock,
    StockDone,
)
from kiosk.locale import t
from kiosk.screens.choice import ChoiceModal
from kiosk.screens.librarian_panel import LibrarianHost
from kiosk.screens.takes_codes import TakesCodes
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.row_table import Column, RowTable
from kiosk.widgets.verdict import Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What the librarian decided for a copy (or a pile)."""

    action: str
    reason: str = ""
    settlement: str = ""

    def words(self) -> str:
        """The decision in a few words (for the pile's heading)."""
        text = t(f"stock.action.{self.action}")
        if self.reason:
            text += " · " + t(f"stock.reason.{self.reason}")
        if self.action == "lost":
            text += " · " + t(f"stock.settlement.{self.settlement or 'none'}")
        return text


async def ask_decision(app: Any, title: str, status: str | None = None) -> Decision | None:
    """Ask what to do with the book ``title`` (what applies to a copy of ``status``;
    everything for a pile, ``status`` ``None``: then ``title`` names the pile), then why
    or what was agreed. Call from a worker; ``None`` when the librarian cancelled."""
    title = title if status is None else t("stock.the_book", title=title)
    actions = [a for a in STOCK_ACTIONS if status is None or status in ALLOWED_FROM[a]]
    if not actions:
        return None
    action = await app.push_screen(ChoiceModal(
        t("stock.ask_action", title=title),
        [(a, t(f"stock.action.{a}")) for a in actions],
    ), wait_for_dismiss=True)
    if action is None:
        return None
    if action == "withdrawn":
        reason = await app.push_screen(ChoiceModal(
            t("stock.ask_reason", title=title),
            [(r, t(f"stock.reason.{r}")) for r in WITHDRAW_REASONS],
        ), wait_for_dismiss=True)
        return None if reason is None else Decision(action, reason=reason)
    if action == "lost":
        settlement = await app.push_screen(ChoiceModal(
            t("stock.ask_settlement", title=title),
            [*((s, t(f"stock.settlement.{s}")) for s in SETTLEMENTS),
             ("none", t("stock.settlement.none"))],
        ), wait_for_dismiss=True)
        if settlement is None:
            return None
        return Decision(action, settlement="" if settlement == "none" else settlement)
    return Decision(action)


def done_text(done: StockDone) -> str:
    """A decision made, in words (who lost it, where the book goes now)."""
    text = t(f"stock.done.{done.action}", title=done.title)
    if done.lost_by:
        text += " " + t("stock.log.lost_by", name=done.lost_by)
    return text


class StockPileModal(TakesCodes, ModalScreen[bool]):
    """One decision for a pile of books, scanned one after another."""

    TAKES_SCANS: ClassVar[bool] = True
    """A camera's or scanner's code comes here while it is open (not to the tabs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", show=False, id="pile.close"),
        Binding("f2", "decide", show=False, id="pile.decide"),
        Binding("f6", "lists", show=False, id="pile.lists"),
    ]

    def __init__(self, host: LibrarianHost) -> None:
        super().__init__()
        self.host = host
        self.stock = Stock(host.daybook.store)
        self.decision: Decision | None = None
        self.rows: list[tuple[str, ...]] = []
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="pile", classes="librarian-detail"):
            yield Static(t("stock.pile.heading"), id="pile-head", classes="detail-heading")
            yield Static(t("stock.pile.hint"), id="pile-hint", markup=False)
            yield Input(placeholder=t("stock.pile.placeholder"), id="pile-code", max_length=80)
            yield Verdict(id="pile-said")
            yield RowTable([Column(t("lib.log.col.copy"), 12), Column(t("lib.log.col.what"), 0)],
                           id="pile-done")
            with Horizontal(classes="detail-actions"):
                yield BigButton(t("stock.pile.decide"), key="f2", id="pile-decide",
                                variant="primary")
                yield BigButton(t("stock.pile.lists"), key="f6", id="pile-lists")
                yield BigButton(t("lib.detail.close"), key="escape", id="pile-close")

    def on_mount(self) -> None:
        self.query_one("#pile-code", Input).focus()
        self.action_decide()

    def _show_decision(self) -> None:
        head = t("stock.pile.heading")
        if self.decision is not None:
            head += " · " + self.decision.words()
        self.query_one("#pile-head", Static).update(head)

    @on(Button.Pressed, "#pile-decide")
    def action_decide(self) -> None:
        """F2: choose what to do with the books scanned from now on."""
        self._decide()

    @work(exclusive=True, group="pile-decide", exit_on_error=False)
    async def _decide(self) -> None:
        decision = await ask_decision(self.app, t("stock.pile.these_books"))
        if decision is not None:
            self.decision = decision
        self._show_decision()
        self.query_one("#pile-code", Input).focus()

    @on(Input.Submitted, "#pile-code")
    async def _typed(self, event: Input.Submitted) -> None:
        await self.take_typed(event)

    async def take(self, code: str) -> None:
        """Make the decision for the book ``code``, and say how it went."""
        said = self.query_one("#pile-said", Verdict)
        if self.decision is None:
            said.say(t("stock.pile.decide_first"), "warn")
            return
        decision = self.decision
        try:
            done = await self.host.run(self._act, code, decision)
        except KioskError as error:
            said.refuse(error)
            self.rows.insert(0, (code[:24], t(error.key, **error.params)))
        except Exception:
            log.exception("a decision on a copy failed")
            said.refuse(KioskError("error.unexpected"))
            return
        else:
            self.changed = True
            said.say(done_text(done), "ok")
            self.rows.insert(0, (done.barcode, done_text(done)))
        self.query_one("#pile-done", RowTable).set_rows(self.rows)

    def _act(self, code: str, decision: Decision) -> StockDone:
        return self.stock.act(code, decision.action, by=self.host.librarian.number,
                              reason=decision.reason, settlement=decision.settlement)

    @on(Button.Pressed, "#pile-lists")
    def action_lists(self) -> None:
        """F6: write the term's repair log and write-off list (XLSX and PDF)."""
        self._lists()

    @work(exclusive=True, group="pile-lists", exit_on_error=False)
    async def _lists(self) -> None:
        from kiosk.data.desk.stock_lists import export_term_lists

        said = self.query_one("#pile-said", Verdict)
        folder = self.host.export_folder()
        try:
            written = await self.host.run(export_term_lists, self.host.daybook.store, folder)
        except OSError as error:
            log.warning("writing the term's lists to %s failed: %s", folder, error)
            said.say(t("lib.export.failed", folder=str(folder),
                       error=error.strerror or str(error)), "error")
            return
        except KioskError as error:
            said.refuse(error)
            return
        except Exception:
            log.exception("writing the term's lists failed")
            said.refuse(KioskError("error.unexpected"))
            return
        said.say(t("stock.lists_done", repairs=written.repairs, write_offs=written.write_offs,
                   xlsx=str(written.xlsx), pdf=str(written.pdf)), "ok")

    @on(Button.Pressed, "#pile-close")
    def action_close(self) -> None:
        """Back to the tabs."""
        self.dismiss(self.changed)
