"""Pilot tests: the idle timeout always brings the kiosk back and forgets the student."""

from __future__ import annotations

import pytest
from textual.widgets import Static
from uikit import (
    FakeMonotonic,
    click,
    click_to,
    make_app,
    on_screen,
    scan_to,
    screen_name,
    screen_text,
    wait_until,
)


def countdown_text(app) -> str:
    box = app.screen.query_one("Countdown", Static)
    return str(box.render()) if box.display and box.has_class("-shown") else ""


async def test_countdown_in_last_ten_seconds_then_back_to_start(circulation, make):
    code = make.card(make.patron(name="王小明"))
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        clock.advance(34)
        app.check_timeout()
        assert countdown_text(app) == ""
        clock.advance(2)  # 36 s idle: 9 s left
        app.check_timeout()
        await pilot.pause()
        assert "Going back to the start in 9 s" in countdown_text(app)
        clock.advance(9)
        app.check_timeout()
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        assert "王小明" not in screen_text(pilot)
        assert not [s for s in app.screen_stack if type(s).__name__ == "PatronScreen"]


async def test_a_touch_restarts_the_timeout(circulation, make):
    code = make.card(make.patron())
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        clock.advance(40)
        app.check_timeout()
        await pilot.pause()
        assert countdown_text(app)
        await click(pilot, "#allowance")  # a touch anywhere
        app.check_timeout()
        await pilot.pause()
        assert countdown_text(app) == ""
        clock.advance(44)
        app.check_timeout()
        assert screen_name(pilot) == "PatronScreen"


async def test_timeout_closes_an_open_dialog_too(circulation, make):
    patron = make.patron()
    code = make.card(patron)
    copy = make.copy()
    circulation.checkout(patron.number, copy.barcode)
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        clock.advance(46)
        app.check_timeout()
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")


async def test_timeout_from_returns_and_receipt(circulation):
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        clock.advance(46)
        app.check_timeout()
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        # the attract screen itself never times out
        clock.advance(1000)
        app.check_timeout()
        assert screen_name(pilot) == "AttractScreen"


async def test_configured_timeout(circulation):
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock, idle_timeout=20.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        clock.advance(21)
        app.check_timeout()
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")


async def test_a_pin_dialog_left_open_on_the_start_screen_times_out(circulation, make, library):
    from kiosk.data.core.library import set_pin

    librarian = make.patron("L0001", kind="librarian")
    with library.connection_context():
        set_pin("L0001", "2468")
    code = make.card(librarian)
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PinModal")
        clock.advance(46)
        app.check_timeout()
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")


def shown_countdown(app):
    """The countdown on the screen on top, if it is there for a child to see."""
    from uikit import uncovered

    boxes = [box for box in app.screen.query("Countdown") if box.has_class("-shown")]
    return boxes[0] if boxes and uncovered(app, boxes[0]) else None


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_countdown_is_seen_on_every_screen(circulation, make, size):
    """The countdown is drawn above the scan field, not under it (both used to be docked
    at the bottom, the scan field over the countdown), on every kiosk screen and on a
    dialog left open."""
    teacher = make.patron(kind="teacher", name="李老师")
    make.patron(name="王小明", school_class="三年级2班")
    helper = make.patron(kind="helper", name="小帮手")
    patron = make.patron(name="张三")
    copy = make.copy()
    circulation.checkout(patron.number, copy.barcode)
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)

    async def counts_down(name: str) -> None:
        app.touch()
        clock.advance(app.screen.timeout(45) - 5 if hasattr(app.screen, "timeout") else 40)
        app.check_timeout()
        await pilot.pause()
        box = shown_countdown(app)
        assert box is not None, f"no countdown to see on {name}"
        assert "Going back to the start in" in str(box.render())
        app.touch()
        app.check_timeout()
        await pilot.pause()

    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, make.card(patron), "PatronScreen")
        await counts_down("the patron's page")
        await scan_to(pilot, copy.barcode, "MineModal")
        await counts_down("the return-or-renew dialog")
        await pilot.press("escape")
        await on_screen(pilot, "PatronScreen")
        await click_to(pilot, "#finish", "ReceiptScreen")
        await counts_down("the receipt")
        await click_to(pilot, "#ok", "AttractScreen")
        await click_to(pilot, "#return", "ReturnScreen")
        await counts_down("the returns screen")
        app.reset_to_attract()
        await on_screen(pilot, "AttractScreen")
        await scan_to(pilot, make.card(helper), "HelperScreen")
        await counts_down("helper mode")
        app.reset_to_attract()
        await on_screen(pilot, "AttractScreen")
        await scan_to(pilot, make.card(teacher), "PatronScreen")
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        await counts_down("the class picker")
