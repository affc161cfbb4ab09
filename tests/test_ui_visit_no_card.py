"""Pilot tests: a child who forgot the card, in a class visit (Destiny's check-out by class).

The teacher picks the child's name from the class list on the visit screen: the roll
call counts the child (the fact says the card was forgotten and names the teacher), the
child's page opens, and each loan made there names the teacher; Done goes back to the
visit. Both languages.
"""

from __future__ import annotations

import json

import pytest
from uikit import make_app, on_screen, post_scan, scan_to, screen_text, wait_until

from kiosk.data.core.kinds import describe
from kiosk.data.core.models import ClassTeacher, Journal, VisitAttendee
from kiosk.locale import set_language


@pytest.fixture(autouse=True)
def _back_to_default_language():
    yield
    set_language("zh_CN")


@pytest.fixture
def school(make, library):
    a = make.school_class("3A")
    teacher = make.patron("T1", name="李老师", kind="teacher")
    with library.connection_context():
        ClassTeacher.create(teacher=teacher, school_class=a)
    make.patron("S1", name="Amy", school_class=a)
    make.patron("S2", name="Bo", school_class=a)
    make.patron("S3", name="Cy", school_class=a)
    make.rule("student", loan_days=14, max_items=5)
    make.copy(make.title("草房子"), barcode="B0001")
    return {"teacher": make.card(teacher)}


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_the_teacher_lends_for_a_child_without_a_card(circulation, school, library,
                                                           language):
    app = make_app(circulation, language=language)
    async with app.run_test(size=(100, 30)) as pilot:
        await scan_to(pilot, school["teacher"], "PatronScreen")
        await pilot.press("f3")
        await on_screen(pilot, "ClassPickScreen")
        await pilot.pause(0.2)
        await pilot.press("f3")
        await on_screen(pilot, "VisitScreen")
        await pilot.press("f4")
        await on_screen(pilot, "ChoiceModal")
        labels = [str(b.label) for b in pilot.app.screen.query(".answer")]
        assert [label.split()[0] for label in labels] == ["Amy", "Bo", "Cy"]
        await pilot.press("f3")  # Bo
        await on_screen(pilot, "PatronScreen")
        await wait_until(pilot, lambda: "李老师" in screen_text(pilot))
        post_scan(pilot, "B0001")
        await wait_until(pilot, lambda: "草房子" in screen_text(pilot))
        await pilot.press("f2")  # Done: back to the visit
        await on_screen(pilot, "VisitScreen")
        assert ("Students here: 1" if language == "en" else "1") in screen_text(pilot)
        await pilot.press("f4")
        await on_screen(pilot, "ChoiceModal")
        labels = [str(b.label) for b in pilot.app.screen.query(".answer")]
        assert labels[1].startswith("Bo ✓")
    with library.connection_context():
        assert VisitAttendee.select().count() == 1
        attendee = Journal.get(Journal.kind == "visit_attendee")
        loan = Journal.get(Journal.kind == "checkout")
    assert json.loads(attendee.data)["no_card"] is True and attendee.patron == "S2"
    data = json.loads(loan.data)
    assert (loan.patron, data["teacher"]) == ("S2", "T1")
    said = describe("checkout", data, "草房子", "Bo")
    assert ("lent by the teacher T1" if language == "en" else "由 T1 老师代借") in said
