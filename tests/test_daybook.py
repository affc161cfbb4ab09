"""The librarian's service (kiosk.data.librarian.daybook) on an SQLite and a PostgreSQL desk.

The day's log in words, the cases to review (a real sync conflict, a real forged
card), overdue loans by class, visits and shifts, the actions by hand, and that a
review or a revoked card made at the desk reaches the kiosks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import synckit as sk
from conftest import FakeClock

from kiosk.data.core import cards, masterdata
from kiosk.data.core.db import KioskSqliteDatabase, sqlite_path
from kiosk.data.core.errors import CardRefused, NotFound, Refused, StorageError
from kiosk.data.core.models import SyncCase
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.data.librarian.daybook import DayBook, LogFilter, day_bounds
from kiosk.data.roles import Roles
from kiosk.locale import set_language


@pytest.fixture(autouse=True)
def _english():
    set_language("en")
    yield
    set_language("zh_CN")


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def site(desk_url: str, tmp_path: Path, clock: FakeClock):
    site = sk.make_site(desk_url, tmp_path, clock)
    yield site
    for kiosk in site.kiosks.values():
        kiosk.db.close()
    site.desk.close()


@pytest.fixture
def book(site, clock) -> DayBook:
    """The librarian's service at the desk."""
    return DayBook(Circulation(Store(site.desk, "desk", clock=clock)))


def test_the_day_log_is_the_days_facts_in_words(site, book, clock):
    hall = site.add_kiosk("hall")
    clock.advance(days=-1)
    hall.circulation.checkout("S0001", "B00001")  # yesterday
    clock.advance(days=1, minutes=1)
    hall.circulation.checkout("S0002", "B00003")
    clock.advance(minutes=1)
    with pytest.raises(Refused):
        hall.circulation.checkout("S0002", "B00001")  # lent to S0001
    clock.advance(minutes=1)
    hall.circulation.checkin("B00001")
    hall.sync(site.desk)
    entries = book.day_log()
    cards_issued = [e for e in entries if e.kind == "card_issued"]  # this morning, at the desk
    assert len(cards_issued) == 6 and cards_issued[0].what == "Card 1 issued"
    entries = [e for e in entries if e.kind != "card_issued"]
    assert [e.kind for e in entries] == ["checkin", "refusal", "checkout"]  # newest first
    checkin, refusal, checkout = entries
    assert checkout.what.startswith("Borrowed “Book 1”, due ")
    assert checkout.patron_name == "Student S0002" and checkout.class_name == "3B"
    assert refusal.reason == "copy.on_loan_other"
    assert refusal.what == "Refused: “Book 0” is still lent to someone else. Please take it " \
        "to the librarian's desk."
    assert checkin.patron == "S0001" and checkin.kiosk == "hall"
    start, end = day_bounds(clock.today)
    assert all(start <= e.at < end for e in entries)  # tests run in UTC
    assert [e.kind for e in LogFilter(entries).apply("3b book")] == ["refusal", "checkout"]
    assert LogFilter(entries).apply("  ") == entries


def test_a_sync_conflict_is_a_case_until_reviewed_everywhere(site, book, clock, tmp_path):
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    room.circulation.checkout("S0002", "B00001")
    clock.advance(minutes=30)
    hall.circulation.checkout("S0001", "B00001")
    hall.sync(site.desk)
    room.sync(site.desk)
    [case] = book.cases()
    assert (case.source, case.kind, case.patron, case.copy) == (
        "sync", "lent_twice", "S0002", "B00001"
    )
    assert case.what == "Lent while still on loan to another reader: the later loan stands"
    assert case.title == "Book 0" and case.kiosk == "room"
    book.mark_reviewed(case.ref, "L0001")
    assert book.cases() == []
    with sk.on(site.desk):
        row = SyncCase.get()
    assert row.resolved_by == "L0001" and row.resolved_at is not None
    hall.sync(site.desk)  # the review travels: the kiosk holds the desk's fact
    assert "case_reviewed" in [e.kind for e in DayBook(hall.circulation).day_log()]


def test_forged_and_revoked_cards_are_cases_pins_too(site, book, clock):
    hall = site.add_kiosk("hall")
    prefix = sk.card_code(site, "S0001").split(".")[0]
    with pytest.raises(CardRefused):
        hall.circulation.open_card(cards.encode(prefix, "S0001", 1, "a-guess"))
    hall.circulation.checkout("S0003", "B00002")  # not a case
    hall.sync(site.desk)
    [case] = book.cases()
    assert (case.source, case.kind, case.patron) == ("refusal", "card.forged", "")
    assert "not a card of our library" in case.what


def test_a_card_revoked_at_the_desk_is_refused_at_the_kiosk(site, book, clock):
    hall = site.add_kiosk("hall")
    code = sk.card_code(site, "S0004")
    assert book.revoke_card("S0004", "L0001") == 1
    with pytest.raises(NotFound) as none_left:
        book.revoke_card("S0004", "L0001")
    assert none_left.value.key == "lib.no_card"
    assert book.patron("S0004").current_card is None
    hall.sync(site.desk)
    with pytest.raises(CardRefused) as refused:
        hall.circulation.open_card(code)
    assert refused.value.key == "card.revoked"
    hall.sync(site.desk)
    [case] = book.cases()
    assert case.kind == "card.revoked"


def test_overdue_by_class_and_renew_and_return_by_hand(site, book, clock):
    hall = site.add_kiosk("hall")
    clock.advance(days=-20)
    for number, barcode in (("S0001", "B00001"), ("S0002", "B00002"), ("S0003", "B00003")):
        hall.circulation.checkout(number, barcode)
        clock.advance(days=1)
    clock.advance(days=17)
    fresh = hall.circulation.checkout("S0005", "B00004")
    hall.sync(site.desk)
    overdue = book.overdue()
    assert [(o.class_name, o.patron, o.copy) for o in overdue] == [
        ("3A", "S0001", "B00001"), ("3A", "S0003", "B00003"), ("3B", "S0002", "B00002"),
    ]
    assert all(o.days_overdue == (clock.today - o.due_on).days > 0 for o in overdue)
    assert overdue[0].days_overdue >= overdue[1].days_overdue  # the longest first, by class
    with pytest.raises(Refused) as late:
        book.renew(overdue[0].loan_id, "L0001")
    assert late.value.key == "renew.overdue"
    renewed = book.renew(fresh.loan.loan_id, "L0001")
    assert renewed.due_on > fresh.loan.due_on and renewed.renewals == 1
    assert book.checkin("B00001", "L0001").destination == "shelf"
    by_hand = {e.kind: e.what for e in book.day_log() if "by hand" in e.what}
    assert by_hand == {
        "renew": f"Renewed “{fresh.loan.title}”, now due {renewed.due_on.isoformat()}"
        " (by hand, librarian L0001)",
        "checkin": "Returned “Book 0” (by hand, librarian L0001)",
    }
    assert [o.copy for o in book.overdue()] == ["B00003", "B00002"]
    detail = book.copy("B00004")
    assert (detail.borrower, detail.status) == ("S0005", "on_loan")
    assert [e.kind for e in detail.recent][:2] == ["renew", "checkout"]
    with pytest.raises(NotFound):
        book.copy("NOPE")


def test_visits_shifts_and_figures(site, book, clock):
    hall = site.add_kiosk("hall")
    roles = Roles(hall.circulation)
    hall.circulation.checkout("S0001", "B00001")
    hall.circulation.checkout("S0002", "B00002")
    shift = roles.shifts.start_shift("S0003")
    roles.shifts.helper_return(shift.id, "B00001")
    roles.shifts.end_shift(shift.id)
    hall.sync(site.desk)
    [activity] = book.activities()
    assert (activity.kind, activity.who, activity.count) == ("shift", "Student S0003", 1)
    assert activity.ended is not None
    figures = book.figures(book.day_log())
    assert (figures.loans, figures.returns, figures.visitors) == (2, 1, 2)
    assert figures.per_hour == ((10, 2),)
    assert figures.per_class == (("3A", 1), ("3B", 1))
    assert "(by a helper)" in next(e.what for e in book.day_log() if e.kind == "checkin")


def test_sync_overview_at_the_desk_and_at_a_kiosk(site, book, clock):
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0001", "B00001")
    kiosk_view = DayBook(hall.circulation).sync_overview()
    assert (kiosk_view.role, kiosk_view.waiting) == ("kiosk", 1)
    hall.sync(site.desk)
    desk_view = book.sync_overview()
    assert desk_view.role == "desk"
    assert [(k.kiosk, k.facts_pushed) for k in desk_view.kiosks] == [("hall", 1)]


def test_hostile_names_are_shown_harmless(site, book, clock):
    hall = site.add_kiosk("hall")
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("patron_saved", patron="S0001", name="Eve\x1b[31m\u202e", kind="student",
                        **{"class": "3A"})
    hall.sync(site.desk)
    hall.circulation.checkout("S0001", "B00001")
    hall.sync(site.desk)
    [entry] = [e for e in book.day_log() if e.kind == "checkout"]
    assert entry.patron_name == "Eve\\x1b[31m\\u202e"
    assert "\x1b" not in entry.haystack


def test_a_locked_database_is_a_storage_error_for_the_librarian_too(
    library, library_url, make, clock
):
    """Marking a case and revoking a card while another writer (the sync) holds the
    lock: a StorageError in words, as at the kiosk, never a raw database error."""
    make.card(make.patron("S1"))
    impatient = KioskSqliteDatabase(sqlite_path(library_url), timeout=0.2)
    book = DayBook(Circulation(Store(impatient, "desk", clock=clock)))
    holder = sqlite3.connect(str(sqlite_path(library_url)), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for write in (lambda: book.mark_reviewed("refusal:x", "L1"),
                      lambda: book.revoke_card("S1", "L1")):
            with pytest.raises(StorageError) as locked:
                write()
            assert locked.value.key == "storage.locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    book.mark_reviewed("refusal:x", "L1")
    assert book.revoke_card("S1", "L1") == 1
    with pytest.raises(NotFound):
        book.revoke_card("S1", "L1")  # no card left that works
    impatient.close()


def test_a_book_lent_twice_by_two_online_kiosks_is_not_called_offline(site, book, clock):
    """Both kiosks online, syncing every few seconds: a book lent at both between two
    syncs is a case named by what happened, not "while offline"."""
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    hall.sync(site.desk)
    room.sync(site.desk)  # both online and up to date
    room.circulation.checkout("S0002", "B00001")
    clock.advance(seconds=3)
    hall.circulation.checkout("S0001", "B00001")  # before the next sync
    room.sync(site.desk)
    hall.sync(site.desk)
    set_language("zh_CN")
    [case] = book.cases()
    assert case.kind == "lent_twice"
    assert "离线" not in case.what
    assert case.what == "这本书还记在别人名下时又借出了：以后一次为准"
    set_language("en")
    assert all("offline" not in book_case.what for book_case in book.cases())
