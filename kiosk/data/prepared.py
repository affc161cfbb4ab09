"""Queries whose SQL peewee builds once per kind of database, then reused.

Building a statement's SQL text is most of what a peewee query costs: on the kiosk's
small computer about 200 us a statement, against about 10 us for SQLite to run it.
A checkout runs about ten statements, so the circulation hot path builds each of
its queries once (for SQLite, or for PostgreSQL: the SQL depends only on the
dialect) and runs the same text with new parameters after that. The rows still come
back through peewee's own row conversion, as model instances or tuples.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import peewee as pw

from kiosk.data.db import database

_pipeline = threading.local()


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
            self.db.cursor().execute(b";\n".join(statements))


@contextmanager
def pipelined(db: pw.Database) -> Iterator[None]:
    """Send the prepared writes made in this block to PostgreSQL in few round trips.

    Applying a batch of facts at the desk is mostly small writes (a loan inserted, a
    copy's status), each a round trip to the server. Inside this block (in one
    transaction) a write made through :class:`Prepared` is held back and sent with the
    others; any other statement sends the held writes first, so every read sees them
    and the order of the writes is kept. An error in a held write surfaces at the
    next statement or at the end of the block, inside the same transaction. On SQLite
    (no round trips) this does nothing.
    """
    if not isinstance(db, pw.PostgresqlDatabase):
        yield
        return
    pipe = _Pipeline(db)
    execute_sql = db.execute_sql
    own = db.__dict__.get("execute_sql")  # one set on this object already, if any

    def flushing_execute_sql(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        pipe.flush()
        return execute_sql(sql, params, *args, **kwargs)

    db.execute_sql = flushing_execute_sql  # type: ignore[method-assign]
    _pipeline.current = pipe
    try:
        yield
        pipe.flush()
    finally:
        _pipeline.current = None
        if own is None:
            db.__dict__.pop("execute_sql", None)  # back to the class's method
        else:
            db.execute_sql = own  # type: ignore[method-assign]


class _Slot:
    """Stands in the query for the ``index``-th parameter while the SQL is built."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


_WRITES = (pw.Insert, pw.Update, pw.Delete)


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

        Inside :func:`pipelined`, a write is held back and ``None`` is returned.
        """
        db = database.obj
        query, sql, template = self._compile(db)
        params = [values[index] if index is not None else fixed for index, fixed in template]
        pipe = getattr(_pipeline, "current", None)
        if pipe is not None and pipe.db is db and isinstance(query, _WRITES):
            pipe.add(sql, params)
            return None
        return db.execute_sql(sql, params)

    def rows(self, *values: Any) -> list[Any]:
        """Every row, converted as the query would convert it (models, tuples...)."""
        query, _, _ = self._compile(database.obj)
        cursor = self.execute(*values)
        return list(query._get_cursor_wrapper(cursor))  # peewee's own row conversion

    def first(self, *values: Any) -> Any:
        """The first row, or ``None`` (build the query with ``.limit(1)``)."""
        rows = self.rows(*values)
        return rows[0] if rows else None
