"""Pilot tests of the table that draws only its visible rows, and of the tab strip."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult

from kiosk.widgets.row_table import Column, RowTable, fit
from kiosk.widgets.tab_strip import TabStrip


class TableApp(App[None]):
    """A table of 1,000 rows and a tab strip, recording what is chosen."""

    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[object] = []
        self.picked: list[str] = []

    def compose(self) -> ComposeResult:
        yield TabStrip([("one", "一"), ("two", "Two")])
        yield RowTable([Column("N", 6), Column("Name", 0)], id="table")

    def on_mount(self) -> None:
        rows = [(str(n), f"row {n}") for n in range(1000)]
        self.query_one(RowTable).set_rows(rows, [f"key-{n}" for n in range(1000)])
        self.query_one(RowTable).focus()

    def on_row_table_chosen(self, message: RowTable.Chosen) -> None:
        self.chosen.append(message.key)

    def on_tab_strip_picked(self, message: TabStrip.Picked) -> None:
        self.picked.append(message.tab)


def test_fit_counts_wide_characters():
    assert fit("三年级2班", 6) == "三年 …"  # 5 cells of text (a wide character fits
    assert cell_len(fit("三年级2班", 7)) == 7  # whole or not at all), then the ellipsis
    assert fit("ab", 4) == "ab  "
    assert fit("三年级", 6) == "三年级"


def test_fit_shows_control_and_escape_characters_instead_of_obeying_them():
    hostile = "Ann\x1b[2J\x1b]0;pwned\x07\u202eevil\r\nnext"
    shown = fit(hostile, 60)
    assert not any(c in shown for c in "\x1b\x07\u202e\r\n")
    assert shown.rstrip() == "Ann\\x1b[2J\\x1b]0;pwned\\x07\\u202eevil next"
    assert cell_len(fit(hostile, 12)) == 12 and "\x1b" not in fit(hostile, 12)


async def test_a_hostile_row_reaches_the_screen_harmless():
    app = TableApp()
    async with app.run_test(size=(60, 6)) as pilot:
        app.query_one(RowTable).set_rows([("1", "Bob\x1b[31m\u202eRED")], ["k"])
        await pilot.pause()
        text = "".join(segment.text for segment in app.query_one(RowTable).render_line(1))
        assert "Bob\\x1b[31m\\u202eRED" in text and "\x1b" not in text


async def test_keys_move_the_cursor_and_enter_or_a_click_chooses():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        await pilot.press("down", "down", "enter")
        assert app.chosen == ["key-2"]
        await pilot.press("pagedown")
        assert table.cursor == 2 + table.scrollable_content_region.height - 1
        assert table.scroll_offset.y > 0  # the cursor stays in view
        await pilot.press("end", "enter")
        assert app.chosen[-1] == "key-999"
        await pilot.press("home")
        await pilot.click(RowTable, offset=(3, 3))  # the third row under the heading
        assert app.chosen[-1] == "key-2" and table.cursor == 2
        await pilot.click(RowTable, offset=(3, 0))  # the heading chooses nothing
        assert len(app.chosen) == 3
        table.set_rows([("x", "only")], ["k"])
        assert table.cursor == 0 and table.chosen_key == "k"
        await pilot.click(TabStrip, offset=(len(" 一  ") + 1, 0))
        assert app.picked == ["two"]
