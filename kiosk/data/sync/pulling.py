"""Pull: the desk's facts after the kiosk's cursor, applied in batches; a title whose
history here holds facts the desk has not placed is replayed in the canonical order."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

import peewee as pw

from kiosk.data.core import (
    journal,
    kinds,
    masterdata,
)
from kiosk.data.core.db import database, is_postgres, write_gate
from kiosk.data.core.facts import Fact, to_db_time, utcnow
from kiosk.data.core.journal import CANONICAL_ORDER
from kiosk.data.core.models import (
    Copy,
    Hold,
    Journal,
    Loan,
)
from kiosk.data.sync.batch import State, apply_facts, bound, select_in
from kiosk.data.sync.local import Identity, local_get, local_put
from kiosk.data.sync.pushing import Preloaded

log = logging.getLogger(__name__)

PULL_BATCH = 2000
"""Facts per pull transaction at the kiosk (master facts are applied in bulk)."""
PULL_CIRCULATION_BATCH = 200
"""At most this many circulation facts per pull transaction, so that a scan never
waits behind a long one."""
PULL_IDLE_BATCH = 1000
"""Circulation facts per pull transaction while nobody uses the kiosk (see
``PULL_IDLE_AFTER``): a kiosk catching up after a day offline, or a new one, does it in
fewer, bigger transactions (each costs SQLite a rewrite of the index pages it touched)."""
PULL_IDLE_AFTER = 2.0
"""Seconds without a scan's write after which the kiosk counts as idle."""


# -- pull -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Pulled:
    seq: int
    fact: Fact
    text: str | None = None
    """The fact's data as the desk stores it (the kiosk stores the same text)."""


def rebase_title(title_id: int) -> int:
    """Replay a title's loans, holds and copy statuses from its facts in canonical order.

    Returns how many facts were replayed. Call inside a transaction.
    """
    copies = list(Copy.select(Copy.id, Copy.barcode).where(Copy.title == title_id).tuples())
    ids = [copy_id for copy_id, _ in copies]
    barcodes = [barcode for _, barcode in copies]
    Loan.delete().where(Loan.copy.in_(ids)).execute()
    Hold.delete().where(Hold.title == title_id).execute()
    Copy.update(status="available").where(Copy.id.in_(ids)).execute()
    count = 0
    query = Journal.select().where(Journal.copy.in_(barcodes)).order_by(*CANONICAL_ORDER)
    for row in query:
        if kinds.applies(row.kind):
            kinds.apply(Fact.from_row(row))
            count += 1
    return count


class _Unplaced:
    """This kiosk's own facts naming a copy that the desk has not placed yet.

    Kept across the transactions of one :func:`pull` (see ``_pulling``), so each
    batch reads only the journal rows made since the last one, not every row after
    the oldest unplaced fact (which, while a kiosk's own facts wait behind other
    kiosks' at the desk, is every row pulled meanwhile).
    """

    def __init__(self, placed_upto: int) -> None:
        self.checked = placed_upto
        self.seqs: dict[int, str] = {}

    def refresh(self) -> None:
        """Take in the rows made since the last look (this kiosk's new facts)."""
        db = bound()
        self.seqs.update(
            db.execute_sql(
                'SELECT "seq", "copy" FROM "journal" WHERE "seq" > ' + db.param
                + ' AND "desk_seq" IS NULL AND "copy" IS NOT NULL',
                [self.checked],
            ).fetchall()
        )
        self.checked = db.execute_sql('SELECT MAX("seq") FROM "journal"').fetchone()[0] or 0

    def placed_upto(self) -> int:
        """Every own fact naming a copy up to this local number is placed."""
        return min(self.seqs) - 1 if self.seqs else self.checked


_pulling = threading.local()
"""This thread's :class:`_Unplaced` while :func:`pull` runs (``active``/``unplaced``)."""


def _apply_pulled(batch: list[_Pulled]) -> dict[str, int]:
    """Apply one pulled batch here (inside the kiosk's transaction)."""
    # Only facts made by this kiosk can be here already: a fact names the kiosk that
    # made it (the desk refuses any other), and master facts are the desk's.
    me = local_get("kiosk_id")
    uuids = [
        item.fact.uuid for item in batch
        if item.fact.kiosk == me and item.fact.kind not in kinds.MASTER
    ]
    mine: dict[str, int] = dict(
        select_in('SELECT "uuid", "seq" FROM "journal" WHERE "uuid" IN', uuids)
    )
    tracker: _Unplaced | None = getattr(_pulling, "unplaced", None)
    if tracker is None:
        tracker = _Unplaced(int(local_get("placed_upto") or 0))
        if getattr(_pulling, "active", False):
            _pulling.unplaced = tracker
    tracker.refresh()
    now = to_db_time(utcnow())
    # Own facts come back with their place in the desk's order.
    placed = [(item.seq, now, item.fact.uuid) for item in batch if item.fact.uuid in mine]
    if placed:
        with pw.__exception_wrapper__:
            database.cursor().executemany(
                "UPDATE journal SET desk_seq = ?, pushed_at = COALESCE(pushed_at, ?) "
                "WHERE uuid = ?",
                placed,
            )
        for _, _, uuid in placed:
            tracker.seqs.pop(mine[uuid], None)
    foreign = [item for item in batch if item.fact.uuid not in mine]
    master = [item.fact for item in foreign if item.fact.kind in kinds.MASTER]
    events = [item for item in foreign if item.fact.kind not in kinds.MASTER]
    masterdata.apply_many(master)
    texts = [item.text for item in events]
    journal.insert_facts(
        [item.fact for item in events], pushed_at=now, seqs=[item.seq for item in events],
        texts=None if None in texts else texts,  # type: ignore[arg-type]
    )
    # Which titles hold facts here that the desk has not placed yet (or placed only now)?
    # Only a batch with other kiosks' facts can need a rebase.
    unplaced: set[str] = set()
    if events:
        unplaced = set(tracker.seqs.values())
        unplaced.update(
            item.fact.copy for item in batch if item.fact.uuid in mine and item.fact.copy
        )
    state = State()
    state.load([item.fact for item in events], unplaced)
    titles = {barcode: copy.title_id for barcode, copy in state.copies.items()}
    dirty = {titles[b] for b in unplaced if b in titles}
    rebase: set[int] = set()
    direct: list[Fact] = []
    for item in events:
        fact = item.fact
        if not kinds.applies(fact.kind):
            continue
        title = titles.get(fact.copy) if fact.copy else None
        if title is not None and title in dirty:
            rebase.add(title)
        else:
            direct.append(fact)
    apply_facts(direct, _apply_one_by_one, state=state)
    replayed = sum(rebase_title(title) for title in sorted(rebase))
    local_put("placed_upto", str(tracker.placed_upto()))
    local_put("cursor", str(batch[-1].seq))
    return {"master": len(master), "events": len(events), "rebased": len(rebase), "replayed": replayed}


def _apply_one_by_one(facts: list[Fact]) -> None:
    """The per-fact way for a run of pulled facts (see :func:`batch.apply_facts`)."""
    rows = Preloaded(facts)
    for fact in facts:
        known = rows.known(fact)
        kinds.apply(fact, known)
        rows.applied(known)


_DESK_BATCH_SQL = (
    'SELECT "t1"."seq", "t1"."uuid", "t1"."kind", "t1"."kiosk", "t1"."wall_time", "t1"."hlc",'
    ' "t1"."patron", "t1"."copy", "t1"."data" FROM "journal" AS "t1"'
    ' WHERE ("t1"."seq" > {0}) ORDER BY "t1"."seq" LIMIT {0}'
)
_WALL_TIME = Journal.wall_time.python_value


def _desk_batch(cursor: int, limit: int) -> list[_Pulled]:
    """The desk's next ``limit`` facts after ``cursor``, in its order."""
    db = bound()
    rows = db.execute_sql(_DESK_BATCH_SQL.format(db.param), [cursor, limit]).fetchall()
    wall = (lambda value: value) if is_postgres(db) else _WALL_TIME  # (SQLite keeps text)
    return [
        _Pulled(seq, Fact(kind, uuid, kiosk, wall(wall_time), hlc, patron, copy,
                          json.loads(data)), data)
        for seq, uuid, kind, kiosk, wall_time, hlc, patron, copy, data in rows
    ]


def _part(batch: list[_Pulled], start: int, events: int) -> list[_Pulled]:
    """The facts of ``batch`` from ``start`` on, up to ``events`` circulation facts."""
    end, count = start, 0
    while end < len(batch):
        if batch[end].fact.kind not in kinds.MASTER:
            if count == events:
                break
            count += 1
        end += 1
    return batch[start:end]


def _part_size() -> int:
    """Circulation facts in the next pull transaction: few while the kiosk is in use."""
    if write_gate.idle_for() >= PULL_IDLE_AFTER:
        return max(PULL_CIRCULATION_BATCH, PULL_IDLE_BATCH)
    return PULL_CIRCULATION_BATCH


def pull(
    local: pw.Database, desk: pw.Database, ident: Identity, *, limit: int = PULL_BATCH
) -> dict[str, int]:
    """Pull up to ``limit`` of the desk's facts and apply them.

    One read from the desk; the facts are applied here in transactions of at most
    :data:`PULL_CIRCULATION_BATCH` circulation facts, so a scan never waits long.
    Returns counts: ``facts`` (0: up to date), ``master``, ``events``, ``rebased``
    (titles replayed) and ``replayed`` (facts replayed for them).
    """
    with database.using(local):
        cursor = int(local_get("cursor") or 0)
    with database.using(desk):
        fetched = _desk_batch(cursor, limit)
    totals = {"facts": 0, "master": 0, "events": 0, "rebased": 0, "replayed": 0}
    if not fetched:
        return {"facts": 0}
    _pulling.active, _pulling.unplaced = True, None
    try:
        start = 0
        while start < len(fetched):
            part = _part(fetched, start, _part_size())
            start += len(part)
            with database.using(local), write_gate.background(), local.atomic():
                if int(local_get("cursor") or 0) != cursor:  # another sync got here first
                    break
                stats = _apply_pulled(part)
            cursor = part[-1].seq
            totals["facts"] += len(part)
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value
    finally:
        _pulling.active, _pulling.unplaced = False, None
    return totals
