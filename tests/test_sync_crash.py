"""Sync crash safety (issue 4): a kiosk killed mid-push or mid-pull, a desk cut mid-batch.

A sync is many small transactions on two databases, and the design (docs/sync.md)
says any of them may be cut short without harm: a push batch the desk committed but
the kiosk never marked is sent again and skipped by UUID; a pulled batch is applied
and the cursor moved in one kiosk transaction. These tests do it for real:

* a child kiosk process (``tests/sync_child.py``) syncs with small batches and is
  killed with SIGKILL after random delays spread over the measured length of its
  sync, and, deterministically, inside each window of a batch (desk transaction open,
  desk committed but kiosk not marked, kiosk mark open, pulled batch open);
* in this process, the desk's PostgreSQL backend is terminated from a second
  connection (``pg_terminate_backend``) just before or after a chosen statement of
  a sync: a real cut, seen by the sync as the server going away mid-batch.

After every kill or cut the databases must hold a clean prefix of the work: the desk
the kiosk's first facts, none twice, and every fact the kiosk thinks sent; the kiosk
exactly the desk's facts (and catalogue) up to its cursor, its state a projection of
its journal. After one clean sync everything must be there: every fact once in every
database, nothing pending, the kiosk's cursor at the desk's last fact, and every
kiosk's state equal to the desk's and to a replay of the desk's journal.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
import synckit as sk
from conftest import FakeClock

from kiosk.data import sync
from kiosk.data.core import journal, kinds, masterdata
from kiosk.data.core.db import is_postgres
from kiosk.data.core.errors import KioskError
from kiosk.data.core.models import Copy, Hold, Journal, KioskRegistration, Loan, Title
from kiosk.data.sync import pulling as pulling_

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
]

CHILD = Path(__file__).with_name("sync_child.py")

PUSH_BATCH = 8
PULL_BATCH = 60
PULL_CIRCULATION = 12
"""Small batches: a sync of a few hundred facts is dozens of transactions to land in."""

KILL_ROUNDS = 8
PATRONS = 24
TITLES = 30
"""Two copies a title: kiosk ``a`` lends the first, ``b`` the second, so pulls rebase
titles that hold ``a``'s unplaced facts without the two kiosks lending one copy twice."""

LANDED = {
    "ready": "before the first batch",
    "push": "reading unsent facts / opening the desk transaction",
    "accept": "inside the desk transaction",
    "accepted": "desk commit or kiosk mark",
    "pushed": "between push batches",
    "pull": "reading a desk batch",
    "apply": "inside the kiosk's pull transaction",
    "pulled": "between pull batches",
    "synced": "between syncs",
}
"""Where a kill landed, by the child's last line (see tests/sync_child.py)."""


# -- the site -------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def desk_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'desk.sqlite'}"
    return request.getfixturevalue("pg_url")


@dataclass
class World:
    """A desk, the kiosk under test (``a``), a second kiosk (``b``) and their work."""

    site: sk.Site
    clock: FakeClock
    rng: random.Random
    a: sk.Kiosk
    b: sk.Kiosk | None = None
    titles: dict[str, str] = field(default_factory=dict)
    """Copy barcode -> title key, for every copy the desk has saved."""
    news: int = 0

    @property
    def desk(self) -> pw.Database:
        return self.site.desk

    def offline(self, kiosk: sk.Kiosk, count: int, copies: list[str]) -> None:
        """``count`` random checkouts and returns at ``kiosk``, without a sync.

        One connection is held for all of them: a connection closed after every scan
        costs a WAL checkpoint each, five times the scan itself.
        """
        patrons = sk.students(PATRONS)
        with kiosk.db.connection_context():
            for _ in range(count):
                self.clock.advance(minutes=1)
                try:
                    if self.rng.random() < 0.6:
                        kiosk.circulation.checkout(self.rng.choice(patrons), self.rng.choice(copies))
                    else:
                        kiosk.circulation.checkin(self.rng.choice(copies))
                except KioskError:
                    pass  # refused or not on loan: recorded (or not) like at a real kiosk

    def a_work(self, count: int) -> None:
        self.offline(self.a, count, sk.barcodes(2 * TITLES)[0::2])

    def desk_news(self, new_copies: int, moved: int, b_facts: int) -> None:
        """The desk catalogues and moves copies; kiosk ``b`` lends and returns, and syncs."""
        assert self.b is not None
        self.news += 1
        keys = [f"T{i}" for i in range(TITLES)]
        fresh = {f"C{self.news:02d}{i:04d}": keys[i % TITLES] for i in range(new_copies)}
        shifted = self.rng.sample(sorted(self.titles), min(moved, len(self.titles)))
        rows = [{"copy": code, "title": key, "shelf": "new"} for code, key in fresh.items()]
        rows += [
            {"copy": code, "title": self.titles[code], "shelf": f"moved {self.news}"}
            for code in shifted
        ]
        with sk.on(self.desk), self.desk.atomic():
            masterdata.save_many("copy_saved", rows, when=self.clock())
        self.titles.update(fresh)
        self.offline(self.b, b_facts, sk.barcodes(2 * TITLES)[1::2])
        self.b.sync(self.desk)


def make_world(site: sk.Site, clock: FakeClock, seed: int, *, with_b: bool) -> World:
    a = site.add_kiosk("a")
    world = World(site, clock, random.Random(seed), a)
    world.titles = {code: f"T{i // 2}" for i, code in enumerate(sk.barcodes(2 * TITLES))}
    if with_b:
        world.b = site.add_kiosk("b")
    return world


@pytest.fixture
def site(desk_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[sk.Site]:
    site = sk.make_site(desk_url, tmp_path, clock, patrons=PATRONS, titles=TITLES)
    yield site
    for kiosk in site.kiosks.values():
        kiosk.db.close()
    site.desk.close()


# -- the child kiosk ------------------------------------------------------------------


class Children:
    """Child kiosk processes, forked by one ``tests/sync_child.py serve`` per test.

    The server pays for the imports once; every kiosk it forks is a process of its
    own, which the test kills with SIGKILL by its pid. The server's stderr (the
    children's tracebacks) goes to a file, so that no pipe fills up unread.
    """

    def __init__(self, folder: Path) -> None:
        self.log = folder / "sync_child.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), "serve"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            )
        self.buffer = b""
        self.running: int | None = None
        assert self.line() == "serving"

    def line(self, timeout: float = 30.0) -> str:
        """The next line the server or its child wrote."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                raise AssertionError(f"the child kiosk is silent:\n{self.log.read_text()}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def start(self, kiosk: sk.Kiosk, *args: str) -> int:
        """Fork a child kiosk on ``kiosk``'s file; return its pid once it is about to sync."""
        assert self.proc.stdin is not None
        words = [f"sqlite:///{kiosk.db.path}", str(PUSH_BATCH), str(PULL_BATCH),
                 str(PULL_CIRCULATION), *args]
        self.proc.stdin.write((" ".join(words) + "\n").encode())
        self.proc.stdin.flush()
        line = self.line()
        assert line.startswith("ready "), f"{line}\n{self.log.read_text()}"
        self.running = int(line.split()[1])
        return self.running

    def finish(self, pid: int, *, kill: bool, dies: bool = False) -> list[str]:
        """Kill the child (or let it end, or die by its own hand); return its lines."""
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended by itself: the exit code below tells how
        lines = []
        while not (line := self.line()).startswith("exit "):
            lines.append(line)
        self.running = None
        expected = -signal.SIGKILL if kill or dies else 0
        code = int(line.split()[1])
        assert code == expected, f"child ended with {code}: {lines}\n{self.log.read_text()}"
        return lines

    def close(self) -> None:
        """End the server, and a child a failed test left syncing."""
        assert self.proc.stdin is not None
        if self.running is not None:
            try:
                os.kill(self.running, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
            assert self.proc.stdout is not None
            self.proc.stdout.close()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    server = Children(tmp_path)
    yield server
    server.close()


def calibrate(children: Children, kiosk: sk.Kiosk) -> float:
    """Seconds one sync of a round's work takes in the child (its own measure)."""
    lines = children.finish(children.start(kiosk, "once"), kill=False)
    assert lines[-1].startswith("synced "), lines
    return float(lines[-1].split()[1])


def settle(desk: pw.Database) -> None:
    """Wait until the desk has finished with the dead child's connection.

    A PostgreSQL backend ends only once it notices its client is gone, and a COMMIT
    it had received before the kill still commits, maybe while the checks below read
    the desk: a snapshot taken before would see the facts and the kiosk's counter
    of the same transaction in different states.
    """
    if not is_postgres(desk):
        return
    with sk.on(desk):
        for _ in range(1000):
            others = desk.execute_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()[0]
            if not others:
                return
            time.sleep(0.01)
    raise AssertionError("the killed kiosk's desk connection lives on")


def kill_at_random(children: Children, world: World, seconds: float) -> str:
    """Start the syncing child, SIGKILL it after a random delay; say where it was."""
    pid = children.start(world.a, "loop")
    time.sleep(world.rng.uniform(0.0, 1.2 * seconds))
    lines = children.finish(pid, kill=True)
    settle(world.desk)
    return LANDED[lines[-1].split()[0] if lines else "ready"]


# -- what must hold after a kill or a cut ---------------------------------------------


def own_facts(db: pw.Database, name: str) -> list[tuple[str, bool]]:
    """The kiosk's own facts in the order it made them: (UUID, marked sent)."""
    with sk.on(db):
        query = (
            Journal.select(Journal.uuid, Journal.pushed_at)
            .where(Journal.kiosk == name)
            .order_by(Journal.seq)
            .tuples()
        )
        return [(uuid, pushed is not None) for uuid, pushed in query]


def desk_facts_of(desk: pw.Database, name: str) -> list[str]:
    with sk.on(desk):
        query = Journal.select(Journal.uuid).where(Journal.kiosk == name).order_by(Journal.seq)
        return [uuid for (uuid,) in query.tuples()]


def check_push(site: sk.Site, kiosk: sk.Kiosk) -> tuple[int, int]:
    """The desk holds the kiosk's first facts, each once, and all it marked sent.

    Returns how many of the kiosk's facts the desk has and how many it marked sent.
    """
    mine = own_facts(kiosk.db, kiosk.name)
    order = [uuid for uuid, _ in mine]
    marked = [uuid for uuid, sent in mine if sent]
    with sk.on(site.desk), site.desk.atomic():
        at_desk = desk_facts_of(site.desk, kiosk.name)
        registration = KioskRegistration.get(KioskRegistration.kiosk == kiosk.name)
    assert len(at_desk) == len(set(at_desk)), "a fact twice at the desk"
    assert set(at_desk) == set(order[: len(at_desk)]), "the desk holds a gap in the facts"
    assert set(marked) == set(order[: len(marked)]), "a batch half marked sent"
    assert set(marked) <= set(at_desk), "a fact marked sent that the desk does not have: lost"
    assert registration.facts_pushed == len(at_desk)
    return len(at_desk), len(marked)


def catalogue(db: pw.Database) -> dict[str, tuple[str, str]]:
    """Every copy: barcode -> (title key, shelf)."""
    with sk.on(db):
        query = Copy.select(Copy.barcode, Title.key, Copy.shelf).join(Title).tuples()
        return {barcode: (key, shelf) for barcode, key, shelf in query}


def check_pull(site: sk.Site, kiosk: sk.Kiosk) -> int:
    """The kiosk holds exactly the desk's facts and catalogue up to its cursor.

    Returns the cursor.
    """
    with sk.on(kiosk.db):
        cursor = int(sync.local_get("cursor") or 0)
        foreign = {
            uuid
            for (uuid,) in Journal.select(Journal.uuid).where(Journal.kiosk != kiosk.name).tuples()
        }
        placed = dict(
            Journal.select(Journal.uuid, Journal.desk_seq)
            .where(Journal.kiosk == kiosk.name)
            .tuples()
        )
    with sk.on(site.desk):
        upto = list(
            Journal.select(Journal.seq, Journal.uuid, Journal.kind, Journal.kiosk, Journal.copy,
                           Journal.data)
            .where(Journal.seq <= cursor)
            .order_by(Journal.seq)
            .tuples()
        )
        desk_seq = dict(
            Journal.select(Journal.uuid, Journal.seq).where(Journal.kiosk == kiosk.name).tuples()
        )
    expected = {
        uuid for _, uuid, kind, who, _, _ in upto if who != kiosk.name and kind not in kinds.MASTER
    }
    assert foreign == expected, "the kiosk's facts from elsewhere are not the desk's up to its cursor"
    copies: dict[str, tuple[str, str]] = {}
    for _, _, kind, _, barcode, data in upto:
        if kind == "copy_saved":
            row = json.loads(data)
            copies[barcode] = (row["title"], row.get("shelf", ""))
    assert catalogue(kiosk.db) == copies, "the catalogue is not the desk's up to the cursor"
    for uuid, seq in placed.items():
        if seq is not None:
            assert seq == desk_seq[uuid] <= cursor, uuid
        else:
            assert desk_seq.get(uuid, cursor + 1) > cursor, f"{uuid} pulled but not placed"
    return cursor


def snapshot() -> dict[str, list[Any]]:
    """The circulation state of the database the models point at, row by row."""
    return {
        "loans": sorted(Loan.select().tuples(), key=lambda row: row[0]),
        "holds": sorted(Hold.select().tuples(), key=lambda row: row[0]),
        "copies": sorted(Copy.select(Copy.barcode, Copy.status).tuples()),
    }


def check_projection(db: pw.Database) -> None:
    """The kiosk's file is sound and its state is what replaying its journal gives."""
    with sk.on(db):
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = snapshot()
        with db.atomic() as transaction:
            journal.rebuild()
            after = snapshot()
            transaction.rollback()
    assert after == before, "the kiosk's state is not a projection of its journal"


def check_converged(world: World, folder: Path) -> None:
    """Sync every kiosk cleanly; then every fact is everywhere once and states agree."""
    site = world.site
    for _ in range(2):
        for kiosk in site.kiosks.values():
            kiosk.sync(site.desk)
    with sk.on(site.desk):
        uuids = [uuid for (uuid,) in Journal.select(Journal.uuid).tuples()]
        last = Journal.select(pw.fn.MAX(Journal.seq)).scalar()
    assert len(uuids) == len(set(uuids)), "a fact twice at the desk"
    desk_state = sk.state(site.desk)
    desk_catalogue = catalogue(site.desk)
    for kiosk in site.kiosks.values():
        mine = own_facts(kiosk.db, kiosk.name)
        at_desk = desk_facts_of(site.desk, kiosk.name)
        assert len(at_desk) == len(mine) and set(at_desk) == {uuid for uuid, _ in mine}
        assert all(sent for _, sent in mine), "a fact the desk has, not marked sent"
        with sk.on(kiosk.db):
            assert sync.pending_count() == 0
            assert not Journal.select().where(Journal.desk_seq.is_null()).exists()
            assert int(sync.local_get("cursor") or 0) == last
        with sk.on(site.desk):
            registration = KioskRegistration.get(KioskRegistration.kiosk == kiosk.name)
        assert registration.facts_pushed == len(mine), "the desk counted a fact twice"
        assert sk.circulation_facts(kiosk.db) == sk.circulation_facts(site.desk), kiosk.name
        assert catalogue(kiosk.db) == desk_catalogue, kiosk.name
        assert sk.state(kiosk.db) == desk_state, kiosk.name
        check_projection(kiosk.db)
    assert sk.replay(site.desk, folder) == desk_state


# -- SIGKILL at random points ---------------------------------------------------------


def test_push_killed_at_random_points(
    site: sk.Site, clock: FakeClock, tmp_path: Path, children: Children
) -> None:
    """Kiosk ``a`` lends offline, then its sync is killed; eight times, more work each.

    The delays are spread over 1.2 times what one round's sync takes, so most kills
    land inside a push (or the pull of the pushed facts), at no chosen point.
    """
    world = make_world(site, clock, seed=4_2025, with_b=False)
    world.a_work(35)
    seconds = calibrate(children, world.a)
    assert check_push(site, world.a)[1] == len(own_facts(world.a.db, "a"))
    landed: Counter[str] = Counter()
    progress = 0
    for _ in range(KILL_ROUNDS):
        world.a_work(35)
        before, _ = check_push(site, world.a)
        landed[kill_at_random(children, world, seconds)] += 1
        after, _ = check_push(site, world.a)
        check_pull(site, world.a)
        check_projection(world.a.db)
        progress += after - before
    print(f"push kills ({seconds:.3f} s a sync): {dict(landed)}")
    assert progress > 0, f"the child never pushed before it was killed: {dict(landed)}"
    assert len(own_facts(world.a.db, "a")) > 250
    check_converged(world, tmp_path)


def test_pull_killed_at_random_points(
    site: sk.Site, clock: FakeClock, tmp_path: Path, children: Children
) -> None:
    """The desk catalogues hundreds of copies and kiosk ``b`` lends; ``a`` pulls, killed.

    ``a`` has a few facts of its own each round, on the same titles as ``b``'s, so
    the pull also brings its own facts back and rebases titles.
    """
    world = make_world(site, clock, seed=7_2025, with_b=True)

    def round_of_news() -> None:
        world.desk_news(new_copies=200, moved=30, b_facts=20)
        world.a_work(8)

    round_of_news()
    seconds = calibrate(children, world.a)
    landed: Counter[str] = Counter()
    progress = 0
    for _ in range(KILL_ROUNDS):
        round_of_news()
        before = check_pull(site, world.a)
        landed[kill_at_random(children, world, seconds)] += 1
        progress += check_pull(site, world.a) - before
        check_push(site, world.a)
        check_projection(world.a.db)
    print(f"pull kills ({seconds:.3f} s a sync): {dict(landed)}")
    assert progress > 0, f"the child never pulled before it was killed: {dict(landed)}"
    with sk.on(site.desk):
        assert Journal.select().where(Journal.kind == "copy_saved").count() > 2000
    check_converged(world, tmp_path)


# -- SIGKILL inside each window of a batch ----------------------------------------------


def clean_sync(world: World) -> tuple[int, int]:
    """One whole sync of kiosk ``a``, which must finish its work; return (facts of ``a``
    at the desk, ``a``'s cursor)."""
    world.a.sync(world.desk)
    at_desk, marked = check_push(world.site, world.a)
    assert at_desk == marked == len(own_facts(world.a.db, "a"))
    return at_desk, check_pull(world.site, world.a)


def test_killed_inside_each_window_of_a_batch(
    site: sk.Site, clock: FakeClock, tmp_path: Path, children: Children
) -> None:
    """The child kills itself in each window of its second batch, one after the other."""
    world = make_world(site, clock, seed=11, with_b=True)
    for point in ("desk-open", "desk-committed", "kiosk-open", "pull-open"):
        sent, _ = clean_sync(world)
        world.desk_news(new_copies=100, moved=30, b_facts=20)
        world.a_work(30)
        with sk.on(world.a.db):
            assert sync.pending_count() > 2 * PUSH_BATCH
        lines = children.finish(children.start(world.a, "die", point, "2"), kill=False, dies=True)
        settle(world.desk)
        dying = [line for line in lines if line.startswith("dying ")]
        assert dying, (point, lines)
        words = dying[-1].split()
        at_desk, marked = check_push(site, world.a)
        cursor = check_pull(site, world.a)
        check_projection(world.a.db)
        if point == "pull-open":
            first, last = int(words[1]), int(words[2])
            assert cursor < first <= last, "the killed pull batch was applied"
            with sk.on(site.desk):
                skipped = Journal.select().where((Journal.seq > cursor) & (Journal.seq < first))
                assert not skipped.exists(), "the killed batch was not the next one"
        else:
            batch = set(words[1].split(","))
            desk = set(desk_facts_of(site.desk, "a"))
            mine = own_facts(world.a.db, "a")
            assert not batch & {uuid for uuid, ok in mine if ok}, (point, "marked sent")
            assert marked == sent + PUSH_BATCH, (point, "the first batch is not marked sent")
            if point == "desk-open":
                assert not batch & desk, "the desk kept part of a batch it never committed"
                assert at_desk == sent + PUSH_BATCH
            else:
                assert batch <= desk, (point, "the desk lost a batch it committed")
                assert at_desk == sent + 2 * PUSH_BATCH
    check_converged(world, tmp_path)


# -- the desk's connection cut mid-batch ------------------------------------------------


class Cutter:
    """Cuts the desk's connection from the server side just before (or after) a statement.

    It watches the desk's statements (and commits); at the ``nth`` one matching
    ``match`` it terminates the desk connection's backend with
    ``pg_terminate_backend`` from a second connection and waits until the server
    process is gone, so the sync meets a dead connection exactly there.
    """

    def __init__(
        self, desk: pw.Database, admin: Any, match: Callable[[str], bool], nth: int,
        *, after: bool = False,
    ) -> None:
        self.desk, self.admin, self.match, self.nth, self.after = desk, admin, match, nth, after
        self.seen = 0
        self.done = False
        execute_sql, commit = desk.execute_sql, desk.commit

        def executing(sql: str, params: Any = None) -> Any:
            if not self.after:
                self.maybe_cut(sql)
            cursor = execute_sql(sql, params)
            if self.after:
                self.maybe_cut(sql)
            return cursor

        def committing() -> None:
            self.maybe_cut("COMMIT")
            commit()

        desk.execute_sql = executing  # type: ignore[method-assign]
        desk.commit = committing  # type: ignore[method-assign]

    def maybe_cut(self, sql: str) -> None:
        if self.done or not self.match(sql):
            return
        self.seen += 1
        if self.seen < self.nth:
            return
        self.done = True
        pid = self.desk.connection().get_backend_pid()
        with self.admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            for _ in range(500):
                cur.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
                if cur.fetchone() is None:
                    return
                time.sleep(0.01)
        raise AssertionError(f"the desk backend {pid} did not end")

    def remove(self) -> None:
        del self.desk.execute_sql
        del self.desk.commit


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child's batch sizes in this process too (``push`` and ``pull`` bind theirs as
    default arguments, so setting ``sync.PUSH_BATCH`` would change nothing)."""
    monkeypatch.setitem(sync.push.__kwdefaults__, "limit", PUSH_BATCH)
    monkeypatch.setitem(sync.pull.__kwdefaults__, "limit", PULL_BATCH)
    monkeypatch.setattr(pulling_, "PULL_CIRCULATION_BATCH", PULL_CIRCULATION)
    monkeypatch.setattr(pulling_, "PULL_IDLE_BATCH", PULL_CIRCULATION)


@pytest.fixture
def admin(pg_url: str) -> Iterator[Any]:
    """A second connection to the PostgreSQL desk, to cut the kiosk's."""
    import psycopg2  # type: ignore[import-untyped]

    connection = psycopg2.connect(pg_url)
    connection.autocommit = True
    yield connection
    connection.close()


def statement(*parts: str) -> Callable[[str], bool]:
    return lambda sql: all(part in sql for part in parts)


CUTS = {
    # the second push batch: its INSERT fails, inside the desk transaction
    "push-insert": (statement('INSERT INTO "journal"'), 2, False),
    # the second push batch: inserted, then its first projection statement fails
    "push-apply": (statement('INSERT INTO "journal"'), 2, True),
    # the second push batch: everything done, the COMMIT fails
    "push-commit": (statement("COMMIT"), 2, False),
    # the second pull batch's read from the desk fails
    "pull-read": (statement('"t1"."seq" >'), 2, False),
    # everything pushed and pulled; the desk's note of the kiosk's cursor fails
    "registration": (statement('UPDATE "kiosk_registration"', '"cursor"'), 1, False),
}


@pytest.fixture
def pg_world(pg_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[World]:
    """Kiosks ``a`` and ``b`` at a PostgreSQL desk, with small batches here too."""
    site = sk.make_site(pg_url, tmp_path, clock, patrons=PATRONS, titles=TITLES)
    try:
        yield make_world(site, clock, seed=13, with_b=True)
    finally:
        for kiosk in site.kiosks.values():
            kiosk.db.close()
        site.desk.close()


def cut_sync(world: World, cutter: Cutter) -> bool:
    """Sync kiosk ``a`` through ``cutter``; return whether the cut stopped the sync.

    Afterwards the desk is closed (a connection the sync left open is dead), and both
    databases must hold a clean prefix of the work.
    """
    try:
        world.a.sync(world.desk)
    except (pw.OperationalError, pw.InterfaceError):
        failed = True
    else:
        failed = False
    finally:
        cutter.remove()
    assert failed == cutter.done, "a cut the sync did not notice, or a failure without a cut"
    if not world.desk.is_closed():
        world.desk.close()
    check_projection(world.a.db)
    check_push(world.site, world.a)
    check_pull(world.site, world.a)
    return failed


@pytest.mark.usefixtures("small_batches")
def test_desk_connection_cut_mid_batch(pg_world: World, admin: Any, tmp_path: Path) -> None:
    """The desk's backend is terminated at each chosen statement of a sync in turn."""
    world = pg_world
    for where, (match, nth, after) in CUTS.items():
        sent, cursor = clean_sync(world)
        world.desk_news(new_copies=100, moved=30, b_facts=20)
        world.a_work(30)
        assert cut_sync(world, Cutter(world.desk, admin, match, nth, after=after)), where
        at_desk, marked = check_push(world.site, world.a)
        now = check_pull(world.site, world.a)
        total = len(own_facts(world.a.db, "a"))
        with sk.on(world.desk):
            last = Journal.select(pw.fn.MAX(Journal.seq)).scalar()
        if where.startswith("push"):  # the first batch went through, the second not at all
            assert (at_desk, marked, now) == (sent + PUSH_BATCH, sent + PUSH_BATCH, cursor), where
        elif where == "pull-read":  # everything pushed; one batch pulled, not the next
            assert (at_desk, marked) == (total, total), where
            assert cursor < now < last, where
        else:  # everything done but the desk's note of the kiosk's cursor
            assert (at_desk, marked, now) == (total, total, last), where
    check_converged(world, tmp_path)


@pytest.mark.usefixtures("small_batches")
def test_desk_connection_cut_at_random_statements(
    pg_world: World, admin: Any, tmp_path: Path
) -> None:
    """Round after round of new work, each sync cut before or after a random statement."""
    world = pg_world
    cuts = 0
    for _ in range(KILL_ROUNDS):
        world.desk_news(new_copies=80, moved=20, b_facts=15)
        world.a_work(20)
        nth = world.rng.randint(1, 40)
        cutter = Cutter(world.desk, admin, lambda sql: True, nth, after=world.rng.random() < 0.5)
        cuts += cut_sync(world, cutter)
    assert cuts > KILL_ROUNDS // 2
    check_converged(world, tmp_path)
