"""Pilot tests: the dialogs of issue 15 lay out from 80x24 to a large terminal, both
languages: every visible button and field lies on the screen (``assert_fits``)."""

from __future__ import annotations

import pytest
from test_ui_layout import SIZES
from textual.widgets import Button, Input
from uikit import make_app, on_screen, post_scan, scan_to, wait_until

from kiosk.data.core.library import set_pin
from kiosk.data.core.models import ClassTeacher
from kiosk.locale import set_language
from kiosk.widgets.row_table import RowTable


def assert_fits(app) -> None:
    """Every visible button and input of the top screen lies fully on the screen (the
    answers of a long list: the box that scrolls them)."""
    screen = app.screen.region
    widgets = [*app.screen.query(Button).exclude(".answer"), *app.screen.query(Input),
               *app.screen.query("#answers")]
    assert widgets
    for widget in widgets:
        if not widget.display or not widget.region:
            continue
        assert screen.contains_region(widget.region), (widget, widget.region, screen)


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    set_language("zh_CN")


@pytest.fixture
def school(make, library):
    cls = make.school_class("三年级2班（阅读实验班）")
    librarian = make.patron("L0001", name="欧阳静静", kind="librarian")
    teacher = make.patron("T0001", name="司马老师", kind="teacher")
    for n in range(30):
        make.patron(f"S{n:04d}", name=f"欧阳小明{n}", school_class=cls)
    with library.connection_context(), library.atomic():
        set_pin("L0001", "2468")
        ClassTeacher.create(teacher=teacher, school_class=cls)
    for n in range(5):
        make.copy(make.title("哈利·波特与魔法石（纪念版）" * 2), barcode=f"B{n:04d}")
    return {"librarian": make.card(librarian), "teacher": make.card(teacher)}


CASES = [(SIZES[0], "zh_CN"), (SIZES[0], "en"), (SIZES[1], "en"), (SIZES[2], "zh_CN")]
"""The smallest screen in both languages, the larger ones in one each (it is the small
screen where a longer language runs out of room)."""


@pytest.mark.parametrize(("size", "language"), CASES)
async def test_the_corner_and_its_questions_fit(circulation, school, size, language):
    app = make_app(circulation, language=language)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await pilot.press("f6")  # Class corner
        await on_screen(pilot, "ChoiceModal")
        assert_fits(app)
        await pilot.press("f2")
        await on_screen(pilot, "ChoiceModal")
        assert_fits(app)
        await pilot.press("f2")
        await on_screen(pilot, "CornerModal")
        for n in range(5):
            post_scan(pilot, f"B{n:04d}")
        table = app.screen.query_one("#corner-books", RowTable)
        await wait_until(pilot, lambda: len(table.rows) == 5)
        assert_fits(app)


@pytest.mark.parametrize(("size", "language"), CASES)
async def test_the_pile_and_the_class_list_fit(circulation, school, size, language):
    app = make_app(circulation, language=language)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, school["librarian"], "PinModal")
        await pilot.press(*"2468", "enter")
        await on_screen(pilot, "LibrarianScreen")
        assert_fits(app)
        await pilot.press("f12")
        await on_screen(pilot, "ChoiceModal")
        assert_fits(app)
        await pilot.press("f2")  # repair, loss and write-off
        await pilot.pause(0.1)
        await on_screen(pilot, "ChoiceModal")
        assert_fits(app)
        await pilot.press("f2")
        await on_screen(pilot, "StockPileModal")
        post_scan(pilot, "B0001")
        table = app.screen.query_one("#pile-done", RowTable)
        await wait_until(pilot, lambda: len(table.rows) == 1)
        assert_fits(app)
        await pilot.press("escape")
        await pilot.press("f3")  # back to the start
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await pilot.press("f3")
        await on_screen(pilot, "ClassPickScreen")
        await pilot.pause(0.2)
        await pilot.press("f3")
        await on_screen(pilot, "VisitScreen")
        assert_fits(app)
        await pilot.press("f4")
        await on_screen(pilot, "ChoiceModal")
        assert_fits(app)
