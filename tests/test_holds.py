"""Reservations at one library: the rules, placing, the hold shelf, expiry, cancelling,
class sets, and the journal replaying every one of them (docs/holds.md)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kiosk.data.core import journal, masterdata
from kiosk.data.core.errors import CardRefused, NotFound, Refused
from kiosk.data.core.models import Copy, Hold
from kiosk.data.lending.holds import Holds


@pytest.fixture
def holds(circulation):
    return Holds(circulation)


@pytest.fixture
def school(make):
    """A teacher, two students, a title with two copies (one lent) and a reference book."""
    make.rule("student", loan_days=14, max_items=10)
    make.rule("teacher", loan_days=30, max_items=40)
    title = make.title("草房子", isbn="9787530212345", classification="I247")
    copies = [make.copy(title, barcode="C1", shelf="I"), make.copy(title, barcode="C2", shelf="I")]
    reference = make.copy(make.title("新华字典", kind="reference"), barcode="R1")
    return {
        "teacher": make.patron("T01", name="王老师", kind="teacher"),
        "ann": make.patron("S01", name="Ann"),
        "bo": make.patron("S02", name="Bo"),
        "title": title, "copies": copies, "reference": reference,
    }


def state(db):
    """Every hold and copy status, by natural keys (what a replay must give again)."""
    with db.connection_context():
        holds = sorted(
            (h.id, h.patron.number, h.status, h.copy.barcode if h.copy_id else None,
             str(h.ready_at), str(h.ended_at), str(h.needed_on), h.class_set)
            for h in Hold.select()
        )
        return holds, dict(Copy.select(Copy.barcode, Copy.status).tuples())


def replays(db):
    """The journal replayed into empty state gives the state there is."""
    before = state(db)
    with db.connection_context(), db.atomic():
        journal.rebuild()
    assert state(db) == before


def lend_all(circulation, school):
    for copy in school["copies"]:
        circulation.checkout("S02", copy.barcode)


# -- who may reserve, how many -------------------------------------------------------------


def test_a_student_may_not_reserve_unless_the_library_allows_it(holds, school, make, facts):
    with pytest.raises(Refused) as refused:
        holds.place("S01", title_key=school["title"].key)
    assert refused.value.key == "hold.not_allowed"
    assert facts("refusal")[-1].data["reason"] == "hold.not_allowed"
    make.setting("holds_students", "1")
    placed = holds.place("S01", title_key=school["title"].key)
    assert placed.title == "草房子" and placed.position == 1


def test_a_teacher_always_may_and_the_librarian_for_anyone(holds, school):
    assert holds.place("T01", barcode="C2").count == 1
    assert holds.place("S01", barcode="C1", by="L01").title == "草房子"  # at the desk


def test_how_many_and_what(holds, circulation, school, make):
    make.setting("holds_students", "1")
    make.setting("hold_limit", "1")
    circulation.checkout("S02", "C1")
    with pytest.raises(Refused, match="hold.on_loan_to_you"):
        holds.place("S02", barcode="C2")
    holds.place("S01", barcode="9787530212345")  # by ISBN
    with pytest.raises(Refused, match="hold.already"):
        holds.place("S01", title_key=school["title"].key)
    other = make.copy(make.title("Other"), barcode="O1")
    with pytest.raises(Refused) as over:
        holds.place("S01", barcode=other.barcode)
    assert over.value.params == {"limit": 1}
    with pytest.raises(Refused, match="hold.not_lendable"):
        holds.place("T01", barcode="R1")
    with pytest.raises(NotFound, match="hold.unknown_title"):
        holds.place("T01", barcode="NO-SUCH")
    make.patron("S03", blocked_reason="lost books")
    with pytest.raises(CardRefused, match="card.blocked"):
        holds.place("S03", barcode="C1", by="L01")


def test_find_title_says_how_many_are_in(holds, circulation, school):
    circulation.checkout("S02", "C1")
    found = holds.find_title("C2")
    assert (found.title, found.copies, found.available, found.shelf) == ("草房子", 2, 1, "I")
    assert holds.find_title(school["title"].key) == found
    assert holds.find_title("978-7530212345") == found


# -- the hold shelf ----------------------------------------------------------------------


def test_a_returned_copy_waits_for_the_first_in_line_until_its_last_day(
    holds, circulation, school, clock, library
):
    lend_all(circulation, school)
    holds.place("T01", title_key=school["title"].key)
    make_ready = circulation.checkin("C1")
    assert make_ready.destination == "hold_shelf" and make_ready.hold_for == "王老师"
    (view,) = holds.of_patron("T01")
    # Wednesday 12 March + 7 days = Wednesday 19 March (open)
    assert view.ready and view.barcode == "C1" and view.until == date(2025, 3, 19)
    with pytest.raises(Refused, match="copy.on_hold_other"):
        circulation.checkout("S01", "C1")
    circulation.checkout("T01", "C1")
    assert holds.of_patron("T01") == ()
    with library.connection_context():
        assert Hold.get().status == "fulfilled"
    replays(library)


def test_pickup_days_end_on_an_open_day(holds, circulation, school, clock, make):
    make.setting("hold_pickup_days", "3")  # Wednesday + 3 = Saturday: closed
    lend_all(circulation, school)
    holds.place("T01", barcode="C1")
    circulation.checkin("C2")
    assert holds.of_patron("T01")[0].until == date(2025, 3, 17)  # the Monday after


def test_an_expired_hold_passes_the_copy_to_the_next_in_line(
    holds, circulation, school, clock, make, library, facts
):
    make.setting("holds_students", "1")
    lend_all(circulation, school)
    holds.place("S01", barcode="C1")
    clock.advance(minutes=1)
    holds.place("T01", barcode="C1")
    circulation.checkin("C1")  # for Ann, until the 19th
    clock.advance(days=7)
    assert holds.expire_due() == 0  # the 19th is still hers
    clock.advance(days=1)
    assert holds.expire_due() == 1
    assert holds.of_patron("S01") == ()
    (teacher,) = holds.of_patron("T01")
    assert teacher.ready and teacher.barcode == "C1" and teacher.until == date(2025, 3, 27)
    (expired,) = facts("hold_expired")
    assert expired.copy == "C1" and expired.data["was"] == "ready"
    assert holds.expire_due() == 0  # nothing more to do
    replays(library)


def test_an_expired_hold_with_nobody_next_leaves_the_copy_to_be_reshelved(
    holds, circulation, school, clock, library
):
    lend_all(circulation, school)
    holds.place("T01", barcode="C1")
    circulation.checkin("C1")
    clock.advance(days=8)
    assert holds.expire_due() == 1
    (back,) = holds.to_reshelve()
    assert (back.barcode, back.title, back.shelf) == ("C1", "草房子", "I")
    circulation.checkout("S01", "C1")  # lendable meanwhile
    assert holds.to_reshelve() == []
    circulation.checkin("C1")
    with library.connection_context():
        assert Copy.get(Copy.barcode == "C1").status == "available"
    replays(library)


def test_a_new_hold_takes_a_copy_left_on_the_hold_shelf(holds, circulation, school, clock):
    lend_all(circulation, school)
    holds.place("T01", barcode="C1")
    circulation.checkin("C1")
    holds.cancel(holds.of_patron("T01")[0].hold_id, number="T01")
    assert [r.barcode for r in holds.to_reshelve()] == ["C1"]
    clock.advance(hours=1)
    placed = holds.place("S01", barcode="C2", by="L01")
    assert placed.ready and holds.of_patron("S01")[0].barcode == "C1"
    assert holds.to_reshelve() == []


def test_cancelling_a_ready_hold_gives_the_copy_to_the_next(
    holds, circulation, school, make, clock, library, facts
):
    make.setting("holds_students", "1")
    lend_all(circulation, school)
    holds.place("S01", barcode="C1")
    clock.advance(minutes=1)
    holds.place("T01", barcode="C1")
    circulation.checkin("C2")
    ann = holds.of_patron("S01")[0]
    with pytest.raises(NotFound, match="hold.unknown"):
        holds.cancel(ann.hold_id, number="T01")  # not the teacher's to cancel
    assert holds.cancel(ann.hold_id, number="S01") == "草房子"
    assert holds.of_patron("T01")[0].barcode == "C2"
    with pytest.raises(NotFound):
        holds.cancel(ann.hold_id, by="L01")  # ended already
    assert facts("hold_cancelled")[0].data["holds"] == [ann.hold_id]
    replays(library)


def test_borrowing_another_copy_fulfils_the_hold_and_frees_the_kept_one(
    holds, circulation, school, make, clock, library
):
    make.setting("holds_students", "1")
    lend_all(circulation, school)
    holds.place("S01", barcode="C1")
    clock.advance(minutes=1)
    holds.place("T01", barcode="C1")
    circulation.checkin("C1")  # kept for Ann
    circulation.checkin("C2")  # for the teacher
    holds.cancel(holds.of_patron("T01")[0].hold_id, by="L01")  # C2 waits for nobody
    circulation.checkout("S01", "C2")  # Ann takes the other copy
    assert holds.of_patron("S01") == ()
    assert [r.barcode for r in holds.to_reshelve()] == ["C1"]
    replays(library)


# -- class sets --------------------------------------------------------------------------


def test_a_class_set_fills_one_hold_per_returned_copy(
    holds, circulation, school, make, clock, library, facts
):
    for n in range(3, 7):
        make.copy(school["title"], barcode=f"C{n}", shelf="I")
    for n in range(1, 7):
        circulation.checkout("S02", f"C{n}")
    friday = date(2025, 3, 21)
    placed = holds.place_class_set("T01", 4, friday, title_key=school["title"].key, by="L01")
    assert (placed.count, placed.position) == (4, 1)
    (fact,) = facts("class_set")
    assert fact.data == {"count": 4, "needed_on": "2025-03-21", "title": school["title"].key,
                         "by": "L01"}
    for n in (1, 2, 3):
        assert circulation.checkin(f"C{n}").destination == "hold_shelf"
    views = holds.of_patron("T01")
    assert [v.ready for v in views] == [True, True, True, False]
    assert {v.until for v in views if v.ready} == {date(2025, 3, 21)}  # kept for the day
    circulation.checkout("T01", "C1")
    circulation.checkout("T01", "C2")
    assert [v.ready for v in holds.of_patron("T01")] == [True, False]
    clock.set(clock.now + timedelta(days=10))  # Saturday the 22nd: the day has passed
    assert holds.expire_due() == 2  # the copy not picked up, and the one never filled
    assert holds.of_patron("T01") == ()
    replays(library)


def test_a_class_set_is_for_a_teacher_and_a_sensible_count(holds, school, make):
    make.setting("holds_students", "1")
    key = school["title"].key
    with pytest.raises(Refused, match="hold.not_teacher"):
        holds.place_class_set("S01", 1, date(2025, 3, 20), title_key=key, by="L01")
    with pytest.raises(Refused) as too_many:
        holds.place_class_set("T01", 3, date(2025, 3, 20), title_key=key, by="L01")
    assert too_many.value.params["limit"] == 2
    with pytest.raises(Refused, match="hold.day_passed"):
        holds.place_class_set("T01", 2, date(2025, 3, 1), title_key=key, by="L01")


def test_cancelling_a_class_set_ends_all_its_holds(holds, circulation, school, library, clock):
    lend_all(circulation, school)
    holds.place_class_set("T01", 2, date(2025, 3, 20), barcode="C1", by="L01")
    circulation.checkin("C1")
    first = holds.of_patron("T01")[0]
    holds.cancel(first.hold_id, by="L01", whole_set=True)
    assert holds.of_patron("T01") == ()
    assert [r.barcode for r in holds.to_reshelve()] == ["C1"]
    replays(library)


def test_the_librarians_list_puts_the_hold_shelf_first(holds, circulation, school, make):
    make.setting("holds_students", "1")
    circulation.checkout("S02", "C1")
    holds.place("S01", barcode="C1")  # C2 is on the shelf: fetch it
    holds.place("T01", barcode="C1")
    circulation.checkin("C1")  # for Ann
    listed = holds.open_holds()
    assert [(v.patron, v.status) for v in listed] == [("S01", "ready"), ("T01", "waiting")]
    assert listed[1].position == 1 and listed[1].on_shelf == "I"
    assert listed[0].class_name == ""


# -- the term report -----------------------------------------------------------------------


def test_the_term_report_keeps_the_reservation_register(
    holds, circulation, school, make, clock, library, tmp_path
):
    from openpyxl import load_workbook

    from kiosk.data.desk.report_sheets import term_sheets
    from kiosk.data.desk.reports import term_report
    from kiosk.data.desk.spreadsheet import write_xlsx
    from kiosk.locale import set_language

    make.setting("holds_students", "1")
    lend_all(circulation, school)
    holds.place_class_set("T01", 2, date(2025, 3, 20), barcode="C1", by="L01")
    clock.advance(minutes=1)
    holds.place("S01", barcode="C1")
    circulation.checkin("C1")  # for the class set
    circulation.checkout("T01", "C1")
    with library.connection_context():
        report = term_report(date(2025, 3, 1), date(2025, 3, 31), as_of=clock.today)
    register = [(r.number, r.copies, r.needed_on, r.placed_by, r.lent, r.open)
                for r in report.reservations]
    assert register == [("T01", 2, date(2025, 3, 20), "L01", 1, 1), ("S01", 1, None, "", 0, 1)]
    assert report.teacher_reservations == 1
    set_language("zh_CN")
    path = tmp_path / "term.xlsx"
    write_xlsx(path, term_sheets(report))
    sheet = load_workbook(path)["预约登记"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "预约日期" and rows[0][4] == "本数"
    assert rows[1][1:5] == ["T01", "王老师", "草房子", 2]


def test_a_copy_moved_to_another_title_while_on_the_hold_shelf(holds, circulation, school, make, library):
    """The librarian moves a copy to another title while a reservation is ready on it.

    A checkout or return skips the hold queries when no reservation can concern the copy;
    the one ready on this very copy does, though its title has no open reservation now.
    Returned again, the copy stays on the hold shelf for the reader; lent to them, their
    reservation is fulfilled; and the state is a replay of the journal (found by review).
    """
    make.setting("holds_students", "1")
    lend_all(circulation, school)
    holds.place("S01", barcode="C1")
    assert circulation.checkin("C1").destination == "hold_shelf"
    other = make.title("城南旧事")
    with library.connection_context(), library.atomic():
        masterdata.save("copy_saved", copy="C1", title=other.key, shelf="I")
    assert circulation.checkin("C1").destination == "hold_shelf"
    replays(library)
    circulation.checkout("S01", "C1")
    with library.connection_context():
        assert [h.status for h in Hold.select()] == ["fulfilled"]
    replays(library)
