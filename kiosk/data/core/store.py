"""The data core every service stands on: one library database, this kiosk, the clock.

A :class:`Store` is what lending, the roles, the librarian's day book, the database
thread and the sync worker share: the database the models are bound to, the kiosk's
identity written into every fact, the clock that dates them, reading and writing
transactions with one mapping of database failures to a
:class:`~kiosk.data.core.errors.StorageError` the screens can say in words, making and
recording facts and refusals, and the write-ahead log's checkpoints.

No service reaches into another's private members: each takes the store and calls
these public methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.db import KioskSqliteDatabase, database, write_gate
from kiosk.data.core.errors import KioskError, StorageError
from kiosk.data.core.facts import Fact, HybridClock, new_fact, to_db_time, utcnow
from kiosk.data.core.kinds import KINDS, Kind
from kiosk.data.core.prepared import pipelined
from kiosk.data.core.projection import Known
from kiosk.data.core.text import printable

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a write transaction decided: a value, or a refusal to raise after commit.

    A refusal is recorded as a fact in the transaction and raised only once the
    transaction has committed, so the record of it is never rolled back with it.
    """

    value: Any = None
    refusal: KioskError | None = None


class Store:
    """One library database as the services use it.

    Args:
        db: the open database (see :func:`kiosk.data.core.db.open_database`).
        kiosk_id: this kiosk's identity, written into every fact.
        clock: the current time (aware datetime); tests pass a fixed one.
    """

    DEFERRED_CHECKPOINT_PAGES = 10_000
    """With deferred checkpoints, SQLite checkpoints by itself only past this many pages."""

    def __init__(
        self,
        db: pw.Database,
        kiosk_id: str,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.kiosk_id = kiosk_id
        self.clock = clock
        with database.session(db):
            self.hlc = HybridClock(kiosk_id, journal.last_hlc())

    # -- time -------------------------------------------------------------------------

    def today(self) -> date:
        """Today's date where the kiosk stands."""
        return self.clock().astimezone().date()

    def now_stored(self) -> datetime:
        """Now, as the database stores times (naive UTC)."""
        return to_db_time(self.clock())

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def connected(self) -> Iterator[None]:
        """Use this thread's open connection, or open one for the duration.

        The models point at this store's database for the duration too, so several
        libraries (kiosks and a desk, in tests and tools) can live in one process.
        """
        with database.using(self.db):
            if not self.db.is_closed():
                yield
                return
            with self.db.connection_context():
                yield

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A write transaction; a locked or vanished database becomes a StorageError.

        At a PostgreSQL desk it takes the journal lock first (``journal.lock_journal``),
        before it reads what it decides by: a kiosk's push may otherwise end the loan
        this return read as open, and the fact would be applied to a state that is no
        longer there (an SQLite transaction holds the write lock from its start).
        """
        try:
            if isinstance(self.db, KioskSqliteDatabase):
                self.db.check_file()
            # (on PostgreSQL the lock travels with the first read, and the fact's writes
            # with the COMMIT: one round trip where there were several)
            with (
                write_gate.foreground(), self.connected(), self.db.atomic(),
                pipelined(self.db, commit=True),
            ):
                journal.lock_journal()
                yield
        except pw.OperationalError as error:
            log.exception("database write failed")
            text = str(error).lower()
            locked = "locked" in text or "busy" in text
            if not locked:
                self._drop_connection()
            raise StorageError("storage.locked" if locked else "storage.failed") from error
        except (pw.InterfaceError, pw.DatabaseError) as error:
            log.exception("database write failed")
            self._drop_connection()
            raise StorageError("storage.failed") from error

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads on this thread's connection; a failing database becomes a StorageError
        (as does a library file deleted or replaced under an open connection)."""
        try:
            if isinstance(self.db, KioskSqliteDatabase):
                self.db.check_file()
            with self.connected():
                yield
        except (pw.InterfaceError, pw.DatabaseError) as error:
            log.exception("database read failed")
            self._drop_connection()
            raise StorageError("storage.failed") from error

    def _drop_connection(self) -> None:
        """Close a connection that failed, so the next call opens a fresh one.

        (A PostgreSQL connection that dropped never comes back by itself.)
        """
        try:
            if not self.db.is_closed() and not self.db.in_transaction():
                self.db.close()
        except Exception:  # the connection is already unusable; nothing more to do
            log.debug("closing a failed connection failed", exc_info=True)

    def run(self, decide: Callable[[], Outcome]) -> Any:
        """Run ``decide`` in a write transaction; raise its refusal after the commit."""
        with self.writing():
            outcome = decide()
        if outcome.refusal is not None:
            raise outcome.refusal
        return outcome.value

    # -- facts ------------------------------------------------------------------------

    def fact(self, kind: str, **kwargs: Any) -> Fact:
        """A new fact made here and now (``patron=``, ``copy=`` and the kind's data).

        Raises:
            ValueError: ``kind`` is not in the registry of kinds (:mod:`kiosk.data.core.kinds`),
                so nothing would apply, sync or show it.
        """
        if kind not in KINDS:
            raise ValueError(f"not a kind of fact: {kind!r}")
        return new_fact(self.hlc, self.kiosk_id, kind, self.clock(), **kwargs)

    def record(self, kind: str, known: Known | None = None, **kwargs: Any) -> Known:
        """Make a fact and record it (journal row and projection) in the transaction."""
        return journal.record(self.fact(kind, **kwargs), known)

    def refusal(
        self, error: KioskError, *, patron: str | None = None, copy: str | None = None,
        code: str | None = None,
    ) -> KioskError:
        """Record ``error`` as a refusal fact (in the current transaction) and return it."""
        data: dict[str, Any] = {"reason": error.key}
        params = {k: v for k, v in error.params.items() if isinstance(v, (str, int))}
        if params:
            data["params"] = params
        if code is not None:
            data["code"] = printable(code, 64)
        self.record(Kind.REFUSAL, patron=patron, copy=copy, **data)
        return error

    # -- checkpoints ------------------------------------------------------------------

    def defer_checkpoints(self) -> None:
        """Keep WAL checkpoints out of this thread's commits; :meth:`checkpoint` does them.

        SQLite normally copies the write-ahead log back into the database inside the
        commit that crosses 1,000 pages, which makes that one checkout ~12 ms slower.
        The kiosk calls :meth:`checkpoint` in the pauses between scans instead; the
        high limit only guards against a kiosk that is never idle.
        """
        if isinstance(self.db, pw.SqliteDatabase):
            with self.reading():
                self.db.execute_sql(f"PRAGMA wal_autocheckpoint={self.DEFERRED_CHECKPOINT_PAGES}")

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database now, without waiting on readers."""
        if isinstance(self.db, pw.SqliteDatabase):
            with self.reading():
                self.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
