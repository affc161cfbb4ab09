"""Pilot tests: "returns only" is said where a child looks, and the top bar follows the
switch at once (issue 14, point 4)."""

from __future__ import annotations

import pytest
from uikit import click, click_to, make_app, scan_to, screen_text, wait_until

from kiosk.data.core.library import set_pin
from kiosk.widgets.status_bar import StatusBar


@pytest.fixture
def librarian(make, library):
    """A librarian with PIN 2468; returns the card code."""
    patron = make.patron("L0001", name="张老师", kind="librarian")
    with library.connection_context():
        set_pin("L0001", "2468")
    return make.card(patron)


def top_bar_says_returns_only(app) -> bool:
    bar = app.screen.query_one(StatusBar)
    mode = bar.query_one("#mode")
    return bar.returns_only and mode.has_class("-on") and mode.display


@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_start_screen_and_patron_page_say_returns_only(circulation, make, language):
    patron = make.patron(name="王小明")
    code = make.card(patron)
    make.setting("returns_only", "1")
    app = make_app(circulation, language=language)
    borrow = {"zh_CN": ("借书证借书", "还可以借"), "en": ("to borrow", "may borrow")}[language]
    only = {"zh_CN": "只还书", "en": "Returning books only"}[language]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: only in screen_text(pilot))
        assert borrow[0] not in screen_text(pilot)
        await scan_to(pilot, code, "PatronScreen")
        text = screen_text(pilot)
        assert borrow[1] not in text
        assert ("只还不借" if language == "zh_CN" else "only be returned") in text
        assert top_bar_says_returns_only(app)


async def test_the_top_bar_follows_the_switch_at_once(circulation, librarian, make):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, librarian, "PinModal")
        await pilot.press(*"2468", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LibrarianScreen")
        assert not top_bar_says_returns_only(app)
        await click(pilot, "#returns-only")
        await wait_until(pilot, lambda: top_bar_says_returns_only(app))
        await click_to(pilot, "#back", "AttractScreen")
        assert top_bar_says_returns_only(app)
        assert "Returning books only" in screen_text(pilot)
        await scan_to(pilot, librarian, "PinModal")
        await pilot.press(*"2468", "enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LibrarianScreen")
        await click(pilot, "#returns-only")
        await wait_until(pilot, lambda: not top_bar_says_returns_only(app))
        await click_to(pilot, "#back", "AttractScreen")
        assert not top_bar_says_returns_only(app)
        assert "Show your library card to borrow books" in screen_text(pilot)
