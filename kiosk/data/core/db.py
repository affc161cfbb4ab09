"""Opening the database the models are bound to.

The models are bound to one ``DatabaseProxy`` that is initialised at start-up, so
the kiosk, the desk, the tests and the benchmarks each choose their database at run
time: an SQLite file (WAL, foreign keys on) or a PostgreSQL server.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlparse

import peewee

from kiosk.data.core import files, network
from kiosk.data.core.network import DeskTimeouts

log = logging.getLogger(__name__)

_GLOBAL_SLOT = peewee.Proxy.__dict__["obj"]


class ThreadDatabaseProxy(peewee.DatabaseProxy):
    """A database proxy that one thread can point at another database for a while.

    The kiosk's sync thread works on two databases, the kiosk's own and the desk's,
    with the same models and the same projection code. :meth:`using` points the
    models at the desk for the calling thread only, so the scans served meanwhile by
    the kiosk's database thread never see the desk.
    """

    __slots__ = ("_local",)

    def __init__(self) -> None:
        object.__setattr__(self, "_local", threading.local())
        super().__init__()

    @property  # type: ignore[override]
    def obj(self) -> peewee.Database | None:
        override = getattr(self._local, "db", None)
        return override if override is not None else _GLOBAL_SLOT.__get__(self)

    @obj.setter
    def obj(self, value: peewee.Database | None) -> None:
        _GLOBAL_SLOT.__set__(self, value)

    def __setattr__(self, attr: str, value: object) -> None:
        if attr == "obj":
            _GLOBAL_SLOT.__set__(self, value)
        else:
            object.__setattr__(self, attr, value)

    @contextmanager
    def session(self, db: peewee.Database) -> Iterator[peewee.Database]:
        """:meth:`using`, with this thread's connection to ``db`` open for the block.

        A connection already open in this thread stays open afterwards
        (``connection_context`` alone would close it).
        """
        with self.using(db):
            if db.is_closed():
                with db.connection_context():
                    yield db
            else:
                yield db

    @contextmanager
    def using(self, db: peewee.Database) -> Iterator[peewee.Database]:
        """Bind the models to ``db`` in this thread until the block ends."""
        before = getattr(self._local, "db", None)
        self._local.db = db
        try:
            yield db
        finally:
            self._local.db = before


database = ThreadDatabaseProxy()
"""The database every model is bound to; see :func:`open_database`."""

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16 * 1024,
}
"""Pragmas applied on every SQLite connection.

``synchronous=normal`` in WAL mode keeps every committed transaction across a crash
of the program (only a power cut can lose the last ones), at a fraction of the cost
of ``full``.
"""


class DatabaseMissing(Exception):
    """The SQLite database file does not exist (and we were told not to create it)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


class NotALibrary(Exception):
    """A database that exists but is not a library's; it is left as it is.

    ``reason`` (the message ``storage.not_library.<reason>``): ``empty`` (a file of 0
    bytes: a failed copy, a restore or a full disk leaves one), ``not_sqlite`` (damaged,
    or another kind of file), ``other_program`` (another program's tables) or
    ``no_library`` (an empty database where a library was expected).
    """

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where} is not a library database ({reason})")
        self.where = where
        self.reason = reason


SQLITE_HEADER = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not an SQLite library before the library opens it (SQLite
    would take an empty file as a new, empty database, and the library's pragmas would
    change another program's file).

    Raises:
        NotALibrary: ``empty``, ``not_sqlite`` or ``other_program``.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except IsADirectoryError:
        raise NotALibrary(str(path), "not_sqlite") from None
    if not header:
        raise NotALibrary(str(path), "empty")
    if header != SQLITE_HEADER:
        raise NotALibrary(str(path), "not_sqlite")
    # Read-only, without the library's pragmas: WAL mode would change another
    # program's file before it is refused.
    try:
        probe = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            tables = {name for (name,) in probe.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            probe.close()
    except sqlite3.DatabaseError:
        raise NotALibrary(str(path), "not_sqlite") from None
    if "schema_migrations" not in tables:
        raise NotALibrary(str(path), "other_program")


def sqlite_path(url: str) -> Path | None:
    """The file path of an ``sqlite:///`` URL, or ``None`` for another database."""
    if url.startswith("sqlite:///"):
        return Path(unquote(url[len("sqlite:///") :]))
    return None


_exposed_lock = threading.Lock()
_exposed: dict[Path, list[Path]] = {}
"""Databases found readable by other users, not yet reported (:func:`take_exposed`)."""
_reported: set[Path] = set()


def _report_exposed(path: Path) -> None:
    """Log, once per process, that the database at ``path`` is readable by others."""
    found = files.exposed(path)
    if not found:
        return
    with _exposed_lock:
        if path in _reported:
            return
        _reported.add(path)
        _exposed[path] = found
    log.warning(
        "the library database %s can be read by other users of this computer (%s): "
        "anyone who reads it can forge every card; chmod 600 it",
        path, ", ".join(str(file) for file in found),
    )


def take_exposed() -> dict[Path, list[Path]]:
    """The databases opened since the last call that other users can read, and which of
    their files (the command line warns about them; see :mod:`kiosk.data.core.files`)."""
    with _exposed_lock:
        found = dict(_exposed)
        _exposed.clear()
    return found


class KioskSqliteDatabase(peewee.SqliteDatabase):
    """An SQLite library file that is never silently replaced by an empty one.

    The file is opened with ``mode=rw``, so a library whose file has gone is an
    error rather than a new, empty library with a new card secret; and a file deleted
    while the kiosk holds it open is noticed before the next write (SQLite would
    otherwise go on writing to the deleted file, and every loan would be lost).
    """

    def __init__(
        self, path: Path, timeout: float = 5.0, pragmas: dict[str, object] | None = None
    ) -> None:
        self.path = path
        # IMMEDIATE: a transaction takes the write lock when it begins, so a read that
        # decides a write (is this copy free?) cannot be overtaken by another writer.
        super().__init__(
            f"file:{quote(str(path))}?mode=rw",
            uri=True,
            pragmas={**SQLITE_PRAGMAS, **(pragmas or {})},
            timeout=timeout,
            lock_type="IMMEDIATE",
        )
        self._inode = threading.local()
        self.created = False
        """Whether :func:`open_database` made this file just now (so it may be empty)."""

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        self._inode.value = os.stat(self.path).st_ino
        return connection

    def check_file(self) -> None:
        """Close this thread's connection if its file is no longer the library's.

        Raises:
            peewee.OperationalError: the file is gone or was replaced.
        """
        if self.is_closed():
            return
        try:
            inode: int | None = os.stat(self.path).st_ino
        except OSError:
            inode = None
        if inode is None or inode != getattr(self._inode, "value", inode):
            self.close()
            raise peewee.OperationalError(f"the database file {self.path} is gone")


class KioskPostgresqlDatabase(peewee.PostgresqlDatabase):
    """A PostgreSQL library whose ``BEGIN`` travels with the transaction's first statement.

    peewee sends ``BEGIN`` and ``COMMIT`` as round trips of their own; a circulation
    transaction at the desk is about ten short statements, so those two were a fifth of
    its round trips (bench/sip2.py). Here ``BEGIN`` waits for the first statement, a
    transaction that sends nothing sends neither, and :func:`kiosk.data.core.prepared.pipelined`
    may send its held writes with the ``COMMIT`` (:meth:`commit_with`).
    """

    def begin(self, isolation_level: str | None = None) -> None:
        if isolation_level or self._isolation_level:
            super().begin(isolation_level)
            return
        if self.is_closed():  # (connect now, as BEGIN would: connecting resets the state)
            self.connect()
        self._state.begin_pending = True

    def pending_begin(self) -> bytes:
        """``BEGIN;`` if this thread's transaction has not been begun on the server yet
        (it is then: the caller sends it first), else nothing."""
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            return b"BEGIN;\n"
        return b""

    def execute_sql(self, sql: str, params: object = None, *args: object, **kwargs: object) -> object:
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            sql = "BEGIN;\n" + sql
        return super().execute_sql(sql, params, *args, **kwargs)

    def savepoint(self) -> Any:
        return _CountedSavepoint(super().savepoint(), self._state)

    def commit_with(self, statements: list[bytes]) -> bool:
        """Send ``statements`` and ``COMMIT`` together, if this thread is in its outermost
        transaction, not in a savepoint (whose writes wait for their transaction); return
        whether they were sent. The transaction's own commit then sends nothing."""
        if len(self._state.transactions) != 1 or getattr(self._state, "savepoints", 0):
            return False
        begin = self.pending_begin()
        if statements:
            with peewee.__exception_wrapper__:
                self.cursor().execute(begin + b";\n".join(statements) + b";\nCOMMIT")
            self._state.commit_sent = True
        return True

    def commit(self) -> None:
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False  # nothing was sent: nothing to commit
            return
        if getattr(self._state, "commit_sent", False):
            self._state.commit_sent = False
            return
        super().commit()

    def rollback(self) -> None:
        self._state.commit_sent = False
        if getattr(self._state, "begin_pending", False):
            self._state.begin_pending = False
            return
        super().rollback()


class _CountedSavepoint:
    """A peewee savepoint that keeps count of this thread's open savepoints (peewee
    counts transactions only), so :meth:`KioskPostgresqlDatabase.commit_with` knows a
    block inside a savepoint from one that ends the transaction."""

    def __init__(self, savepoint: Any, state: Any) -> None:
        self._savepoint, self._state = savepoint, state

    def __enter__(self) -> Any:
        entered = self._savepoint.__enter__()
        self._state.savepoints = getattr(self._state, "savepoints", 0) + 1
        return entered

    def __exit__(self, *exc: object) -> Any:
        self._state.savepoints -= 1
        return self._savepoint.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._savepoint, name)


class WriteGate:
    """Lets the kiosk's scans write before the background sync, in one process.

    SQLite's own lock is not fair: a scan waiting in its busy handler (which sleeps up
    to 100 ms at a time) can miss every gap between the sync's batches. The kiosk's
    service takes :meth:`foreground` around each write and the sync takes
    :meth:`background` around each batch; a background batch waits while a scan is
    waiting or writing, and until the kiosk has been quiet for ``quiet`` seconds (a
    child scanning books one after another is served first), but never longer than
    its ``timeout``, so the sync always goes on.
    """

    def __init__(self, quiet: float = 0.05) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._waiting = 0
        self._last = 0.0

    @contextmanager
    def foreground(self) -> Iterator[None]:
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1
                self._last = time.monotonic()
                self._idle.notify_all()

    def idle_for(self) -> float:
        """Seconds since the kiosk's last write ended (0 while one waits or writes)."""
        with self._lock:
            return 0.0 if self._waiting else time.monotonic() - self._last

    @contextmanager
    def background(self, timeout: float = 2.0) -> Iterator[None]:
        """Wait (at most ``timeout`` s) for a quiet moment, then run the batch."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                now = time.monotonic()
                quiet_for = now - self._last
                if (self._waiting == 0 and quiet_for >= self.quiet) or now >= deadline:
                    break
                pause = self.quiet - quiet_for if self._waiting == 0 else deadline - now
                self._idle.wait(max(0.001, min(pause, deadline - now)))
        yield


write_gate = WriteGate()
"""The one gate of this process (kiosk service and sync thread share the file)."""


LIBPQ_QUERY = frozenset({"passfile", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl"})
"""The libpq parameters a PostgreSQL URL may carry after ``?`` (the kiosk's password
file, TLS); anything else is refused rather than silently left out."""


def open_database(
    url: str, *, create: bool = False, timeout: float = 5.0, bind: bool = True,
    desk_timeouts: DeskTimeouts | None = None,
) -> peewee.Database:
    """Open the database at ``url``, bind the models to it and return it.

    Args:
        url: ``sqlite:///path/to/file.sqlite`` or ``postgresql://user@host:port/db``.
        create: create a missing SQLite file (and its folder) instead of refusing: readable
            by its owner only (it will hold the card secret), its new folders too.
        timeout: seconds an SQLite write waits for another writer's lock.
        bind: make it the database of the models (the kiosk's own database); the
            desk, opened by the sync beside the kiosk's, is used through
            ``database.using(desk)`` instead.
        desk_timeouts: bound every wait on this PostgreSQL server (the sync's
            connections to the desk; see :mod:`kiosk.data.core.network`).

    Raises:
        DatabaseMissing: the SQLite file does not exist and ``create`` is false.
        NotALibrary: the SQLite file is empty or not an SQLite database.
        ValueError: the URL names a database kind the kiosk does not support.
    """
    path = sqlite_path(url)
    db: peewee.Database
    if path is not None:
        created = False
        if not path.exists():
            if not create:
                raise DatabaseMissing(path)
            files.create_private(path)  # empty and 0600; the migrations fill it
            created = True
        else:
            check_sqlite_file(path)
            _report_exposed(path)
        db = KioskSqliteDatabase(path, timeout=timeout)
        db.created = created
    elif url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        params: dict[str, object] = {
            # A school network that drops packets must not hang a sync for minutes.
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        }
        if desk_timeouts is not None:
            network.install()
            params.update(network.libpq_options(desk_timeouts))
        for key, value in parse_qsl(parts.query):
            if key not in LIBPQ_QUERY:
                raise ValueError(f"unsupported database URL parameter {key!r} in {redact(url)}")
            params[key] = value
        db = KioskPostgresqlDatabase(
            unquote(parts.path.lstrip("/")),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname,
            port=parts.port,
            application_name="library-kiosk",
            **params,
        )
    else:
        raise ValueError(f"unsupported database URL: {redact(url)}")
    if bind:
        database.initialize(db)
    return db


def is_postgres(db: peewee.Database) -> bool:
    """Whether ``db`` is a PostgreSQL server (rather than an SQLite file)."""
    return isinstance(db, peewee.PostgresqlDatabase)


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def keep_secret(value: str) -> None:
    """Never let ``value`` (a sync token, a password) appear in the log: see :func:`mask`."""
    if len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def mask(text: str) -> str:
    """``text`` with URL passwords and every kept secret replaced by ``***``."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    for value in list(_secrets):
        if value in text:
            text = text.replace(value, "***")
    return text


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and the log."""
    parts = urlparse(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
