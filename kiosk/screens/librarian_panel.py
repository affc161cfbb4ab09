"""The librarian's tabs, shared by the kiosk's librarian screen and the desk app.

Today's log (filtered as one types), the cases to review, overdue loans by class,
class visits and helper shifts, the day in figures, sync and devices. The panel
reads everything through :class:`~kiosk.data.librarian.daybook.DayBook` on its host's
database thread (never on the UI thread) and opens a patron or a copy from a row.

The tabs are live: every few seconds the panel reads a cheap change marker
(:mod:`kiosk.data.librarian.changes`) on that thread, and only when it moved reads
what is new (the day's new facts, the cases, the overdue loans...); the filters, the
highlighted rows and the scroll stay as they were.

Typing goes to the filter of the tab in view (a key pressed on a table goes there
too); Enter acts on the highlighted row of the tab in view; a scanner's code typed
into a filter is a scan (:class:`~kiosk.widgets.filter_input.FilterInput`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView
from kiosk.data.librarian.changes import ChangeMarker, change_marker, rereads
from kiosk.data.librarian.daybook import DayBook, LogFilter
from kiosk.data.librarian.views import (
    Activity,
    Case,
    DayFigures,
    LogEntry,
    OverdueLoan,
    SyncOverview,
)
from kiosk.locale import format_date, t
from kiosk.widgets.filter_input import FilterInput
from kiosk.widgets.row_table import Column, RowTable, fit
from kiosk.widgets.tab_strip import TabStrip

T = TypeVar("T")

log = logging.getLogger(__name__)

TABS = ("tab-log", "tab-cases", "tab-overdue", "tab-visits", "tab-figures", "tab-system")

PANE_COLUMNS: dict[str, tuple[tuple[str, int], ...]] = {
    "cases": (("lib.log.col.time", 11), ("lib.case.col.kind", 10), ("lib.log.col.patron", 16),
              ("lib.log.col.title", 14), ("lib.log.col.what", 0)),
    "overdue": (("lib.log.col.class", 10), ("lib.log.col.patron", 18), ("lib.log.col.title", 0),
                ("lib.overdue.col.due", 16), ("lib.overdue.col.days", 4)),
    "visits": (("lib.visit.col.kind", 8), ("lib.visit.col.who", 16), ("lib.visit.col.by", 12),
               ("lib.visit.col.time", 13), ("lib.visit.col.count", 9), ("lib.log.col.kiosk", 0)),
}
"""The columns of the tabs built when first shown: translation key and width."""

POLL_EVERY = 2.0
"""Seconds between two looks at the change marker (the tabs are this fresh)."""


def row_name(item: Any) -> Any:
    """What names a row's item across two readings (a fact's uuid, a case's ref...)."""
    for attribute in ("uuid", "ref", "loan_id"):
        name = getattr(item, attribute, None)
        if name:
            return name
    return item


def merge_entries(entries: Sequence[LogEntry], new: Sequence[LogEntry]) -> list[LogEntry]:
    """The day's entries with the ``new`` ones read since, newest first (a fact a kiosk
    made offline this morning arrives now and goes where its time puts it)."""
    known = {entry.uuid for entry in entries}
    fresh = [entry for entry in new if entry.uuid not in known]
    if not fresh:
        return list(entries)
    return sorted([*fresh, *entries], key=lambda e: (e.at, e.seq), reverse=True)


def rows_matching(rows: Sequence[tuple[str, ...]], keys: Sequence[Any], text: str
                  ) -> tuple[list[tuple[str, ...]], list[Any]]:
    """The rows (and their keys) in which every word of ``text`` appears."""
    words = text.casefold().split()
    if not words:
        return list(rows), list(keys)
    kept = [(row, key) for row, key in zip(rows, keys, strict=True)
            if all(word in " ".join(row).casefold() for word in words)]
    return [row for row, _ in kept], [key for _, key in kept]


class LibrarianHost(Protocol):
    """What the panel needs of the screen it sits on (kiosk or desk)."""

    librarian: PatronView

    @property
    def daybook(self) -> DayBook:
        """The librarian's service."""
        ...

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a service call off the UI thread and await it."""
        ...

    def export_folder(self) -> Path:
        """Where exports are written."""
        ...

    def system_lines(self) -> list[str]:
        """Sync and device state, in words, as this host knows them."""
        ...


def bar(value: int, largest: int, width: int = 30) -> str:
    """A bar of Unicode blocks, ``value`` of ``largest`` over ``width`` cells."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = round(value / largest * width * 8)
    full, part = divmod(max(1, eighths), 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]


def figures_text(figures: DayFigures) -> str:
    """The day in figures, with its two small charts, as lines of text."""
    lines = [
        t("lib.fig.summary", loans=figures.loans, returns=figures.returns,
          renewals=figures.renewals, refusals=figures.refusals, visitors=figures.visitors),
        "",
        t("lib.fig.per_hour"),
    ]
    if not figures.per_hour:
        lines.append("  " + t("lib.fig.none"))
    top = max((n for _, n in figures.per_hour), default=0)
    lines += [f"  {hour:02d}:00 {bar(n, top):<31} {n}" for hour, n in figures.per_hour]
    lines += ["", t("lib.fig.per_class")]
    if not figures.per_class:
        lines.append("  " + t("lib.fig.none"))
    top = max((n for _, n in figures.per_class), default=0)
    lines += [f"  {fit(name, 12)} {bar(n, top):<31} {n}" for name, n in figures.per_class]
    return "\n".join(lines)


def log_row(entry: LogEntry) -> tuple[str, ...]:
    """A log entry as the table shows it."""
    who = f"{entry.patron_name} ({entry.patron})" if entry.patron_name else entry.patron
    return (entry.at.strftime("%H:%M:%S"), entry.kind_label, who, entry.class_name, entry.what)


HOLD_COLLECTOR_AT_MOST = 2.0
"""Seconds the garbage collector may wait for the log's first paint, at the most."""

FIRST_PAGE = 200
"""The newest rows of the day shown at once, before the whole day is read."""


class LogRows(Sequence[tuple[str, ...]]):
    """Log entries as table rows, each made when the table draws it (a filter that
    leaves 5,000 rows makes no 5,000 tuples)."""

    def __init__(self, entries: Sequence[LogEntry]) -> None:
        self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> tuple[str, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, ...]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [log_row(entry) for entry in self.entries[index]]
        return log_row(self.entries[index])


LOG_COLUMNS = ("lib.log.col.time", 8), ("lib.log.col.kind", 8), ("lib.log.col.patron", 18), \
    ("lib.log.col.class", 10), ("lib.log.col.what", 0)


class LibrarianPanel(Vertical):
    """The librarian's tabs; the host screen binds the function keys to its actions."""

    DEFAULT_CSS = """
    LibrarianPanel { height: 1fr; }
    LibrarianPanel ContentSwitcher { height: 1fr; }
    LibrarianPanel ContentSwitcher > Vertical { height: 1fr; }
    LibrarianPanel #log-filter { margin: 0; }
    LibrarianPanel .panel-note { height: auto; color: $text-muted; padding: 0 1; }
    LibrarianPanel #tab-figures, LibrarianPanel #tab-system { overflow-y: auto; }
    LibrarianPanel #figures, LibrarianPanel #system { padding: 0 1; }
    """

    def __init__(self, host: LibrarianHost, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.day: date | None = None
        self.entries: list[LogEntry] = []
        self.shown: list[LogEntry] = []
        self.filter = LogFilter([])
        self.cases: list[Case] | None = None
        self.overdue: list[OverdueLoan] | None = None
        self.activities: list[Activity] | None = None
        self.figures: DayFigures | None = None
        self.overview: SyncOverview | None = None
        self._built: set[str] = {"tab-log"}
        self.tab_ready = "tab-log"
        """The last tab built and filled (tests and keys wait for it)."""
        self.loaded = False
        """Whether the day's log is on screen (its newest rows at least)."""
        self.complete = False
        """Whether the whole day is in the log (the filter searches all of it)."""
        self._first_read: asyncio.Future[list[LogEntry]] | None = None
        self._pane_rows: dict[str, tuple[list[tuple[str, ...]], list[Any]]] = {}
        """A table tab's rows and keys before its filter (``cases``: ...)."""
        self.marker: ChangeMarker | None = None
        """The change marker as it was when the tabs were last read."""
        self.poll_every = POLL_EVERY
        self.refreshes = 0
        """How many times the tabs were read again because something changed."""
        self._loading = False

    def compose(self) -> ComposeResult:
        # The day's newest rows are read on the database thread while the screen is
        # being built, and shown at once; the whole day follows.
        self._collect_later()
        self.day = self.host.daybook.today()
        self._first_read = asyncio.ensure_future(
            self.host.run(self.host.daybook.day_log, self.day, FIRST_PAGE)
        )
        # A line of tab names and a switcher, and only the log built now: each other
        # tab is built the first time it is shown. Opening the screen costs about as
        # much as reading the day (bench/roles_librarian.py), and that cost grows
        # with its widgets: 21 now, 45 with TabbedContent and every tab built.
        yield TabStrip([(tab, t(f"lib.tab.{tab[4:]}")) for tab in TABS], id="tab-strip")
        with ContentSwitcher(initial="tab-log", id="tabs"), Vertical(id="tab-log"):
            yield FilterInput(placeholder=t("lib.log.filter"), id="log-filter",
                              classes="tab-filter", max_gap_ms=self._max_gap_ms())
            yield Static(t("lib.log.loading"), id="log-count", classes="panel-note",
                         markup=False)
            yield RowTable(
                [Column(t(key), width) for key, width in LOG_COLUMNS], id="log-table"
            )

    def on_mount(self) -> None:
        self.refresh_all()
        self.set_interval(self.poll_every, self._poll)
        # after the host screen's own mount (the kiosk's gives the scan field the focus)
        self.call_after_refresh(self.focus_tab)

    def _max_gap_ms(self) -> float:
        config = getattr(self.app, "config", None)
        return float(getattr(config, "scanner_max_gap_ms", 60.0))

    def on_unmount(self) -> None:
        self._collect_now()

    def _collect_later(self) -> None:
        """Hold Python's garbage collector until the newest rows are drawn.

        Opening the screen makes thousands of objects, and a full collection over the
        kiosk's heap then paused the first paint by 100-200 ms (bench/roles_librarian.py:
        p95 152 ms with no collection against 290-350 ms with). The collection runs
        right after the first paint instead, while the rest of the day is read.
        """
        self._collector_held = gc.isenabled()
        gc.disable()
        # and never longer than a moment, whatever becomes of the screen
        asyncio.get_running_loop().call_later(HOLD_COLLECTOR_AT_MOST, self._collect_now)

    def _collect_now(self) -> None:
        """Give the garbage collector back (once)."""
        if getattr(self, "_collector_held", False):
            self._collector_held = False
            gc.enable()

    @on(TabStrip.Picked)
    def _picked(self, event: TabStrip.Picked) -> None:
        event.stop()
        self.show_tab(event.tab)

    def show_tab(self, tab: str) -> None:
        """Show the tab ``tab`` (one of :data:`TABS`), building it the first time."""
        self.run_worker(self._show_tab(tab), group="librarian-tab")

    async def _show_tab(self, tab: str) -> None:
        if tab not in self._built:
            self._built.add(tab)
            name = tab[4:]
            if name in ("figures", "system"):
                pane = Vertical(Static("", id=name, markup=False), id=tab)
            else:
                pane = Vertical(
                    FilterInput(placeholder=t("lib.tab_filter"), id=f"{name}-filter",
                                classes="tab-filter", max_gap_ms=self._max_gap_ms()),
                    Static("", id=f"{name}-count", classes="panel-note", markup=False),
                    RowTable([Column(t(key), width) for key, width in PANE_COLUMNS[name]],
                             id=f"{name}-table"),
                    id=tab,
                )
            await self.query_one(ContentSwitcher).mount(pane)
        self.query_one(ContentSwitcher).current = tab
        self.query_one(TabStrip).active = tab
        self._fill(tab)
        self.focus_tab()
        self.tab_ready = tab

    def _fill(self, pane: str, *, keep: bool = False) -> None:
        """Show the data read for ``pane`` (if both are there); ``keep``: the same rows
        read again (the highlighted row and the view stay)."""
        if pane not in self._built:
            return
        if pane == "tab-cases" and self.cases is not None:
            self._fill_cases(self.cases, keep)
        elif pane == "tab-overdue" and self.overdue is not None:
            self._fill_overdue(self.overdue, keep)
        elif pane == "tab-visits" and self.activities is not None:
            self._fill_activities(self.activities, keep)
        elif pane == "tab-figures" and self.figures is not None:
            self.query_one("#figures", Static).update(figures_text(self.figures))
        elif pane == "tab-system" and self.overview is not None:
            self._fill_system(self.overview)

    # -- focus and keys ---------------------------------------------------------------

    def _filter_of(self, tab: str) -> FilterInput | None:
        fields = self.query(f"#{tab} FilterInput")
        return fields.first(FilterInput) if fields else None

    def focus_tab(self) -> None:
        """Give the focus to the filter of the tab in view; a tab without one (figures,
        system) leaves nothing focused, so a scanner's keys reach the scan field."""
        if not self.is_attached:
            return
        field = self._filter_of(self.active_tab)
        if field is not None:
            field.focus()
        else:
            self.screen.set_focus(None)

    def on_key(self, event: events.Key) -> None:
        """A character typed while a table has the focus goes to the tab's filter."""
        if not (event.is_printable and event.character):
            return
        if not isinstance(self.screen.focused, RowTable):
            return
        field = self._filter_of(self.active_tab)
        if field is not None:
            event.stop()
            event.prevent_default()
            field.focus()
            field.type_character(event.character, event.time)

    @on(Input.Changed, ".tab-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id == "log-filter":
            self.apply_filter(event.value)
        elif event.input.id:
            self._show_pane(event.input.id.removesuffix("-filter"))

    @on(Input.Submitted, ".tab-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter in a filter acts on the highlighted row of that tab."""
        event.stop()
        tables = event.input.parent.query(RowTable) if event.input.parent else None
        if tables:
            # (from the table's own loop: a message posted from here would be the
            # panel's, and Textual stops a message bubbling back to its sender)
            table = tables.first(RowTable)
            table.call_later(table.action_choose)

    @on(FilterInput.Nudge)
    def _nudged(self, event: FilterInput.Nudge) -> None:
        event.stop()
        tables = event.field.parent.query(RowTable) if event.field.parent else None
        if tables:
            table = tables.first(RowTable)
            if abs(event.step) >= 1000:
                table.action_page(1 if event.step > 0 else -1)
            else:
                table.action_move(event.step)

    # -- loading ----------------------------------------------------------------------

    def refresh_all(self) -> None:
        """Read everything again (in a worker: the screen stays responsive)."""
        self.run_worker(self._load(), exclusive=True, group="librarian-load")

    async def _load(self) -> None:
        book = self.host.daybook
        self._loading = True
        try:
            first, self._first_read = self._first_read, None
            if first is not None:
                self.show_log(await first, complete=False)
                await self._drawn()  # the newest rows are seen before the rest is read
                self._collect_now()
            else:
                self.day = book.today()
            marker = await self.host.run(change_marker, book.store)
            entries = await self.host.run(book.day_log, self.day)
            await self._show_everything(entries, keep=first is None)
            self.marker = marker
        except KioskError as error:
            self.query_one("#log-count", Static).update(t(error.key, **error.params))
        except Exception:
            log.exception("the librarian's screens could not be read")
            self.query_one("#log-count", Static).update(t("error.unexpected"))
        finally:
            self._loading = False
            self._collect_now()

    async def _show_everything(self, entries: list[LogEntry], *, keep: bool) -> None:
        """Show the day's ``entries`` and read and show the other tabs."""
        book = self.host.daybook
        self.show_log(entries, keep=keep)
        self.show_figures(book.figures(entries))
        self.show_cases(await self.host.run(book.cases), keep=keep)
        self.show_overdue(await self.host.run(book.overdue), keep=keep)
        self.show_activities(await self.host.run(book.activities, self.day), keep=keep)
        self.show_system(await self.host.run(book.sync_overview))

    async def _poll(self) -> None:
        """Read the change marker; read what is new only when it moved."""
        if self._loading or self.marker is None or not self.is_attached:
            return
        try:
            marker = await self.host.run(change_marker, self.host.daybook.store)
        except Exception:  # a database that failed says so at the next real read
            log.debug("the change marker could not be read", exc_info=True)
            return
        if marker != self.marker and not self._loading:
            self.run_worker(self._catch_up(marker), exclusive=True, group="librarian-load")

    async def _catch_up(self, marker: ChangeMarker) -> None:
        """Show what changed since the last reading: the day's new facts (only those are
        read), the cases, overdue loans, visits and sync state (small reads)."""
        book = self.host.daybook
        self._loading = True
        try:
            previous = self.marker
            if previous is None or marker.day != self.day or not self.complete:
                self.day = marker.day
                await self._show_everything(await self.host.run(book.day_log, self.day),
                                            keep=True)
            else:
                new = await self.host.run(book.day_log_since, self.day, previous.newest)
                entries = merge_entries(self.entries, new)
                again = rereads(previous, marker, {entry.kind for entry in new})
                self.show_log(entries, keep=True)
                self.show_figures(book.figures(entries))
                if again.cases:
                    self.show_cases(await self.host.run(book.cases), keep=True)
                if again.overdue:
                    self.show_overdue(await self.host.run(book.overdue), keep=True)
                self.show_activities(await self.host.run(book.activities, self.day), keep=True)
                self.show_system(await self.host.run(book.sync_overview))
            self.marker = marker
            self.refreshes += 1
        except KioskError as error:
            self.note(t(error.key, **error.params))
        except Exception:
            log.exception("the librarian's screens could not be read again")
        finally:
            self._loading = False

    async def _drawn(self) -> None:
        """Wait for the next time the screen is drawn: reading the whole day (Python on
        the database thread) would otherwise slow the first paint of its newest rows."""
        drawn = asyncio.Event()
        self.call_after_refresh(drawn.set)
        await drawn.wait()

    def show_log(self, entries: list[LogEntry], *, complete: bool = True,
                 keep: bool = False) -> None:
        """Put the day's entries in the log tab (filtered by what is typed);
        ``complete`` is false for the newest rows shown while the rest is read;
        ``keep``: the day read again (the highlighted row and the view stay)."""
        self.entries = entries
        self.complete = complete
        self.filter = LogFilter(entries)
        self.apply_filter(self.query_one("#log-filter", Input).value, keep=keep)
        self.loaded = True

    def apply_filter(self, text: str, *, keep: bool = False) -> None:
        """Show the entries matching ``text``."""
        self.shown = self.filter.apply(text)
        self.query_one("#log-table", RowTable).set_rows(
            LogRows(self.shown), self.shown, same=row_name if keep else None
        )
        key = "lib.log.count" if self.complete else "lib.log.count_partial"
        self.query_one("#log-count", Static).update(t(
            key, shown=len(self.shown), total=len(self.entries),
            day=format_date(self.day) if self.day else "",
        ))

    def _show_pane(self, name: str, *, keep: bool = False) -> None:
        """Show a table tab's rows that match its filter."""
        rows, keys = self._pane_rows.get(name, ([], []))
        text = self.query_one(f"#{name}-filter", Input).value
        shown_rows, shown_keys = rows_matching(rows, keys, text)
        self.query_one(f"#{name}-table", RowTable).set_rows(
            shown_rows, shown_keys, same=row_name if keep else None
        )

    def show_figures(self, figures: DayFigures) -> None:
        """The day in figures."""
        self.figures = figures
        self._fill("tab-figures")

    def show_cases(self, cases: list[Case], *, keep: bool = False) -> None:
        """The cases to review."""
        self.cases = cases
        self._fill("tab-cases", keep=keep)

    def _fill_cases(self, cases: list[Case], keep: bool = False) -> None:
        self.query_one("#cases-count", Static).update(
            t("lib.case.count", count=len(cases)) if cases else t("lib.case.none")
        )
        self._pane_rows["cases"] = ([
            (case.at.strftime("%m-%d %H:%M"), t(f"lib.case.source.{case.source}"),
             f"{case.patron_name} ({case.patron})" if case.patron_name else case.patron,
             case.title or case.copy, case.what)
            for case in cases
        ], list(cases))
        self._show_pane("cases", keep=keep)

    def show_overdue(self, loans: list[OverdueLoan], *, keep: bool = False) -> None:
        """Overdue loans by class."""
        self.overdue = loans
        self._fill("tab-overdue", keep=keep)

    def _fill_overdue(self, loans: list[OverdueLoan], keep: bool = False) -> None:
        self.query_one("#overdue-count", Static).update(
            t("lib.overdue.count", count=len(loans)) if loans else t("lib.overdue.none")
        )
        self._pane_rows["overdue"] = ([
            (loan.class_name, f"{loan.patron_name} ({loan.patron})",
             f"{loan.title} ({loan.copy})", format_date(loan.due_on), str(loan.days_overdue))
            for loan in loans
        ], list(loans))
        self._show_pane("overdue", keep=keep)

    def show_activities(self, activities: list[Activity], *, keep: bool = False) -> None:
        """Today's class visits and helper shifts."""
        self.activities = activities
        self._fill("tab-visits", keep=keep)

    def _fill_activities(self, activities: list[Activity], keep: bool = False) -> None:
        self.query_one("#visits-count", Static).update(
            t("lib.visit.count", visits=sum(a.kind == "visit" for a in activities),
              shifts=sum(a.kind == "shift" for a in activities))
        )

        def span(a: Activity) -> str:
            start = a.started.strftime("%H:%M") if a.started else "?"
            end = a.ended.strftime("%H:%M") if a.ended else t("lib.visit.open")
            return f"{start}–{end}"

        self._pane_rows["visits"] = ([
            (t(f"lib.visit.kind.{a.kind}"), a.who, a.by, span(a), str(a.count), a.kiosk)
            for a in activities
        ], list(activities))
        self._show_pane("visits", keep=keep)

    def show_system(self, overview: SyncOverview) -> None:
        """Sync and device state."""
        self.overview = overview
        self._fill("tab-system")

    def _fill_system(self, overview: SyncOverview) -> None:
        lines = [t(f"lib.system.role.{overview.role}")]
        if overview.role == "kiosk":
            lines.append(t("lib.system.waiting", count=overview.waiting))
        for kiosk in overview.kiosks:
            seen = kiosk.last_seen.strftime("%Y-%m-%d %H:%M") if kiosk.last_seen else "—"
            lines.append(t("lib.system.kiosk", kiosk=kiosk.name or kiosk.kiosk, seen=seen,
                           count=kiosk.facts_pushed))
        lines += ["", *self.host.system_lines()]
        self.query_one("#system", Static).update("\n".join(lines))

    # -- the selected row -------------------------------------------------------------

    @property
    def active_tab(self) -> str:
        """The id of the tab on show."""
        return self.query_one(ContentSwitcher).current or "tab-log"

    def switch_tab(self, step: int) -> None:
        """Show the next (1) or previous (-1) tab."""
        self.show_tab(TABS[(TABS.index(self.active_tab) + step) % len(TABS)])

    def selected(self) -> Any:
        """The item of the row under the cursor in the tab on show (``None``: none)."""
        table_id = {
            "tab-log": "#log-table", "tab-cases": "#cases-table",
            "tab-overdue": "#overdue-table", "tab-visits": "#visits-table",
        }.get(self.active_tab)
        tables = self.query(table_id) if table_id else None
        if not tables:
            return None
        return tables.first(RowTable).chosen_key

    def patron_of(self, item: Any) -> str:
        """The patron number a row names ('' for none)."""
        return str(getattr(item, "patron", "") or "")

    def copy_of(self, item: Any) -> str:
        """The copy barcode a row names ('' for none)."""
        return str(getattr(item, "copy", "") or "")

    def note(self, text: str) -> None:
        """Say something under the log's filter (export done, action done...)."""
        self.query_one("#log-count", Static).update(text)

    def visible_entries(self) -> Sequence[LogEntry]:
        """The log entries on show (what an export writes)."""
        return self.shown
