"""The sync's batch path gives exactly the per-fact path's state and cases.

:func:`kiosk.data.sync.batch.apply_facts` plays the common facts in memory and writes their
net effect; here hypothesis draws random batches (checkouts, returns, renewals, holds,
the librarian's decisions, cards, helper returns, a role's fact, refusals, unknown
copies and patrons, wall times out of order) over a library that already has loans,
holds and revoked cards, and applies each batch twice, to two identical desks: one
fact at a time (each fact's rows read fresh, its conflict cases, its projection), and
through the batch path. Both must hold the same loans, copy statuses, holds, cards,
helper counts and cases, and the batch path's state must equal a replay of the
journal (``journal.rebuild``). On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid as uuidlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import peewee as pw
import synckit as sk
from conftest import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.data import sync
from kiosk.data.core import journal, kinds
from kiosk.data.core.db import write_gate
from kiosk.data.core.facts import Fact
from kiosk.data.core.models import HelperShift, SyncCase
from kiosk.data.core.projection_holds import set_hold_id
from kiosk.data.sync import batch
from kiosk.data.sync import pulling as pulling_
from kiosk.data.sync import pushing as pushing_

PATRONS = sk.students(5)
UNKNOWN_PATRON = "S9999"
COPIES = sk.barcodes(8)  # four titles of two copies
UNKNOWN_COPY = "B99999"
START = datetime(2026, 3, 2, 8, 0)
NOW = datetime(2026, 3, 9, 12, 0)
SHIFT = "shift-1"

patron = st.sampled_from([*PATRONS, *PATRONS, UNKNOWN_PATRON])
copy = st.sampled_from([*COPIES, *COPIES, *COPIES, UNKNOWN_COPY])
minute = st.integers(0, 3000)
card = st.sampled_from([None, None, 1, 2])
checkout = st.tuples(st.just("checkout"), patron, copy, minute, card)
checkin = st.tuples(st.just("checkin"), copy, minute, st.booleans(),
                    st.sampled_from(["none", "open", "open", "other"]))
renew = st.tuples(st.just("renew"), patron, copy, minute, card)
step = st.one_of(
    checkout, checkout, checkout, checkout, checkin, checkin, checkin, renew, renew, renew,
    # holds only on the first two titles: the other two stay on the batch path
    st.tuples(st.just("hold"), patron, st.sampled_from(COPIES[:4]), minute),
    st.tuples(st.just("class_set"), patron, st.sampled_from(COPIES[:4]), minute,
              st.integers(1, 3)),
    st.tuples(st.just("hold_cancelled"), st.integers(0, 5), minute, st.booleans()),
    st.tuples(st.just("hold_expired"), st.integers(0, 5), minute,
              st.sampled_from(["ready", "waiting"]), st.sampled_from(COPIES[:4])),
    st.tuples(st.just("copy_status"), copy, minute,
              st.sampled_from(["lost", "withdrawn", "repair", "available"])),
    st.tuples(st.just("card_revoked"), patron, minute),
    st.tuples(st.just("refusal"), patron, copy, minute),
    st.tuples(st.just("helper_checkin"), copy, minute),
    st.tuples(st.just("shift_started"), minute),
)


class Maker:
    """Turns drawn steps into facts, remembering loans so renewals and returns name real ones."""

    def __init__(self) -> None:
        self.loans: dict[str, list[str]] = {}
        self.holds: list[tuple[str, str, str | None]] = []  # (hold id, copy, class set)
        self.hlc = 0

    def fact(self, kind: str, minutes: int, *, patron: str | None = None,
             copy: str | None = None, **data: Any) -> Fact:
        self.hlc += 1
        return Fact(
            kind=kind, uuid=str(uuidlib.uuid4()), kiosk="k1",
            wall_time=START + timedelta(minutes=minutes),
            hlc=f"{1_700_000_000_000 + self.hlc:013d}.00000.k1", patron=patron, copy=copy,
            data={key: value for key, value in data.items() if value is not None},
        )

    def make(self, steps: list[tuple[Any, ...]]) -> list[Fact]:
        facts = []
        for name, *args in steps:
            if name == "checkout":
                number, barcode, minutes, serial = args
                fact = self.fact("checkout", minutes, patron=number, copy=barcode,
                                 due_on=(date(2026, 3, 20) + timedelta(days=minutes % 9)).isoformat(),
                                 card=serial)
                self.loans.setdefault(barcode, []).append(fact.uuid)
            elif name in ("checkin", "helper_checkin"):
                barcode, minutes = args[0], args[1]
                known = self.loans.get(barcode, [])
                believed = None
                damaged = None
                if name == "checkin":
                    damaged = True if args[2] else None
                    if args[3] == "open" and known:
                        believed = known[-1]
                    elif args[3] == "other" and len(known) > 1:
                        believed = known[0]
                fact = self.fact("checkin", minutes, copy=barcode, loan=believed, damaged=damaged,
                                 shift=SHIFT if name == "helper_checkin" else None)
            elif name == "renew":
                number, barcode, minutes, serial = args
                known = self.loans.get(barcode) or [str(uuidlib.uuid4())]
                fact = self.fact("renew", minutes, patron=number, copy=barcode, loan=known[-1],
                                 due_on=(date(2026, 4, 1) + timedelta(days=minutes % 5)).isoformat(),
                                 card=serial)
            elif name == "hold":
                fact = self.fact("hold", args[2], patron=args[0], copy=args[1])
                self.holds.append((fact.uuid, args[1], None))
            elif name == "class_set":
                fact = self.fact("class_set", args[2], patron=args[0], copy=args[1],
                                 count=args[3], needed_on="2026-03-20")
                self.holds += [(set_hold_id(fact.uuid, i), args[1], fact.uuid)
                               for i in range(args[3])]
            elif name == "hold_cancelled":
                hold_id, barcode, class_set = (
                    self.holds[args[0] % len(self.holds)] if self.holds
                    else (str(uuidlib.uuid4()), COPIES[0], None)
                )
                named = {"class_set": class_set} if class_set and args[2] else {
                    "holds": [hold_id]}
                fact = self.fact("hold_cancelled", args[1], copy=barcode, **named)
            elif name == "hold_expired":
                hold_id = self.holds[args[0] % len(self.holds)][0] if self.holds else "none"
                fact = self.fact("hold_expired", args[1], copy=args[3], holds=[hold_id],
                                 was=args[2])
            elif name == "copy_status":
                fact = self.fact("copy_status", args[1], copy=args[0], status=args[2])
            elif name == "card_revoked":
                fact = self.fact("card_revoked", args[1], patron=args[0], serial=1)
            elif name == "refusal":
                fact = self.fact("refusal", args[2], patron=args[0], copy=args[1], reason="x")
            else:  # shift_started: a role's fact, unknown to the batch path
                fact = self.fact("shift_started", args[0], patron=PATRONS[0], shift=SHIFT)
            facts.append(fact)
        return facts


def one_by_one(facts: list[Fact], ident: sync.Identity) -> None:
    """The reference: each fact's rows read fresh, its cases recorded, then applied."""
    for fact in facts:
        known = pushing_.Preloaded([fact]).known(fact)
        for case in kinds.cases(fact, known):
            pushing_._record_case(case, fact, ident, NOW)
        kinds.apply(fact, known)


def outcome(db: pw.Database) -> dict[str, Any]:
    """State, cases and helper counts of ``db`` by natural keys."""
    found = sk.state(db)
    with sk.on(db):
        found["cases"] = sorted(
            (case.kind, case.fact, case.other, case.kiosk, case.patron, case.copy, case.data,
             str(case.created_at))
            for case in SyncCase.select()
        )
        found["shifts"] = sorted(HelperShift.select(HelperShift.id, HelperShift.books).tuples())
    return found


def apply_both(desk_urls: tuple[str, str], folder: Path, prefix: list[tuple[Any, ...]],
               steps: list[tuple[Any, ...]]) -> None:
    maker = Maker()
    before = [f for f in maker.make(prefix) if kinds.applies(f.kind)]
    facts = [f for f in maker.make(steps) if kinds.applies(f.kind)]
    ident = sync.Identity("k1", "token", "")
    desks = []
    slow = []
    for i, url in enumerate(desk_urls):
        desk = sync.init_desk(url)
        sk.populate(desk, patrons=len(PATRONS), titles=4, copies_per_title=2,
                    when=FakeClock().now - timedelta(days=30))
        with sk.on(desk), desk.atomic():
            journal.insert_facts(before, pushed_at=NOW)
            one_by_one(before, ident)
            journal.insert_facts(facts, pushed_at=NOW)
            if i == 0:
                one_by_one(facts, ident)
            else:
                slow.append(batch.apply_facts(
                    facts, lambda run: pushing_._apply_accepted(run, pushing_.Preloaded(run), ident, NOW),
                    now=NOW,
                ))
        desks.append(desk)
    try:
        reference, batched = outcome(desks[0]), outcome(desks[1])
        assert batched == reference
        if not isinstance(desks[1], pw.PostgresqlDatabase):
            assert sk.rebuilt(desks[1], folder) == sk.state(desks[1])
        else:
            with sk.on(desks[1]), desks[1].atomic():
                journal.rebuild()
            assert sk.state(desks[1]) == {k: v for k, v in batched.items()
                                          if k not in ("cases", "shifts")}
    finally:
        for desk in desks:
            desk.close()


PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
steps = st.lists(step, min_size=1, max_size=60)
prefix = st.lists(step, min_size=0, max_size=25)


@settings(PROPERTY, max_examples=40)
@given(prefix=prefix, steps=steps)
def test_batch_path_equals_per_fact_path_on_sqlite(tmp_path_factory, prefix, steps):
    folder = tmp_path_factory.mktemp("batch")
    urls = (f"sqlite:///{folder / 'one.sqlite'}", f"sqlite:///{folder / 'many.sqlite'}")
    apply_both(urls, folder, prefix, steps)


@settings(PROPERTY, max_examples=12)
@given(prefix=prefix, steps=steps)
def test_batch_path_equals_per_fact_path_on_postgresql(make_pg_url, tmp_path_factory, prefix,
                                                        steps):
    folder = tmp_path_factory.mktemp("batch")
    apply_both((make_pg_url(), make_pg_url()), folder, prefix, steps)


def test_a_busy_batch_goes_the_fast_way(tmp_path: Path) -> None:
    """Plain checkouts and returns of titles without holds take no per-fact step, and the
    cases they raise are the rules' (a copy lent twice, returned twice)."""
    maker = Maker()
    steps: list[tuple[Any, ...]] = []
    for i in range(40):
        steps.append(("checkout", PATRONS[i % 5], COPIES[i % 8], 10 * i, None))
        steps.append(("checkin", COPIES[(i + 3) % 8], 10 * i + 5, False, "open"))
    steps.append(("checkout", PATRONS[1], COPIES[1], 500, None))
    steps.append(("checkout", PATRONS[2], COPIES[1], 450, None))  # older than the open loan
    steps.append(("checkin", COPIES[1], 600, False, "open"))
    steps.append(("checkin", COPIES[1], 610, False, "open"))  # the same loan, returned again
    facts = maker.make(steps)
    desk = sync.init_desk(f"sqlite:///{tmp_path / 'desk.sqlite'}")
    sk.populate(desk, patrons=len(PATRONS), titles=4, copies_per_title=2,
                when=FakeClock().now - timedelta(days=30))
    ident = sync.Identity("k1", "token", "")
    with sk.on(desk), desk.atomic():
        journal.insert_facts(facts, pushed_at=NOW)
        slow = batch.apply_facts(facts, lambda run: pushing_._apply_accepted(
            run, pushing_.Preloaded(run), ident, NOW), now=NOW)
    assert slow == 0
    found = {case[0] for case in sk.cases(desk)}
    assert {"lent_twice", "returned_twice"} <= found
    assert sk.rebuilt(desk, tmp_path) == sk.state(desk)
    desk.close()


def test_the_roles_checkin_is_plain_only_without_a_shift() -> None:
    """A helper's return is counted by the roles' projection: it goes the per-fact way."""
    maker = Maker()
    plain, helper = maker.make([("checkin", "B00001", 1, False, "none"), ("helper_checkin", "B00001", 2)])
    assert kinds.in_memory(plain)
    assert not kinds.in_memory(helper)
    assert not kinds.in_memory(maker.fact("shift_started", 3, patron=PATRONS[0], shift=SHIFT))


def test_a_kiosk_in_use_pulls_in_small_transactions() -> None:
    """After a scan's write the pull's transactions hold few facts; when idle, many."""
    with write_gate.foreground():
        pass
    assert pulling_._part_size() == sync.PULL_CIRCULATION_BATCH
    last = write_gate._last
    write_gate._last -= sync.PULL_IDLE_AFTER + 1  # as if the last scan were that long ago
    try:
        assert pulling_._part_size() == sync.PULL_IDLE_BATCH > sync.PULL_CIRCULATION_BATCH
    finally:
        write_gate._last = last
