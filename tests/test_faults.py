"""The fault harness (bench/faults.py): a short round of it, and its checker's teeth.

* A short round: three kiosk processes and the desk's program on a fresh PostgreSQL
  desk play a school day while kiosks and the desk's program are killed with SIGKILL
  (at random and at chosen points of their transactions, pushes and pulls), links are
  cut and stalled, the desk's connections terminated and a disk filled; nothing may be
  lost, doubled or differ. The full run (a thousand kills) is ``python bench/faults.py``.
* The checker must fail when something is wrong: each test below damages a converged
  site the way a bug would (a fact gone, a case gone or one too many, a state that is
  not its journal's, a fact marked sent that the desk never got) and expects the finding.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg2  # type: ignore[import-untyped]
import pytest
import synckit as sk
from conftest import FakeClock

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import faults  # noqa: E402
import faults_check as check  # noqa: E402
from faults_round import FAULTS  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_short_round_of_faults_loses_nothing(pg_server: str, tmp_path: Path) -> None:
    """Twenty-odd kills and a few cuts, stalls, terminations and full disks."""
    figures = faults.run(seed=18, kiosks=3, rounds=1, steps=90, rate=0.5, server=pg_server,
                         folder=tmp_path, log=lambda line: None)
    assert figures.findings == []
    assert figures.steps == 90
    kinds = {fault.split(" (")[0] for fault in figures.kills}
    assert sum(figures.kills.values()) >= 20, figures.kills
    armed = sum(n for where, n in figures.kills.items() if " at " in where)
    assert armed >= 4, figures.kills  # processes that killed themselves at a chosen point
    assert any(k.startswith("desk") for k in kinds), figures.kills
    assert sum(figures.links.values()) >= 3, figures.links
    assert figures.other["pg_terminate_backend"] >= 1 and figures.other["disk full"] >= 1
    assert figures.outcomes["storage"] >= 1, "the full disk refused nothing"
    assert figures.acks > 300 and figures.facts > figures.acks
    assert set(FAULTS) == {"kill", "arm", "desk-kill", "desk-arm", "terminate", "cut", "stall",
                           "disk"}


# -- the checker finds what is wrong ------------------------------------------------------


@pytest.fixture
def converged(pg_url: str, tmp_path: Path, clock: FakeClock):
    """A PostgreSQL desk and two kiosks that lent the same book offline, converged; the
    facts each kiosk acknowledged; and a function running the final check."""
    site = sk.make_site(pg_url, tmp_path, clock)
    hall, gate = site.add_kiosk("hall"), site.add_kiosk("gate")
    hall.circulation.checkout("S0001", "B00001")
    clock.advance(minutes=5)
    gate.circulation.checkout("S0002", "B00001")  # lent twice: a case
    gate.circulation.checkout("S0003", "B00002")
    for _ in range(2):
        for kiosk in (hall, gate):
            kiosk.sync(site.desk)
    acks = {name: set(own(k.db, name)) for name, k in site.kiosks.items()}
    paths = {name: Path(k.db.path) for name, k in site.kiosks.items()}
    for kiosk in site.kiosks.values():
        kiosk.db.close()
    site.desk.close()

    def final() -> list[str]:
        found, _ = check.final(pg_url, paths, acks, tmp_path)
        return [str(f) for f in found]

    yield final, pg_url, paths, acks


def own(db, name: str) -> list[str]:
    with sk.on(db):
        return [u for (u,) in db.execute_sql('SELECT uuid FROM journal WHERE kiosk = ?', (name,))]


def desk_sql(url: str, sql: str) -> None:
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def kiosk_sql(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(sql)
    finally:
        conn.close()


def test_a_converged_site_has_no_findings(converged: tuple[Callable[[], list[str]], ...]) -> None:
    final, *_ = converged
    assert final() == []


def test_a_fact_lost_at_the_desk_is_found(converged) -> None:
    final, url, _, acks = converged
    gone = sorted(acks["gate"])[0]
    desk_sql(url, f"DELETE FROM journal WHERE uuid = '{gone}'")
    found = final()
    assert any(f.startswith("lost: gate: 1 acknowledged facts are not at the desk") for f in found)


def test_a_missing_case_is_found(converged) -> None:
    final, url, _, _ = converged
    desk_sql(url, "DELETE FROM sync_case WHERE kind = 'lent_twice'")
    assert any("conflicts without their case" in f and "lent_twice" in f for f in final())


def test_a_state_that_is_not_its_journals_is_found(converged) -> None:
    final, url, paths, _ = converged
    kiosk_sql(paths["hall"], "UPDATE loan SET due_on = '2030-01-01'")
    found = final()
    assert any(f.startswith("mismatch: hall: state is not a replay of its journal") for f in found)
    assert any(f.startswith("mismatch: hall: state differs from the desk's") for f in found)


def test_a_fact_marked_sent_that_the_desk_lacks_is_found(converged) -> None:
    _, url, paths, _ = converged
    kiosk_sql(paths["hall"], "INSERT INTO journal (uuid, kind, kiosk, wall_time, hlc, data,"
                             " pushed_at) VALUES ('x-1', 'refusal', 'hall', '2025-03-12 11:00:00',"
                             " '1.0.hall', '{}', '2025-03-12 11:00:00')")
    desk = check.open_desk(url)
    try:
        found = [str(f) for f in check.dead_kiosk(paths["hall"], "hall", {"x-1"}, desk)]
    finally:
        desk.close()
    assert any("facts marked sent are not at the desk" in f for f in found), found


def test_a_case_without_its_conflict_is_found(converged) -> None:
    final, url, _, acks = converged
    desk_sql(url, "INSERT INTO sync_case (kind, fact, kiosk, created_at, data) SELECT"
                  " 'returned_twice', uuid, kiosk, wall_time, '{}' FROM journal"
                  " WHERE kind = 'checkout' AND copy = 'B00002'")
    assert any("cases without their conflict" in f and "returned_twice" in f for f in final())
