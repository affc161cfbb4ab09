"""Pilot tests: a student shows a card, sees their page, borrows, and finishes."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import DataTable
from uikit import (
    click,
    click_to,
    make_app,
    post_scan,
    scan_and_wait,
    scan_to,
    screen_name,
    screen_text,
    type_code,
    verdict,
    wait_until,
)

from kiosk.data.core.models import Loan


@pytest.fixture
def student(make):
    """A grade-3 student with a card; returns (patron, card code)."""
    patron = make.patron("20230001", name="王小明", school_class="三年级2班")
    return patron, make.card(patron)


async def test_card_opens_patron_page_with_loans_and_allowance(circulation, make, student, clock):
    patron, code = student
    copy = make.copy(make.title("草房子"), barcode="10000001")
    circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        text = screen_text(pilot)
        assert "Hello, 王小明!" in text
        assert "三年级2班" in text
        assert "You may borrow 1 more." in text
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        assert "草房子" in str(table.get_row_at(0)[0])


async def test_borrowing_by_scanning_updates_page(circulation, make, student):
    _, code = student
    make.copy(make.title("小王子"), barcode="10000002", shelf="I")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        # the keyboard-wedge path, key by key, as a USB scanner types it
        await type_code(pilot, code)
        await wait_until(pilot, lambda: screen_name(pilot) == "PatronScreen")
        message = await scan_and_wait(pilot, "10000002", typed=True)
        assert "Borrowed: “小王子”" in message
        assert "Wed 26 Mar" in message  # 14 days after Wed 12 March 2025
        assert "You may borrow 1 more." in screen_text(pilot)
        assert app.screen.query_one(DataTable).row_count == 1


async def test_overdue_loans_shown_in_colour_and_block_borrowing(circulation, make, student, clock):
    patron, code = student
    circulation.checkout(patron.number, make.copy(make.title("昆虫记"), barcode="10000003").barcode)
    make.copy(make.title("西游记"), barcode="10000004")
    clock.advance(days=20)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        assert "1 overdue" in verdict(pilot)
        row = app.screen.query_one(DataTable).get_row_at(0)
        assert "overdue" in str(row[2])
        assert "red" in str(row[0].style)
        assert "You cannot borrow more right now." in screen_text(pilot)
        message = await scan_and_wait(pilot, "10000004")
        assert "overdue book. Please return it first" in message


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("reference", "is a reference book: it stays in the library"),
        ("periodical", "is this month's magazine: it stays in the library"),
        ("on_loan_other", "is still lent to someone else"),
        ("hold_other", "is kept for another reader who reserved it"),
        ("unknown", "We do not know this book (99999999)"),
        ("quota", "the most you may borrow"),
        ("returns_only", "books can only be returned now"),
        ("lost", "cannot be borrowed now. Please give it to the librarian"),
    ],
)
async def test_every_refusal_is_explained(circulation, make, student, clock, setup, expected):
    patron, code = student
    barcode = "20000001"
    if setup == "reference":
        make.copy(make.title("新华字典", kind="reference"), barcode=barcode)
    elif setup == "periodical":
        make.copy(make.title("我们爱科学", kind="periodical", issue_date=date(2025, 3, 1)),
                  barcode=barcode)
    elif setup == "on_loan_other":
        other = make.patron()
        circulation.checkout(other.number, make.copy(barcode=barcode).barcode)
    elif setup == "hold_other":
        title = make.title("窗边的小豆豆")
        copy = make.copy(title, barcode=barcode)
        other = make.patron()
        circulation.checkout(other.number, copy.barcode)
        make.hold(make.patron(), copy)
        circulation.checkin(copy.barcode)  # now on the hold shelf for the holder
    elif setup == "unknown":
        barcode = "99999999"
    elif setup == "quota":
        for n in range(2):
            circulation.checkout(patron.number, make.copy().barcode)
        make.copy(barcode=barcode)
    elif setup == "returns_only":
        make.setting("returns_only", "1")
        make.copy(barcode=barcode)
    elif setup == "lost":
        make.copy(barcode=barcode, status="lost")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        message = await scan_and_wait(pilot, barcode)
        assert message.startswith("Sorry")
        assert expected in message


async def test_own_book_offers_return(circulation, make, student, library):
    patron, code = student
    copy = make.copy(make.title("夏洛的网"), barcode="10000005", shelf="I")
    circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        assert "You already have “夏洛的网”" in screen_text(pilot)
        await click(pilot, "#return")
        await wait_until(pilot, lambda: "Returned" in verdict(pilot))
        assert "Put it on shelf I." in verdict(pilot)
        await wait_until(pilot, lambda: app.screen.query_one(DataTable).row_count == 0)
    with library.connection_context():
        assert Loan.get().returned_at is not None


async def test_own_book_offers_renew(circulation, make, student, clock):
    patron, code = student
    copy = make.copy(make.title("夏洛的网"), barcode="10000006")
    circulation.checkout(patron.number, copy.barcode)
    clock.advance(days=10)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        await click(pilot, "#renew")
        await wait_until(pilot, lambda: "Renewed" in verdict(pilot))
        # renewed for 14 days from today (Sat 22 March: Sat 5 April) -> Mon 7 April
        assert "Mon 7 Apr" in verdict(pilot)
        # a second renewal is over the limit
        await scan_to(pilot, copy.barcode, "MineModal")
        await click(pilot, "#renew")
        await wait_until(pilot, lambda: "renewed as many times as allowed" in verdict(pilot))


async def test_own_book_cancel_changes_nothing(circulation, make, student, facts):
    patron, code = student
    copy = make.copy(barcode="10000007")
    circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        await click_to(pilot, "#cancel", "PatronScreen")
        assert app.screen.query_one(DataTable).row_count == 1
    assert [f.kind for f in facts()][-1] == "checkout"


async def test_done_shows_receipt_then_start(circulation, make, student):
    _, code = student
    make.copy(make.title("草房子"), barcode="10000008")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_and_wait(pilot, "10000008")
        await click_to(pilot, "#finish", "ReceiptScreen")
        text = screen_text(pilot)
        assert "Borrowed  草房子  (due Wed 26 Mar)" in text
        assert "Goodbye, 王小明!" in text
        await click(pilot, "#ok")
        # back at the start, nothing of the visit left: Textual's default screen + attract
        await wait_until(
            pilot, lambda: screen_name(pilot) == "AttractScreen" and len(app.screen_stack) == 2
        )


async def test_another_card_switches_patron(circulation, make, student):
    _, code = student
    other = make.patron("20230002", name="李华")
    other_code = make.card(other)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        post_scan(pilot, other_code)
        await wait_until(pilot, lambda: "Hello, 李华!" in screen_text(pilot))
        assert "王小明" not in screen_text(pilot)
        assert [type(s).__name__ for s in app.screen_stack].count("PatronScreen") == 1


async def test_a_queue_of_children_borrows_in_turn(circulation, make):
    """Children in a row, two books each, through one kiosk (bench/ times forty)."""
    cards = []
    for n in range(10):
        patron = make.patron(f"2023{n:04d}")
        cards.append(make.card(patron))
    barcodes = [make.copy(barcode=f"3{n:07d}").barcode for n in range(20)]
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        for n, code in enumerate(cards):
            await scan_to(pilot, code, "PatronScreen")
            for barcode in barcodes[2 * n : 2 * n + 2]:
                assert "Borrowed" in await scan_and_wait(pilot, barcode)
            await click_to(pilot, "#finish", "ReceiptScreen")
            await click_to(pilot, "#ok", "AttractScreen")
    with circulation.store.db.connection_context():
        assert Loan.select().where(Loan.returned_at.is_null()).count() == 20
