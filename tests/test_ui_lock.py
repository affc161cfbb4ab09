"""Pilot tests: nothing a student presses leaves the kiosk; the librarian leaves with card + PIN."""

from __future__ import annotations

import pytest
from uikit import (
    click,
    click_to,
    make_app,
    on_screen,
    post_scan,
    scan_to,
    screen_name,
    screen_text,
    wait_until,
)

from kiosk.data.core.library import set_pin

STUDENT_KEYS = ["ctrl+q", "ctrl+c", "ctrl+p", "ctrl+z", "ctrl+backslash", "escape", "ctrl+d",
                "ctrl+w", "f1", "ctrl+s", "tab", "ctrl+x"]


@pytest.fixture
def librarian(make, library):
    """The librarian with PIN 2468; returns the card code."""
    patron = make.patron("L0001", name="张老师", kind="librarian")
    with library.connection_context():
        set_pin("L0001", "2468")
    return make.card(patron)


async def test_no_student_key_quits_or_opens_a_palette(circulation, make):
    code = make.card(make.patron())
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        for key in STUDENT_KEYS:
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None
        assert screen_name(pilot) == "PatronScreen"  # no command palette, no other screen
        assert not app.use_command_palette


async def test_quit_key_says_the_kiosk_is_locked(circulation):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert any("locked" in str(n.message) for n in app._notifications)
        assert app.is_running


async def test_ctrl_q_quits_outside_kiosk_mode(circulation):
    app = make_app(circulation, kiosk_mode=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, timeout=3)


async def test_librarian_leaves_with_card_and_pin(circulation, librarian, facts):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, librarian, "PinModal")
        await pilot.press(*"1111", "enter")
        await wait_until(pilot, lambda: "Wrong PIN." in screen_text(pilot))
        await pilot.press(*"2468", "enter")
        await wait_until(pilot, lambda: screen_name(pilot) == "LibrarianScreen")
        assert "Signed in: 张老师" in screen_text(pilot)
        await click(pilot, "#exit")
        await on_screen(pilot, "ConfirmModal")  # asked first
        assert "Leave kiosk mode?" in screen_text(pilot)
        await pilot.press("escape")  # no: the kiosk goes on
        await on_screen(pilot, "LibrarianScreen")
        assert app.is_running
        await pilot.press("f10")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")  # yes
        await wait_until(pilot, lambda: not app.is_running, timeout=3)
    kinds = [(f.kind, f.data.get("reason")) for f in facts() if f.patron == "L0001"]
    assert ("refusal", "pin.wrong") in kinds and ("librarian_login", None) in kinds


async def test_pin_cancel_goes_back(circulation, librarian):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, librarian, "PinModal")
        await click_to(pilot, "#cancel", "AttractScreen")
        assert app.is_running


async def test_five_wrong_pins_lock_the_card(circulation, librarian):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, librarian, "PinModal")
        for _ in range(5):
            await pilot.press(*"0000", "enter")
            await pilot.pause()
        await pilot.press(*"2468", "enter")
        await wait_until(pilot, lambda: "Too many wrong PINs" in screen_text(pilot))
        assert screen_name(pilot) == "PinModal"


async def test_student_card_never_opens_librarian_screen(circulation, make):
    code = make.card(make.patron(kind="teacher"))
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")


async def test_returns_only_switch(circulation, librarian, make):
    student_code = make.card(make.patron())
    make.copy(barcode="10000001")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, librarian, "PinModal")
        await pilot.press(*"2468", "enter")
        await wait_until(pilot, lambda: screen_name(pilot) == "LibrarianScreen")
        await click(pilot, "#returns-only")
        await wait_until(pilot, lambda: "Returns only is ON." in screen_text(pilot))
        await click_to(pilot, "#back", "AttractScreen")
        assert "books can only be returned now" in screen_text(pilot)
        await scan_to(pilot, student_code, "PatronScreen")
        post_scan(pilot, "10000001")
        await wait_until(pilot, lambda: "only be returned now, not borrowed" in screen_text(pilot))


async def test_function_keys_work_for_a_kiosk_without_touch(circulation, librarian, make):
    """A keyboard-only kiosk: every button has its function key, shown on the button."""
    patron = make.patron(name="王小明")
    code = make.card(patron)
    copy = make.copy(make.title("草房子"), shelf="I")
    circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "F2" in str(app.screen.query_one("#return").label)
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen_name(pilot) == "ReturnScreen")
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen_name(pilot) == "ReceiptScreen")
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        await pilot.press("f2")  # return it
        await wait_until(pilot, lambda: "Put it on shelf I." in screen_text(pilot))
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen_name(pilot) == "ReceiptScreen")
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        await scan_to(pilot, librarian, "PinModal")
        await pilot.press(*"2468", "enter")
        await wait_until(pilot, lambda: screen_name(pilot) == "LibrarianScreen")
        await pilot.press("f10")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: not app.is_running, timeout=3)
