"""Queries whose SQL peewee builds once per kind of database, then reused.

Building a statement's SQL text is most of what a peewee query costs: on the kiosk's
small computer about 200 us a statement, against about 10 us for SQLite to run it.
A checkout runs about ten statements, so the circulation hot path builds each of
its queries once (for SQLite, or for PostgreSQL: the SQL depends only on the
dialect) and runs the same text with new parameters after that. The rows still come
back through peewee's own row conversion, as model instances or tuples.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import peewee as pw

from kiosk.data.core.db import database

log = logging.getLogger(__name__)

_pipeline = threading.local()
_installing = threading.Lock()


class _Pipeline:
    """Writes held back to be sent to PostgreSQL together (see :func:`pipelined`)."""

    def __init__(self, db: pw.PostgresqlDatabase) -> None:
        self.db = db
        self.statements: list[bytes] = []
        self._cursor = db.cursor()  # only to quote parameters the server's way

    def add(self, sql: str, params: list[Any]) -> None:
        self.statements.append(self._cursor.mogrify(sql, params))
        if len(self.statements) >= 1000:
            self.flush()

    def flush(self) -> None:
        if self.statements:
            statements, self.statements = self.statements, []
            with pw.__exception_wrapper__:
                self.db.cursor().execute(_begin(self.db) + b";\n".join(statements))

    def flush_with(self, sql: str, params: Any) -> Any:
        """Send the held writes and then ``sql`` in one round trip; return the cursor
        (holding ``sql``'s rows: the driver keeps the last statement's result)."""
        statements, self.statements = self.statements, []
        statements.append(self._cursor.mogrify(sql, params or ()))
        with pw.__exception_wrapper__:
            cursor = self.db.cursor()
            cursor.execute(_begin(self.db) + b";\n".join(statements))
        return cursor


def _begin(db: pw.Database) -> bytes:
    """The ``BEGIN`` a :class:`~kiosk.data.core.db.KioskPostgresqlDatabase` still owes the
    server, to send first (nothing for any other database)."""
    pending = getattr(db, "pending_begin", None)
    return pending() if pending is not None else b""


@contextmanager
def pipelined(db: pw.Database, *, commit: bool = False) -> Iterator[None]:
    """Send the prepared writes made in this block to PostgreSQL in few round trips.

    Applying a batch of facts at the desk is mostly small writes (a loan inserted, a
    copy's status), each a round trip to the server. Inside this block (in one
    transaction) a write made through :class:`Prepared` is held back and sent with the
    others; any other statement sends the held writes first, so every read sees them
    and the order of the writes is kept. An error in a held write surfaces at the
    next statement or at the end of the block, inside the same transaction. On SQLite
    (no round trips) this does nothing.

    Each thread has its own block: several threads may share one database object (the
    SIP2 server's database threads), each with its own connection and its own writes.

    With ``commit`` (the block ends its transaction: ``with db.atomic(), pipelined(db,
    commit=True)``), the last writes travel with the ``COMMIT`` where the database can
    (:meth:`kiosk.data.core.db.KioskPostgresqlDatabase.commit_with`).
    """
    if not isinstance(db, pw.PostgresqlDatabase):
        yield
        return
    _flush_before_statements(db)
    outer = getattr(_pipeline, "current", None)
    if outer is not None:
        outer.flush()  # a block inside another: the outer block's writes go first
    pipe = _Pipeline(db)
    _pipeline.current = pipe
    try:
        yield
        commit_with = getattr(db, "commit_with", None)
        if not (commit and commit_with is not None and commit_with(pipe.statements)):
            pipe.flush()
        pipe.statements = []
    finally:
        _pipeline.current = outer


def _flush_before_statements(db: pw.PostgresqlDatabase) -> None:
    """Make ``db`` send this thread's held writes before any other statement (once per
    database object; a thread with no block open is not slowed by more than a lookup)."""
    if db.__dict__.get("_flushes_pipeline"):
        return
    with _installing:
        if db.__dict__.get("_flushes_pipeline"):
            return
        db._flushes_pipeline = True  # type: ignore[attr-defined]
        execute_sql = db.execute_sql

        def flushing_execute_sql(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
            pipe = getattr(_pipeline, "current", None)
            if pipe is not None and pipe.db is db and pipe.statements:
                if not args and not kwargs:
                    return pipe.flush_with(sql, params)  # the writes ride with the statement
                pipe.flush()
            return execute_sql(sql, params, *args, **kwargs)

        db.execute_sql = flushing_execute_sql  # type: ignore[method-assign]


def execute_held(db: pw.Database, sql: str) -> None:
    """Run ``sql`` (a statement without parameters, such as taking a lock), or, inside a
    :func:`pipelined` block, send it with the held writes that follow it.

    Taking the desk's journal lock this way holds it for the round trip of the fact's
    writes and the commit, not for one round trip more.
    """
    pipe = getattr(_pipeline, "current", None)
    if pipe is not None and pipe.db is db:
        pipe.statements.append(sql.encode())
    else:
        db.execute_sql(sql)


class _Slot:
    """Stands in the query for the ``index``-th parameter while the SQL is built."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


_WRITES = (pw.Insert, pw.Update, pw.Delete)

_PER_CURSOR = frozenset(vars(pw.CursorWrapper(None)))
"""A peewee cursor wrapper's attributes that belong to its cursor (the rest, set by its
``initialize``, depend only on the statement)."""


class Prepared:
    """A query built by ``build(*parameters)``, compiled once per database dialect.

    ``build`` receives one placeholder per parameter and returns a peewee query; the
    values given later to :meth:`rows`, :meth:`first` or :meth:`execute` take the
    placeholders' places, in order. Values are passed to the database driver as they
    are: give ids rather than model instances, and dates, strings and numbers.
    """

    def __init__(self, build: Callable[..., pw.BaseQuery]) -> None:
        self._build = build
        self._arity = build.__code__.co_argcount
        self._compiled: dict[type, tuple[pw.BaseQuery, str, list[tuple[int | None, Any]]]] = {}
        self._resolved: dict[type, dict[str, Any]] = {}

    def _compile(self, db: pw.Database) -> tuple[pw.BaseQuery, str, list[tuple[int | None, Any]]]:
        compiled = self._compiled.get(type(db))
        if compiled is None:
            slots = [_Slot(i) for i in range(self._arity)]
            query = self._build(*[pw.Value(slot, converter=False) for slot in slots])
            sql, params = query.sql()
            template = [
                (param.index, None) if isinstance(param, _Slot) else (None, param)
                for param in params
            ]
            compiled = self._compiled[type(db)] = (query, sql, template)
        return compiled

    def execute(self, *values: Any) -> Any:
        """Run the statement with ``values``; return the driver's cursor.

        Inside :func:`pipelined`, a write is held back and ``None`` is returned. On
        PostgreSQL the statement is prepared on the server once per connection
        (:func:`_server_side`), so the server parses and plans it once, not every time.
        """
        db = database.obj
        query, sql, template = self._compile(db)
        params = [values[index] if index is not None else fixed for index, fixed in template]
        if isinstance(db, pw.PostgresqlDatabase):
            sql = _server_side(db, self, sql, len(params))
        pipe = getattr(_pipeline, "current", None)
        if pipe is not None and pipe.db is db and isinstance(query, _WRITES):
            pipe.add(sql, params)
            return None
        return db.execute_sql(sql, params)

    def rows(self, *values: Any) -> list[Any]:
        """Every row, converted as the query would convert it (models, tuples...).

        The conversion is peewee's own (its cursor wrapper's ``process_row``). What the
        wrapper works out from the result's columns before the first row (which column
        goes to which model and field, and its converter: a tenth of a SIP2 checkout's
        CPU when done for every statement) depends only on the SQL, so it is worked out
        once per kind of database and lent to every later wrapper of this statement.
        """
        db = database.obj
        query, _, _ = self._compile(db)
        cursor = self.execute(*values)
        if cursor is None:  # a write held back in a pipeline: no rows yet
            return []
        try:
            raw = cursor.fetchall()
        finally:
            cursor.close()
        if not raw:
            return []
        wrapper = query._get_cursor_wrapper(cursor)
        resolved = self._resolved.get(type(db))
        if resolved is None:
            wrapper.initialize()
            resolved = {k: v for k, v in vars(wrapper).items() if k not in _PER_CURSOR}
            self._resolved[type(db)] = resolved
        else:
            vars(wrapper).update(resolved)
        wrapper.initialized = True
        process = wrapper.process_row
        return [process(row) for row in raw]

    def first(self, *values: Any) -> Any:
        """The first row, or ``None`` (build the query with ``.limit(1)``)."""
        rows = self.rows(*values)
        return rows[0] if rows else None


_names = itertools.count(1)
_prepared_on: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
"""The statements prepared on each PostgreSQL connection (gone with the connection)."""
_not_preparable: set[str] = set()
_prepare_lock = threading.Lock()


def _server_side(db: pw.PostgresqlDatabase, statement: Prepared, sql: str, count: int) -> str:
    """``EXECUTE name(...)`` of ``statement`` prepared on this thread's connection (made
    now if it is not there yet), or ``sql`` itself if the server would not prepare it.

    A PostgreSQL server spends most of a small statement's time parsing and planning it
    (about half the desk's CPU per SIP2 checkout: bench/sip2.py); a prepared statement is
    planned once per connection. Preparing happens under a savepoint inside a
    transaction, so a statement the server refuses to prepare (a parameter whose type it
    cannot tell) is run as plain SQL from then on, and nothing else is disturbed.
    """
    name = statement.__dict__.get("_pg_name")
    if name is None:
        with _prepare_lock:
            name = statement.__dict__.get("_pg_name")
            if name is None:
                numbers = itertools.count(1)
                text = re.sub(r"%s", lambda _: f"${next(numbers)}", sql).replace("%%", "%")
                statement._pg_text = text  # type: ignore[attr-defined]
                name = statement._pg_name = f"kiosk_{next(_names)}"  # type: ignore[attr-defined]
    if name in _not_preparable:
        return sql
    connection = db.connection()
    done = _prepared_on.get(connection)
    if done is None:
        done = _prepared_on.setdefault(connection, set())
    if name not in done:
        text = statement._pg_text  # type: ignore[attr-defined]
        # Preparing a write locks its table (as the write would): the held statements (the
        # journal lock first of all) go before it, or two writers could each take a
        # row lock on the journal before its exclusive lock and wait for each other.
        pipe = getattr(_pipeline, "current", None)
        if pipe is not None and pipe.db is db:
            pipe.flush()
        cursor = connection.cursor()
        try:
            if db.in_transaction():
                cursor.execute(_begin(db) + (
                    f"SAVEPOINT {name}; PREPARE {name} AS {text}; RELEASE SAVEPOINT {name}"
                ).encode())
            else:
                cursor.execute(f"PREPARE {name} AS {text}")
        except Exception:  # noqa: BLE001 (any driver error: this statement stays plain SQL)
            if db.in_transaction():
                cursor.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
            _not_preparable.add(name)
            log.warning("PostgreSQL would not prepare %s; it runs as plain SQL", text[:200])
            return sql
        done.add(name)
    marks = ", ".join("%s" for _ in range(count))
    return f"EXECUTE {name}({marks})" if count else f"EXECUTE {name}"
