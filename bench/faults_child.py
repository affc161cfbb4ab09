"""The fault harness's processes: kiosks and the desk's program, killed at will.

``bench/faults.py`` starts each one through a ``multiprocessing`` fork server (the
kiosk's code is imported once, a restart costs a fork) and drives it over a pipe:

* :func:`kiosk_main` runs a kiosk as ``kiosk run`` does (the circulation service, the
  roles and the background :class:`~kiosk.bridges.sync.SyncWorker` syncing through the
  kiosk's own TCP proxy) and plays the operations it is sent
  (``bench/faults_school.py``);
* :func:`desk_main` does the desk's work: imports, cards, holds, the librarian's
  decisions and returns by hand, straight on the PostgreSQL desk.

After each service call the process reads the facts it made since the last call from
its database (its own facts have the largest local numbers; only it makes them) and
sends them back: a call that returned, or refused with its reason, acknowledged them;
a call that failed for the storage (disk full, desk gone) acknowledged nothing, and a
fact it left behind anyway is a *phantom*, reported as a finding.

Each process keeps two numbers in memory it shares with the harness
(:data:`SHARED`): what its two threads are doing (so a kill from outside knows
where it landed) and the point it killed itself at, when the harness armed one
(:data:`KIOSK_POINTS`, :data:`DESK_POINTS`).
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import sqlite3
import threading
import time
import traceback
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import faults_kiosk as fk

PHASES = ("idle", "op", "push", "pull")
KIOSK_POINTS = (
    "txn", "txn-done", "push-desk-open", "push-desk-committed", "push-kiosk-open", "pull-open",
)
"""Where an armed kiosk kills itself: inside a service's write transaction (the fact
recorded, not committed), right after its commit (before the screen says so), inside
the desk's transaction of a push batch, after the desk committed it but before the
kiosk marked it sent, inside that mark, inside a pulled batch's transaction."""
DESK_POINTS = ("desk-txn", "desk-txn-done")
"""Where an armed desk program kills itself: inside its transaction, right after it."""
POINTS = KIOSK_POINTS + DESK_POINTS

SHARED = ("driver", "sync", "died_at")
"""The slots of the shared array: the driver thread's phase, the sync thread's phase
(indexes into :data:`PHASES`), and 1 + the index in :data:`POINTS` of the armed point
the process killed itself at (0: none)."""


@dataclass
class ChildConfig:
    """What a child needs to start: who it is, where its files are, its clock."""

    name: str
    target: str
    """The kiosk's library file, or the desk's URL."""
    folder: Path
    clock: fk.SchoolClock
    interval: float = 0.3
    batches: tuple[int, int, int] = (5, 40, 10)
    checkpoint_every: int = 25


def _log_to(path: Path) -> None:
    """The process's log, and its stderr (a driver's notices, a traceback), go to ``path``."""
    logging.basicConfig(
        filename=str(path), level=logging.WARNING,
        format="%(asctime)s %(process)d %(threadName)s %(name)s %(levelname)s %(message)s",
    )
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)


def _die(shared: Any, point: str) -> None:
    shared[2] = 1 + POINTS.index(point)
    os.kill(os.getpid(), signal.SIGKILL)


class _Reply:
    """What one operation did, sent back to the harness."""

    def __init__(self) -> None:
        self.acks: list[tuple[str, str]] = []
        self.phantoms: list[tuple[str, str]] = []
        self.outcomes: dict[str, int] = {}
        self.errors: list[str] = []

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def message(self) -> tuple[Any, ...]:
        return ("done", self.acks, self.phantoms, self.outcomes, self.errors)


class _Facts:
    """Reads the facts this process made since the last look, straight from its database."""

    def __init__(self, connect: Any, sql: str, last_sql: str) -> None:
        self.connect, self.sql, self.last_sql = connect, sql, last_sql
        self.conn: Any = None
        self.last = 0
        self.last = self._read(self.last_sql)[0][0] or 0

    def _read(self, sql: str, *args: Any) -> list[Any]:
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = self.connect()
                cursor = self.conn.cursor()
                cursor.execute(sql, args)
                rows = cursor.fetchall()
                self.conn.rollback()  # no snapshot kept open between looks
                return rows
            except Exception:
                self.conn = None
                if attempt == 2:
                    raise
        return []

    def new(self) -> list[tuple[str, str]]:
        rows = self._read(self.sql, self.last)
        if rows:
            self.last = rows[-1][0]
        return [(uuid, kind) for _, uuid, kind in rows]


def _call(reply: _Reply, facts: _Facts, failures: tuple[type[BaseException], ...],
          function: Any, *args: Any, **kw: Any) -> Any:
    """One service call: its outcome counted, the facts it made acknowledged.

    ``failures`` are the errors that mean the database went away (for the desk's
    program, whose server connection can be cut): the call's facts, if its commit got
    through after all, are neither acknowledged nor a finding.
    """
    value = None
    try:
        value = function(*args, **kw)
        outcome = "ok"
    except fk.StorageError:
        outcome = "storage"
    except fk.KioskError:
        outcome = "refused"
    except failures:
        outcome = "failed"
    made = facts.new()
    if outcome == "storage":
        reply.phantoms += made  # "nothing was recorded", says the screen
    elif outcome != "failed":
        reply.acks += made
    reply.count(outcome)
    if outcome in ("storage", "failed"):
        raise _Stop
    return value


class _Stop(Exception):
    """The storage failed: the rest of the operation is not attempted."""


# -- a kiosk ------------------------------------------------------------------------------


def play_op(driver: _KioskDriver | _DeskDriver, op: tuple[Any, ...]) -> _Reply:
    """Play one operation on ``driver``, flagged busy in the shared memory meanwhile (the
    injector's kills aim at it); a crash of the kiosk's or desk's code is a finding."""
    reply = _Reply()
    driver.shared[0] = 1
    try:
        driver.play(op, reply)
    except _Stop:
        pass
    except Exception:
        reply.errors.append(f"{op!r}: {traceback.format_exc()}"[-2000:])
        reply.count("error")
    finally:
        driver.shared[0] = 0
    return reply


class _KioskDriver:
    """A kiosk process: its services, its hooks, and the operations it plays."""

    def __init__(self, cfg: ChildConfig, shared: Any) -> None:
        self.cfg, self.shared = cfg, shared
        self.armed: str | None = None
        self.accepted = False
        self.changes = 0
        fk.set_batches(*cfg.batches)
        fk.instrument_sync(self.hook)
        self.side = fk.KioskSide(Path(cfg.target), cfg.clock, cfg.interval)
        fk.wrap_commit(self.side.db, self.hook, "kiosk-commit")
        path = cfg.target
        self.facts = _Facts(
            lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10),
            'SELECT "seq", "uuid", "kind" FROM "journal" WHERE "seq" > ? AND "kiosk" = '
            f"'{self.side.name}' ORDER BY \"seq\"",
            'SELECT MAX("seq") FROM "journal"',
        )
        self.shifts: dict[str, str] = {}
        self.ops = 0

    def hook(self, point: str) -> None:
        """Keep the shared phases current; die at the armed point (see KIOSK_POINTS)."""
        shared = self.shared
        in_sync = threading.current_thread().name == "kiosk-sync"
        if point in ("push", "pull"):
            shared[1] = PHASES.index(point)
        elif point in ("push-end", "pull-end"):
            shared[1] = 0
        name = None
        if point == "accepted":
            self.accepted = True
            name = "push-desk-open"
        elif point == "desk-commit-done" and self.accepted:
            self.accepted = False
            name = "push-desk-committed"
        elif point == "kiosk-commit-open" and in_sync:
            name = {2: "push-kiosk-open", 3: "pull-open"}.get(shared[1])
        elif point in ("kiosk-commit-open", "kiosk-commit-done"):
            # only a service's transaction that wrote something is worth dying in
            total = self.side.db.connection().total_changes
            wrote = total != self.changes
            if point == "kiosk-commit-done":
                self.changes = total
            name = ("txn" if point == "kiosk-commit-open" else "txn-done") if wrote else None
        if name is not None and name == self.armed:
            _die(shared, name)

    def _settings(self) -> dict[str, str]:
        rows = self.facts._read('SELECT "key", "value" FROM "setting" WHERE "key" IN '
                                "('card_prefix', 'card_secret')")
        return dict(rows)

    def _card(self, number: str, older: bool) -> str:
        serials = [s for (s,) in self.facts._read(
            'SELECT "card"."serial" FROM "card" JOIN "patron" ON "patron"."id" = "card"."patron_id"'
            ' WHERE "patron"."number" = ? ORDER BY "card"."serial" DESC LIMIT 2', number)]
        if not serials:
            return f"LK:{number}:no-card"
        serial = serials[-1] if older else serials[0]
        return fk.card_code(self._settings(), number, serial)

    def _open_loans(self) -> list[tuple[str, str, str]]:
        """The kiosk's open loans (loan, copy, borrower), in barcode order."""
        return self.facts._read(
            'SELECT "loan"."id", "copy"."barcode", "patron"."number" FROM "loan"'
            ' JOIN "copy" ON "copy"."id" = "loan"."copy_id"'
            ' JOIN "patron" ON "patron"."id" = "loan"."patron_id"'
            ' WHERE "loan"."returned_at" IS NULL ORDER BY "copy"."barcode"')

    def _pick(self, pick: float) -> tuple[str, str, str] | None:
        loans = self._open_loans()
        return loans[min(len(loans) - 1, int(pick * len(loans)))] if loans else None

    def play(self, op: tuple[Any, ...], reply: _Reply) -> None:
        circ, roles = self.side.circulation, self.side.roles
        kind = op[0]
        c = partial(_call, reply, self.facts, ())
        if kind == "borrow":
            _, number, older, barcodes = op
            view = c(circ.open_card, self._card(number, older))
            for barcode in barcodes if view is not None else ():
                c(circ.checkout, view.number, barcode, card=view.card)
        elif kind == "return":
            _, pick, damaged, fallback = op
            loan = self._pick(pick)
            c(circ.checkin, loan[1] if loan else fallback, damaged=damaged)
        elif kind == "renew":
            loan = self._pick(op[1])
            if loan is not None:
                view = c(circ.open_card, self._card(loan[2], False))
                if view is not None:
                    c(circ.renew, view.number, loan[0], card=view.card)
        elif kind == "visit_start":
            c(roles.visits.start_visit, op[1], op[2])
        elif kind == "roll_call":
            visit = c(roles.visits.open_visit, op[1])
            for number in op[2] if visit is not None else ():
                c(roles.visits.roll_call, visit.id, number)
        elif kind == "visit_end":
            visit = c(roles.visits.open_visit, op[1])
            if visit is not None:
                c(roles.visits.end_visit, visit.id, note=op[2], headcount=op[3])
        elif kind == "shift_start":
            shift = c(roles.shifts.start_shift, op[1])
            if shift is not None:
                self.shifts[op[1]] = shift.id
        elif kind == "helper_returns":
            shift_id = self.shifts.get(op[1])
            if shift_id is None:  # this kiosk was restarted in the shift: a new one
                shift = c(roles.shifts.start_shift, op[1])
                shift_id = self.shifts[op[1]] = shift.id if shift is not None else None
            for pick in op[2] if shift_id else ():
                loan = self._pick(pick)
                if loan is not None:
                    c(roles.shifts.helper_return, shift_id, loan[1])
        elif kind == "shift_end":
            shift_id = self.shifts.pop(op[1], None)
            if shift_id is not None:
                c(roles.shifts.end_shift, shift_id)
        elif kind == "bad_scan":
            c(circ.open_card, op[1])
        else:
            raise ValueError(f"unknown operation {op!r}")

    def disk(self, full: bool) -> None:
        """Fill the disk: no file of this process may grow (``RLIMIT_FSIZE``), after the
        write-ahead log was emptied (as after a checkpoint), so no transaction can be
        written; or free it again."""
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        if not full:
            resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
            return
        try:
            self.side.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except fk.DATABASE_ERRORS:
            pass  # busy: the log keeps what it has, and fills up sooner or later
        wal = Path(f"{self.cfg.target}-wal")
        resource.setrlimit(resource.RLIMIT_FSIZE, (wal.stat().st_size if wal.exists() else 0, hard))

    def command(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        what = message[0]
        if what == "op":
            reply = play_op(self, message[1])
            self.ops += 1
            if self.ops % self.cfg.checkpoint_every == 0:
                self.side.checkpoint()
            return reply.message()
        if what == "arm":
            self.armed = message[1]
            return ("armed",)
        if what == "disk":
            self.disk(message[1] == "full")
            return ("disk", message[1])
        if what == "quit":
            self.side.worker.stop(timeout=30)
            return ("bye",)
        raise ValueError(f"unknown command {message!r}")


def kiosk_main(conn: Connection, cfg: ChildConfig, shared: Any) -> None:
    """A kiosk: start its sync, then carry out commands until told to quit."""
    started = time.perf_counter()
    _log_to(cfg.folder / f"{cfg.name}.log")
    driver = _KioskDriver(cfg, shared)
    driver.side.start()
    _serve(conn, driver.command, started)


def _serve(conn: Connection, command: Any, started: float) -> None:
    conn.send(("ready", os.getpid(), time.perf_counter() - started))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        answer = command(message)
        conn.send(answer)
        if answer[0] == "bye":
            return


# -- the desk's program -------------------------------------------------------------------


class _DeskDriver:
    """The desk's program: its services, its hook, and the operations it plays."""

    def __init__(self, cfg: ChildConfig, shared: Any) -> None:
        import psycopg2  # type: ignore[import-untyped]

        self.cfg, self.shared = cfg, shared
        self.armed: str | None = None
        self.side = fk.DeskSide(cfg.target, cfg.clock)
        fk.wrap_commit(self.side.db, self.hook, "desk-commit")
        url = cfg.target

        def connect() -> Any:
            conn = psycopg2.connect(url, connect_timeout=5, application_name="faults-reader")
            return conn

        self.facts = _Facts(
            connect,
            'SELECT "seq", "uuid", "kind" FROM "journal" WHERE "seq" > %s AND "kiosk" = '
            f"'{fk.DESK}' ORDER BY \"seq\"",
            'SELECT MAX("seq") FROM "journal"',
        )
        self.files = 0

    def hook(self, point: str) -> None:
        name = {"desk-commit-open": "desk-txn", "desk-commit-done": "desk-txn-done"}[point]
        if name == self.armed:
            _die(self.shared, name)

    def _pick(self, pick: float) -> tuple[str, str] | None:
        loans = self.facts._read(
            'SELECT "loan"."id", "copy"."barcode" FROM "loan"'
            ' JOIN "copy" ON "copy"."id" = "loan"."copy_id"'
            ' WHERE "loan"."returned_at" IS NULL ORDER BY "copy"."barcode"')
        return loans[min(len(loans) - 1, int(pick * len(loans)))] if loans else None

    def _file(self, text: str) -> Path:
        self.files += 1
        path = self.cfg.folder / f"desk-{os.getpid()}-{self.files}.csv"
        path.write_text(text, encoding="utf-8")
        return path

    def play(self, op: tuple[Any, ...], reply: _Reply) -> None:
        side, kind = self.side, op[0]
        c = partial(_call, reply, self.facts, fk.DATABASE_ERRORS)
        if kind == "roster":
            c(side.import_roster, self._file(op[1]))
            for number in op[2]:
                c(side.reissue_card, number)
        elif kind == "catalogue":
            c(side.import_catalogue, self._file(op[1]))
        elif kind == "reissue":
            c(side.reissue_card, op[1])
        elif kind == "revoke":
            c(side.revoke_card, op[1])
        elif kind == "hold":
            c(side.place_hold, op[1], op[2])
        elif kind == "copy_status":
            c(side.copy_status, op[1], op[2])
        elif kind == "desk_return":
            loan = self._pick(op[1])
            if loan is not None:
                c(side.checkin, loan[1])
        elif kind == "desk_renew":
            loan = self._pick(op[1])
            if loan is not None:
                c(side.renew, loan[0])
        else:
            raise ValueError(f"unknown operation {op!r}")

    def command(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        what = message[0]
        if what == "op":
            reply = play_op(self, message[1])
            if reply.outcomes.get("failed"):
                self.side.reset()
            return reply.message()
        if what == "arm":
            self.armed = message[1]
            return ("armed",)
        if what == "quit":
            self.side.reset()
            return ("bye",)
        raise ValueError(f"unknown command {message!r}")


def desk_main(conn: Connection, cfg: ChildConfig, shared: Any) -> None:
    """The desk's program: carry out commands until told to quit."""
    started = time.perf_counter()
    _log_to(cfg.folder / f"{cfg.name}.log")
    _serve(conn, _DeskDriver(cfg, shared).command, started)
