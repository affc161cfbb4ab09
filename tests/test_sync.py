"""Sync with the desk: joining, push and pull, each conflict rule, master data, refusals.

Every test runs against an SQLite desk and a PostgreSQL desk, with kiosks that are
real SQLite files and the real circulation service. Each conflict test ends the
same way: every kiosk's state equals the desk's, which equals a replay of the desk's
journal in its order.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import peewee as pw
import pytest
import synckit as sk
from conftest import FakeClock

from kiosk.data import sync
from kiosk.data.core import journal, library, masterdata
from kiosk.data.core.db import database
from kiosk.data.core.errors import CardRefused, Refused
from kiosk.data.core.facts import Fact, new_fact
from kiosk.data.core.models import ClosedDay, Journal, KioskRegistration, Loan, LoanRule, Setting
from kiosk.data.lending import circulation as circulation_module
from kiosk.system import logs


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def site(desk_url: str, tmp_path: Path, clock: FakeClock) -> sk.Site:
    site = sk.make_site(desk_url, tmp_path, clock)
    yield site
    for kiosk in site.kiosks.values():
        kiosk.db.close()
    site.desk.close()


def card_of(site: sk.Site, number: str) -> str:
    with sk.on(site.desk):
        return library.current_card(number)


# -- joining, push and pull -------------------------------------------------------------


def test_a_new_kiosk_gets_the_desks_library(site, clock, tmp_path):
    kiosk = site.add_kiosk("hall")
    assert sk.state(kiosk.db) == sk.state(site.desk)
    with sk.on(kiosk.db):
        secret = Setting.get_by_id("card_secret").value
    with sk.on(site.desk):
        assert Setting.get_by_id("card_secret").value == secret
    # a card printed at the desk opens the kiosk
    view = kiosk.circulation.open_card(card_of(site, "S0001"))
    assert view.name == "Student S0001"
    assert view.card == 1
    with sk.on(site.desk):
        assert KioskRegistration.get_by_id("hall").token_hash != kiosk.ident.token


def test_loans_travel_both_ways(site, clock, tmp_path):
    hall, library_room = site.add_kiosk("hall"), site.add_kiosk("room")
    hall.circulation.checkout("S0001", "B00001")
    clock.advance(minutes=1)
    report = hall.sync(site.desk)
    assert (report.pushed, report.waiting) == (1, 0)
    library_room.sync(site.desk)
    with sk.on(library_room.db):
        assert Loan.select().join_from(Loan, Loan.copy.rel_model).count() == 1
    result = library_room.circulation.checkin("B00001")
    assert result.borrower == "Student S0001"
    sk.converged(site, tmp_path)


def test_a_push_repeated_after_a_crash_changes_nothing(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    for barcode in ("B00001", "B00002"):
        hall.circulation.checkout("S0001", barcode)
    hall.circulation.checkin("B00001")
    with sk.on(hall.db):
        facts = [
            Fact.from_row(row)
            for row in Journal.select().where(Journal.pushed_at.is_null()).order_by(Journal.seq)
        ]
    assert len(facts) == 3
    # the desk accepted the batch, but the kiosk died before marking it sent
    for _ in range(2):
        with sk.on(site.desk), site.desk.atomic():
            sync.accept(facts, hall.ident)
    assert hall.sync(site.desk).pushed == len(facts)
    with sk.on(site.desk):
        uuids = [uuid for (uuid,) in Journal.select(Journal.uuid).tuples()]
    assert len(uuids) == len(set(uuids))
    assert sk.cases(site.desk) == []
    sk.converged(site, tmp_path)


def test_an_empty_sync_pushes_and_pulls_nothing(site):
    hall = site.add_kiosk("hall")
    report = hall.sync(site.desk)
    assert (report.pushed, report.pulled, report.waiting) == (0, 0, 0)


# -- the conflict rules -----------------------------------------------------------------


def test_lent_twice_offline_the_later_checkout_wins(site, clock, tmp_path):
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    room.circulation.checkout("S0002", "B00001")  # 10:00
    clock.advance(minutes=30)
    hall.circulation.checkout("S0001", "B00001")  # 10:30, the book's later borrower
    hall.sync(site.desk)  # the later checkout reaches the desk first
    room.sync(site.desk)
    desk = sk.converged(site, tmp_path)
    open_loans = [loan for loan in desk["loans"] if loan[4] == "None"]
    assert [(loan[1], loan[2]) for loan in open_loans] == [("B00001", "S0001")]
    ended = next(loan for loan in desk["loans"] if loan[2] == "S0002")
    assert ended[4] == "2025-03-12 10:30:00"  # ended when the book changed hands
    assert sk.cases(site.desk) == [("lent_twice", "S0002", "B00001")]


def test_returned_at_the_desk_then_at_a_kiosk(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0001", "B00003")
    hall.sync(site.desk)
    clock.advance(hours=1)
    sk.desk_circulation(site, clock).checkin("B00003")  # the librarian takes it back
    clock.advance(hours=1)
    assert hall.circulation.checkin("B00003").destination == "shelf"  # offline: still on loan here
    sk.converged(site, tmp_path)
    assert sk.cases(site.desk) == [("returned_twice", "S0001", "B00003")]


def test_the_desks_return_decides_after_a_push_running_meanwhile(
    site, clock, tmp_path, monkeypatch
):
    """The librarian takes a book back at the desk while a kiosk pushes its own return of it.

    The desk's service read the book's open loan before it took the journal lock; the
    push closed that loan at 11:00 meanwhile, and the desk's return closed it again at
    12:00, so the desk's state was no longer a replay of its journal, where the return
    at the desk finds the book back already (found by bench/faults.py). The push is run
    right after the desk's read: it must wait for the desk's transaction.
    """
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0001", "B00003")
    hall.sync(site.desk)
    clock.advance(hours=1)
    hall.circulation.checkin("B00003")  # 11:00, not pushed yet
    clock.advance(hours=1)
    read = circulation_module._COPY_TO_LEND  # the copy with its open loan
    first = read.first
    pushes: list[threading.Thread] = []

    def reading(*args):
        row = first(*args)
        if not pushes:  # the kiosk's sync, on its own connections, between read and write
            pushes.append(threading.Thread(target=hall.sync, args=(site.desk,)))
            pushes[0].start()
            pushes[0].join(1.0)  # done by now, unless the desk holds the journal
        return row

    monkeypatch.setattr(read, "first", reading)
    sk.desk_circulation(site, clock).checkin("B00003")  # 12:00
    monkeypatch.undo()
    pushes[0].join(10)
    assert not pushes[0].is_alive()
    desk = sk.converged(site, tmp_path)  # the desk's state is a replay of its journal
    [loan] = desk["loans"]
    assert loan[4] == "2025-03-12 12:00:00"  # the desk decided first; the push waited
    assert sk.cases(site.desk) == [("returned_twice", "S0001", "B00003")]


def test_a_stale_return_does_not_end_a_newer_loan(site, clock, tmp_path):
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    hall.circulation.checkout("S0001", "B00004")
    hall.sync(site.desk)
    room.sync(site.desk)
    clock.advance(hours=1)
    hall.circulation.checkin("B00004")  # 11:00 at the offline hall kiosk
    clock.advance(minutes=30)
    sk.desk_circulation(site, clock).checkin("B00004")  # 11:30: the desk never heard
    room.sync(site.desk)
    clock.advance(minutes=30)
    room.circulation.checkout("S0002", "B00004")  # 12:00: lent again
    room.sync(site.desk)
    hall.sync(site.desk)  # the 11:00 return arrives last
    desk = sk.converged(site, tmp_path)
    assert [(loan[1], loan[2]) for loan in desk["loans"] if loan[4] == "None"] == [
        ("B00004", "S0002")
    ]
    assert desk["statuses"]["B00004"] == "on_loan"
    assert [case[0] for case in sk.cases(site.desk)] == ["stale_return"]


def test_a_card_revoked_at_the_desk_used_offline(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    old_card = card_of(site, "S0003")
    clock.advance(minutes=5)
    with sk.on(site.desk), site.desk.atomic():
        new_card = library.issue_card("S0003", when=clock())  # reported lost: reissued
    clock.advance(minutes=5)
    page = hall.circulation.open_card(old_card)  # the offline kiosk still knows it
    hall.circulation.checkout(page.number, "B00005", page.card)
    hall.sync(site.desk)
    assert sk.cases(site.desk) == [("revoked_card", "S0003", "B00005")]
    desk = sk.converged(site, tmp_path)
    assert ("B00005", "S0003") in [(loan[1], loan[2]) for loan in desk["loans"]]  # it stands
    with pytest.raises(CardRefused) as refused:  # and now the kiosk knows
        hall.circulation.open_card(old_card)
    assert refused.value.key == "card.revoked"
    assert hall.circulation.open_card(new_card).card == 2


def test_a_patron_deactivated_at_the_desk_while_a_kiosk_lends(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0004", "B00006")
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("patron_saved", patron="S0004", name="Student S0004", kind="student",
                        **{"class": "3B"}, active=False)
    clock.advance(minutes=1)
    hall.circulation.checkout("S0004", "B00007")
    hall.sync(site.desk)
    # both loans reached the desk after the patron left: both are listed for the librarian
    assert sk.cases(site.desk) == [
        ("inactive_patron", "S0004", "B00006"), ("inactive_patron", "S0004", "B00007")
    ]
    desk = sk.converged(site, tmp_path)
    assert {loan[1] for loan in desk["loans"] if loan[2] == "S0004"} == {"B00006", "B00007"}
    with pytest.raises(CardRefused):
        hall.circulation.open_card(card_of(site, "S0004"))


def test_a_copy_withdrawn_at_the_desk_while_a_kiosk_lends_it(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    with sk.on(site.desk), site.desk.atomic():
        masterdata.set_copy_status("B00007", "withdrawn", reason="worn out")
    clock.advance(minutes=1)
    hall.circulation.checkout("S0005", "B00007")  # offline: the book left all the same
    hall.sync(site.desk)
    assert [case[0] for case in sk.cases(site.desk)] == ["lent_written_off"]
    desk = sk.converged(site, tmp_path)
    # the loan stands (the book left), and the copy stays written off: its return
    # brings it to the librarian's desk (docs/sync.md)
    assert desk["statuses"]["B00007"] == "withdrawn"
    assert [loan[2] for loan in desk["loans"] if loan[1] == "B00007" and loan[4] == "None"] == [
        "S0005"
    ]
    assert hall.circulation.checkin("B00007").destination == "desk"
    assert sk.converged(site, tmp_path)["statuses"]["B00007"] == "withdrawn"


def test_a_copy_in_repair_at_the_desk_while_a_kiosk_lends_it(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    with sk.on(site.desk), site.desk.atomic():
        masterdata.set_copy_status("B00007", "repair")
    clock.advance(minutes=1)
    hall.circulation.checkout("S0005", "B00007")  # offline: it was on the shelf after all
    hall.sync(site.desk)
    assert [case[0] for case in sk.cases(site.desk)] == ["lent_unavailable"]
    assert sk.converged(site, tmp_path)["statuses"]["B00007"] == "on_loan"  # the loan stands


def test_a_copy_marked_lost_at_the_desk_then_returned_at_a_kiosk(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0005", "B00008")
    hall.sync(site.desk)
    clock.advance(days=20)
    with sk.on(site.desk), site.desk.atomic():
        masterdata.set_copy_status("B00008", "lost", reason="the child says it is lost")
    clock.advance(days=1)
    assert hall.circulation.checkin("B00008").destination == "shelf"  # offline
    hall.sync(site.desk)
    # (the loss ended the loan at the desk: the return is the lost book found, not a
    # second return)
    assert [case[0] for case in sk.cases(site.desk)] == ["lost_copy_returned"]
    desk = sk.converged(site, tmp_path)
    assert desk["statuses"]["B00008"] == "lost"  # until the librarian says it is found
    assert all(loan[4] != "None" for loan in desk["loans"])
    with sk.on(site.desk), site.desk.atomic():
        masterdata.set_copy_status("B00008", "available")
    assert sk.converged(site, tmp_path)["statuses"]["B00008"] == "available"


def test_a_renewal_of_a_loan_ended_at_the_desk(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    loan = hall.circulation.checkout("S0006", "B00002").loan
    hall.sync(site.desk)
    clock.advance(days=10)  # in the week before it is due: renewable
    sk.desk_circulation(site, clock).checkin("B00002")
    hall.circulation.renew("S0006", loan.loan_id)
    hall.sync(site.desk)
    assert sk.cases(site.desk) == [("renew_ended", "S0006", "B00002")]
    desk = sk.converged(site, tmp_path)
    assert all(loan[4] != "None" for loan in desk["loans"])


def test_a_checkout_while_this_kiosks_own_facts_are_unplaced_is_rebased(site, clock, tmp_path):
    """The pull brings another kiosk's older fact about a title this kiosk lent from."""
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    room.circulation.checkout("S0001", "B00001")
    room.sync(site.desk)
    clock.advance(minutes=10)
    hall.circulation.checkout("S0002", "B00001")  # hall has not heard of room's loan
    clock.advance(minutes=10)
    hall.circulation.checkout("S0002", "B00002")  # same title, other copy
    report = hall.sync(site.desk)
    assert report.pulled >= 3
    sk.converged(site, tmp_path)


# -- master data --------------------------------------------------------------------------


def test_master_data_changes_reach_the_kiosks(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("title_saved", key="T9", title="新书", author="作者", kind="book")
        masterdata.save("copy_saved", copy="B90001", title="T9", shelf="I")
        masterdata.save("rule_saved", patron_kind="student", item_kind="*", loan_days=7,
                        max_items=1, max_renewals=0)
        masterdata.save("closed_day_saved", day="2025-03-19", reason="sports day")
        masterdata.save("setting_saved", key="library_name", value="Sunshine Library")
    hall.sync(site.desk)
    assert hall.circulation.library_name() == "Sunshine Library"
    result = hall.circulation.checkout("S0001", "B90001")
    assert result.loan.title == "新书"
    assert result.loan.due_on.isoformat() == "2025-03-20"  # 7 days, then past the closed day
    with pytest.raises(Refused) as refused:
        hall.circulation.checkout("S0001", "B00001")
    assert refused.value.key == "patron.quota"
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("closed_day_deleted", day="2025-03-19")
    hall.sync(site.desk)
    with sk.on(hall.db):
        assert ClosedDay.select().count() == 0
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("rule_deleted", patron_kind="teacher", item_kind="*")
    hall.sync(site.desk)
    library.open_library(f"sqlite:///{hall.db.path}")  # the kiosk starts again
    with sk.on(hall.db):
        assert not LoanRule.select().where(LoanRule.patron_kind == "teacher").exists()
    sk.converged(site, tmp_path)


def test_a_new_card_secret_reaches_a_running_kiosk(site, clock):
    hall = site.add_kiosk("hall")
    printed_before = card_of(site, "S0001")
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("setting_saved", key="card_secret", value="0" * 32)
    hall.sync(site.desk)
    assert hall.circulation.open_card(printed_before).number == "S0001"  # not reloaded yet
    hall.circulation.reload()
    with pytest.raises(CardRefused) as refused:
        hall.circulation.open_card(printed_before)
    assert refused.value.key == "card.forged"
    assert hall.circulation.open_card(card_of(site, "S0001")).number == "S0001"


# -- refusals: who may sync, and what -----------------------------------------------------


def test_a_kiosk_cannot_push_master_data_or_another_kiosks_facts(site, clock):
    hall = site.add_kiosk("hall")
    forged = new_fact(
        hall.circulation.store.hlc, "hall", "setting_saved", clock(), key="card_secret", value="x"
    )
    stolen = new_fact(
        hall.circulation.store.hlc, "room", "checkout", clock(), patron="S0001", copy="B00001",
        due_on="2025-03-26",
    )
    with sk.on(hall.db), hall.db.atomic():
        journal.insert_facts([forged, stolen], pushed_at=None)
    assert hall.sync(site.desk).waiting == 0
    assert sorted(case[0] for case in sk.cases(site.desk)) == ["refused_fact", "refused_fact"]
    with sk.on(site.desk):
        assert Setting.get_by_id("card_secret").value != "x"
        assert not Journal.select().where(Journal.uuid.in_([forged.uuid, stolen.uuid])).exists()
        assert Loan.select().count() == 0


def test_a_wrong_token_is_refused(site):
    hall = site.add_kiosk("hall")
    impostor = sync.Identity("hall", "not-the-token", site.desk_url)
    with pytest.raises(sync.SyncError) as refused:
        sync.sync_once(hall.db, site.desk, impostor)
    assert refused.value.key == "sync.not_registered"


def test_joining_twice_with_one_name_is_refused(site, tmp_path):
    site.add_kiosk("hall")
    other = library.open_library(f"sqlite:///{tmp_path / 'other.sqlite'}", create=True)
    with pytest.raises(sync.SyncError) as refused:
        sync.join(other, site.desk_url, "hall")
    assert refused.value.key == "sync.name_taken"


def test_a_kiosk_with_its_own_loans_cannot_join(site, tmp_path, clock, make, circulation):
    make.copy(make.title(), barcode="X1")
    circulation.checkout(make.patron().number, "X1")
    with pytest.raises(sync.SyncError) as refused:
        sync.join(circulation.store.db, site.desk_url, "old")
    assert refused.value.key == "sync.not_fresh"


def test_a_database_that_is_not_a_desk_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.sqlite'}"
    library.open_library(url, create=True).close()
    kiosk = library.open_library(f"sqlite:///{tmp_path / 'k.sqlite'}", create=True)
    with pytest.raises(sync.SyncError) as refused:
        sync.join(kiosk, url, "hall")
    assert refused.value.key == "sync.not_desk"


def test_the_desks_password_and_the_token_never_reach_the_log(make_pg_url, tmp_path, clock):
    url = make_pg_url().replace("postgres@", "postgres:s3cret-pw@")  # trust auth ignores it
    log_file = tmp_path / "kiosk.log"
    logs.configure(log_file, logging.DEBUG)  # peewee logs every statement at DEBUG
    try:
        site = sk.make_site(url, tmp_path, clock)
        hall = site.add_kiosk("hall")
        hall.circulation.checkout("S0001", "B00001")
        hall.sync(site.desk)
        logging.getLogger("kiosk.test").error("failed on %s", url)
    finally:
        logs.configure(None)
    text = log_file.read_text(encoding="utf-8")
    assert "local_state" in text and "failed on postgresql://postgres:***@" in text
    assert "s3cret-pw" not in text
    assert hall.ident.token not in text
    assert "s3cret-pw" not in repr(hall.ident) and hall.ident.token not in repr(hall.ident)
    site.desk.close()
    hall.db.close()


def test_models_point_at_the_desk_only_in_the_syncing_thread(site, clock):
    """The kiosk's database thread keeps its own database while a sync runs beside it."""
    import threading

    hall = site.add_kiosk("hall")
    seen: list[pw.Database] = []
    with database.using(site.desk):
        thread = threading.Thread(target=lambda: seen.append(database.obj))
        thread.start()
        thread.join()
        assert database.obj is site.desk
    assert seen and seen[0] is not site.desk
    assert hall  # the kiosk still lends
    hall.circulation.checkout("S0001", "B00001")

