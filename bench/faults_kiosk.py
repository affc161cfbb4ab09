"""Every use the fault harness makes of the kiosk's own code, in one module.

``bench/faults.py`` plays school days through the real services and the real sync
while it kills processes and cuts links. Whatever it needs from ``kiosk`` (the
services, the sync and the hooks it instruments, the imports, the replays the checker
compares with) is imported here and nowhere else in ``bench/faults*.py``: when a module
moves, this is the one file to update. The checker itself reads the databases with
plain SQL (``bench/faults_check.py``), so it does not trust the code it checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import peewee as pw
import psycopg2  # type: ignore[import-untyped]

from kiosk.data import sync
from kiosk.data.core import cards, journal, kinds, library, masterdata, migrations
from kiosk.data.core.db import database
from kiosk.data.core.errors import AlreadyBorrowed, KioskError, StorageError
from kiosk.data.core.facts import Fact, HybridClock, new_fact
from kiosk.data.core.models import Journal
from kiosk.data.core.network import DeskTimeouts
from kiosk.data.core.store import Store
from kiosk.data.desk import catalogue, roster
from kiosk.data.lending.circulation import Circulation
from kiosk.data.librarian.daybook import DayBook
from kiosk.data.roles import Roles
from kiosk.data.sync import pulling as pulling_
from kiosk.data.sync import pushing as pushing_
from kiosk.data.sync.worker import SyncWorker

__all__ = [
    "AlreadyBorrowed",
    "DATABASE_ERRORS",
    "DESK",
    "DeskSide",
    "KioskError",
    "KioskSide",
    "StorageError",
    "card_code",
    "instrument_sync",
    "join_kiosk",
    "make_desk",
    "rebuild",
    "replay_desk",
    "set_batches",
    "sync_until_quiet",
    "wrap_commit",
]

DESK = "desk"
"""The kiosk id the desk's own facts carry (``kiosk.screens.desk.DESK_KIOSK_ID``,
``library.issue_card``'s default)."""

migrations.available()  # imports the migrations here, once, not in every forked process

DATABASE_ERRORS: tuple[type[BaseException], ...] = (pw.PeeweeException, psycopg2.Error)
"""What a database that went away raises through peewee (a cut, a terminated backend)."""


class SchoolClock:
    """The school's time: starts at ``start`` and runs ``speed`` times faster than the
    real clock, the same in every process (it is computed from ``time.time()``), so
    facts made in different processes sort as they happened."""

    def __init__(self, real_start: float, start: datetime, speed: float) -> None:
        self.real_start = real_start
        self.start = start
        self.speed = speed

    def __call__(self) -> datetime:
        seconds = (time.time() - self.real_start) * self.speed
        return datetime.fromtimestamp(self.start.timestamp() + seconds, UTC)


def _replace(module: Any, name: str, value: Any, undo: list[Callable[[], None]]) -> None:
    """Set ``module.name`` (which must exist: a name that moved must fail loudly, not
    leave the harness patching a copy nobody reads); ``undo`` gets its way back."""
    if not hasattr(module, name):
        raise AttributeError(f"{module.__name__}.{name} is gone: update bench/faults_kiosk.py")
    before = getattr(module, name)
    setattr(module, name, value)
    undo.append(lambda: setattr(module, name, before))


def _undoing(undo: list[Callable[[], None]]) -> Callable[[], None]:
    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all


def set_batches(push: int, pull: int, circulation: int) -> Callable[[], None]:
    """Use small sync batches in this process, so a sync is many transactions to land in;
    return what undoes it.

    ``push`` and ``pull`` take their batch size as a default argument; a pull applies
    what it fetched in parts of ``pulling``'s circulation batch (read there, so set there).
    """
    undo: list[Callable[[], None]] = []
    for function, limit in ((pushing_.push, push), (pulling_.pull, pull)):
        defaults = function.__kwdefaults__
        assert defaults is not None and "limit" in defaults, function
        _replace(function, "__kwdefaults__", {**defaults, "limit": limit}, undo)
    _replace(pulling_, "PULL_CIRCULATION_BATCH", circulation, undo)
    _replace(pulling_, "PULL_IDLE_BATCH", circulation, undo)
    return _undoing(undo)


# -- the desk, made before the faults begin ---------------------------------------------


def make_desk(url: str, roster_file: Path, catalogue_file: Path, when: datetime) -> None:
    """A new desk at ``url`` with the school's roster and catalogue imported and a card
    for every patron (through the desk's own import code)."""
    desk = sync.init_desk(url)
    try:
        roster.apply_roster(desk, roster.parse_roster(roster_file))
        catalogue.apply_catalogue(desk, catalogue.parse_catalogue(catalogue_file))
        with database.session(desk), desk.atomic():
            clock = HybridClock(DESK, journal.last_hlc())
            numbers = [n for (n,) in desk.execute_sql('SELECT "number" FROM "patron"').fetchall()]
            for number in sorted(numbers):
                library.issue_card(number, when=when, clock=clock)
    finally:
        desk.close()


def join_kiosk(path: Path, desk_url: str, via_url: str, name: str) -> None:
    """A new kiosk file at ``path`` joined to the desk as ``name``, through ``via_url``
    (its proxy), and its first pull (straight from ``desk_url``)."""
    db = library.open_library(f"sqlite:///{path}", create=True)
    desk = sync.open_desk(desk_url)
    try:
        ident = sync.join(db, via_url, name)
        sync.sync_once(db, desk, ident)
    finally:
        db.close()
        desk.close()


def sync_until_quiet(paths: list[Path], desk_url: str, rounds: int = 3) -> int:
    """Sync every kiosk straight with the desk, round after round, until a whole round
    moves nothing (at most ``rounds`` rounds after the first quiet one); return the
    number of rounds."""
    desk = sync.open_desk(desk_url)
    done = 0
    try:
        quiet = 0
        while quiet < 2 and done < rounds + 2:
            moved = 0
            for path in paths:
                db = library.open_library(f"sqlite:///{path}")
                try:
                    ident = sync.identity(db)
                    assert ident is not None, path
                    report = sync.sync_once(db, desk, ident)
                    moved += report.pushed + report.pulled
                finally:
                    db.close()
            done += 1
            quiet = quiet + 1 if moved == 0 else 0
    finally:
        desk.close()
    return done


# -- replays for the checker ------------------------------------------------------------


def rebuild(path: Path) -> int:
    """Replay the journal of the SQLite library at ``path`` (a copy: it is changed) into
    its state tables (``journal.rebuild``); return the facts replayed."""
    db = library.open_library(f"sqlite:///{path}")
    try:
        with database.session(db), db.atomic():
            return journal.rebuild()
    finally:
        db.close()


def replay_desk(desk_url: str, scratch: Path) -> int:
    """Replay the desk's journal, fact by fact in its order, into a new SQLite library
    at ``scratch`` (master facts first, as a kiosk's first pull would); return the facts."""
    for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
        leftover.unlink(missing_ok=True)
    desk = sync.open_desk(desk_url)
    try:
        with database.session(desk):
            rows = list(Journal.select().order_by(*journal.CANONICAL_ORDER))
    finally:
        desk.close()
    facts = [Fact.from_row(row) for row in rows]
    fresh = library.open_library(f"sqlite:///{scratch}", create=True)
    try:
        with database.session(fresh), fresh.atomic():
            masterdata.apply_many([f for f in facts if f.kind in kinds.MASTER])
            for fact in facts:
                if fact.kind not in kinds.MASTER:
                    journal.record(fact)
    finally:
        fresh.close()
    return len(facts)


# -- instrumenting a process ------------------------------------------------------------


def wrap_commit(db: pw.Database, hook: Callable[[str], None], name: str) -> None:
    """Call ``hook(name + "-open")`` before each commit of ``db`` and ``hook(name +
    "-done")`` after it (a hook may kill the process there)."""
    commit = db.commit

    def committing() -> None:
        hook(name + "-open")
        commit()
        hook(name + "-done")

    db.commit = committing  # type: ignore[method-assign]


def instrument_sync(hook: Callable[[str], None]) -> Callable[[], None]:
    """Call ``hook`` at each step of this process's syncs; return what undoes it.

    ``push`` / ``push-end`` and ``pull`` / ``pull-end`` around each batch, ``accepted``
    when the desk has taken a push batch in its open transaction, ``applied`` when a
    pulled batch is applied here (not committed), and the commits of every desk the
    sync opens as ``desk-commit-open`` / ``desk-commit-done``. Each is replaced where
    its caller reads it (``sync_once`` and the worker read the package's names, the
    push and the pull their own modules'): ``tests/test_faults.py`` checks that one
    real sync reaches every point.
    """
    push, pull, accept = sync.push, sync.pull, pushing_.accept
    apply_pulled, open_desk = pulling_._apply_pulled, sync.open_desk

    def pushing(*args: Any, **kw: Any) -> int:
        hook("push")
        try:
            return push(*args, **kw)
        finally:
            hook("push-end")

    def pulling(*args: Any, **kw: Any) -> dict[str, int]:
        hook("pull")
        try:
            return pull(*args, **kw)
        finally:
            hook("pull-end")

    def accepting(facts: Any, ident: sync.Identity) -> int:
        fresh = accept(facts, ident)
        hook("accepted")
        return fresh

    def applying(batch: Any) -> dict[str, int]:
        stats = apply_pulled(batch)
        hook("applied")
        return stats

    def opening(url: str, **kw: Any) -> pw.Database:
        desk = open_desk(url, **kw)
        wrap_commit(desk, hook, "desk-commit")
        return desk

    undo: list[Callable[[], None]] = []
    _replace(sync, "push", pushing, undo)
    _replace(sync, "pull", pulling, undo)
    _replace(pushing_, "accept", accepting, undo)
    _replace(pulling_, "_apply_pulled", applying, undo)
    _replace(sync, "open_desk", opening, undo)
    return _undoing(undo)


# -- a kiosk and the desk, as their programs run them -----------------------------------


TIMEOUTS = DeskTimeouts(connect=3.0, reply=3.0, deadline=30.0)
"""The kiosks' bounds on waiting for the desk (``[sync]`` connect_timeout, reply_timeout,
deadline): shorter than a stall may last (``faults_round.STALL_CAP``), so that stalls
end syncs, and not so short that a push waiting for the journal lock on a busy machine
gives up."""


class KioskSide:
    """A kiosk as ``kiosk run`` makes it: the circulation service and the roles on its
    library file, and the background sync (started by :meth:`start`)."""

    def __init__(self, path: Path, clock: Callable[[], datetime], interval: float) -> None:
        self.db = library.open_library(f"sqlite:///{path}")
        ident = sync.identity(self.db)
        if ident is None:
            raise RuntimeError(f"{path} has not joined a desk")
        self.name = ident.kiosk
        self.circulation = Circulation(Store(self.db, ident.kiosk, clock=clock))
        self.roles = Roles(self.circulation)
        self.worker = SyncWorker(self.db, ident, interval=interval, timeouts=TIMEOUTS,
                                 settings_changed=self.circulation.reload)
        # as the kiosk's database thread does (kiosk/bridges/db_thread.py)
        self.db.connect(reuse_if_open=True)
        self.circulation.store.defer_checkpoints()

    def start(self) -> None:
        """Start the background sync."""
        self.worker.start()

    def checkpoint(self) -> None:
        """What the kiosk does when nobody scans (a failure is the next scan's to say)."""
        try:
            self.circulation.store.checkpoint()
        except KioskError:
            pass


def card_code(settings: dict[str, str], number: str, serial: int) -> str:
    """The code printed on patron ``number``'s card ``serial`` (``settings`` holds the
    library's ``card_prefix`` and ``card_secret``)."""
    return cards.encode(settings["card_prefix"], number, serial, settings["card_secret"])


class DeskSide:
    """The librarian's desk program's work: imports, cards, holds, copy decisions and
    returns or renewals by hand, on the desk's database."""

    def __init__(self, url: str, clock: Callable[[], datetime]) -> None:
        self.url = url
        self.clock = clock
        self.db = sync.open_desk(url)
        self.circulation = Circulation(Store(self.db, DESK, clock=clock))
        self.daybook = DayBook(self.circulation)

    def reset(self) -> None:
        """Drop a connection the server ended (the next call opens a new one)."""
        try:
            if not self.db.is_closed():
                self.db.close()
        except DATABASE_ERRORS:
            pass

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with database.session(self.db), self.db.atomic():
            yield

    def import_roster(self, path: Path) -> int:
        """Import a roster file (students moved, added, gone); return the facts."""
        return roster.apply_roster(self.db, roster.parse_roster(path)).facts

    def import_catalogue(self, path: Path) -> int:
        """Import a catalogue file (new titles and copies, moved shelves); return the facts."""
        return catalogue.apply_catalogue(self.db, catalogue.parse_catalogue(path)).facts

    def reissue_card(self, number: str) -> None:
        """A new card for patron ``number`` (the old one is revoked)."""
        with self._writing():
            library.issue_card(number, when=self.clock())

    def revoke_card(self, number: str) -> int:
        """Revoke the patron's current card (lost); the librarian's action."""
        return self.daybook.revoke_card(number, by="L0001")

    def place_hold(self, number: str, barcode: str) -> None:
        """Patron ``number`` reserves the title of ``barcode`` at the desk."""
        with self._writing():
            clock = HybridClock(DESK, journal.last_hlc())
            journal.record(
                new_fact(clock, DESK, "hold", self.clock(), patron=number, copy=barcode)
            )

    def copy_status(self, barcode: str, status: str) -> None:
        """The librarian marks a copy lost, to repair, withdrawn or found."""
        with self._writing():
            masterdata.set_copy_status(barcode, status, reason="fault harness")

    def checkin(self, barcode: str) -> None:
        """A book returned at the desk by hand."""
        self.daybook.checkin(barcode, by="L0001")

    def renew(self, loan_id: str) -> None:
        """A loan renewed at the desk by hand."""
        self.daybook.renew(loan_id, by="L0001")
