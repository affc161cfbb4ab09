"""Scans that arrive together stay apart (issue 12, point 7).

A keyboard-wedge scanner or a paste can send ``CARD⏎BOOK⏎`` in one burst: every Enter
ends one scan, whatever the timing and whatever screen the scan before it opened; the
card opens the patron's page and the book is borrowed there; half a code typed for
one visitor never reaches the next.

The bursts are posted to the app as its terminal driver posts them, all at once
(``pilot.press`` waits for the app to be idle after every key, which no scanner does),
and with a scanner's few milliseconds between keys, so that the card's page opens
while the book's keys are still coming.
"""

from __future__ import annotations

import asyncio

import pytest
from textual import events
from uikit import (
    FakeMonotonic,
    make_app,
    on_screen,
    screen_name,
    screen_text,
    verdict,
    wait_until,
)

from kiosk.data.core.models import Copy, Journal, Loan, Patron
from kiosk.devices.wedge import KeyLine


@pytest.fixture
def library_with_books(make):
    """Two students with cards and three books on the shelf."""
    first, second = make.patron("20230001", name="王小明"), make.patron("20230002", name="李华")
    for barcode, title in (("10000001", "草房子"), ("10000002", "小王子"), ("10000003", "西游记")):
        make.copy(make.title(title), barcode=barcode)
    return {"first": make.card(first), "second": make.card(second)}


def key_events(text: str) -> list[events.Key]:
    """The key events a terminal gives for ``text`` (CR as Enter)."""
    return [events.Key("enter", "\r") if char in "\r\n" else events.Key(char, char)
            for char in text]


def burst(app, text: str) -> None:
    """``text`` arriving in one read from the terminal: every key posted at once."""
    for event in key_events(text):
        app.post_message(event)


async def typed_by_scanner(app, text: str, gap: float = 0.003) -> None:
    """``text`` typed the way a USB scanner types: a few milliseconds between keys."""
    for event in key_events(text):
        app.post_message(event)
        await asyncio.sleep(gap)


def barcodes_lent(number: str) -> list[str]:
    """The barcodes of the copies patron ``number`` has borrowed (returned or not)."""
    return sorted(
        barcode for (barcode,) in Copy.select(Copy.barcode).join(Loan)
        .join(Patron, on=(Loan.patron == Patron.id)).where(Patron.number == number).tuples()
    )


def refusals() -> list[str]:
    return [data for (data,) in Journal.select(Journal.data)
            .where(Journal.kind == "refusal").tuples()]


async def test_a_card_and_a_book_sent_at_once_are_two_scans(circulation, library_with_books):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, library_with_books["first"] + "\r10000001\r")
        await wait_until(pilot, lambda: barcodes_lent("20230001") == ["10000001"])
        await on_screen(pilot, "PatronScreen")
        await wait_until(pilot, lambda: "Borrowed: “草房子”" in verdict(pilot))
        assert refusals() == []
        assert app.screen.query_one("#scan").value == ""


async def test_a_paste_of_several_lines_is_a_scan_a_line(circulation, library_with_books):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        first, second = library_with_books["first"], library_with_books["second"]
        app.post_message(events.Paste(f"{first}\r10000001\r\n10000002\n{second}\r1000"))
        await wait_until(pilot, lambda: barcodes_lent("20230001") == ["10000001", "10000002"])
        await wait_until(pilot, lambda: "李华" in screen_text(pilot))
        await wait_until(pilot, lambda: app.screen.query_one("#scan").value == "1000")
        burst(app, "0003\r")  # the rest of the last line, and its Enter
        await wait_until(pilot, lambda: barcodes_lent("20230002") == ["10000003"])
        assert refusals() == []


async def test_scanner_speed_keys_cross_the_page_opening_intact(circulation, library_with_books):
    """The card's page opens after a few milliseconds, in the middle of the book's keys:
    the book's code is neither split between the two screens nor lost."""
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        codes = [library_with_books["first"], "10000001", "10000002",
                 library_with_books["second"], "10000003"]
        await typed_by_scanner(app, "\r".join(codes) + "\r")
        await wait_until(pilot, lambda: barcodes_lent("20230002") == ["10000003"])
        assert barcodes_lent("20230001") == ["10000001", "10000002"]
        assert refusals() == []
        assert screen_name(pilot) == "PatronScreen" and "李华" in screen_text(pilot)


async def test_keys_pressed_quickly_with_pilot_are_scans_too(circulation, library_with_books):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*library_with_books["first"], "enter", *"10000001", "enter",
                          *"10000002", "enter")
        await wait_until(pilot, lambda: barcodes_lent("20230001") == ["10000001", "10000002"])
        assert refusals() == []


async def test_half_a_code_left_by_one_visitor_never_reaches_the_next(
    circulation, library_with_books
):
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        burst(app, library_with_books["first"] + "\r")
        await on_screen(pilot, "PatronScreen")
        burst(app, "100000")  # the first visitor walks away mid-code
        await wait_until(pilot, lambda: app.screen.query_one("#scan").value == "100000")
        clock.advance(120)
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        assert app.screen.query_one("#scan").value == ""
        burst(app, library_with_books["second"] + "\r10000002\r")  # the next visitor
        await wait_until(pilot, lambda: barcodes_lent("20230002") == ["10000002"])
        assert refusals() == []


async def test_a_typing_person_can_correct_a_typo(circulation, library_with_books):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*library_with_books["first"], "enter")
        await on_screen(pilot, "PatronScreen")
        await pilot.press(*"100000011", "backspace", "enter")
        await wait_until(pilot, lambda: barcodes_lent("20230001") == ["10000001"])


def test_the_line_ends_each_code_at_its_enter():
    line = KeyLine(max_gap_ms=60, max_length=10, now=iter(range(100)).__next__)
    assert line.paste("A1\r\nB2\n\rC3") == [("A1", "keyboard"), ("B2", "keyboard")]
    assert line.text == "C3"
    line.type("4" * 20)
    assert line.text == "C3" + "4" * 8  # at most max_length kept
    line.clear()
    assert line.enter() is None
