"""The append-only journal: every fact kept, in the order the desk and this database saw it.

A fact is written with :func:`record`, which inserts the journal row and applies the
fact to the state tables (by its kind's row in :mod:`kiosk.data.core.kinds`) in the
caller's transaction, so a crash leaves either both or neither. :func:`rebuild`
replays the journal into empty state tables, which is how the state is proven to be
a projection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from kiosk.data.core import kinds
from kiosk.data.core.db import database, is_postgres
from kiosk.data.core.facts import Fact
from kiosk.data.core.models import ClassCorner, Copy, CopyEvent, Hold, Journal, Loan
from kiosk.data.core.prepared import Prepared, execute_held
from kiosk.data.core.projection import Known

_INSERT_FACT = Prepared(
    lambda uuid, kind, kiosk, wall_time, hlc, patron, copy, data: Journal.insert(
        uuid=uuid, kind=kind, kiosk=kiosk, wall_time=wall_time, hlc=hlc, patron=patron,
        copy=copy, data=data,
    )
)


def lock_journal() -> None:
    """Serialise the desk's writers of facts (call first in the transaction).

    A PostgreSQL sequence hands out numbers in the order transactions *ask*, not the
    order they commit; a kiosk pulling "everything after 100" could then miss a 99
    committed a moment later. Holding this lock until commit makes the desk's
    journal numbers follow commit order. SQLite's writers are one at a time already.
    """
    db = database.obj
    if is_postgres(db):
        execute_held(db, "LOCK TABLE journal IN EXCLUSIVE MODE")


def record(fact: Fact, known: Known | None = None) -> Known:
    """Append ``fact`` to the journal and apply it to the state tables.

    Call inside a transaction: the row and its state change commit together.
    ``known`` passes rows the caller already read (see :class:`projection.Known`);
    the projection's findings come back in the returned object.
    """
    lock_journal()
    _INSERT_FACT.execute(
        fact.uuid, fact.kind, fact.kiosk, fact.wall_time, fact.hlc, fact.patron, fact.copy,
        json.dumps(fact.data, ensure_ascii=False, sort_keys=True),
    )
    return kinds.apply(fact, known)


def last_hlc() -> str | None:
    """The highest clock reading in the journal (to start the clock after a restart)."""
    row = Journal.select(Journal.hlc).order_by(Journal.hlc.desc()).first()
    return row.hlc if row else None


_FACT_COLUMNS = ("uuid", "kind", "kiosk", "wall_time", "hlc", "patron", "copy", "data",
                 "pushed_at", "desk_seq")


def sqlite_time(value: datetime | str | None) -> str | None:
    """A time as the text sqlite3's default adapter writes for it, without the adapter's
    Python call per value (a tenth of a kiosk's catch-up); text and None pass as they are."""
    return value.isoformat(" ") if isinstance(value, datetime) else value


def data_text(fact: Fact) -> str:
    """``fact.data`` as the journal stores it."""
    return json.dumps(fact.data, ensure_ascii=False, sort_keys=True)


def insert_facts(
    facts: Sequence[Fact],
    *,
    pushed_at: datetime | None,
    seqs: Sequence[int | None] | None = None,
    texts: Sequence[str] | None = None,
) -> None:
    """Insert journal rows for ``facts`` (no projection: the caller applies them).

    For the sync and the desk's master data, which write facts by the hundred: one
    prepared statement run per row on SQLite, 500-row statements on PostgreSQL (peewee
    would build a new many-row INSERT for every batch, which costs more than the
    database's work). ``seqs`` are the facts' places in the desk's order, if known;
    ``texts`` their data as another journal stored it (:func:`data_text`), if at hand.
    """
    insert_rendered(render_facts(facts, pushed_at=pushed_at, seqs=seqs, texts=texts))


def render_facts(
    facts: Sequence[Fact],
    *,
    pushed_at: datetime | None,
    seqs: Sequence[int | None] | None = None,
    texts: Sequence[str] | None = None,
) -> list[Any]:
    """The journal rows of ``facts``, ready for :func:`insert_rendered`, one per fact.

    The desk renders a push's rows before it takes the journal lock, so the lock is
    held for the database's work only (twenty kiosks pushing at once queue for it).
    """
    places = seqs if seqs is not None else [None] * len(facts)
    datas = texts if texts is not None else [data_text(f) for f in facts]
    db = database.obj
    if is_postgres(db):
        row = "(" + ", ".join("%s" for _ in _FACT_COLUMNS) + ")"
        cursor = db.cursor()  # only to quote values the server's way
        return [
            cursor.mogrify(
                row,
                (f.uuid, f.kind, f.kiosk, f.wall_time, f.hlc, f.patron, f.copy, text,
                 pushed_at, place),
            )
            for f, place, text in zip(facts, places, datas, strict=True)
        ]
    stamp = sqlite_time(pushed_at)
    return [
        (f.uuid, f.kind, f.kiosk, sqlite_time(f.wall_time), f.hlc, f.patron, f.copy, text,
         stamp, place)
        for f, place, text in zip(facts, places, datas, strict=True)
    ]


def insert_rendered(rows: Sequence[Any]) -> None:
    """Insert journal rows made by :func:`render_facts` (for this kind of database)."""
    if not rows:
        return
    columns = ", ".join(f'"{name}"' for name in _FACT_COLUMNS)
    db = database.obj
    if is_postgres(db):
        for start in range(0, len(rows), 500):
            values = b", ".join(rows[start : start + 500]).decode()
            db.execute_sql(f'INSERT INTO "journal" ({columns}) VALUES ' + values)
    else:
        marks = ", ".join("?" for _ in _FACT_COLUMNS)
        with pw.__exception_wrapper__:  # sqlite3's errors as peewee's, like every other
            db.cursor().executemany(f'INSERT INTO "journal" ({columns}) VALUES ({marks})', rows)


CANONICAL_ORDER = (Journal.desk_seq.is_null(), Journal.desk_seq, Journal.seq)
"""The order facts are applied in: the desk's order for the facts it has accepted,
then this database's own facts not yet placed by the desk (docs/sync.md)."""


def rebuild() -> int:
    """Empty the circulation state and replay every fact in the canonical order.

    Returns the number of facts replayed. Call inside a transaction.
    """
    Loan.delete().execute()
    Hold.delete().execute()
    CopyEvent.delete().execute()
    ClassCorner.delete().execute()
    # Every status is a fold of the copy's facts (lost, repair... are ``copy_status``
    # facts), so the replay starts from "available" everywhere.
    Copy.update(status="available").execute()
    count = 0
    for row in Journal.select().order_by(*CANONICAL_ORDER).iterator():
        if kinds.applies(row.kind):
            kinds.apply(Fact.from_row(row))
        count += 1
    return count
