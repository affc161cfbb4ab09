"""Push: the kiosk's unsent facts to the desk, which applies each it has not seen
and records a case where a conflict rule decided."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from kiosk.data.core import (
    journal,
    kinds,
    masterdata,
)
from kiosk.data.core.conflicts import Case
from kiosk.data.core.db import database, write_gate
from kiosk.data.core.facts import Fact, to_db_time, utcnow
from kiosk.data.core.models import (
    OPEN_HOLDS,
    Copy,
    Hold,
    Journal,
    KioskRegistration,
    Loan,
    Patron,
    SyncCase,
)
from kiosk.data.core.prepared import pipelined
from kiosk.data.core.projection import Known
from kiosk.data.sync.batch import apply_facts
from kiosk.data.sync.joining import check_registration
from kiosk.data.sync.local import Identity

log = logging.getLogger(__name__)

PUSH_BATCH = 500
"""Facts per push transaction at the desk."""


# -- conflicts (at the desk) ----------------------------------------------------------


class Preloaded:
    """The rows a batch of facts needs, read once for the whole batch.

    Applying a fact then costs only its writes: the copies, patrons and open loans
    are read here in a few queries, and kept current as the facts are applied (the
    projection mutates the cached copies and reports each copy's open loan). Titles
    with no waiting or ready hold skip the hold queries altogether (unless a hold is
    ready on the very copy).
    """

    def __init__(self, facts: Sequence[Fact]) -> None:
        self.copies: dict[str, Copy] = {}
        self.patrons: dict[str, Patron] = {}
        self.open: dict[int, Loan | None] = {}
        for part in masterdata.chunks({f.copy for f in facts if f.copy}):
            self.copies.update((c.barcode, c) for c in Copy.select().where(Copy.barcode.in_(part)))
        for part in masterdata.chunks({f.patron for f in facts if f.patron}):
            self.patrons.update(
                (p.number, p) for p in Patron.select().where(Patron.number.in_(part))
            )
        for part in masterdata.chunks([copy.id for copy in self.copies.values()]):
            self.open.update((copy_id, None) for copy_id in part)
            self.open.update(
                (loan.copy_id, loan)
                for loan in Loan.select().where(Loan.copy.in_(part) & Loan.returned_at.is_null())
            )
        titles = {copy.title_id for copy in self.copies.values()}
        self.held: set[int] = {
            self.copies[f.copy].title_id
            for f in facts
            if f.kind in kinds.PLACES_HOLDS and f.copy in self.copies
        }
        for part in masterdata.chunks(titles):
            self.held.update(
                title
                for (title,) in Hold.select(Hold.title)
                .where(Hold.title.in_(part) & Hold.status.in_(OPEN_HOLDS))
                .distinct()
                .tuples()
            )
        # a copy the librarian moved to another title while a reservation was ready on it
        # still carries that reservation, though its new title may have none
        self.ready_on: set[int] = set()
        for part in masterdata.chunks([copy.id for copy in self.copies.values()]):
            self.ready_on.update(
                copy_id
                for (copy_id,) in Hold.select(Hold.copy)
                .where(Hold.copy.in_(part) & (Hold.status == "ready"))
                .tuples()
            )

    def known(self, fact: Fact) -> Known:
        """What the projection needs to know about ``fact``'s copy and patron."""
        known = Known()
        copy = self.copies.get(fact.copy) if fact.copy else None
        if copy is not None:
            known.copy = copy
            known.open_loan = self.open.get(copy.id)
            known.holds_possible = copy.title_id in self.held or copy.id in self.ready_on
        if fact.patron is not None:
            known.patron = self.patrons.get(fact.patron)
        return known

    def applied(self, known: Known) -> None:
        """Keep the cache current after the projection applied a fact."""
        if known.copy is not None and known.copy.id in self.open:
            self.open[known.copy.id] = known.open_loan


# -- push -----------------------------------------------------------------------------


def accept(facts: Sequence[Fact], ident: Identity) -> int:
    """At the desk (models pointed at it, inside its transaction): take a kiosk's facts.

    Returns how many were new. A fact seen before is skipped; a fact another kiosk
    would have had to make, or a kind of master data (only the desk makes those),
    is refused and recorded as a case instead.
    """
    now = to_db_time(utcnow())
    rendered = dict(zip((f.uuid for f in facts), journal.render_facts(facts, pushed_at=now)))
    journal.lock_journal()
    registration = check_registration(ident)
    fresh = _take(facts, rendered, ident.kiosk, now)
    KioskRegistration.update(
        last_seen_at=now, facts_pushed=KioskRegistration.facts_pushed + len(fresh)
    ).where(KioskRegistration.kiosk == registration.kiosk).execute()
    return len(fresh)


def accept_made_elsewhere(facts: Sequence[Fact], source: str) -> int:
    """At the desk (models pointed at it, inside its transaction): facts that ``source``,
    a machine the desk serves itself, made while it could not reach the desk.

    A SIP2 terminal's offline loans and returns (``kiosk/sip2``) are such facts: they
    happened at their own time, the book has already left or come back, so they are
    taken exactly as a kiosk's pushed facts are (numbered in the desk's order under the
    journal lock, a repeat skipped by UUID, the conflict rules applied and their cases
    recorded), only without a kiosk's registration and token. Returns how many were new.
    """
    now = to_db_time(utcnow())
    rendered = dict(zip((f.uuid for f in facts), journal.render_facts(facts, pushed_at=now)))
    journal.lock_journal()
    return len(_take(facts, rendered, source, now))


def _take(facts: Sequence[Fact], rendered: dict[str, Any], source: str, now: datetime) -> list[Fact]:
    """Store and apply the facts of ``source`` the desk has not seen (under the journal
    lock); refuse, as a case, a fact naming another source or a kind of master data."""
    uuids = [fact.uuid for fact in facts]
    seen = set(Journal.select(Journal.uuid).where(Journal.uuid.in_(uuids)).tuples())
    seen = {uuid for (uuid,) in seen}
    fresh: list[Fact] = []
    for fact in facts:
        if fact.uuid in seen:
            continue
        seen.add(fact.uuid)
        if fact.kiosk != source or fact.kind in kinds.MASTER:
            _record_case(Case("refused_fact", data={"kind": fact.kind, "from": fact.kiosk}), fact, source, now)
            continue
        fresh.append(fact)
    journal.insert_rendered([rendered[fact.uuid] for fact in fresh])
    with pipelined(database.obj):
        apply_facts(
            [fact for fact in fresh if kinds.applies(fact.kind)],
            lambda run: _apply_accepted(run, Preloaded(run), source, now),
            now=now,
        )
    for fact in fresh:
        if not kinds.applies(fact.kind):
            log.warning("fact kind %s unknown to this desk: kept, not applied", fact.kind)
    return fresh


def _apply_accepted(fresh: list[Fact], rows: Preloaded, source: str, now: datetime) -> None:
    for fact in fresh:
        if not kinds.applies(fact.kind):
            log.warning("fact kind %s unknown to this desk: kept, not applied", fact.kind)
            continue
        known = rows.known(fact)
        for case in kinds.cases(fact, known):
            _record_case(case, fact, source, now)
        kinds.apply(fact, known)
        rows.applied(known)


def _record_case(case: Case, fact: Fact, source: str, now: datetime) -> None:
    log.info("sync case %s: fact %s from %s", case.kind, fact.uuid, source)
    SyncCase.insert(
        kind=case.kind, fact=fact.uuid, other=case.other, kiosk=fact.kiosk,
        patron=fact.patron, copy=fact.copy, created_at=now,
        data=json.dumps(case.data, ensure_ascii=False, sort_keys=True),
    ).on_conflict_ignore().execute()


def pending_count() -> int:
    """Facts made here that the desk has not accepted yet."""
    return Journal.select().where(Journal.pushed_at.is_null()).count()


def push(
    local: pw.Database, desk: pw.Database, ident: Identity, *, limit: int = PUSH_BATCH,
    upto: int | None = None,
) -> int:
    """Push one batch of unsent facts (made up to local seq ``upto``, if given).

    Returns how many were sent (0: nothing left).
    """
    with database.using(local):
        query = Journal.select().where(Journal.pushed_at.is_null())
        if upto is not None:
            query = query.where(Journal.seq <= upto)
        rows = list(
            query.select(
                Journal.seq, Journal.kind, Journal.uuid, Journal.kiosk, Journal.wall_time,
                Journal.hlc, Journal.patron, Journal.copy, Journal.data,
            )
            .order_by(Journal.seq)
            .limit(limit)
            .tuples()
        )
    if not rows:
        return 0
    facts = [Fact(*row[1:8], data=json.loads(row[8])) for row in rows]
    last_seq = rows[-1][0]
    with database.using(desk), desk.atomic():
        accept(facts, ident)
    # A crash here sends the batch again next time: the desk skips what it has.
    with database.using(local), write_gate.background(), local.atomic():
        Journal.update(pushed_at=to_db_time(utcnow())).where(
            Journal.pushed_at.is_null() & (Journal.seq <= last_seq)
        ).execute()
    return len(rows)
