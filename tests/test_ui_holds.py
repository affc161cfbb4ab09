"""Pilot tests: a patron is told their reserved book is waiting, and reserves from their page.

Both languages, at 80x24 and 120x40: the note (title, where, until when) lies whole on
the screen with every button.
"""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Static
from uikit import (
    click,
    make_app,
    on_screen,
    scan_and_wait,
    scan_to,
    screen_name,
    verdict,
    wait_until,
)

from kiosk.data.core.models import Hold
from kiosk.data.lending.holds import Holds
from kiosk.locale import set_language
from kiosk.screens.reserve import reserve


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    set_language("zh_CN")


@pytest.fixture
def shelf(make, circulation):
    """草房子 (two copies, both out) and a student with a card."""
    make.rule("student", loan_days=14, max_items=5)
    title = make.title("草房子", author="曹文轩", isbn="9787530212345")
    copies = [make.copy(title, barcode=f"CF{n}", shelf="I") for n in (1, 2)]
    lender = make.patron("S09", name="Other")
    for copy in copies:
        circulation.checkout(lender.number, copy.barcode)
    student = make.patron("20230001", name="王小明", school_class="三年级2班")
    return {"title": title, "student": student, "card": make.card(student)}


def note(pilot) -> Static:
    return pilot.app.screen.query_one("#holds-note", Static)


def fits(pilot, widget) -> bool:
    return widget.display and pilot.app.screen.region.contains_region(widget.region)


EXPECTED = {
    "en": "Your book is waiting: “草房子”, at the hold shelf at the library desk, "
          "until Wed 19 Mar.",
    "zh_CN": "你预约的书到了：《草房子》，请到借还台旁的预约书架取，保留到 3月19日（周三）。",
}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_the_student_is_told_their_book_is_waiting(
    circulation, make, shelf, size, language
):
    holds = Holds(circulation)
    holds.place(shelf["student"].number, barcode="CF1", by="L01")
    circulation.checkin("CF1")  # back: to the hold shelf for 王小明
    app = make_app(circulation, language=language)
    async with app.run_test(size=size) as pilot:
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await wait_until(pilot, lambda: note(pilot).display)
        await pilot.pause()
        assert str(note(pilot).render()).replace("\n", "") == EXPECTED[language]
        assert fits(pilot, note(pilot)), note(pilot).region
        page = app.screen.query_one("#patron").region
        assert page.contains_region(note(pilot).region)  # not cut off by the page
        for button in app.screen.query(Button):
            if button.display:
                assert fits(pilot, button), button


async def test_a_hold_that_waits_for_a_copy_is_counted(circulation, make, shelf):
    Holds(circulation).place(shelf["student"].number, barcode="CF1", by="L01")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await wait_until(pilot, lambda: note(pilot).display)
        assert str(note(pilot).render()) == "Reserved: “草房子”, number 1 in the queue"


async def test_no_reserve_button_where_students_may_not(circulation, make, shelf):
    teacher = make.patron("T01", name="李老师", kind="teacher")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await pilot.pause(0.2)
        assert not app.screen.query_one("#reserve").display
        assert not note(pilot).display
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, make.card(teacher), "PatronScreen")
        await wait_until(pilot, lambda: app.screen.query_one("#reserve").display)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_student_reserves_from_their_page(circulation, make, shelf, facts, language,
                                                  library):
    make.setting("holds_students", "1")
    app = make_app(circulation, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await wait_until(pilot, lambda: app.screen.query_one("#reserve").display)
        await pilot.press("f4")
        await on_screen(pilot, "ReserveModal")
        assert app.screen.query_one("#reserve-yes", Button).disabled
        await pilot.press(*"NO-SUCH", "enter")
        found = app.screen.query_one("#reserve-found", Static)
        await wait_until(pilot, lambda: "NO-SUCH" in str(found.render()))
        await pilot.press(*"9787530212345", "enter")
        await wait_until(pilot, lambda: "草房子" in str(found.render()))
        if language == "en":
            assert str(found.render()) == "“草房子” by 曹文轩: all 2 are out now."
        await pilot.press("f2")
        await on_screen(pilot, "PatronScreen")
        await wait_until(pilot, lambda: note(pilot).display)
        words = {"en": "Reserved: “草房子”. You are number 1", "zh_CN": "预约成功：《草房子》"}
        assert words[language] in verdict(pilot)
    (hold,) = facts("hold")
    assert (hold.patron, hold.kiosk, hold.data["title"]) == (
        "20230001", "kiosk-test", shelf["title"].key
    )


async def test_a_refused_reservation_says_why(circulation, make, shelf, facts):
    make.setting("holds_students", "1")
    Holds(circulation).place(shelf["student"].number, barcode="CF1")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await wait_until(pilot, lambda: app.screen.query_one("#reserve").display)
        await click(pilot, "#reserve")
        await on_screen(pilot, "ReserveModal")
        app.screen.query_one("#reserve-code", Input).value = "CF2"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.screen.query_one("#reserve-yes").disabled)
        await click(pilot, "#reserve-yes")
        await on_screen(pilot, "PatronScreen")
        assert "You have already reserved “草房子”." in verdict(pilot)
    assert facts("refusal")[-1].data["reason"] == "hold.already"


async def test_the_find_a_book_screen_reserves_a_title_it_found(circulation, make, shelf, library):
    """The hook another screen calls with the title it found: straight to the question;
    going back reserves nothing."""
    make.setting("holds_students", "1")
    said: list[tuple[str, str]] = []
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        reserve(app, "20230001", title_key=shelf["title"].key, done=lambda *a: said.append(a))
        await on_screen(pilot, "ReserveModal")
        assert not app.screen.query_one("#reserve-code").display
        await wait_until(pilot, lambda: not app.screen.query_one("#reserve-yes").disabled)
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        assert said == []
        reserve(app, "20230001", title_key=shelf["title"].key, done=lambda *a: said.append(a))
        await on_screen(pilot, "ReserveModal")
        await wait_until(pilot, lambda: not app.screen.query_one("#reserve-yes").disabled)
        await pilot.press("f2")
        await wait_until(pilot, lambda: bool(said))
    assert said[0][1] == "ok" and "草房子" in said[0][0]
    with library.connection_context():
        assert Hold.select().count() == 1


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_the_note_leaves_room_for_loans_a_message_and_the_buttons(
    circulation, make, shelf, language
):
    """At 80x24: the note, two loans with long titles, a refusal and every button."""
    make.setting("holds_students", "1")
    student = shelf["student"].number
    Holds(circulation).place(student, barcode="CF1")
    circulation.checkin("CF1")
    for n in (1, 2):
        copy = make.copy(make.title("哈利·波特与魔法石（纪念版）" * n))
        circulation.checkout(student, copy.barcode)
    app = make_app(circulation, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await wait_until(pilot, lambda: note(pilot).display
                         and app.screen.query_one("#reserve").display)
        assert await scan_and_wait(pilot, "UNKNOWN-BOOK")
        await pilot.pause()
        assert fits(pilot, note(pilot))
        for widget in [*app.screen.query(Button), app.screen.query_one("#verdict"),
                       app.screen.query_one("#scan")]:
            if widget.display:
                assert fits(pilot, widget), widget


async def test_the_kiosk_ends_expired_holds_when_it_starts(circulation, make, shelf, clock,
                                                            facts):
    Holds(circulation).place(shelf["student"].number, barcode="CF1", by="L01")
    circulation.checkin("CF1")
    clock.advance(days=8)  # past its last day (the 19th)
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(facts("hold_expired")))
        await scan_to(pilot, shelf["card"], "PatronScreen")
        await pilot.pause(0.2)
        assert not note(pilot).display
    assert facts("hold_expired")[0].kiosk == "kiosk-test"
