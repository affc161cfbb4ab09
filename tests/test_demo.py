"""The demo library: what it promises, checked through the real circulation service.

The demo is built once per module into a real SQLite file (about a second); every
test works on its own copy of that file, so tests that lend and return do not see
each other. The demo is built for today's UTC date, the date the tests' kiosk sees
(the test environment runs in UTC).
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import peewee as pw
import pytest

from kiosk import config
from kiosk.data import demo
from kiosk.data.core import journal, library, settings
from kiosk.data.core.errors import CardRefused, Refused
from kiosk.data.core.models import Card, Copy, Hold, Journal, Loan, Patron, Title
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.data.lending.holds import Holds

KIOSK = "kiosk-1"


@dataclass(frozen=True)
class Built:
    """The module's demo file, its exported codes and the day it was built for."""

    path: Path
    today: date
    build_seconds: float
    rows: list[dict[str, str]]
    header: list[str]
    count: int


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Build the demo once for this module and export its codes."""
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.sqlite"
    today = datetime.now(UTC).date()
    started = time.perf_counter()
    db = demo.build_demo(f"sqlite:///{path}", today=today)
    seconds = time.perf_counter() - started
    count = demo.export_codes(db, folder / "codes.csv", today=today)
    db.close()
    with (folder / "codes.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    return Built(path, today, seconds, rows, header, count)


@pytest.fixture
def db(built: Built, tmp_path: Path) -> Iterator[pw.Database]:
    """This test's own copy of the demo, opened (the models are bound to it)."""
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(built.path, path)
    database = demo.build_demo(f"sqlite:///{path}")
    yield database
    database.close()


@pytest.fixture
def circulation(db: pw.Database) -> Circulation:
    """The real circulation service on the demo, at the real time."""
    return Circulation(Store(db, KIOSK))


def interesting(built: Built) -> list[dict[str, str]]:
    """The rows before the first teacher: the cases a tester finds at the top."""
    top = []
    for row in built.rows:
        if row["role"] == "teacher":
            break
        top.append(row)
    return top


def case(built: Built, position: int) -> dict[str, str]:
    """The ``position``-th interesting row (see ``export_codes`` for the order)."""
    return interesting(built)[position]


def number_of(code: str) -> str:
    """The patron number inside a card payload."""
    return code.split(".")[1]


def available_book(db: pw.Database) -> str:
    """The barcode of some book on the shelf."""
    with db.connection_context():
        return (
            Copy.select(Copy.barcode)
            .join(Title)
            .where((Copy.status == "available") & (Title.kind == "book"))
            .order_by(Copy.barcode)
            .first()
            .barcode
        )


def loan_state(db: pw.Database) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Loans, holds and copy statuses, in a comparable form."""
    with db.connection_context():
        loans = sorted(
            Loan.select(Loan.id, Copy.barcode, Patron.number, Loan.due_on, Loan.returned_at,
                        Loan.renewals)
            .join(Copy).switch(Loan).join(Patron)
            .tuples()
        )
        holds = sorted(Hold.select(Hold.id, Hold.status, Hold.copy, Hold.patron).tuples())
        statuses = sorted(Copy.select(Copy.barcode, Copy.status).tuples())
    return loans, holds, statuses


# -- what was built -------------------------------------------------------------------


def test_builds_with_the_promised_size(built: Built, db: pw.Database) -> None:
    # (its speed is bench/demo_start.py's: a timed assertion fails on a busy machine)
    with db.connection_context():
        assert settings.get("library_name") == demo.LIBRARY_NAME
        assert settings.get(demo.BUILT_SETTING) == built.today.isoformat()
        students = Patron.select().where(Patron.kind == "student").count()
        assert 380 <= students <= 460
        assert Patron.select().where(Patron.kind == "teacher").count() == 20
        assert Patron.select().where(Patron.kind == "helper").count() == 8
        assert Card.select().count() == Patron.select().count() + 1  # one reissued card
        assert Journal.select().where(Journal.kind == "card_issued").count() == Card.select().count()
        copies = Copy.select().count()
        assert 1700 <= copies <= 2300
        assert all(code.isdigit() and len(code) == 8 for (code,) in Copy.select(Copy.barcode).tuples())
        out = Loan.select().where(Loan.returned_at.is_null())
        assert 130 <= out.count() <= 180
        overdue = out.where(Loan.due_on < built.today).count()
        assert 15 <= overdue <= 25
        assert Loan.select().where(Loan.returned_at.is_null(False)).count() >= 20
        # Every loan is a fact of the last five weeks, none in the future.
        moments = [row.wall_time for row in Journal.select().where(Journal.kind == "checkout")]
        assert all(0 < (built.today - moment.date()).days <= 36 for moment in moments)


def test_librarian_card_and_pin_pass(built: Built, circulation: Circulation) -> None:
    row = case(built, 0)
    assert row["role"] == "librarian"
    assert number_of(row["code"]) == demo.DEMO_LIBRARIAN
    assert circulation.open_card(row["code"]).kind == "librarian"
    assert circulation.check_librarian(demo.DEMO_LIBRARIAN, demo.DEMO_PIN)
    assert not circulation.check_librarian(demo.DEMO_LIBRARIAN, "0000")


def test_students_with_room_and_at_quota(
    built: Built, db: pw.Database, circulation: Circulation
) -> None:
    room = circulation.open_card(case(built, 1)["code"])
    assert room.loans and room.may_borrow > 0 and room.overdue_count == 0
    full = circulation.open_card(case(built, 2)["code"])
    assert full.loans and full.may_borrow == 0 and full.overdue_count == 0
    with pytest.raises(Refused) as info:
        circulation.checkout(full.number, available_book(db))
    assert info.value.key == "patron.quota"
    lent = circulation.checkout(room.number, available_book(db))
    assert lent.loan.due_on > built.today


def test_overdue_student_opens_but_may_not_borrow(
    built: Built, db: pw.Database, circulation: Circulation
) -> None:
    patron = circulation.open_card(case(built, 3)["code"])
    assert patron.overdue_count >= 1
    with pytest.raises(Refused) as info:
        circulation.checkout(patron.number, available_book(db))
    assert info.value.key == "patron.overdue"


@pytest.mark.parametrize(
    ("position", "key", "suffix"),
    [(4, "card.blocked", ""), (5, "card.revoked", demo.OLD_CARD_SUFFIX), (6, "card.inactive", "")],
)
def test_refused_cards(
    built: Built, circulation: Circulation, position: int, key: str, suffix: str
) -> None:
    row = case(built, position)
    assert row["role"] == "student"
    assert row["name"].endswith(suffix)
    with pytest.raises(CardRefused) as info:
        circulation.open_card(row["code"])
    assert info.value.key == key


def test_reissued_student_new_card_works(built: Built, circulation: Circulation) -> None:
    old = case(built, 5)
    number = number_of(old["code"])
    new = [r for r in built.rows if r["role"] == "student" and number_of(r["code"]) == number
           and r["code"] != old["code"]]
    assert len(new) == 1
    assert circulation.open_card(new[0]["code"]).number == number
    assert old["name"] == new[0]["name"].split(" (")[0] + demo.OLD_CARD_SUFFIX


def test_reference_and_periodicals(
    built: Built, db: pw.Database, circulation: Circulation
) -> None:
    reference, current, last_month = case(built, 8), case(built, 9), case(built, 10)
    assert reference["role"] == current["role"] == last_month["role"] == "copy"
    reader = circulation.open_card(case(built, 1)["code"]).number  # a student with room
    with pytest.raises(Refused) as info:
        circulation.checkout(reader, reference["code"])
    assert info.value.key == "copy.reference_only"
    with pytest.raises(Refused) as info:
        circulation.checkout(reader, current["code"])
    assert info.value.key == "copy.periodical_current"
    with db.connection_context():
        issue = Copy.get(Copy.barcode == current["code"]).title.issue_date
    assert issue == built.today.replace(day=1)
    lent = circulation.checkout(reader, last_month["code"])
    assert lent.loan.barcode == last_month["code"]


def test_copy_on_loan_is_refused_to_another(built: Built, circulation: Circulation) -> None:
    on_loan = case(built, 11)
    reader = case(built, 1)["code"]
    with pytest.raises(Refused) as info:
        circulation.checkout(number_of(reader), on_loan["code"])
    assert info.value.key == "copy.on_loan_other"


def test_hold_shelf_copy_waits_for_its_patron(
    built: Built, db: pw.Database, circulation: Circulation
) -> None:
    holder = case(built, 7)
    shelf_copy = case(built, 12)
    with db.connection_context():
        hold = Hold.get(Hold.status == "ready")
        assert hold.patron.number == number_of(holder["code"])
        assert hold.copy is not None
        assert hold.copy.barcode == shelf_copy["code"]
        assert hold.copy.status == "hold_shelf"
    other = number_of(case(built, 1)["code"])
    with pytest.raises(Refused) as info:
        circulation.checkout(other, shelf_copy["code"])
    assert info.value.key == "copy.on_hold_other"
    patron = circulation.open_card(holder["code"])
    lent = circulation.checkout(patron.number, shelf_copy["code"])
    assert lent.loan.barcode == shelf_copy["code"]
    with db.connection_context():
        assert Hold.get_by_id(hold.id).status == "fulfilled"


def test_the_holder_is_told_and_a_teacher_has_a_class_set(
    built: Built, db: pw.Database, circulation: Circulation
) -> None:
    """The student whose book waits is told where and until when; the first teacher row
    is the teacher with a class set for a day ahead, and students may reserve."""
    holds = Holds(circulation)
    holder = number_of(case(built, 7)["code"])
    (waiting,) = holds.of_patron(holder)
    assert waiting.ready and waiting.until is not None and waiting.until >= date.today()
    teacher = next(row for row in built.rows if row["role"] == "teacher")
    assert teacher["name"].endswith("(a class set reserved)")
    views = holds.of_patron(number_of(teacher["code"]))
    assert len(views) == 3 and len({v.class_set for v in views}) == 1
    assert all(v.needed_on is not None and v.needed_on > date.today() for v in views)
    assert holds.rules().students


def test_copy_in_repair_is_not_lendable(built: Built, circulation: Circulation) -> None:
    repair = case(built, 13)
    with pytest.raises(Refused) as info:
        circulation.checkout(number_of(case(built, 1)["code"]), repair["code"])
    assert info.value.key == "copy.not_lendable"


def test_repair_write_off_and_a_class_corner(built: Built, db: pw.Database,
                                              circulation: Circulation) -> None:
    from kiosk.data.core.models import ClassCorner, CopyEvent, Loan

    names = [row["name"] for row in built.rows[:20]]
    assert any(name.endswith("(written off)") for name in names)
    assert any(name.endswith("(lost, paid for)") for name in names)
    teacher = next(row for row in built.rows if "a class corner out" in row["name"])
    corner_copy = next(row for row in built.rows if row["name"].endswith("(in a class corner)"))
    with db.connection_context():
        (corner,) = ClassCorner.select()
        assert corner.closed_at is None and corner.due_on > built.today
        assert Loan.select().where(Loan.corner == corner.id).count() == 12
        actions = sorted(event.action for event in CopyEvent.select())
        assert actions == ["damaged", "lost", "repair", "repair", "repaired", "withdrawn"]
        lost = CopyEvent.get(CopyEvent.action == "lost")
        assert (lost.settlement, lost.patron is not None) == ("paid", True)
    teacher_page = circulation.open_card(teacher["code"])
    assert corner_copy["code"] not in {loan.barcode for loan in teacher_page.loans}


# -- the exported codes ---------------------------------------------------------------


def test_codes_file_header_roles_and_completeness(built: Built, db: pw.Database) -> None:
    assert built.header == ["role", "name", "code"]
    assert built.count == len(built.rows)
    roles = {row["role"] for row in built.rows}
    assert roles == {"student", "teacher", "helper", "librarian", "copy"}
    assert [row["role"] for row in interesting(built)] == ["librarian"] + ["student"] * 7 + [
        "copy"
    ] * 8
    barcodes = {row["code"] for row in built.rows if row["role"] == "copy"}
    by_code = {row["code"]: row for row in built.rows}
    with db.connection_context():
        assert barcodes == {code for (code,) in Copy.select(Copy.barcode).tuples()}
        for patron in Patron.select():
            code = library.current_card(patron.number)
            assert code is not None, patron.number
            row = by_code[code]
            assert row["role"] == patron.kind
            # the showcase rows at the top say in brackets what the tester will see
            assert row["name"] == patron.name or row["name"].startswith(patron.name + " (")
    codes = [(row["role"], row["code"]) for row in built.rows]
    assert len(codes) == len(set(codes))


# -- the journal ---------------------------------------------------------------------


def test_rebuilding_the_projection_gives_the_same_state(db: pw.Database) -> None:
    before = loan_state(db)
    with db.connection_context(), db.atomic():
        replayed = journal.rebuild()
    assert replayed > 700
    after = loan_state(db)
    assert after == before
    loans, holds, _ = after
    assert sum(1 for loan in loans if loan[4] is None) >= 130
    assert any(hold[1] == "ready" for hold in holds)


def test_facts_are_in_clock_order(db: pw.Database) -> None:
    with db.connection_context():
        rows = list(Journal.select(Journal.wall_time, Journal.hlc).order_by(Journal.seq).tuples())
    assert [hlc for _, hlc in rows] == sorted(hlc for _, hlc in rows)
    assert [wall for wall, _ in rows] == sorted(wall for wall, _ in rows)


# -- opening, rebuilding and refusing -------------------------------------------------


def test_second_call_reuses_the_file(built: Built, tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(built.path, path)
    inode = os.stat(path).st_ino
    db = demo.build_demo(f"sqlite:///{path}")
    with db.connection_context():
        secret = settings.get("card_secret")
        facts = Journal.select().count()
    db.close()
    started = time.perf_counter()
    db = demo.build_demo(f"sqlite:///{path}", seed=99)
    seconds = time.perf_counter() - started
    with db.connection_context():
        assert settings.get("card_secret") == secret
        assert Journal.select().count() == facts
    db.close()
    assert os.stat(path).st_ino == inode
    assert seconds < 0.5


def test_interrupted_build_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo.library, "set_pin", interrupted)
    with pytest.raises(KeyboardInterrupt):
        demo.build_demo(f"sqlite:///{folder / 'demo.sqlite'}")
    assert list(folder.iterdir()) == []


def test_never_overwrites_another_library(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    db = library.open_library(f"sqlite:///{path}", create=True)
    with db.connection_context(), db.atomic():
        Patron.create(number="1001", name="Real Student")
    db.close()
    with pytest.raises(demo.NotADemo):
        demo.build_demo(f"sqlite:///{path}")
    db = library.open_library(f"sqlite:///{path}")
    with db.connection_context():
        assert [p.name for p in Patron.select()] == ["Real Student"]
    db.close()


def test_demo_path_is_in_the_data_folder(tmp_path: Path) -> None:
    # conftest points XDG_DATA_HOME into tmp_path.
    path = config.demo_path()
    assert path.name == "demo.sqlite"
    assert tmp_path in path.parents


def test_refuses_a_server_url() -> None:
    with pytest.raises(ValueError):
        demo.build_demo("postgresql://postgres@127.0.0.1:5432/test")


def test_catalogue_file_is_well_formed() -> None:
    rows = demo.read_titles()
    assert 280 <= len(rows) <= 340
    english = [row for row in rows if row["title"].isascii()]
    assert 50 <= len(english) <= 75
    kinds = {row["kind"] for row in rows}
    assert kinds == {"book", "picture_book", "reference", "periodical"}
    assert len({row["title"] for row in rows}) == len(rows)
    for row in rows:
        assert row["classification"][:1].isupper(), row
        assert row["publisher"] and row["author"], row
        assert (row["year"] is None) == (row["kind"] == "periodical"), row
