"""Several kiosks lend and return at random, offline for random stretches, and sync.

Hypothesis draws a day of circulation at three kiosks and the desk: checkouts,
returns (some damaged), renewals, the librarian's returns, holds and lost/found
decisions at the desk, the clock moving on, and syncs at random moments, sometimes
only half a sync (one push batch, or one small pull batch). Afterwards every kiosk
syncs until quiet, and then:

* every fact made anywhere is at the desk exactly once, and every kiosk holds the
  same circulation facts as the desk;
* every kiosk's state equals the desk's, and both equal a replay of the desk's
  journal in its order into an empty database;
* each kiosk's state equals a replay of its own journal (``journal.rebuild``).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import synckit as sk
from conftest import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.data import sync
from kiosk.data.core import journal, masterdata
from kiosk.data.core.errors import KioskError
from kiosk.data.core.facts import HybridClock, new_fact
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Journal
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation

KIOSKS = ("a", "b", "c")
PATRONS = sk.students(4)
COPIES = sk.barcodes(6)  # three titles of two copies: holds and returns cross copies

kiosk = st.sampled_from(KIOSKS)
patron = st.sampled_from(PATRONS)
copy = st.sampled_from(COPIES)

operation = st.one_of(
    st.tuples(st.just("checkout"), kiosk, patron, copy),
    st.tuples(st.just("checkin"), kiosk, copy, st.booleans()),
    st.tuples(st.just("renew"), kiosk, patron),
    st.tuples(st.just("sync"), kiosk),
    st.tuples(st.just("push_one"), kiosk),
    st.tuples(st.just("pull_one"), kiosk),
    st.tuples(st.just("advance"), st.integers(1, 600)),
    st.tuples(st.just("desk_checkin"), copy),
    st.tuples(st.just("desk_hold"), patron, copy),
    st.tuples(st.just("desk_status"), copy, st.sampled_from(["lost", "available", "repair"])),
)

_counter = itertools.count()


def play(site: sk.Site, clock: FakeClock, steps: list[tuple[Any, ...]]) -> None:
    desk_circulation = Circulation(Store(site.desk, "desk", clock=clock))
    for step in steps:
        name, args = step[0], step[1:]
        try:
            if name == "checkout":
                site.kiosks[args[0]].circulation.checkout(args[1], args[2])
            elif name == "checkin":
                site.kiosks[args[0]].circulation.checkin(args[1], damaged=args[2])
            elif name == "renew":
                k = site.kiosks[args[0]]
                view = k.circulation.patron(args[1])
                if view.loans:
                    k.circulation.renew(args[1], view.loans[0].loan_id)
            elif name == "sync":
                site.kiosks[args[0]].sync(site.desk)
            elif name == "push_one":
                k = site.kiosks[args[0]]
                sync.push(k.db, site.desk, k.ident, limit=2)
            elif name == "pull_one":
                k = site.kiosks[args[0]]
                sync.pull(k.db, site.desk, k.ident, limit=3)
            elif name == "advance":
                clock.advance(minutes=args[0])
            elif name == "desk_checkin":
                desk_circulation.checkin(args[0])
            elif name == "desk_hold":
                with sk.on(site.desk), site.desk.atomic():
                    journal.record(
                        new_fact(
                            HybridClock("desk", journal.last_hlc()), "desk", "hold", clock(),
                            patron=args[0], copy=args[1],
                        )
                    )
            elif name == "desk_status":
                with sk.on(site.desk), site.desk.atomic():
                    masterdata.set_copy_status(args[0], args[1])
        except KioskError:
            pass  # a refusal is a fact too; it travels like the others


def check(site: sk.Site, folder: Path) -> None:
    made: dict[str, set[str]] = {}
    for k in site.kiosks.values():
        with sk.on(k.db):
            made[k.name] = {
                uuid for (uuid,) in Journal.select(Journal.uuid).where(Journal.kiosk == k.name).tuples()
            }
    for _ in range(3):
        for k in site.kiosks.values():
            k.sync(site.desk)
    with sk.on(site.desk):
        desk_uuids = [uuid for (uuid,) in Journal.select(Journal.uuid).tuples()]
    assert len(desk_uuids) == len(set(desk_uuids)), "a fact twice at the desk"
    for name, uuids in made.items():
        assert uuids <= set(desk_uuids), f"facts of kiosk {name} lost"
    desk_facts = sk.circulation_facts(site.desk)
    desk_state = sk.state(site.desk)
    assert sk.replay(site.desk, folder, f"desk-{next(_counter)}") == desk_state
    for k in site.kiosks.values():
        with sk.on(k.db):
            assert sync.pending_count() == 0
        assert sk.circulation_facts(k.db) == desk_facts, k.name
        assert sk.state(k.db) == desk_state, k.name
        assert sk.rebuilt(k.db, folder, f"{k.name}-{next(_counter)}") == desk_state, k.name


def run(desk_url: str, folder: Path, steps: list[tuple[Any, ...]]) -> list[tuple[str, Any, Any]]:
    """Play ``steps`` on a new site, check it converged; return the desk's cases."""
    clock = FakeClock()
    site = sk.make_site(desk_url, folder, clock, patrons=len(PATRONS), titles=3,
                        copies_per_title=2)
    # renewals at any moment (the window is not what converging is about): the clock
    # moves minutes, not the weeks of a loan (docs/lending.md)
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save(Kind.SETTING_SAVED, key="renew_window_days", value="30")
    try:
        for name in KIOSKS:
            site.add_kiosk(name)
        play(site, clock, steps)
        check(site, folder)
        return sk.cases(site.desk)
    finally:
        for k in site.kiosks.values():
            k.db.close()
        site.desk.close()


PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(PROPERTY, max_examples=30)
@given(steps=st.lists(operation, min_size=5, max_size=40))
def test_kiosks_and_an_sqlite_desk_converge(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("site")
    run(f"sqlite:///{folder / 'desk.sqlite'}", folder, steps)


@settings(PROPERTY, max_examples=12)
@given(steps=st.lists(operation, min_size=5, max_size=40))
def test_kiosks_and_a_postgresql_desk_converge(make_pg_url, tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("site")
    run(make_pg_url(), folder, steps)


def test_a_busy_offline_day_converges(tmp_path, make_pg_url):
    """A fixed, long scenario: every kiosk offline all morning, lending the same books."""
    steps: list[tuple[Any, ...]] = []
    for hour in range(6):
        for i, name in enumerate(KIOSKS):
            steps.append(("checkout", name, PATRONS[(hour + i) % 4], COPIES[(hour * 2 + i) % 6]))
            steps.append(("advance", 7))
            steps.append(("checkin", name, COPIES[(hour + i * 3) % 6], hour == 3))
        steps.append(("desk_checkin", COPIES[hour % 6]))
        steps.append(("desk_hold", PATRONS[hour % 4], COPIES[(hour + 1) % 6]))
        steps.append(("advance", 50))
    steps += [("sync", name) for name in KIOSKS]
    cases = {case[0] for case in run(make_pg_url(), tmp_path, steps)}
    # the rules were really exercised, not only the quiet path
    assert {"lent_twice", "stale_return"} <= cases
