"""Repair, loss, write-off and class corners travel: SQLite and PostgreSQL desks.

Each test ends with every kiosk holding the desk's state (corners and the repair log
included, ``synckit.state``), which equals a replay of the desk's journal.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import synckit as sk
from conftest import FakeClock

from kiosk.data.core import masterdata
from kiosk.data.core.store import Store
from kiosk.data.librarian.stock import Stock
from kiosk.data.roles import Roles


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def site(desk_url: str, tmp_path: Path, clock: FakeClock) -> sk.Site:
    site = sk.make_site(desk_url, tmp_path, clock, titles=30, copies_per_title=2)
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save_many("patron_saved", [
            {"patron": "T0001", "name": "Teacher Wang", "kind": "teacher", "class": None}
        ], when=clock())
    yield site
    for kiosk in site.kiosks.values():
        kiosk.db.close()
    site.desk.close()


def test_a_corner_lent_offline_and_brought_back_at_another_kiosk(site, clock, tmp_path):
    hall, library = site.add_kiosk("hall"), site.add_kiosk("library")
    corners = Roles(hall.circulation).corners
    corner = corners.new("T0001", "3A", clock.today + timedelta(days=60))
    books = sk.barcodes(60)[:40]
    for barcode in books:
        corners.lend(corner, barcode)
    desk = sk.converged(site, tmp_path)
    assert desk["corners"][0][1:6] == ("3A", "T0001", str(corner.due_on), False, 0)
    assert len(desk["corners"][0][6]) == 40
    clock.advance(days=30)
    other = Roles(library.circulation).corners
    for barcode in books[:38]:
        other.give_back(corner.id, barcode)
    missing = other.close(corner.id, by="T0001")
    assert [book.barcode for book in missing] == sorted(books[38:], key=lambda b: b)
    desk = sk.converged(site, tmp_path)
    assert desk["corners"][0][4:6] == (True, 2)


def test_a_copy_written_off_at_a_kiosk_while_the_desk_lent_it(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    sk.desk_circulation(site, clock).checkout("S0001", "B00003")
    clock.advance(minutes=5)
    Stock(hall.circulation.store).act("B00003", "withdrawn", by="L1", reason="worn_out")
    hall.sync(site.desk)
    assert [case[0] for case in sk.cases(site.desk)] == ["lent_written_off"]
    # listed for the librarian, in words, on the desk's "To review" tab
    from kiosk.data.librarian.daybook import DayBook
    from kiosk.locale import set_language

    set_language("en")
    (case,) = [c for c in DayBook(sk.desk_circulation(site, clock)).cases() if c.source == "sync"]
    assert case.copy == "B00003" and "written-off book was lent" in case.what
    set_language("zh_CN")
    desk = sk.converged(site, tmp_path)
    assert desk["statuses"]["B00003"] == "withdrawn"
    assert any(loan[1] == "B00003" and loan[4] == "None" for loan in desk["loans"])


def test_a_loss_and_a_repair_at_the_desk_reach_every_kiosk(site, clock, tmp_path):
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0002", "B00004")
    hall.sync(site.desk)
    clock.advance(days=40)
    stock = Stock(Store(site.desk, "desk", clock=clock))
    assert stock.act("B00004", "lost", by="L1", settlement="replaced").lost_by == "Student S0002"
    hall.circulation.checkin("B00005", damaged=True)
    desk = sk.converged(site, tmp_path)
    stock.act("B00005", "repaired", by="L1")
    desk = sk.converged(site, tmp_path)
    assert desk["statuses"]["B00004"] == "lost"
    assert desk["statuses"]["B00005"] == "available"
    assert [event[2] for event in sorted(desk["events"], key=lambda e: e[0])] == [
        "lost", "damaged", "repaired"
    ]
    assert hall.circulation.patron("S0002").loans == ()


def test_a_forgotten_card_in_a_class_visit_travels(site, clock, tmp_path):
    import json

    from kiosk.data.core.models import Journal, VisitAttendee

    hall = site.add_kiosk("hall")
    roles = Roles(hall.circulation)
    visit = roles.visits.start_visit("T0001", "3A")
    counted = roles.visits.roll_call(visit.id, "S0001", no_card=True)
    assert counted.status == "counted"
    hall.circulation.checkout("S0001", "B00009", teacher="T0001")
    sk.converged(site, tmp_path)
    with sk.on(site.desk):
        assert VisitAttendee.select().count() == 1
        loan = Journal.get((Journal.kind == "checkout") & (Journal.copy == "B00009"))
        attendee = Journal.get(Journal.kind == "visit_attendee")
    assert json.loads(loan.data)["teacher"] == "T0001" and loan.patron == "S0001"
    assert json.loads(attendee.data)["no_card"] is True
