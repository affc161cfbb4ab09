"""Pilot tests: scans racing screen changes, refused cards, and failures never end the app."""

from __future__ import annotations

from uikit import click, make_app, post_scan, scan_to, screen_text, verdict, wait_until

from kiosk.data.core.models import Loan, Patron


async def test_a_scan_queued_behind_a_new_card_goes_to_the_new_patron(circulation, make, library):
    first = make.card(make.patron("20230001", name="王小明"))
    second = make.card(make.patron("20230002", name="李华"))
    make.copy(make.title("草房子"), barcode="10000001")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        post_scan(pilot, first)
        await wait_until(pilot, lambda: "Hello, 王小明!" in screen_text(pilot))
        post_scan(pilot, second)  # the next child's card, and at once their book
        post_scan(pilot, "10000001")
        await wait_until(pilot, lambda: "Hello, 李华!" in screen_text(pilot))
        await wait_until(pilot, lambda: "Borrowed: “草房子”" in verdict(pilot))
    with library.connection_context():
        loan = Loan.select(Loan, Patron).join(Patron).get()
        assert loan.patron.name == "李华"


async def test_a_refused_card_on_a_patron_page_closes_that_page(circulation, make):
    first = make.card(make.patron("20230001", name="王小明"))
    lost = make.patron("20230002", name="李华")
    old = make.card(lost)
    make.card(lost)  # reissued: the old card is revoked
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        post_scan(pilot, first)
        await wait_until(pilot, lambda: "Hello, 王小明!" in screen_text(pilot))
        await scan_to(pilot, old, "AttractScreen")
        await wait_until(pilot, lambda: "reported lost" in verdict(pilot))
        assert "王小明" not in screen_text(pilot)


async def test_returns_only_still_lets_a_child_return_from_their_page(circulation, make):
    patron = make.patron()
    code = make.card(patron)
    copy = make.copy(shelf="I")
    circulation.checkout(patron.number, copy.barcode)
    make.setting("returns_only", "1")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        await click(pilot, "#return")
        await wait_until(pilot, lambda: "Put it on shelf I." in verdict(pilot))


async def test_an_unexpected_failure_is_said_and_the_kiosk_goes_on(circulation, make, monkeypatch):
    code = make.card(make.patron())
    make.copy(barcode="10000001")
    app = make_app(circulation)

    def broken(*args):
        raise RuntimeError("a bug")

    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        monkeypatch.setattr(circulation, "checkout", broken)
        post_scan(pilot, "10000001")
        await wait_until(pilot, lambda: "Something went wrong. Please scan again" in verdict(pilot))
        assert app.is_running
        monkeypatch.undo()
        post_scan(pilot, "10000001")
        await wait_until(pilot, lambda: "Borrowed" in verdict(pilot))


async def test_a_refused_card_after_a_language_switch_is_still_explained(circulation, make):
    first = make.card(make.patron("20230001", name="王小明"))
    lost = make.patron("20230002", name="李华")
    old = make.card(lost)
    make.card(lost)
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await click(pilot, "#language")  # 中文
        post_scan(pilot, first)
        await wait_until(pilot, lambda: "王小明，你好！" in screen_text(pilot))
        post_scan(pilot, old)
        await wait_until(pilot, lambda: "reported lost" in verdict(pilot))  # back in English
