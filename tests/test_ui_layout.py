"""Pilot tests: every screen lays out from 80x24 up to a large full-screen terminal."""

from __future__ import annotations

import pytest
from textual.widgets import Button
from uikit import click_to, make_app, post_scan, scan_to, wait_until

from kiosk.locale import set_language

SIZES = [(80, 24), (120, 40), (240, 67)]


def assert_fits(app) -> None:
    """Every button and the scan field lie fully on the screen, none zero-sized."""
    screen = app.screen.region
    widgets = list(app.screen.query(Button)) + list(app.screen.query("#scan"))
    assert widgets
    for widget in widgets:
        if not widget.display:
            continue
        region = widget.region
        assert region.width > 0 and region.height > 0, widget
        assert screen.contains_region(region), (widget, region, screen)


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    set_language("zh_CN")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_screens_fit(circulation, make, size, language):
    patron = make.patron(name="欧阳小明明")
    code = make.card(patron)
    for n in range(2):
        copy = make.copy(make.title("哈利·波特与魔法石（纪念版）" * (n + 1)))
        circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation, language=language)
    async with app.run_test(size=size) as pilot:
        assert_fits(app)
        await scan_to(pilot, code, "PatronScreen")
        post_scan(pilot, "UNKNOWN-BOOK")
        await wait_until(pilot, lambda: app.screen.query_one("#verdict").has_class("-shown"))
        await pilot.pause()
        assert_fits(app)
        await click_to(pilot, "#finish", "ReceiptScreen")
        assert_fits(app)
        await click_to(pilot, "#ok", "AttractScreen")
        await click_to(pilot, "#return", "ReturnScreen")
        assert_fits(app)


async def test_a_button_label_is_plain_text_never_markup():
    """A class or shelf name from a roster ends up on a button: ``3[A]`` and ``[/b]``
    are shown as typed, and cannot break the screen."""
    from textual.app import App, ComposeResult

    from kiosk.widgets.big_button import BigButton

    class Buttons(App[None]):
        def compose(self) -> ComposeResult:
            yield BigButton("3[A]", key="f3", id="one")
            yield BigButton("5年级[/b]2班", id="two")

    app = Buttons()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert str(app.query_one("#one", BigButton).label) == "3[A]  F3"
        assert str(app.query_one("#two", BigButton).label) == "5年级[/b]2班"
