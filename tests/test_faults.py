"""The fault harness (bench/faults.py): a short round of it, and its checker's teeth.

* A short round: three kiosk processes and the desk's program on a fresh PostgreSQL
  desk play a school day while kiosks and the desk's program are killed with SIGKILL
  (at random and at chosen points of their transactions, pushes and pulls), links are
  cut and stalled, the desk's connections terminated and a disk filled; nothing may be
  lost, doubled or differ, and the kiosks' own syncs must have run under the faults
  (kills inside pushes and pulls). The full run (a thousand kills) is
  ``python bench/faults.py``; ``docs/faults.md`` says what it covers.
* Reproducible: a seed draws the same operations and faults, and a failing round
  prints the seed, the faults and the command that draws them again.
* The checker must fail when something is wrong: each test below damages a converged
  site the way a bug would (a fact gone, a case gone or one too many, a state that is
  not its journal's, a fact marked sent that the desk never got, two open loans of a
  copy, a checkout without its loan, a kiosk short of a desk's fact, an acknowledged
  fact gone from a killed kiosk) and expects the finding; so must a sync that fails in
  the kiosk's code, and kiosks that never synced during a round.
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
import faults_kiosk as fk  # noqa: E402
from faults_round import FAULTS, Round  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_short_round_of_faults_loses_nothing(pg_server: str, tmp_path: Path) -> None:
    """Twenty-odd kills and a few cuts, stalls, terminations and full disks."""
    figures = faults.run(seed=23, kiosks=3, rounds=1, steps=90, rate=0.5, server=pg_server,
                         folder=tmp_path, log=lambda line: None)
    assert figures.findings == []
    assert figures.steps == 90
    kinds = {fault.split(" (")[0] for fault in figures.kills}
    assert sum(figures.kills.values()) >= 20, figures.kills
    armed = sum(n for where, n in figures.kills.items()
                if " at " in where and "not reached" not in where)
    assert armed >= 4, figures.kills  # processes that killed themselves at a chosen point
    assert any(k.startswith("desk") for k in kinds), figures.kills
    # the kiosks' syncs ran under the faults: kills landed in pushes and pulls
    syncing = [where for where in figures.kills
               if "push" in where.split(" (")[-1] or "pull" in where.split(" (")[-1]
               or " at push" in where or " at pull" in where]
    assert syncing, figures.kills
    assert figures.other["syncs failed otherwise"] >= 1  # cut, terminated: and recovered
    assert sum(figures.links.values()) >= 3, figures.links
    assert figures.other["pg_terminate_backend"] >= 1 and figures.other["disk full"] >= 1
    assert figures.outcomes["storage"] >= 1, "the full disk refused nothing"
    assert figures.acks > 300 and figures.facts > figures.acks
    assert set(FAULTS) == {"kill", "arm", "desk-kill", "desk-arm", "terminate", "cut", "stall",
                           "disk"}


def test_a_seed_draws_the_same_operations_and_faults(tmp_path: Path) -> None:
    """What a round plays comes from its seed alone (no process is started here)."""

    def drawn(seed: int, number: int) -> list[str]:
        game = Round(seed=seed, number=number, kiosks=3, steps=200, rate=0.5,
                     server="postgresql://nowhere/x", folder=tmp_path, until=None, keep=False)
        return [repr(game.draw(step)) for step in range(200)]

    first = drawn(7, 2)
    assert first == drawn(7, 2)
    assert first != drawn(7, 3) and first != drawn(8, 2)
    assert sum("Fault(" in step for step in first) > 60  # rate 0.5: about 100 faults


def test_a_failure_prints_the_seed_and_the_faults_that_replay_it(
    pg_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round whose desk loses a card's row at step 3 (as a bug might) stops there and
    prints the seed, the faults so far and the command that plays the same again."""
    played = Round.step
    rounds: list[Round] = []

    def step(self: Round, number: int) -> None:
        played(self, number)
        if number == 0:
            rounds.append(self)
        if number == 3:
            desk_sql(self.url, "DELETE FROM card WHERE id = (SELECT MIN(id) FROM card)")
            self.check_desk()

    monkeypatch.setattr(Round, "step", step)
    lines: list[str] = []
    try:
        figures = faults.run(seed=5, kiosks=2, rounds=3, steps=10, rate=0.9, server=pg_server,
                             folder=tmp_path, log=lines.append)
    finally:  # a failed round keeps its desk database for a look: not this one
        for game in rounds:
            admin = psycopg2.connect(pg_server)
            admin.autocommit = True
            try:
                with admin.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS "{game.database}" WITH (FORCE)')
            finally:
                admin.close()
    assert figures.steps == 4 and len(rounds) == 1  # stopped at the failing round's step
    assert any(f.startswith("lost: desk: cards facts without their row") for f in figures.findings)
    assert "FAILED: seed 5, round 0, at step 3" in "\n".join(lines)
    said = lines.index("the faults up to there:")
    again = lines.index("play it again with:")
    schedule = [line.strip() for line in lines[said + 1:again]]
    assert schedule and schedule == [str(f) for f in rounds[0].schedule.drawn]
    command = lines[again + 1].split()
    assert command[:2] == ["python", "bench/faults.py"]
    args = faults.arguments().parse_args(command[2:])
    assert (args.seed, args.round, args.until_step, args.kiosks) == (5, 0, 4, 2)
    replay = Round(seed=args.seed, number=args.round, kiosks=args.kiosks, steps=args.steps,
                   rate=args.rate, server=pg_server, folder=tmp_path, until=args.until_step,
                   keep=True)
    for number in range(args.until_step):
        replay.draw(number)
    assert [str(f) for f in replay.schedule.drawn] == schedule


def test_the_harness_hooks_reach_every_point_of_a_real_sync(
    pg_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The kill points live in hooks the harness puts into the sync's modules: one real
    background sync, with the harness's batch sizes, must pass every one (a module that
    moved would otherwise leave the harness hooking a copy nobody calls, and the armed
    points of pushes and pulls would never be reached)."""
    site = sk.make_site(pg_url, tmp_path, clock)
    hall, gate = site.add_kiosk("hall"), site.add_kiosk("gate")
    for i in range(3):
        gate.circulation.checkout(f"S000{i + 1}", f"B0000{i + 1}")  # for hall to pull
    gate.sync(site.desk)
    hall.circulation.checkout("S0005", "B00005")  # for hall to push
    hall.circulation.checkout("S0005", "B00006")
    points: list[str] = []
    names = [(fk.sync, "push"), (fk.sync, "pull"), (fk.sync, "open_desk"),
             (fk.pushing_, "accept"), (fk.pulling_, "_apply_pulled"),
             (fk.pulling_, "PULL_CIRCULATION_BATCH"), (fk.pushing_.push, "__kwdefaults__")]
    before = [getattr(owner, name) for owner, name in names]
    undo = [fk.set_batches(1, 40, 1), fk.instrument_sync(points.append)]
    try:
        fk.wrap_commit(hall.db, points.append, "kiosk-commit")
        worker = fk.SyncWorker(hall.db, hall.ident, timeouts=fk.TIMEOUTS)
        status = worker.run_once()
        worker._close_desk()
    finally:
        for step in undo:
            step()
    assert status.online, status
    assert points.count("push") == 3 and points.count("accepted") == 2  # batches of 1
    assert points.count("applied") >= 3  # the pull applied one circulation fact at a time
    for point in ("push-end", "desk-commit-open", "desk-commit-done", "pull", "pull-end",
                  "kiosk-commit-open", "kiosk-commit-done"):
        assert point in points, (point, points)
    first = points.index("accepted")
    assert points[first:first + 3] == ["accepted", "desk-commit-open", "desk-commit-done"]
    assert "kiosk-commit-open" in points[first + 3:points.index("pull")]  # marked sent
    assert [getattr(owner, name) for owner, name in names] == before  # undone


def test_a_sync_that_fails_in_the_kiosks_code_is_a_finding(tmp_path: Path) -> None:
    """A background sync that never works shows only "offline": the harness reads the
    kiosks' logs and tells a link that went away from a bug (as when the kiosks were
    given the wrong object to sync, and synced not once in a whole run)."""
    game = Round(seed=1, number=0, kiosks=2, steps=1, rate=0.5,
                 server="postgresql://nowhere/x", folder=tmp_path, until=None, keep=False,
                 log=lambda line: None)
    warn = "2026-12-06 16:31:47,872 4560 kiosk-sync kiosk.bridges.sync WARNING sync failed: "
    (tmp_path / "k1.log").write_text(
        warn + "OperationalError: server closed the connection unexpectedly\n"
        + warn + "DeskSilent: the desk did not answer for 3 s (reply)\n", encoding="utf-8")
    game.count_failed_syncs()
    assert game.figures.findings == []
    assert game.figures.other["syncs failed otherwise"] == 1
    assert game.figures.other["syncs ended by a time bound"] == 1
    (tmp_path / "k2.log").write_text(
        warn + "AttributeError: 'Circulation' object has no attribute 'is_closed'\n",
        encoding="utf-8")
    game.count_failed_syncs()
    assert game.figures.findings == ["broken: k2: a sync failed: AttributeError: 'Circulation'"
                                     " object has no attribute 'is_closed'"]


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


def test_two_open_loans_of_a_copy_are_found(converged) -> None:
    """The schema forbids them (a partial unique index): a migration that lost it."""
    final, url, _, _ = converged
    desk_sql(url, "DROP INDEX loan_one_open_per_copy; UPDATE loan SET returned_at = NULL")
    assert any(f.startswith("doubled: desk: copies with more than one open loan")
               for f in final())


def test_a_fact_without_its_projection_is_found(converged) -> None:
    final, _, paths, _ = converged
    kiosk_sql(paths["gate"], "DELETE FROM loan WHERE copy_id ="
                             " (SELECT id FROM copy WHERE barcode = 'B00002')")
    assert any(f.startswith("lost: gate: checkouts without their loan") for f in final())


def test_a_kiosk_missing_a_fact_of_the_desks_is_found(converged) -> None:
    final, _, paths, acks = converged
    theirs = sorted(acks["hall"])[0]
    kiosk_sql(paths["gate"], f"DELETE FROM journal WHERE uuid = '{theirs}'")
    assert any(f.startswith("mismatch: gate: facts differ from the desk's: 1 missing")
               for f in final())


def test_an_acknowledged_fact_gone_from_a_killed_kiosk_is_found(converged) -> None:
    _, url, paths, acks = converged
    mine = sorted(acks["gate"])[-1]
    kiosk_sql(paths["gate"], f"DELETE FROM journal WHERE uuid = '{mine}'")
    desk = check.open_desk(url)
    try:
        found = [str(f) for f in check.dead_kiosk(paths["gate"], "gate", acks["gate"], desk)]
    finally:
        desk.close()
    assert any(f.startswith("lost: gate: 1 acknowledged facts are gone from the kiosk")
               for f in found), found


def test_kiosks_that_never_synced_during_a_round_are_a_finding(converged, tmp_path: Path) -> None:
    _, url, _, _ = converged
    game = Round(seed=1, number=0, kiosks=2, steps=1, rate=0.5, server=url,
                 folder=tmp_path, until=None, keep=False, log=lambda line: None)
    game.url = url
    game.acks["k1"] = {f"fact-{i}" for i in range(60)}
    game.synced_meanwhile()
    assert game.figures.findings == []
    assert game.figures.other["kiosk facts at the desk before the final sync"] == 3
    desk_sql(url, "DELETE FROM sync_case; DELETE FROM loan; DELETE FROM journal"
                  " WHERE kiosk <> 'desk'")
    game.synced_meanwhile()
    assert game.figures.findings == ["broken: the kiosks acknowledged 60 facts and synced none"
                                     " of them to the desk during the round"]


def test_a_lent_held_case_without_a_held_copy_is_found(converged) -> None:
    """``lent_held`` is not modelled (docs/faults.md), but a case where no copy set aside
    for someone else could have been lent is still found."""
    final, url, _, _ = converged
    desk_sql(url, "INSERT INTO sync_case (kind, fact, kiosk, created_at, data) SELECT"
                  " 'lent_held', uuid, kiosk, wall_time, '{}' FROM journal"
                  " WHERE kind = 'checkout' AND copy = 'B00002'")
    assert any("lent_held cases where no copy set aside" in f for f in final())
