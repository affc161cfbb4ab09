"""What the three role services share: the circulation service's store, and small helpers.

Every role fact is made with the store's clock and hybrid clock (so it sorts and syncs
with the loans made at the same kiosk), inside the store's transactions.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.facts import Fact
from kiosk.data.core.models import Copy, Title
from kiosk.data.lending.circulation import Circulation

STUDENT_KINDS = ("student", "helper")
"""Who is counted in a roll call (a helper is a student with a helper card)."""


def aware(moment: datetime | None) -> datetime | None:
    """A time from the database (naive UTC) as an aware UTC datetime."""
    return None if moment is None else moment.replace(tzinfo=UTC)


def tuples(query: Any) -> list[tuple[Any, ...]]:
    """The rows of a ``.tuples()`` query (typed loosely: peewee's stubs cannot say)."""
    return list(query.tuples())


def primary_key(model: type[pw.Model]) -> Any:
    """The model's id column (its stubs leave ``Model.id`` out)."""
    return model._meta.primary_key


def area_sql() -> Any:
    """:func:`~kiosk.data.core.models.shelf_area` as SQL over ``copy`` joined with ``title``."""
    return pw.Case(None, [(Copy.shelf != "", Copy.shelf)], pw.fn.SUBSTR(Title.classification, 1, 1))


class RoleService:
    """The base of :class:`Visits`, :class:`Shifts` and :class:`ShelfChecks`.

    It shares the circulation service's store (transactions, clock, facts); helpers'
    returns go through the circulation service's rules. Creating one costs nothing.
    """

    def __init__(self, circulation: Circulation) -> None:
        self.circulation = circulation
        self.store = circulation.store

    def fact(self, kind: str, **kwargs: Any) -> Fact:
        """A new fact of ``kind`` made by this kiosk now (not yet recorded)."""
        return self.store.fact(kind, **kwargs)

    def now(self) -> datetime:
        """Now, as the database stores times."""
        return self.store.now_stored()

    def record_started(self, kind: str, key: str, **kwargs: Any) -> Fact:
        """Record a ``*_started`` fact whose UUID is also the new row's id (``data[key]``)."""
        fact = self.fact(kind, **kwargs)
        fact = dataclasses.replace(fact, data={**fact.data, key: fact.uuid})
        journal.record(fact)
        return fact
