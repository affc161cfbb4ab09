"""Pilot tests: returning books without a card, and where each book goes."""

from __future__ import annotations

import pytest
from uikit import (
    click_to,
    make_app,
    post_scan,
    scan_and_wait,
    scan_to,
    screen_text,
    wait_until,
)

from kiosk.data.core.models import Copy


@pytest.fixture
def lent(circulation, make):
    """A copy of 草房子 (shelf I) lent to a student."""
    student = make.patron("20230001", name="王小明")
    copy = make.copy(make.title("草房子"), barcode="10000001", shelf="I")
    circulation.checkout(student.number, copy.barcode)
    return copy


async def test_return_button_then_scan_says_shelf(circulation, lent, library):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        message = await scan_and_wait(pilot, lent.barcode)
        assert message == "Returned: “草房子”. Put it on shelf I."
        assert "Books returned: 1" in screen_text(pilot)
    with library.connection_context():
        assert Copy.get(Copy.barcode == lent.barcode).status == "available"


async def test_book_scanned_at_start_is_returned_straight_away(circulation, lent):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, lent.barcode, "ReturnScreen")
        await wait_until(pilot, lambda: "Put it on shelf I." in screen_text(pilot))


async def test_reserved_book_goes_to_hold_shelf_with_name(circulation, make, lent):
    make.hold(make.patron("20230009", name="李华"), lent)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        message = await scan_and_wait(pilot, lent.barcode)
        assert "put it on the hold shelf (for 李华)" in message


async def test_lost_book_goes_to_desk(circulation, make):
    make.copy(make.title("丢失的书"), barcode="10000002", status="lost")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        message = await scan_and_wait(pilot, "10000002")
        assert "please give this book to the librarian at the desk" in message


async def test_book_not_on_loan_is_said_so_not_an_error(circulation, make):
    make.copy(make.title("没借出的书"), barcode="10000003", shelf="K")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        message = await scan_and_wait(pilot, "10000003")
        assert message == "“没借出的书” was not on loan. Please put it back on shelf K."


async def test_overdue_return_gets_a_gentle_note(circulation, lent, clock):
    clock.advance(days=17)  # due after 14 days, 3 days late
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        message = await scan_and_wait(pilot, lent.barcode)
        assert "It was 3 days late." in message


async def test_unknown_book_at_returns(circulation):
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        message = await scan_and_wait(pilot, "ABC123")
        assert "We do not know this book (ABC123)" in message


async def test_a_pile_of_returns_then_receipt(circulation, make):
    student = make.patron()
    copies = [make.copy(make.title(f"书{n}")) for n in range(2)]
    for copy in copies:
        circulation.checkout(student.number, copy.barcode)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        for copy in copies:
            assert "Returned" in await scan_and_wait(pilot, copy.barcode)
        await click_to(pilot, "#done", "ReceiptScreen")
        text = screen_text(pilot)
        assert "Returned  书0" in text and "Returned  书1" in text
        assert "Thank you! Enjoy your reading." in text


async def test_card_on_return_screen_opens_patron_page(circulation, make):
    patron = make.patron(name="王小明")
    code = make.card(patron)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await click_to(pilot, "#return", "ReturnScreen")
        await scan_to(pilot, code, "PatronScreen")
        assert "Hello, 王小明!" in screen_text(pilot)


async def test_books_returned_before_showing_a_card_stay_on_the_receipt(circulation, make):
    student = make.patron(name="王小明")
    code = make.card(student)
    copy = make.copy(make.title("还的书"))
    circulation.checkout(student.number, copy.barcode)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        post_scan(pilot, copy.barcode)  # returned at the start screen, no card
        await wait_until(pilot, lambda: "Returned" in screen_text(pilot))
        post_scan(pilot, code)  # then the card, to borrow
        await wait_until(pilot, lambda: "Hello, 王小明!" in screen_text(pilot))
        await click_to(pilot, "#finish", "ReceiptScreen")
        assert "Returned  还的书" in screen_text(pilot)
        assert "Goodbye, 王小明!" in screen_text(pilot)
