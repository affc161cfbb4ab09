"""Pilot tests: every kind of bad card gets its own clear message, and is recorded."""

from __future__ import annotations

from datetime import date

import pytest
from uikit import (
    make_app,
    post_scan,
    scan_and_wait,
    scan_to,
    screen_name,
    screen_text,
    verdict,
    wait_until,
)

from kiosk.data.core.library import card_code


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("forged", "This is not a card of our library"),
        ("revoked", "This card was reported lost and no longer works"),
        ("unknown", "We do not know this card"),
        ("expired", "This card expired on 2025-03-01"),
        ("blocked", "You cannot borrow right now: lost book not paid for"),
        ("inactive", "This card is no longer in use"),
        ("truncated", "This card could not be read"),
    ],
)
async def test_card_refusals_on_start_screen(circulation, make, facts, case, expected):
    patron = make.patron(
        "20230001",
        blocked_reason="lost book not paid for" if case == "blocked" else None,
        active=case != "inactive",
    )
    code = make.card(patron, expires_on=date(2025, 3, 1) if case == "expired" else None)
    if case == "forged":
        code = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    elif case == "revoked":
        make.card(patron)  # the reissue revokes the first card
    elif case == "unknown":
        # correctly signed, but for a reader this library does not have
        with circulation.store.db.connection_context():
            code = card_code("20239999", 1)
    elif case == "truncated":
        code = code[:-5]
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        message = await scan_and_wait(pilot, code)
        assert message.startswith("Sorry\n")
        assert expected in message
        assert screen_name(pilot) == "AttractScreen"
    assert facts("refusal"), "every refusal is recorded as a fact"


async def test_hostile_code_is_shown_harmlessly(circulation, make, facts):
    hostile = "LK.\x1b[2J\x1b]0;pwned\x07[bold red]X[/]" + "\x00" * 10
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        message = await scan_and_wait(pilot, hostile)
        assert "This card could not be read" in message
        assert "\x1b" not in screen_text(pilot)
    refusal = facts("refusal")[-1]
    assert "\x1b" not in refusal.data["code"] and "\x00" not in refusal.data["code"]


async def test_ten_kilobyte_code(circulation):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        message = await scan_and_wait(pilot, "LK." + "9" * 10_000)
        assert "This card could not be read" in message


async def test_markup_in_book_code_is_not_interpreted(circulation, make):
    patron = make.patron()
    code = make.card(patron)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        message = await scan_and_wait(pilot, "[b]X[/b]")
        assert "We do not know this book ([b]X[/b])" in message


async def test_refusal_message_goes_away(circulation, make):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.VERDICT_SECONDS = 0.05
        await scan_and_wait(pilot, "LK.BROKEN")
        await wait_until(pilot, lambda: "could not be read" not in screen_text(pilot))


async def test_plain_numeric_cards_only_where_configured(circulation, make):
    make.patron("20230001", name="王小明")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        # not configured: a bare number is looked up as a book's barcode, and is none
        post_scan(pilot, "20230001")
        await wait_until(pilot, lambda: "is neither a library card nor a book" in verdict(pilot))
        assert screen_name(pilot) == "AttractScreen"
    circulation.allow_plain_cards = True
    app = make_app(circulation, allow_plain_cards=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, "20230001", "PatronScreen")
        assert "Hello, 王小明!" in screen_text(pilot)
