"""A table that draws only the rows on screen, so a day of 5,000 facts scrolls and
filters as quickly as a day of five.

Textual's ``DataTable`` builds an object for every row it is given; swapping its
rows on every keystroke of a filter costs far more than the filter itself. This
table keeps plain tuples and renders the visible lines (the line API), so giving
it a new list of rows costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kiosk.data.core.text import printable


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells.

    Control and escape characters (a hostile name, note or scanned code) are made
    visible first: the lines go to the terminal as they are, and a raw ESC or a bidi
    override would move the cursor, change colours or hide text.
    """
    text = printable(text.replace("\r\n", " ").replace("\n", " "), len(text) * 8 + 1)
    if cell_len(text) > width:
        return set_cell_size(text, max(0, width - 1)) + "…" if width > 0 else ""
    return set_cell_size(text, width)


@dataclass(frozen=True)
class Column:
    """A column: its heading and width in cells (0: takes the room left)."""

    heading: str
    width: int = 0


class RowTable(ScrollView, can_focus=True):
    """Rows of text with a cursor; Enter or a click chooses a row (``RowTable.Chosen``).

    The heading is the first line and stays in place while the rows scroll.
    """

    DEFAULT_CSS = """
    RowTable { height: 1fr; background: $surface; }
    RowTable > .row-table--header { text-style: bold; background: $primary-darken-2; }
    RowTable > .row-table--cursor { background: $accent 60%; text-style: bold; }
    RowTable:focus > .row-table--cursor { background: $accent; }
    RowTable > .row-table--odd { background: $surface-lighten-1; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header", "row-table--cursor", "row-table--odd",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", show=False, id="table.up"),
        Binding("down", "move(1)", show=False, id="table.down"),
        Binding("pageup", "page(-1)", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", show=False, id="table.page_down"),
        Binding("home", "jump(0)", show=False, id="table.first"),
        Binding("end", "jump(-1)", show=False, id="table.last"),
        Binding("enter", "choose", show=False, id="table.choose"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class Chosen(Message):
        """A row was chosen (Enter, or a click)."""

        table: RowTable
        key: Any

        @property
        def control(self) -> RowTable:
            """The table the row belongs to."""
            return self.table

    def __init__(self, columns: Sequence[Column], *, room: int = 0, **kwargs: Any) -> None:
        """``room``: rows the table scrolls over however few it shows (0: as many as it
        shows). A table whose rows change at every key keeps its size with it: a new
        size is a layout of the whole screen."""
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.room = room
        self.rows: Sequence[Sequence[str]] = []
        self.keys: Sequence[Any] = []
        self._lines: dict[int, str] = {}
        """Row index -> its text at ``_lines_widths`` (a row's cells are fitted once)."""
        self._lines_widths: list[int] = []
        self._meta: dict[int, Style] = {}

    # -- data -------------------------------------------------------------------------

    def set_rows(
        self, rows: Sequence[Sequence[str]], keys: Sequence[Any] | None = None, *,
        same: Callable[[Any], Any] | None = None,
    ) -> None:
        """Show ``rows`` (one string a column); ``keys`` are what choosing a row gives.

        New rows start at the top. With ``same`` (a row's key -> what names it across
        readings), the rows are the same list read again: the cursor stays on the row
        it was on, and the view does not move (new rows come in above the view when it
        is scrolled down, and show when it is at the top).
        """
        old_key, old_cursor, old_top = self.chosen_key, self.cursor, int(self.scroll_offset.y)
        self.rows = rows  # a sequence: rows may be made as they are drawn
        self.keys = keys if keys is not None else range(len(self.rows))
        self._lines.clear()
        size = Size(self._total_width(), max(len(self.rows), self.room) + 1)
        if size != self.virtual_size:
            self.virtual_size = size
        last = max(0, len(self.rows) - 1)
        if same is None or old_key is None:
            self.cursor = min(self.cursor, last)
            self.scroll_to(y=0 if same is None else min(old_top, last), animate=False)
        else:
            name = same(old_key)
            found = next((i for i, key in enumerate(self.keys) if same(key) == name), None)
            cursor = min(old_cursor, last) if found is None else found
            top = old_top if old_top == 0 else max(0, old_top + cursor - old_cursor)
            self.scroll_to(y=top, animate=False)
            self.cursor = cursor
        self.refresh()

    @property
    def chosen_key(self) -> Any:
        """The key of the row under the cursor (``None`` when the table is empty)."""
        return self.keys[self.cursor] if 0 <= self.cursor < len(self.keys) else None

    def _total_width(self) -> int:
        return sum(c.width or 20 for c in self.columns) + len(self.columns)

    def _widths(self) -> list[int]:
        room = max(self.scrollable_content_region.width, self._total_width())
        fixed = sum(c.width for c in self.columns) + len(self.columns)
        flexible = [c for c in self.columns if not c.width]
        share = max(8, (room - fixed) // max(1, len(flexible)))
        return [c.width or share for c in self.columns]

    # -- drawing ----------------------------------------------------------------------

    def _line(self, cells: Sequence[str], widths: list[int]) -> str:
        return " ".join(fit(cell, width) for cell, width in zip(cells, widths, strict=False))

    def _row_text(self, index: int, widths: list[int]) -> str:
        if widths != self._lines_widths:
            self._lines.clear()
            self._lines_widths = widths
        text = self._lines.get(index)
        if text is None:
            text = self._lines[index] = self._line(self.rows[index], widths)
        return text

    def render_line(self, y: int) -> Strip:
        widths = self._widths()
        scroll_x = int(self.scroll_offset.x)
        width = self.scrollable_content_region.width
        if y == 0:
            text = self._line([c.heading for c in self.columns], widths)
            style = self.get_component_rich_style("row-table--header")
        else:
            index = int(self.scroll_offset.y) + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, self.rich_style)
            text = self._row_text(index, widths)
            if index == self.cursor:
                style = self.get_component_rich_style("row-table--cursor")
            elif index % 2:
                style = self.get_component_rich_style("row-table--odd")
            else:
                style = self.rich_style
        meta = self._meta.get(y)
        if meta is None:
            meta = self._meta[y] = Style.from_meta({"row": y})
        # every cell is fitted to its width, so the line's length is known
        length = sum(widths) + len(widths) - 1
        strip = Strip([Segment(text, style + meta)], length)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    # -- moving -----------------------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + self._page:
            self.scroll_to(y=new - self._page + 1, animate=False)
        self.refresh()

    def action_move(self, step: int) -> None:
        """Cursor up or down a row."""
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, step: int) -> None:
        """Cursor up or down a page."""
        self.action_move(step * self._page)

    def action_jump(self, index: int) -> None:
        """Cursor to the first (0) or last (-1) row."""
        if self.rows:
            self.cursor = index % len(self.rows)

    def action_choose(self) -> None:
        """Choose the row under the cursor."""
        if self.rows:
            self.post_message(self.Chosen(self, self.chosen_key))

    def on_click(self, event: events.Click) -> None:
        """A click (or a touch) on a row chooses it."""
        row = event.style.meta.get("row")
        if row is None or row == 0:
            return
        index = int(self.scroll_offset.y) + int(row) - 1
        if 0 <= index < len(self.rows):
            self.cursor = index
            self.action_choose()
