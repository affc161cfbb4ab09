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

from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Journal, KioskRegistration
from kiosk.data.core.store import Store


@dataclass(frozen=True)
class ChangeMarker:
    """What changes when anything on the librarian's tabs may have changed."""

    day: date
    newest: int
    """The journal's newest ``seq`` (0: an empty journal)."""
    unsent: int
    """The oldest fact not yet accepted by the desk (0: none): it moves as a push is
    accepted, since facts are pushed in ``seq`` order."""
    last_sync: datetime | str | None
    """The latest time a kiosk synced with this database (a desk), else ``None``."""


def change_marker(store: Store) -> ChangeMarker:
    """Read the marker (raises ``StorageError`` when the database fails).

    Three indexed lookups, none of them a count: the journal's primary key, the first
    entry of its partial index of unsent rows (a kiosk that never joined a desk has
    them all unsent: counting them cost 40 ms on 100,000 facts), and the kiosks'
    small registration table.
    """
    with store.reading():
        newest = Journal.select(pw.fn.MAX(Journal.seq)).scalar() or 0
        unsent = (Journal.select(pw.fn.MIN(Journal.seq))
                  .where(Journal.pushed_at.is_null()).scalar()) or 0
        last_sync = KioskRegistration.select(pw.fn.MAX(KioskRegistration.last_seen_at)).scalar()
    return ChangeMarker(store.today(), newest, unsent, last_sync)



LOANS_UNMOVED = frozenset({Kind.REFUSAL, Kind.LIBRARIAN_LOGIN, Kind.CASE_REVIEWED})
"""Facts that change no loan: the overdue list need not be read again for them."""

CASE_KINDS = frozenset({Kind.REFUSAL, Kind.CASE_REVIEWED})
"""Facts that make or close a case (the desk's sync cases come with a kiosk's sync)."""


@dataclass(frozen=True)
class Rereads:
    """Which of the bigger tabs a change calls to read again (the day's new facts, the
    visits and the sync state are always read: they cost next to nothing)."""

    cases: bool
    overdue: bool


def rereads(before: ChangeMarker, now: ChangeMarker, new_kinds: set[str]) -> Rereads:
    """What to read again after the marker moved from ``before`` to ``now`` with facts of
    ``new_kinds`` new today. Cases and the overdue list cost tens of milliseconds on a
    year of facts (bench/librarian_live.py), so they are read again only when a new
    fact can change them; a marker that moved without a new fact of today (master
    data, a fact of another day, a push accepted) reads everything again.
    """
    if before.day != now.day or not new_kinds:
        return Rereads(cases=True, overdue=True)
    return Rereads(
        cases=bool(new_kinds & CASE_KINDS) or now.last_sync != before.last_sync,
        overdue=not new_kinds <= LOANS_UNMOVED,
    )
