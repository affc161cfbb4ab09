"""Pilot tests: nothing cut off at 80x24, with the camera's preview taking its corner
(issue 14, point 8): the loans' status column, the Done button, helper mode's buttons,
the overdue tab's dates, in both languages; and the same screens at 120x40."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.cells import cell_len
from textual.widgets import Button
from uikit import (
    QuietCamera,
    click_to,
    make_app,
    on_screen,
    scan_and_wait,
    scan_to,
    uncovered,
    wait_until,
)

from kiosk.data.core.library import set_pin
from kiosk.locale import format_date, set_language, t
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets.loan_table import LoanTable
from kiosk.widgets.row_table import RowTable

SIZES = [(80, 24), (120, 40)]
LANGUAGES = ["zh_CN", "en"]


def all_buttons_whole(app) -> None:
    """Every button shown lies whole on the screen, under no other widget."""
    buttons = [b for b in app.screen.query(Button) if b.display and b.parent.display]
    assert buttons
    for button in buttons:
        assert uncovered(app, button), (button, button.region, app.screen.region)
        label = str(button.label)  # its words and key on one line, not cut
        room = button.content_region.width - 2 * button.styles.line_pad
        assert cell_len(label) <= room, (label, button.content_region)


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    set_language("zh_CN")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_patron_page_shows_every_column_and_done(circulation, make, clock, size, language):
    patron = make.patron(name="欧阳小明明", school_class="三年级2班")
    make.rule("student", loan_days=14, max_items=5)
    titles = ["George's Marvellous Medicine and the Chocolate Factory",
              "十万个为什么（第六版）：电子与信息卷", "犟龟"]
    for title in titles:
        circulation.checkout(patron.number, make.copy(make.title(title)).barcode)
    clock.advance(days=20)  # every loan overdue: the longest status
    app = make_app(circulation, language=language, camera=QuietCamera)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, make.card(patron), "PatronScreen")
        await pilot.pause()
        assert app.screen.query("CameraPreview")
        table = app.screen.query_one(LoanTable)
        assert uncovered(app, table)
        widths = sum(column.get_render_width(table) for column in table.columns.values())
        assert widths <= table.scrollable_content_region.width, "a column is cut off"
        status = t("loan.overdue", days=20 - 14 + 0)
        cells = [str(table.get_cell_at((row, 2))) for row in range(table.row_count)]
        assert all(cell_len(cell) <= table.columns["status"].width for cell in cells)
        assert any(status.split()[0] in cell for cell in cells)
        said = await scan_and_wait(pilot, "NO-SUCH-BOOK")
        assert said
        assert uncovered(app, app.screen.query_one("#verdict"))
        all_buttons_whole(app)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_helper_mode_shows_every_button(circulation, make, size, language):
    helper = make.patron(kind="helper", name="王一航")
    copy = make.copy(shelf="I")
    app = make_app(circulation, language=language, camera=QuietCamera)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, make.card(helper), "HelperScreen")
        await wait_until(pilot, lambda: app.screen.query_one("#check-shelf").display)
        await pilot.pause()
        all_buttons_whole(app)
        await scan_and_wait(pilot, copy.barcode)
        await pilot.press("f3")  # damaged: one more line of text
        await pilot.pause()
        all_buttons_whole(app)
        assert uncovered(app, app.screen.query_one("#count"))
        await click_to(pilot, "#check-shelf", "ShelfCheckScreen")
        all_buttons_whole_but_scrolled = [
            b for b in app.screen.query(Button) if b.id == "back" or b.id == "finish"
        ]
        for button in all_buttons_whole_but_scrolled:
            if button.display:
                assert uncovered(app, button)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_receipt_and_returns_show_done_whole(circulation, make, size, language):
    patron = make.patron(name="王小明")
    copy = make.copy()
    circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation, language=language, camera=QuietCamera)
    async with app.run_test(size=size) as pilot:
        all_buttons_whole(app)
        await click_to(pilot, "#return", "ReturnScreen")
        await scan_and_wait(pilot, copy.barcode)
        all_buttons_whole(app)
        await click_to(pilot, "#done", "ReceiptScreen")
        all_buttons_whole(app)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_overdue_tab_shows_whole_dates_at_80x24(circulation, make, library, clock,
                                                       language):
    librarian = make.patron("L0001", name="张老师", kind="librarian")
    with library.connection_context():
        set_pin("L0001", "2468")
    patron = make.patron(name="欧阳小明明", school_class="三年级2班")
    make.rule("student", loan_days=14, max_items=5)
    circulation.checkout(patron.number, make.copy(make.title("Bridge to Terabithia")).barcode)
    clock.advance(days=20)
    app = make_app(circulation, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, make.card(librarian), "PinModal")
        await pilot.press(*"2468", "enter")
        await on_screen(pilot, "LibrarianScreen")
        panel = app.screen.query_one(LibrarianPanel)
        await wait_until(pilot, lambda: panel.loaded)
        panel.show_tab("tab-overdue")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-overdue")
        await pilot.pause()
        table = app.screen.query_one("#overdue-table", RowTable)
        line = table.render_line(1).text
        due = format_date(clock.today - timedelta(days=6))
        assert due in line, line
        all_buttons_whole(app)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_teachers_page_shows_its_three_buttons(circulation, make, size, language):
    """A teacher's page has Done, Class visit and Reserve (staff may reserve) beside the
    camera, with loans and a message."""
    teacher = make.patron(kind="teacher", name="朱勇")
    make.rule("teacher", loan_days=30, max_items=10)
    for title in ("爷爷一定有办法", "The Secret Garden"):
        circulation.checkout(teacher.number, make.copy(make.title(title)).barcode)
    app = make_app(circulation, language=language, camera=QuietCamera)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, make.card(teacher), "PatronScreen")
        await wait_until(pilot, lambda: app.screen.query_one("#reserve").display)
        await scan_and_wait(pilot, "NO-SUCH-BOOK")
        await pilot.pause()
        assert {"finish", "class-visit", "reserve"} <= {
            b.id for b in app.screen.query(Button) if b.display
        }
        all_buttons_whole(app)
