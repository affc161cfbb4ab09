"""The journal: the hybrid logical clock that orders facts, and the state as its projection.

``rebuild()`` must reproduce exactly the loans, holds and copy statuses that the
circulation service left behind, after any sequence of lending, returning, renewing,
reserving and the clock moving, because the desk and every kiosk rely on the state
being nothing but the journal replayed.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.data.core import journal
from kiosk.data.core.errors import KioskError
from kiosk.data.core.facts import HybridClock, new_fact
from kiosk.data.core.library import open_library
from kiosk.data.core.models import Copy, Hold, Journal, Loan, Patron, Title
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.data.lending.holds import Holds

T0 = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
START = T0
T0_MS = int(T0.timestamp() * 1000)


def ms(reading: str) -> tuple[int, int]:
    millis, counter, _ = HybridClock.parse(reading)
    return millis, counter


# -- the hybrid logical clock ---------------------------------------------------------


def test_facts_get_uuids_that_sort_in_the_order_they_were_made():
    """Version 7: each new fact's UUID lands at the end of the journal's unique index
    (and a checkout's at the end of the loans'), not at a random page."""
    clock = HybridClock("k1")
    made = [new_fact(clock, "k1", "refusal", datetime.now(UTC)).uuid for _ in range(2000)]
    assert all(uuid.UUID(value).version == 7 for value in made)
    assert made == sorted(made) and len(set(made)) == len(made)


def test_clock_follows_the_wall_clock_forward():
    clock = HybridClock("k1")
    first = clock.tick(T0)
    second = clock.tick(T0 + timedelta(seconds=1))
    assert ms(first) == (T0_MS, 0)
    assert ms(second) == (T0_MS + 1000, 0)
    assert first.endswith(".k1") and first < second


def test_clock_never_goes_back_when_the_wall_clock_does():
    clock = HybridClock("k1")
    readings = [clock.tick(T0)]
    for step in (-3600, -1, 0, -86400, 0.001, 3600):
        readings.append(clock.tick(T0 + timedelta(seconds=step)))
    assert readings == sorted(readings)
    assert len(set(readings)) == len(readings)
    assert ms(readings[-2]) == (T0_MS + 1, 0)  # the wall passed the clock again
    assert ms(readings[-3]) == (T0_MS, 4)  # four readings while the wall lagged


def test_observe_moves_the_clock_past_a_reading_from_elsewhere():
    clock = HybridClock("k1")
    clock.tick(T0)
    ahead = f"{T0_MS + 60_000:013d}.00007.k2"
    clock.observe(ahead)
    after = clock.tick(T0)
    assert after > ahead and ms(after) == (T0_MS + 60_000, 8)
    clock.observe(f"{T0_MS - 60_000:013d}.00000.k3")  # an older reading changes nothing
    assert clock.tick(T0) > after


def test_restarted_clock_continues_after_the_last_reading():
    before = HybridClock("k1")
    last = before.tick(T0 + timedelta(hours=1))
    restarted = HybridClock("k1", last)
    assert restarted.tick(T0) > last


def test_clock_readings_keep_sorting_as_text_when_the_counter_runs_high():
    clock = HybridClock("k1")
    busy = f"{T0_MS:013d}.99999.k2"
    clock.observe(busy)
    after = clock.tick(T0)
    assert after > busy
    assert clock.tick(T0) > after
    assert len(after) == len(busy)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("tick"), st.integers(-10**7, 10**7)),
            st.tuples(
                st.just("observe"), st.integers(-10**7, 10**7), st.integers(0, 99_999)
            ),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_clock_is_monotonic_whatever_the_wall_and_the_peers_say(steps):
    clock = HybridClock("k1")
    highest = ""
    for step in steps:
        if step[0] == "tick":
            reading = clock.tick(T0 + timedelta(milliseconds=step[1]))
            assert reading > highest
            assert HybridClock.parse(reading)[2] == "k1"
            highest = reading
        else:
            seen = f"{T0_MS + step[1]:013d}.{step[2]:05d}.k2"
            clock.observe(seen)
            highest = max(highest, seen)


def test_service_facts_are_ordered_even_when_the_kiosk_clock_is_set_back(
    circulation, make, facts, clock
):
    student = make.patron()
    first, second = make.copy(), make.copy()
    circulation.checkout(student.number, first.barcode)
    clock.advance(hours=-5)  # someone fixed the kiosk's clock
    circulation.checkout(student.number, second.barcode)
    circulation.checkin(first.barcode)
    readings = [fact.hlc for fact in facts()]
    assert readings == sorted(readings) and len(set(readings)) == len(readings)
    # A new service (a restart) continues after the journal's last reading.
    restarted = Circulation(Store(circulation.store.db, circulation.store.kiosk_id, clock=clock))
    restarted.checkin(second.barcode)
    assert facts()[-1].hlc > readings[-1]


# -- rebuild: the state is the journal replayed ---------------------------------------


def snapshot() -> dict[str, list[Any]]:
    """The circulation state, in a form that compares exactly."""
    return {
        "loans": sorted(Loan.select().tuples(), key=lambda row: row[0]),
        "holds": sorted(Hold.select().tuples(), key=lambda row: row[0]),
        "copies": sorted(Copy.select(Copy.barcode, Copy.status).tuples()),
    }


PATRONS = [("2001", "student"), ("2002", "student"), ("2003", "teacher"), ("2004", "helper")]
COPIES = 6

operation = st.one_of(
    st.tuples(st.just("checkout"), st.integers(0, 3), st.integers(0, COPIES - 1)),
    st.tuples(st.just("checkin"), st.integers(0, COPIES - 1)),
    st.tuples(st.just("renew"), st.integers(0, COPIES - 1)),
    st.tuples(st.just("hold"), st.integers(0, 3), st.integers(0, COPIES - 1)),
    st.tuples(st.just("hours"), st.integers(-48, 24 * 16)),
    # the holds service: reserve, a class set, cancel, expire (issue 15)
    st.tuples(st.just("reserve"), st.integers(0, 3), st.integers(0, COPIES - 1)),
    st.tuples(st.just("class_set"), st.integers(0, COPIES - 1), st.integers(1, 2),
              st.integers(0, 4)),
    st.tuples(st.just("cancel"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("expire"),),
)


def _seed(db: Any) -> list[str]:
    with db.atomic():
        for number, kind in PATRONS:
            Patron.create(number=number, name=f"P{number}", kind=kind)
        titles = [Title.create(title=f"Book {n}") for n in range(3)]
        barcodes = []
        for n in range(COPIES):
            barcode = f"C{n:03d}"
            Copy.create(barcode=barcode, title=titles[n % 3])
            barcodes.append(barcode)
    return barcodes


class StepClock:
    """A clock moved by the operations of one hypothesis example."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, *, hours: int) -> None:
        self.now += timedelta(hours=hours)


def _play(circ: Circulation, clock: StepClock, barcodes: list[str], ops: list[tuple]) -> int:
    done = 0
    for op in ops:
        try:
            if op[0] == "checkout":
                circ.checkout(PATRONS[op[1]][0], barcodes[op[2]])
            elif op[0] == "checkin":
                circ.checkin(barcodes[op[1]])
            elif op[0] == "renew":
                with circ.store.db.connection_context():
                    loan = (
                        Loan.select(Loan, Patron).join(Patron).switch(Loan).join(Copy)
                        .where((Copy.barcode == barcodes[op[1]]) & Loan.returned_at.is_null())
                        .first()
                    )
                if loan is None:
                    continue
                circ.renew(loan.patron.number, loan.id)
            elif op[0] == "hold":
                with circ.store.db.connection_context(), circ.store.db.atomic():
                    journal.record(
                        new_fact(
                            circ.store.hlc, circ.store.kiosk_id, "hold", clock(),
                            patron=PATRONS[op[1]][0], copy=barcodes[op[2]],
                        )
                    )
            elif op[0] == "reserve":
                Holds(circ).place(PATRONS[op[1]][0], barcode=barcodes[op[2]], by="L1")
            elif op[0] == "class_set":
                day = clock().date() + timedelta(days=op[3])
                Holds(circ).place_class_set("2003", op[2], day, barcode=barcodes[op[1]],
                                            by="L1")
            elif op[0] == "cancel":
                open_holds = Holds(circ).open_holds()
                if not open_holds:
                    continue
                chosen = open_holds[op[1] % len(open_holds)]
                Holds(circ).cancel(chosen.hold_id, by="L1", whole_set=op[2])
            elif op[0] == "expire":
                Holds(circ).expire_due()
            else:
                clock.advance(hours=op[1])
                continue
            done += 1
        except KioskError:
            pass
    return done


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=8, max_size=60))
def test_rebuild_reproduces_the_state_after_any_sequence(ops):
    with tempfile.TemporaryDirectory() as folder:
        db = open_library(f"sqlite:///{Path(folder) / 'lib.sqlite'}", create=True)
        try:
            with db.connection_context():
                barcodes = _seed(db)
            clock = StepClock()
            circ = Circulation(Store(db, "kiosk-h", clock=clock))
            _play(circ, clock, barcodes, ops)
            with db.connection_context():
                before = snapshot()
                with db.atomic():
                    replayed = journal.rebuild()
                assert replayed == Journal.select().count()
                assert snapshot() == before
                with db.atomic():
                    journal.rebuild()
                assert snapshot() == before
        finally:
            db.close()


def test_rebuild_would_notice_a_state_change_the_journal_does_not_explain(
    circulation, make, library
):
    """The comparison above can fail: state written without a fact does not survive."""
    student = make.patron()
    lent, tampered = make.copy(), make.copy()
    circulation.checkout(student.number, lent.barcode)
    with library.connection_context():
        Copy.update(status="on_loan").where(Copy.barcode == tampered.barcode).execute()
        before = snapshot()
        with library.atomic():
            journal.rebuild()
        after = snapshot()
    assert after != before
    assert dict(after["copies"])[tampered.barcode] == "available"
    assert dict(after["copies"])[lent.barcode] == "on_loan"
    assert after["loans"] == before["loans"]


def test_rebuild_replays_a_full_day(circulation, make, library, clock):
    """A concrete day: loans, a renewal, a hold that goes to the hold shelf, returns."""
    a, b = make.patron(), make.patron(kind="teacher")
    title = make.title()
    one, two = make.copy(title), make.copy(title)
    loan = circulation.checkout(a.number, one.barcode).loan
    circulation.checkout(b.number, two.barcode)
    make.hold(a, two)
    clock.advance(days=10)  # in the week before it is due: renewable
    circulation.renew(a.number, loan.loan_id)
    circulation.checkin(two.barcode)
    with library.connection_context():
        before = snapshot()
        assert dict(before["copies"]) == {one.barcode: "on_loan", two.barcode: "hold_shelf"}
        with library.atomic():
            journal.rebuild()
        assert snapshot() == before


@pytest.mark.parametrize("kind", ["refusal", "librarian_login"])
def test_facts_without_state_change_nothing(circulation, make, library, kind):
    student = make.patron()
    with library.connection_context():
        before = snapshot()
        with library.atomic():
            journal.record(
                new_fact(circulation.store.hlc, "k", kind, START, patron=student.number)
            )
        assert snapshot() == before


def test_unknown_fact_kind_is_an_error_and_writes_nothing(circulation, library):
    with library.connection_context():
        count = Journal.select().count()
        with pytest.raises(KeyError), library.atomic():
            journal.record(new_fact(circulation.store.hlc, "k", "teleport", START))
        assert Journal.select().count() == count
