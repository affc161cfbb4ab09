"""The roles service: class visits, helper shifts, shelf checks, and their facts.

The service tests run on a real SQLite library; the facts' replay and their trip
through the sync run on an SQLite desk and a PostgreSQL desk.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
import synckit as sk
from conftest import FakeClock

from kiosk.data import sync
from kiosk.data.core import journal, kinds, masterdata
from kiosk.data.core.errors import NotFound
from kiosk.data.core.facts import Fact, new_fact
from kiosk.data.core.models import (
    ClassVisit,
    Copy,
    HelperReturn,
    HelperShift,
    ShelfCheck,
    ShelfCheckItem,
    VisitAttendee,
)
from kiosk.data.lending.circulation import Circulation
from kiosk.data.librarian.daybook import DayBook
from kiosk.data.roles import Roles
from kiosk.locale import set_language


def roles_state(db: pw.Database) -> dict[str, Any]:
    """The roles' tables of ``db`` by natural keys (comparable across databases)."""
    with sk.on(db):
        visits = sorted(
            (v.id, v.school_class.name, v.teacher.number, str(v.started_at), str(v.ended_at),
             v.headcount, v.note, v.ended_by, v.kiosk)
            for v in ClassVisit.select()
        )
        attendees = sorted(
            (a.visit_id, a.patron.number, str(a.scanned_at), a.other_class)
            for a in VisitAttendee.select()
        )
        shifts = sorted(
            (s.id, s.helper.number, str(s.started_at), str(s.ended_at), s.books, s.kiosk)
            for s in HelperShift.select()
        )
        returns = sorted(
            (r.fact, r.shift_id, r.copy.barcode, str(r.returned_at)) for r in HelperReturn.select()
        )
        checks = sorted(
            (c.id, c.shelf, c.helper.number if c.helper_id else None, str(c.started_at),
             str(c.ended_at), c.kiosk)
            for c in ShelfCheck.select()
        )
        items = sorted(
            (i.check_id, i.copy.barcode, str(i.scanned_at)) for i in ShelfCheckItem.select()
        )
    return {"visits": visits, "attendees": attendees, "shifts": shifts, "returns": returns,
            "checks": checks, "items": items}


@pytest.fixture
def school(make):
    """Two classes, a teacher of 3A (and 3B's teacher), students, a helper, books."""
    a, b = make.school_class("3A", grade=3), make.school_class("3B", grade=3)
    make.school_class("1A", grade=1)
    teacher = make.patron("T1", name="李老师", kind="teacher")
    with make.db.connection_context():
        from kiosk.data.core.models import ClassTeacher

        ClassTeacher.create(teacher=teacher, school_class=b)
    students = [make.patron(f"S{i}", name=f"学生{i}", school_class=a) for i in range(3)]
    other = make.patron("S9", name="别班生", school_class=b)
    helper = make.patron("H1", name="小帮手", kind="helper", school_class=a)
    make.rule("student", loan_days=14, max_items=10)
    return {"teacher": teacher, "students": students, "other": other, "helper": helper}


def fact_kinds(facts) -> list[str]:
    return [f.kind for f in facts()]


# -- class visits -----------------------------------------------------------------------


def test_a_teachers_own_classes_come_first(circulation, school):
    choices = Roles(circulation).visits.classes_for("T1")
    assert [(c.name, c.own) for c in choices] == [("3B", True), ("1A", False), ("3A", False)]


def test_a_visit_with_roll_call_and_note(circulation, school, clock, facts):
    roles = Roles(circulation)
    visit = roles.visits.start_visit("T1", "3A")
    assert visit.open and visit.class_name == "3A" and visit.teacher_name == "李老师"
    started = facts("visit_started")[0]
    assert started.uuid == visit.id
    assert started.patron == "T1" and started.data == {"visit": visit.id, "class": "3A"}

    clock.advance(minutes=1)
    first = roles.visits.roll_call(visit.id, "S0")
    assert (first.status, first.name, first.headcount) == ("counted", "学生0", 1)
    again = roles.visits.roll_call(visit.id, "S0")
    assert (again.status, again.headcount) == ("repeat", 1)
    other = roles.visits.roll_call(visit.id, "S9")
    assert (other.status, other.class_name, other.headcount) == ("other_class", "3B", 2)
    assert roles.visits.roll_call(visit.id, "H1").status == "counted"  # a helper is a student too
    assert roles.visits.roll_call(visit.id, "T1").status == "not_student"
    attendee_facts = facts("visit_attendee")
    assert [(f.patron, f.data["other_class"]) for f in attendee_facts] == [
        ("S0", False), ("S9", True), ("H1", False)
    ]

    clock.advance(minutes=30)
    ended = roles.visits.end_visit(visit.id, note="  《草房子》第三章 ", ended_by="card")
    assert not ended.open
    assert ended.headcount == 3 and ended.note == "《草房子》第三章" and ended.ended_by == "card"
    assert ended.attendees == ("学生0", "别班生", "小帮手")
    assert ended.minutes(clock()) == 31
    assert facts("visit_ended")[0].data == {
        "visit": visit.id, "note": "《草房子》第三章", "ended_by": "card"
    }
    # Ending twice changes nothing; a roll call after the end is refused.
    assert roles.visits.end_visit(visit.id, note="again").note == "《草房子》第三章"
    with pytest.raises(NotFound) as error:
        roles.visits.roll_call(visit.id, "S1")
    assert error.value.key == "visit.ended"
    assert fact_kinds(facts).count("visit_ended") == 1


def test_a_visit_without_roll_call_keeps_the_teachers_count(circulation, school):
    roles = Roles(circulation)
    visit = roles.visits.start_visit("T1", "3A")
    assert roles.visits.end_visit(visit.id, headcount=28).headcount == 28


def test_a_visit_ends_itself_at_the_end_of_the_period(circulation, school, clock):
    roles = Roles(circulation)
    visit = roles.visits.start_visit("T1", "3A")
    clock.advance(minutes=39)
    assert roles.visits.end_due_visits(40) == []
    clock.advance(minutes=5)
    [ended] = roles.visits.end_due_visits(40)
    assert ended.id == visit.id and ended.ended_by == "period"
    assert ended.ended_at - ended.started_at == timedelta(minutes=40)
    assert roles.visits.open_visit("T1") is None


def test_a_new_visit_ends_the_one_left_open(circulation, school, clock):
    roles = Roles(circulation)
    first = roles.visits.start_visit("T1", "3A")
    clock.advance(minutes=5)
    second = roles.visits.start_visit("T1", "3B")
    assert roles.visits.visit(first.id).ended_by == "new_visit"
    assert roles.visits.open_visit("T1") == second
    with pytest.raises(NotFound):
        roles.visits.start_visit("T1", "no such class")
    assert [v.class_name for v in roles.visits.visits(clock() - timedelta(hours=1))] == ["3A", "3B"]


# -- helper shifts -----------------------------------------------------------------------


def test_a_helper_shift_counts_every_book_and_says_where_it_goes(
    circulation, school, make, clock, facts
):
    roles = Roles(circulation)
    lent = [make.copy(make.title(f"书{i}", classification="I247"), barcode=f"B{i}") for i in range(3)]
    for copy in lent:
        circulation.checkout("S0", copy.barcode)
    make.hold(school["students"][1], lent[2])
    idle = make.copy(make.title("架上的书", classification="K825"), barcode="B9")

    shift = roles.shifts.start_shift("H1")
    assert facts("shift_started")[0].data == {"shift": shift.id}
    clock.advance(seconds=5)
    assert roles.shifts.helper_return(shift.id, "B0").destination == "shelf"
    damaged = roles.shifts.helper_return(shift.id, "B1", damaged=True)
    assert damaged.destination == "desk"
    hold = roles.shifts.helper_return(shift.id, "B2")
    assert (hold.destination, hold.hold_for) == ("hold_shelf", "学生1")
    free = roles.shifts.helper_return(shift.id, idle.barcode)
    assert (free.destination, free.shelf) == ("not_on_loan", "K")
    with pytest.raises(NotFound):
        roles.shifts.helper_return(shift.id, "NOPE")
    checkins = facts("checkin")
    assert {f.data.get("shift") for f in checkins} == {shift.id}
    assert checkins[1].data.get("damaged") is True
    with library_of(circulation):
        assert Copy.get(Copy.barcode == "B1").status == "repair"
    assert roles.shifts.shift(shift.id).books == 3  # B9 was not on loan: not a return

    clock.advance(minutes=10)
    ended = roles.shifts.end_shift(shift.id, "timeout")
    # Ended by the idle timeout: the helper left after the last book.
    assert ended.ended_at == ended.started_at + timedelta(seconds=5)
    assert ended.books == 3
    assert roles.shifts.end_shift(shift.id, "card") == ended  # ended already: as it was
    assert [s.id for s in roles.shifts.shifts(clock() - timedelta(days=1))] == [shift.id]


def test_a_helper_card_left_open_is_closed_by_the_next_shift(circulation, school, clock):
    roles = Roles(circulation)
    first = roles.shifts.start_shift("H1")
    clock.advance(minutes=1)
    second = roles.shifts.start_shift("H1")
    assert roles.shifts.shift(first.id).ended_at is not None
    assert roles.shifts.shift(second.id).ended_at is None


def library_of(circulation: Circulation):
    return sk.on(circulation.store.db)


# -- shelf checks ------------------------------------------------------------------------


def test_a_shelf_check_finds_missing_and_misplaced_books(circulation, school, make, clock, facts):
    roles = Roles(circulation)
    on_i = [make.copy(make.title(f"I书{i}", classification="I24"), barcode=f"I{i}") for i in range(4)]
    make.copy(make.title("在I架", classification="K8"), barcode="IK", shelf="I")
    stray = make.copy(make.title("K书", classification="K825"), barcode="K1")
    lent = make.copy(make.title("借出", classification="I1"), barcode="I9")
    circulation.checkout("S0", lent.barcode)  # on loan: not missing
    make.copy(make.title("修", classification="I1"), barcode="I8", status="repair")
    assert roles.shelf_checks.shelf_areas() == ["I", "K"]
    assert roles.shelf_checks.area_of("IK") == "I"

    check = roles.shelf_checks.start_shelf_check("I", helper="H1")
    assert facts("shelf_check_started")[0].data == {"check": check, "shelf": "I"}
    assert roles.shelf_checks.shelf_scan(check, "I0").status == "here"
    assert roles.shelf_checks.shelf_scan(check, "IK").status == "here"
    scan = roles.shelf_checks.shelf_scan(check, stray.barcode)
    assert (scan.status, scan.copy.area, scan.scanned) == ("misplaced", "K", 3)
    assert roles.shelf_checks.shelf_scan(check, "I0").status == "repeat"
    with pytest.raises(NotFound):
        roles.shelf_checks.shelf_scan(check, "XX")
    assert [f.copy for f in facts("shelf_scan")] == ["I0", "IK", "K1"]
    report = roles.shelf_checks.end_shelf_check(check)
    assert report.ended_at is not None and report.helper_name == "小帮手"
    assert [c.barcode for c in report.found] == ["I0", "IK"]  # K1 is not one of I's books
    assert [c.barcode for c in report.missing] == [c.barcode for c in on_i[1:]]
    assert [c.barcode for c in report.misplaced] == ["K1"]


# -- replay and sync ---------------------------------------------------------------------


def play_everything(roles: Roles, clock: FakeClock, make) -> None:
    """A visit, a shift with returns, a shelf check: every kind of roles fact."""
    circulation = roles.circulation
    copies = [make.copy(make.title(f"书{i}", classification="I2"), barcode=f"R{i}") for i in range(3)]
    for copy in copies:
        circulation.checkout("S0", copy.barcode)
    visit = roles.visits.start_visit("T1", "3A")
    for number in ("S0", "S9", "S0"):
        clock.advance(seconds=2)
        roles.visits.roll_call(visit.id, number)
    shift = roles.shifts.start_shift("H1")
    for copy in copies:
        clock.advance(seconds=1)
        roles.shifts.helper_return(shift.id, copy.barcode)
    roles.shifts.end_shift(shift.id)
    check = roles.shelf_checks.start_shelf_check("I", helper="H1")
    roles.shelf_checks.shelf_scan(check, "R0")
    roles.shelf_checks.end_shelf_check(check)
    clock.advance(minutes=30)
    roles.visits.end_visit(visit.id, note="读了书")


def test_rebuild_reproduces_the_roles_tables(circulation, school, make, clock, library, tmp_path):
    roles = Roles(circulation)
    play_everything(roles, clock, make)
    before = roles_state(library)
    assert before["shifts"][0][4] == 3 and before["visits"][0][5] == 2
    # A replay over the tables as they are (every *_started fact starts its row afresh)...
    with sk.on(library), library.atomic():
        journal.rebuild()
    assert roles_state(library) == before
    # ...over emptied tables, and applying every checkin a second time (a sync's rebase).
    with sk.on(library), library.atomic():
        for model in (VisitAttendee, ClassVisit, HelperReturn, HelperShift, ShelfCheckItem,
                      ShelfCheck):
            model.delete().execute()
        journal.rebuild()
        for fact in [f for f in facts_of(library) if f.kind in ("checkin", "shelf_scan")]:
            kinds.apply(fact)
    assert roles_state(library) == before


def facts_of(db: pw.Database) -> list[Fact]:
    from kiosk.data.core.models import Journal

    with sk.on(db):
        return [Fact.from_row(row) for row in Journal.select().order_by(Journal.seq)]


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return request.getfixturevalue("pg_url")


def test_roles_facts_made_offline_sync_to_the_desk_and_other_kiosks(desk_url, tmp_path, clock):
    site = sk.make_site(desk_url, tmp_path, clock)
    try:
        with sk.on(site.desk), site.desk.atomic():
            masterdata.save_many("patron_saved", [
                {"patron": "T1", "name": "李老师", "kind": "teacher", "class": None},
                {"patron": "H1", "name": "小帮手", "kind": "helper", "class": "3A"},
            ], when=clock())
        hall, gate = site.add_kiosk("hall"), site.add_kiosk("gate")
        roles = Roles(hall.circulation)
        # Offline at the hall: a class visit, a shift of returns, a shelf check.
        for code in sk.barcodes(3):
            hall.circulation.checkout("S0001", code)
        visit = roles.visits.start_visit("T1", "3A")
        roles.visits.roll_call(visit.id, "S0001")
        roles.visits.roll_call(visit.id, "S0002")  # in 3B
        shift = roles.shifts.start_shift("H1")
        for code in sk.barcodes(3):
            clock.advance(seconds=1)
            roles.shifts.helper_return(shift.id, code)
        check = roles.shelf_checks.start_shelf_check("I", helper="H1")
        roles.shelf_checks.shelf_scan(check, "B00001")
        roles.shelf_checks.end_shelf_check(check)
        roles.shifts.end_shift(shift.id)
        clock.advance(minutes=40)
        roles.visits.end_visit(visit.id, note="绘本")
        made = roles_state(hall.db)
        assert made["shifts"][0][4] == 3 and len(made["attendees"]) == 2
        # Meanwhile the gate lends a book the helper returned (the hall's return is then
        # stale at the desk, and the hall rebases the title: the book still counts).
        gate.circulation.checkout("S0003", "B00001")
        gate.sync(site.desk)
        for _ in range(2):
            hall.sync(site.desk)
            gate.sync(site.desk)
        assert roles_state(site.desk) == made
        assert roles_state(gate.db) == made
        assert roles_state(hall.db) == made
        with sk.on(site.desk), site.desk.atomic():
            journal.rebuild()
        assert roles_state(site.desk) == made
        with sk.on(hall.db):
            assert sync.pending_count() == 0
    finally:
        for kiosk in site.kiosks.values():
            kiosk.db.close()
        site.desk.close()


@pytest.mark.parametrize("first", ["gate", "hall"])
def test_a_visit_ended_at_two_kiosks_ends_alike_everywhere(desk_url, tmp_path, clock, first):
    """The gate ends the hall's visit with the teacher's card; the hall, offline, ends it
    later when the teacher starts another visit there. Whichever reaches the desk
    first, every database must keep the same end: the earliest. (The first end applied
    used to win: the hall kept its own, the desk and the gate the card's, and the hall's
    state was not a replay of its journal; found by bench/faults.py.)"""
    site = sk.make_site(desk_url, tmp_path, clock)
    try:
        with sk.on(site.desk), site.desk.atomic():
            masterdata.save_many("patron_saved", [
                {"patron": "T1", "name": "李老师", "kind": "teacher", "class": None},
            ], when=clock())
        hall, gate = site.add_kiosk("hall"), site.add_kiosk("gate")
        visit = Roles(hall.circulation).visits.start_visit("T1", "3A")
        hall.sync(site.desk)
        gate.sync(site.desk)
        clock.advance(minutes=40)
        Roles(gate.circulation).visits.end_visit(visit.id, note="绘本", ended_by="card")  # 10:40
        clock.advance(minutes=30)
        Roles(hall.circulation).visits.start_visit("T1", "3B")  # 11:10: ends the first one here
        kiosks = [gate, hall] if first == "gate" else [hall, gate]
        for _ in range(2):
            for kiosk in kiosks:
                kiosk.sync(site.desk)
        desk = roles_state(site.desk)
        ended = next(v for v in desk["visits"] if v[0] == visit.id)
        assert (ended[4], ended[6], ended[7]) == ("2025-03-12 10:40:00", "绘本", "card")
        assert roles_state(gate.db) == desk
        assert roles_state(hall.db) == desk
        for db in (hall.db, site.desk):
            with sk.on(db), db.atomic():
                journal.rebuild()
            assert roles_state(db) == desk
    finally:
        for kiosk in site.kiosks.values():
            kiosk.db.close()
        site.desk.close()


def test_a_fact_about_a_visit_this_database_does_not_know_changes_nothing(circulation, school):
    fact = new_fact(
        circulation.store.hlc, "elsewhere", "visit_attendee", datetime(2025, 3, 12),
        patron="S0", visit="no-such-visit", other_class=False,
    )
    with sk.on(circulation.store.db), circulation.store.db.atomic():
        journal.record(fact)
    assert roles_state(circulation.store.db)["attendees"] == []


def test_the_period_and_the_helper_timeout_are_configurable(tmp_path):
    from kiosk.config import ConfigError, load_config

    path = tmp_path / "kiosk.toml"
    path.write_text("[roles]\nvisit_minutes = 45\nhelper_idle_timeout = 60\n", encoding="utf-8")
    config = load_config(path)
    assert (config.visit_minutes, config.helper_idle_timeout) == (45.0, 60.0)
    path.write_text('[roles]\nvisit_minutes = "long"\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)


# -- fixes: each book once a shift, the note after the period, long shelf names ----------


def test_a_book_scanned_again_in_a_shift_counts_once(circulation, school, make, clock, library):
    roles = Roles(circulation)
    lent = make.copy(make.title("借出的书", classification="I2"), barcode="C1")
    idle = make.copy(make.title("架上的书", classification="K8"), barcode="C2")
    circulation.checkout("S0", lent.barcode)
    shift = roles.shifts.start_shift("H1")
    first = roles.shifts.helper_scan(shift.id, "C1")
    assert first is not None and (first.result.destination, first.books) == ("shelf", 1)
    again = roles.shifts.helper_scan(shift.id, "C1")  # the same book: now not on loan
    assert again is not None and (again.result.destination, again.books) == ("not_on_loan", 1)
    for _ in range(2):
        scan = roles.shifts.helper_scan(shift.id, idle.barcode)
        assert scan is not None and scan.result.destination == "not_on_loan"
    assert scan.books == 1  # a book that was not on loan is put away, not returned
    assert roles.shifts.helper_scan(shift.id, make.card(school["students"][0])) is None  # a card
    assert roles.shifts.end_shift(shift.id).books == 1
    # Every return of a lent book is kept; the count survives a replay.
    before = roles_state(library)
    assert len(before["returns"]) == 1
    with sk.on(library), library.atomic():
        journal.rebuild()
    assert roles_state(library) == before


def test_the_teachers_card_adds_the_note_to_the_visit_the_period_ended(
    circulation, school, clock, facts, library
):
    roles = Roles(circulation)
    visit = roles.visits.start_visit("T1", "3A")
    assert roles.visits.visit_for_card("T1") == visit  # going on: the card ends it
    clock.advance(minutes=41)
    [ended] = roles.visits.end_due_visits(40)
    assert ended.wants_note and ended.headcount == 0
    clock.advance(hours=3)
    found = roles.visits.visit_for_card("T1")
    assert found is not None and found.id == visit.id and not found.open
    noted = roles.visits.end_visit(visit.id, note=" 《草房子》 ", ended_by="card", headcount=24)
    assert (noted.note, noted.headcount, noted.ended_by) == ("《草房子》", 24, "period")
    assert noted.ended_at == ended.ended_at  # it still ended at the end of its period
    assert facts("visit_ended")[-1].data == {
        "visit": visit.id, "note": "《草房子》", "ended_by": "card", "headcount": 24,
        "added": True,
    }
    assert roles.visits.visit_for_card("T1") is None  # noted: the card opens the teacher's page
    # The day log tells the end and the addition apart (not "the class left" twice).
    set_language("en")
    try:
        log = [e.what for e in DayBook(circulation).day_log() if e.kind == "visit_ended"]
    finally:
        set_language("zh_CN")
    assert sorted(log) == [
        "The lesson was over: the class left",
        "The teacher added to the visit's record (24 students) Note: “《草房子》”",
    ]
    # A smaller count later changes nothing; the projection keeps the larger, replayed too.
    assert roles.visits.end_visit(visit.id, headcount=10).headcount == 24
    before = roles_state(library)
    with sk.on(library), library.atomic():
        journal.rebuild()
    assert roles_state(library) == before


def test_a_visit_the_period_ended_yesterday_is_not_asked_about(circulation, school, clock):
    roles = Roles(circulation)
    roles.visits.start_visit("T1", "3A")
    clock.advance(minutes=41)
    roles.visits.end_due_visits(40)
    clock.advance(days=1)
    assert roles.visits.visit_for_card("T1") is None


def test_a_long_shelf_name_is_checked_whole(circulation, school, make):
    roles = Roles(circulation)
    shelf = (
        "三楼东区儿童文学（中国当代小说与童话）"
        "第二排靠窗的书架上层左边第一格至第三格，二〇二五年新到的书"
    )
    assert 40 < len(shelf) <= 60
    for n in range(3):
        make.copy(make.title(f"长架{n}", classification="I2"), barcode=f"L{n}", shelf=shelf)
    assert roles.shelf_checks.area_of("L0") == shelf
    check = roles.shelf_checks.start_shelf_check(roles.shelf_checks.area_of("L0"), helper="H1")
    assert roles.shelf_checks.shelf_scan(check, "L0").status == "here"
    report = roles.shelf_checks.end_shelf_check(check)
    assert report.shelf == shelf
    assert [c.barcode for c in report.missing] == ["L1", "L2"] and report.misplaced == ()
