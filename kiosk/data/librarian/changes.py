"""A cheap sign that what the librarian's screens show may have changed.

The librarian's tabs stay open for hours while kiosks lend, return and sync. Reading
the whole day again every few seconds would cost the database (and at a PostgreSQL
desk, the network) for nothing most of the time; instead the screens read this
marker (two or three index lookups) and read everything again only when it moved.

Every fact the tabs show is a journal row (loans, returns, refusals, class visits,
cases: a sync case is written with the pushed facts, a reviewed case is a fact of its
own), so the journal's newest ``seq`` moves whenever any of them does. The facts
waiting to be sent (a kiosk) and the kiosks' last syncs (a desk) move without a new
row, and the day moves at midnight (the overdue list with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import peewee as pw

from kiosk.data.core.models import Journal, KioskRegistration
from kiosk.data.core.store import Store


@dataclass(frozen=True)
class ChangeMarker:
    """What changes when anything on the librarian's tabs may have changed."""

    day: date
    newest: int
    """The journal's newest ``seq`` (0: an empty journal)."""
    waiting: int
    """Facts not yet accepted by the desk."""
    last_sync: datetime | str | None
    """The latest time a kiosk synced with this database (a desk), else ``None``."""


def change_marker(store: Store) -> ChangeMarker:
    """Read the marker (raises ``StorageError`` when the database fails).

    Three indexed lookups: the journal's primary key, its partial index of unsent
    rows, and the kiosks' small registration table.
    """
    with store.reading():
        newest = Journal.select(pw.fn.MAX(Journal.seq)).scalar() or 0
        waiting = Journal.select().where(Journal.pushed_at.is_null()).count()
        last_sync = KioskRegistration.select(pw.fn.MAX(KioskRegistration.last_seen_at)).scalar()
    return ChangeMarker(store.today(), newest, waiting, last_sync)

