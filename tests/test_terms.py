"""The settings, loan rules and closed days circulation decides by (kiosk.data.lending.terms):
read in every transaction at a kiosk; kept for a second by the SIP2 server, and read
again when that second is over or the day changes."""

from __future__ import annotations

from datetime import date, timedelta

import peewee as pw
import pytest

from kiosk.data.core.errors import Refused
from kiosk.data.core.store import Store
from kiosk.data.lending import terms as terms_module
from kiosk.data.lending.circulation import Circulation
from kiosk.data.lending.terms import CLOSED_AHEAD, Terms

STUDENT_DUE = date(2025, 3, 26)  # 12 March + 14 days, a Wednesday


class Monotonic:
    """A monotonic clock the test moves (the terms' age is measured by it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    clock = Monotonic()
    monkeypatch.setattr(terms_module.time, "monotonic", clock)
    return clock


@pytest.fixture
def server(library: pw.Database, clock) -> Circulation:
    """Circulation as the SIP2 server runs it: the terms kept for a second."""
    return Circulation(Store(library, "sip2-gate", clock=clock), terms_ttl=1.0)


def test_a_kiosk_reads_the_terms_in_every_transaction(circulation, make, ticks):
    student = make.patron()
    assert circulation.checkout(student.number, make.copy().barcode).loan.due_on == STUDENT_DUE
    make.closed_day(STUDENT_DUE)
    assert circulation.checkout(student.number, make.copy().barcode).loan.due_on == \
        STUDENT_DUE + timedelta(days=1)


def test_kept_terms_are_read_again_when_a_second_is_over(server, make, ticks):
    student, teacher = make.patron(), make.patron(kind="teacher")
    assert server.checkout(student.number, make.copy().barcode).loan.due_on == STUDENT_DUE
    # the librarian closes the due day, shortens the loans, turns on returns-only
    make.closed_day(STUDENT_DUE)
    make.rule("teacher", loan_days=7, max_items=10)
    ticks.now += 0.5
    assert server.checkout(student.number, make.copy().barcode).loan.due_on == STUDENT_DUE
    ticks.now += 0.5
    # a second after the first reading: read again
    assert server.checkout(teacher.number, make.copy().barcode).loan.due_on == date(2025, 3, 19)
    make.setting("returns_only", "1")
    ticks.now += 1.0
    with pytest.raises(Refused) as refused:
        server.checkout(student.number, make.copy().barcode)
    assert refused.value.key == "circ.returns_only"


def test_kept_terms_are_read_again_on_a_new_day(server, make, ticks, clock):
    student = make.patron()
    assert server.checkout(student.number, make.copy().barcode).loan.due_on == STUDENT_DUE
    clock.advance(days=1)
    make.closed_day(STUDENT_DUE + timedelta(days=1))
    # the same second, but another day: the kept closed days begin at the old today
    assert server.checkout(student.number, make.copy().barcode).loan.due_on == \
        STUDENT_DUE + timedelta(days=2)


def test_a_due_date_beyond_the_kept_days_reads_the_calendar(server, make, ticks):
    today = server.store.today()
    near = today + timedelta(days=28 - today.weekday())  # Mondays, inside and beyond
    far = near + timedelta(weeks=(CLOSED_AHEAD.days // 7) + 4)  # the kept closed days
    make.closed_day(near)
    make.closed_day(far)
    assert server.due_date(0, near) == near + timedelta(days=1)
    assert server.due_date(0, far) == far + timedelta(days=1)


@pytest.mark.parametrize("patron_kind", ["student", "teacher", "helper", "nobody"])
@pytest.mark.parametrize("item_kind", ["*", "book", "periodical", "dvd"])
def test_kept_rules_are_the_rules_the_database_gives(
    library, make, ticks, patron_kind: str, item_kind: str
):
    make.rule("student", "dvd", loan_days=3, max_items=1)
    make.rule("teacher", "periodical", loan_days=5, max_items=4)
    with library.connection_context():
        read = Terms(date.today, ttl=0).rules(patron_kind, item_kind)
        kept = Terms(date.today, ttl=60).rules(patron_kind, item_kind)

    def shown(rules: list) -> list[tuple[str, str, int, int]]:
        return sorted((r.patron_kind, r.item_kind, r.loan_days, r.max_items) for r in rules)

    assert shown(kept) == shown(read)
    assert all(r.patron_kind == patron_kind and r.item_kind in ("*", item_kind) for r in kept)
