"""Snapshot tests (pytest-textual-snapshot) of the main kiosk screens at 80x24 and 120x40,
in Chinese and English, with the camera's preview in its corner: a Pilot test passes
while a widget is hidden behind another or cut off; a picture does not.

The pictures are in ``tests/__snapshots__/test_ui_snapshots/``; after a deliberate change
of the look, look at the new ones (``pytest --snapshot-update`` writes them, and the
report of a failing run shows old and new side by side) before committing them.
"""

from __future__ import annotations

import pytest
from textual.widgets import Label
from uikit import QuietCamera, make_app, post_scan, scan_to, verdict_count, wait_until

from kiosk.locale import set_language
from kiosk.widgets.scan_bar import ScanBar

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    set_language("zh_CN")


async def hold_still(pilot) -> None:
    """The clock shows 10:00 and the scan field's cursor does not blink: the same picture
    at every run."""
    await pilot.pause()
    for label in pilot.app.screen.query("#clock").results(Label):
        label.update("10:00")
    for field in pilot.app.screen.query(ScanBar):
        field.cursor_blink = False
    await pilot.pause()


@pytest.fixture
def library_day(make, circulation, clock):
    """A student with two loans (one overdue) and a helper, on the test clock's day."""
    make.rule("student", loan_days=14, max_items=3)
    student = make.patron(name="张晨曦", school_class="三年级2班")
    circulation.checkout(student.number, make.copy(make.title("犟龟")).barcode)
    clock.advance(days=10)
    circulation.checkout(
        student.number, make.copy(make.title("George's Marvellous Medicine")).barcode
    )
    clock.advance(days=6)
    return {
        "student": make.card(student),
        "helper": make.card(make.patron(kind="helper", name="王一航")),
        "book": make.copy(make.title("哈利·波特与魔法石"), shelf="I").barcode,
    }


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_patron_page(snap_compare, circulation, library_day, language, size):
    """The student's page: loans (one overdue, in red), the overdue message, Done."""
    app = make_app(circulation, language=language, camera=QuietCamera)

    async def run_before(pilot) -> None:
        await scan_to(pilot, library_day["student"], "PatronScreen")
        await wait_until(pilot, lambda: verdict_count(pilot) > 0)
        await hold_still(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_helper_mode(snap_compare, circulation, library_day, language, size):
    """Helper mode after a book: where it goes in big words, the count, four buttons."""
    app = make_app(circulation, language=language, camera=QuietCamera)

    async def run_before(pilot) -> None:
        await scan_to(pilot, library_day["helper"], "HelperScreen")
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#check-shelf").display)
        before = verdict_count(pilot)
        post_scan(pilot, library_day["book"])
        await wait_until(pilot, lambda: verdict_count(pilot) > before)
        await hold_still(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


@pytest.mark.parametrize(("language", "size"), [("zh_CN", "80x24"), ("en", "120x40")])
def test_start_screen(snap_compare, circulation, language, size):
    """The start screen with the camera's preview."""
    app = make_app(circulation, language=language, camera=QuietCamera)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=hold_still)
