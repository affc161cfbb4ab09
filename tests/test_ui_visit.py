"""Pilot tests: a teacher's class visit, from the teacher's card to its end.

Each edge case of the issue is here: the teacher's own classes first (and any class
can be chosen), a repeated card ignored, a card from another class flagged but
counted, borrowing with the students' own cards during the visit, the end by the
teacher's card (with a note) and by the end of the period.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual import events
from textual.widgets import Button, Input
from uikit import (
    click,
    click_to,
    make_app,
    on_screen,
    post_scan,
    scan_and_wait,
    scan_to,
    screen_name,
    screen_text,
    type_code,
    wait_until,
)

from kiosk.data.core.models import ClassTeacher, ClassVisit, Journal, VisitAttendee
from kiosk.screens.visit import end_due_visits
from kiosk.widgets.scan_bar import ScanBar


@pytest.fixture
def school(make, library):
    """Class 3A with its teacher 李老师 and two students, class 3B with one."""
    a, b = make.school_class("3A"), make.school_class("3B")
    make.school_class("5C", grade=5)
    teacher = make.patron("T1", name="李老师", kind="teacher")
    with library.connection_context():
        ClassTeacher.create(teacher=teacher, school_class=a)
    students = [make.patron(f"S{i}", name=f"学生{i}", school_class=a) for i in range(2)]
    other = make.patron("S9", name="别班生", school_class=b)
    make.rule("student", loan_days=14, max_items=5)
    return {
        "teacher": make.card(teacher),
        "students": [make.card(s) for s in students],
        "other": make.card(other),
    }


def visit_row(library) -> ClassVisit:
    with library.connection_context():
        return ClassVisit.select().get()


async def start_visit(pilot, school, class_key: str = "f3") -> None:
    """The teacher's card, "Class visit", then the class (by its function key)."""
    await scan_to(pilot, school["teacher"], "PatronScreen")
    await pilot.pause()
    await pilot.press("f3")
    await on_screen(pilot, "ClassPickScreen")
    await wait_until(pilot, lambda: "3A" in button_labels(pilot))
    await pilot.press(class_key)
    await on_screen(pilot, "VisitScreen")


def button_labels(pilot) -> str:
    return " ".join(str(b.label) for b in pilot.app.screen.query("Button") if b.display)


async def test_own_classes_first_and_a_roll_call(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        assert "Class visit  F3" in button_labels(pilot)
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        await wait_until(pilot, lambda: "3A  F3" in button_labels(pilot))
        # 3A is the teacher's own (with a key), the others are there to touch.
        assert "5C" in button_labels(pilot) and "3B" in button_labels(pilot)
        await pilot.press("f3")
        await on_screen(pilot, "VisitScreen")
        assert "Reading visit: 3A" in screen_text(pilot)
        assert "Students here: 0" in screen_text(pilot)

        assert await scan_and_wait(pilot, school["students"][0]) == "学生0 ✓ Welcome!"
        assert "Students here: 1" in screen_text(pilot)
        # The same card again: ignored (no second attendee), said kindly.
        assert "on the list already" in await scan_and_wait(pilot, school["students"][0])
        assert "Students here: 1" in screen_text(pilot)
        # A student of another class: flagged, and counted.
        message = await scan_and_wait(pilot, school["other"])
        assert message == "别班生 ✓ (from class 3B, not this class)"
        assert "Students here: 2" in screen_text(pilot)
        assert "学生0  别班生" in screen_text(pilot)
        # A book during the roll call is not borrowed: the screen says what to do.
        assert "press “Borrowing” first" in await scan_and_wait(pilot, "10000001")
    with library.connection_context():
        rows = [(a.patron.number, a.other_class) for a in VisitAttendee.select()]
        assert rows == [("S0", False), ("S9", True)]
        assert Journal.select().where(Journal.kind == "visit_attendee").count() == 2
    assert visit_row(library).headcount == 2


async def test_any_class_can_be_chosen(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        await wait_until(pilot, lambda: "5C" in button_labels(pilot))
        five_c = next(b for b in pilot.app.screen.query("Button") if str(b.label) == "5C")
        await click_to(pilot, f"#{five_c.id}", "VisitScreen")
        assert "Reading visit: 5C" in screen_text(pilot)
    assert visit_row(library).school_class.name == "5C"


async def test_the_class_borrows_then_the_teachers_card_ends_the_visit(
    circulation, school, make, library
):
    make.copy(make.title("草房子"), barcode="10000001")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await scan_and_wait(pilot, school["students"][0])
        # "Borrowing": the kiosk is the class's again, the visit goes on.
        await pilot.press("f2")
        await on_screen(pilot, "AttractScreen")
        await scan_to(pilot, school["students"][1], "PatronScreen")
        assert "Borrowed: “草房子”" in await scan_and_wait(pilot, "10000001")
        await click_to(pilot, "#finish", "ReceiptScreen")
        await click_to(pilot, "#ok", "AttractScreen")
        assert visit_row(library).ended_at is None
        # The teacher's card again: end it, with a note of what the class read.
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        assert "End the visit of 3A? 1 student counted" in screen_text(pilot)
        await pilot.press(*"Grass House ch3")
        await pilot.press("enter")
        await on_screen(pilot, "VisitScreen")
        await wait_until(pilot, lambda: "Visit of 3A ended: 1 student" in screen_text(pilot))
        await pilot.press("f2")
        await on_screen(pilot, "AttractScreen")
    row = visit_row(library)
    assert (row.note, row.ended_by, row.headcount) == ("Grass House ch3", "card", 1)
    assert row.ended_at is not None


async def test_not_yet_goes_back_and_a_count_without_roll_call(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        await pilot.press("escape")
        await on_screen(pilot, "VisitScreen")
        assert visit_row(library).ended_at is None
        await click_to(pilot, "#end", "EndVisitModal")
        count = pilot.app.screen.query_one("#headcount", Input)
        assert count.display  # nobody scanned: the teacher may say how many came
        count.value = "27"
        await pilot.press("f2")
        await on_screen(pilot, "VisitScreen")
        await wait_until(pilot, lambda: "27 students" in screen_text(pilot))
    assert visit_row(library).headcount == 27


async def test_the_teacher_may_borrow_during_the_visit(circulation, school, make, library):
    make.rule("teacher", loan_days=28, max_items=10)
    make.copy(make.title("教参"), barcode="10000002")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        await pilot.press("f4")  # my own books: the visit goes on
        await on_screen(pilot, "PatronScreen")
        assert "Hello, 李老师!" in screen_text(pilot)
        assert "Borrowed: “教参”" in await scan_and_wait(pilot, "10000002")
    assert visit_row(library).ended_at is None


async def test_the_visit_ends_itself_at_the_end_of_the_period(circulation, school, clock, library):
    app = make_app(circulation, visit_minutes=30.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await scan_and_wait(pilot, school["students"][1])
        clock.advance(minutes=29)
        await end_due_visits(app)
        assert visit_row(library).ended_at is None
        clock.advance(minutes=2)
        await end_due_visits(app)
        await wait_until(pilot, lambda: "The lesson is over" in screen_text(pilot))
        # A card now starts afresh at the start screen (the visit is over).
        post_scan(pilot, school["students"][0])
        await on_screen(pilot, "PatronScreen")
    row = visit_row(library)
    assert row.ended_by == "period"
    assert row.ended_at - row.started_at == timedelta(minutes=30)
    assert row.headcount == 1


async def test_the_visit_screen_speaks_chinese(circulation, school):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        assert "哪个班来上阅读课" in screen_text(pilot)
        await wait_until(pilot, lambda: "3A" in button_labels(pilot))
        await pilot.press("f3")
        await on_screen(pilot, "VisitScreen")
        assert "阅读课：3A" in screen_text(pilot)
        assert await scan_and_wait(pilot, school["students"][0]) == "学生0 ✓ 签到了！"
        assert "已到学生：1 人" in screen_text(pilot)
        assert screen_name(pilot) == "VisitScreen"
        await click(pilot, "#borrowing")
        await on_screen(pilot, "AttractScreen")


async def test_a_card_scanned_into_the_note_is_ignored(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await scan_and_wait(pilot, school["students"][0])
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        await pilot.press(*"Fox", "space")
        # A student's card typed by the scanner (fast) and its Enter: no end, no code.
        for char in school["students"][1]:
            pilot.app.post_message(events.Key(char, char))  # as the terminal driver does
        pilot.app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.2)
        assert screen_name(pilot) == "EndVisitModal"
        assert pilot.app.screen.query_one("#note", Input).value == "Fox "
        await pilot.press(*"tales", "enter")
        await on_screen(pilot, "VisitScreen")
    assert visit_row(library).note == "Fox tales"


async def test_a_book_on_the_class_choice_is_the_teachers_own_loan(circulation, school, make):
    make.rule("teacher", loan_days=28, max_items=10)
    make.copy(make.title("备课用书"), barcode="10000003")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        await scan_to(pilot, "10000003", "PatronScreen")
        await wait_until(pilot, lambda: "Borrowed: “备课用书”" in screen_text(pilot))
        assert "Hello, 李老师!" in screen_text(pilot)


async def test_another_teacher_is_not_counted_and_a_student_page_yields_to_the_teacher(
    circulation, school, make, library
):
    colleague = make.card(make.patron("T2", name="王老师", kind="teacher"))
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        assert await scan_and_wait(pilot, colleague) == "王老师 is not a student, so not counted."
        assert "Students here: 0" in screen_text(pilot)
        await click_to(pilot, "#borrowing", "AttractScreen")
        await scan_to(pilot, school["students"][0], "PatronScreen")
        # The teacher's card on a student's page: the student's page goes, the end asked.
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        await pilot.press("escape")
        await on_screen(pilot, "VisitScreen")
        assert not [s for s in app.screen_stack if type(s).__name__ == "PatronScreen"]
    assert visit_row(library).headcount == 0


async def test_a_quick_typists_note_is_kept(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await scan_and_wait(pilot, school["students"][0])
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        for char in "fables":  # as fast as a scanner, but words, not a code
            pilot.app.post_message(events.Key(char, char))
        pilot.app.post_message(events.Key("enter", "\r"))
        await on_screen(pilot, "VisitScreen")
    assert visit_row(library).note == "fables"


# -- fixes: a card in the count, the note after the period, a double tap, a touch ---------


def post_burst(pilot, code: str) -> None:
    """Type ``code`` and Enter as fast as a keyboard-wedge scanner does."""
    for char in code:
        pilot.app.post_message(events.Key(char, char))  # as the terminal driver does
    pilot.app.post_message(events.Key("enter", "\r"))


async def test_a_card_scanned_into_the_head_count_is_ignored(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)  # no roll call: the teacher gives the count
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        await pilot.press("enter")  # no note: on to the count
        count = pilot.app.screen.query_one("#headcount", Input)
        await wait_until(pilot, lambda: pilot.app.screen.focused is count)
        post_burst(pilot, school["students"][1])  # a student's card, with its Enter
        await pilot.pause(0.2)
        assert screen_name(pilot) == "EndVisitModal"
        assert count.value == ""
        assert visit_row(library).ended_at is None
        await pilot.press("2", "7", "enter")
        await on_screen(pilot, "VisitScreen")
        await wait_until(pilot, lambda: "27 students" in screen_text(pilot))
    assert visit_row(library).headcount == 27


async def test_the_teachers_card_adds_the_note_after_the_period_ended_the_visit(
    circulation, school, clock, library
):
    app = make_app(circulation, visit_minutes=30.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        await click_to(pilot, "#borrowing", "AttractScreen")
        clock.advance(minutes=31)
        await end_due_visits(app)
        assert visit_row(library).ended_by == "period"
        # Later that day the teacher's card still finds the visit, to say what was read.
        clock.advance(hours=2)
        await scan_to(pilot, school["teacher"], "EndVisitModal")
        assert "The lesson is over: the visit of 3A ended" in screen_text(pilot)
        assert "Save  F2" in button_labels(pilot)
        await pilot.press(*"Fox tales", "enter")
        await wait_until(pilot, lambda: getattr(pilot.app.screen.focused, "id", None) == "headcount")
        await pilot.press("2", "5", "enter")
        await on_screen(pilot, "VisitScreen")
        await wait_until(pilot, lambda: "The note for the visit of 3A is saved" in screen_text(pilot))
        await pilot.press("f2")
        await on_screen(pilot, "AttractScreen")
        # Noted: the card is the teacher's own again.
        await scan_to(pilot, school["teacher"], "PatronScreen")
    row = visit_row(library)
    assert (row.note, row.headcount, row.ended_by) == ("Fox tales", 25, "period")
    assert row.ended_at - row.started_at == timedelta(minutes=30)


async def test_a_double_tap_on_a_class_starts_one_visit(circulation, school, library):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        await wait_until(pilot, lambda: "5C" in button_labels(pilot))
        five_c = next(b for b in pilot.app.screen.query("Button") if str(b.label) == "5C")
        five_c.post_message(Button.Pressed(five_c))
        five_c.post_message(Button.Pressed(five_c))  # the second tap, before the visit starts
        await on_screen(pilot, "VisitScreen")
        await pilot.pause(0.2)
        assert "Reading visit: 5C" in screen_text(pilot)
    with library.connection_context():
        assert ClassVisit.select().count() == 1
        assert Journal.select().where(Journal.kind == "visit_started").count() == 1


async def test_a_book_typed_after_touching_the_class_list_is_the_teachers_loan(
    circulation, school, make
):
    make.rule("teacher", loan_days=28, max_items=10)
    make.copy(make.title("备课用书"), barcode="10000003")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await click_to(pilot, "#class-visit", "ClassPickScreen")
        await wait_until(pilot, lambda: "5C" in button_labels(pilot))
        box = pilot.app.screen.query_one("#other-classes")
        assert box.region.height > 4
        # A finger on the list of classes, between the buttons: nothing picked...
        await pilot.click("#other-classes", offset=(1, box.region.height - 1))
        assert isinstance(pilot.app.screen.focused, ScanBar)
        # ...and the scanner's keys still reach the scan field.
        await type_code(pilot, "10000003")
        await on_screen(pilot, "PatronScreen")
        await wait_until(pilot, lambda: "Borrowed: “备课用书”" in screen_text(pilot))


async def test_a_blocked_card_counts_in_the_roll_call_only_borrowing_is_refused(
    circulation, school, make, library, facts
):
    """A blocked student (may not borrow) came with the class: the roll call counts them
    and says they may not borrow; borrowing is refused as anywhere."""
    blocked = make.patron("S5", name="小被停", school_class="3A", blocked_reason="lost books")
    card = make.card(blocked)
    make.copy(barcode="10000001")
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, school)
        said = await scan_and_wait(pilot, card)
        assert "小被停 ✓" in said
        assert "may not borrow" in said
        await wait_until(pilot, lambda: "Students here: 1" in screen_text(pilot))
        assert visit_row(library).headcount == 1
        with library.connection_context():
            assert VisitAttendee.select().count() == 1
        assert not [f for f in facts("refusal") if f.data.get("reason") == "card.blocked"]
        await click_to(pilot, "#borrowing", "AttractScreen")
        said = await scan_and_wait(pilot, card)
        assert screen_name(pilot) == "AttractScreen"
        assert "You cannot borrow right now: lost books" in said
