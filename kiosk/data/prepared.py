"""Queries whose SQL peewee builds once per kind of database, then reused.

Building a statement's SQL text is most of what a peewee query costs: on the kiosk's
small computer about 200 us a statement, against about 10 us for SQLite to run it.
A checkout runs about ten statements, so the circulation hot path builds each of
its queries once (for SQLite, or for PostgreSQL: the SQL depends only on the
dialect) and runs the same text with new parameters after that. The rows still come
back through peewee's own row conversion, as model instances or tuples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import peewee as pw

from kiosk.data.db import database


class _Slot:
    """Stands in the query for the ``index``-th parameter while the SQL is built."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


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
        """Run the statement with ``values``; return the driver's cursor."""
        db = database.obj
        _, sql, template = self._compile(db)
        params = [values[index] if index is not None else fixed for index, fixed in template]
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
