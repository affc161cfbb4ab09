"""Desks and kiosks for the sync tests: real databases, the real services.

A :class:`Site` is a desk (an SQLite file or a PostgreSQL database) with a small
catalogue and roster saved as master facts, and any number of :class:`Kiosk` objects,
each an SQLite file joined to the desk with its own :class:`Circulation` service.
:func:`state` reads a database's circulation state in a form that compares equal
across databases (natural keys only, no row ids).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import peewee as pw

from kiosk.data import sync
from kiosk.data.core import journal, kinds, library, masterdata
from kiosk.data.core.db import database
from kiosk.data.core.facts import Fact, HybridClock
from kiosk.data.core.models import (
    Card,
    ClassCorner,
    Copy,
    CopyEvent,
    Hold,
    Journal,
    Loan,
    Patron,
    SchoolClass,
    SyncCase,
    Title,
)
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation

CLASSES = ["3A", "3B"]


def students(count: int) -> list[str]:
    return [f"S{i:04d}" for i in range(1, count + 1)]


def barcodes(count: int) -> list[str]:
    return [f"B{i:05d}" for i in range(1, count + 1)]


def on(db: pw.Database) -> AbstractContextManager[pw.Database]:
    """Point the models at ``db`` (this thread) with a connection open."""
    return database.session(db)


def populate(desk: pw.Database, *, patrons: int = 6, titles: int = 4, copies_per_title: int = 2,
             when: datetime | None = None) -> None:
    """Save a small school's classes, students, a librarian and a catalogue at the desk."""
    with on(desk), desk.atomic():
        masterdata.save_many(
            "class_saved", [{"name": name, "grade": 3} for name in CLASSES], when=when
        )
        masterdata.save_many(
            "patron_saved",
            [
                {"patron": number, "name": f"Student {number}", "kind": "student",
                 "class": CLASSES[i % len(CLASSES)]}
                for i, number in enumerate(students(patrons))
            ],
            when=when,
        )
        masterdata.save_many(
            "title_saved",
            [
                {"key": f"T{i}", "title": f"Book {i}", "author": "An Author",
                 "classification": "I247", "kind": "book"}
                for i in range(titles)
            ],
            when=when,
        )
        masterdata.save_many(
            "copy_saved",
            [
                {"copy": code, "title": f"T{i // copies_per_title}", "shelf": "I"}
                for i, code in enumerate(barcodes(titles * copies_per_title))
            ],
            when=when,
        )
        # Generous limits, so that random circulation mostly lends.
        masterdata.save_many(
            "rule_saved",
            [{"patron_kind": "student", "item_kind": "*", "loan_days": 14, "max_items": 50,
              "max_renewals": 3}],
            when=when,
        )
        clock = HybridClock("desk", journal.last_hlc())
        for number in students(patrons):
            library.issue_card(number, when=when, clock=clock)


@dataclass
class Kiosk:
    """One kiosk: its database, its circulation service and its registration."""

    name: str
    db: pw.Database
    circulation: Circulation
    ident: sync.Identity

    def sync(self, desk: pw.Database) -> sync.SyncReport:
        return sync.sync_once(self.db, desk, self.ident)


@dataclass
class Site:
    """A desk and its kiosks."""

    desk_url: str
    desk: pw.Database
    folder: Path
    clock: Callable[[], datetime]
    kiosks: dict[str, Kiosk] = field(default_factory=dict)

    def add_kiosk(self, name: str) -> Kiosk:
        url = f"sqlite:///{self.folder / (name + '.sqlite')}"
        db = library.open_library(url, create=True)
        ident = sync.join(db, self.desk_url, name)
        report = sync.sync_once(db, self.desk, ident)
        assert report.pulled > 0
        kiosk = Kiosk(name, db, Circulation(Store(db, name, clock=self.clock)), ident)
        self.kiosks[name] = kiosk
        return kiosk


def make_site(desk_url: str, folder: Path, clock: Callable[[], datetime], **sizes: Any) -> Site:
    desk = sync.init_desk(desk_url)
    populate(desk, when=clock(), **sizes)
    return Site(desk_url, desk, folder, clock)


def state(db: pw.Database) -> dict[str, Any]:
    """The circulation state of ``db`` by natural keys."""
    with on(db):
        loans = sorted(
            (loan.id, copy, number, str(loan.out_at), str(loan.returned_at), str(loan.due_on),
             loan.renewals, loan.corner)
            for loan, copy, number in (
                (row, row.copy.barcode, row.patron.number)
                for row in Loan.select(Loan, Copy, Patron).join(Copy).switch(Loan).join(Patron)
            )
        )
        statuses = dict(Copy.select(Copy.barcode, Copy.status).tuples())
        holds = sorted(
            (hold.id, hold.title.key, hold.patron.number, hold.status,
             hold.copy.barcode if hold.copy_id else None)
            for hold in Hold.select(Hold, Title, Patron).join(Title).switch(Hold).join(Patron)
        )
        cards = sorted(
            (card.patron.number, card.serial, card.revoked_at is not None)
            for card in Card.select(Card, Patron).join(Patron)
        )
        corners = sorted(
            (corner.id, corner.school_class.name, corner.teacher.number, str(corner.due_on),
             corner.closed_at is not None, corner.missing,
             tuple(sorted(copy for (copy,) in Loan.select(Copy.barcode).join(Copy)
                          .where(Loan.corner == corner.id).tuples())))
            for corner in ClassCorner.select(ClassCorner, SchoolClass, Patron)
            .join(SchoolClass).switch(ClassCorner).join(Patron)
        )
        events = sorted(
            (event.fact, event.copy.barcode, event.action, event.status, event.reason,
             event.settlement, event.patron.number if event.patron_id else None)
            for event in CopyEvent.select(CopyEvent, Copy, Patron).join(Copy)
            .switch(CopyEvent).join(Patron, pw.JOIN.LEFT_OUTER)
        )
    return {"loans": loans, "statuses": statuses, "holds": holds, "cards": cards,
            "corners": corners, "events": events}


def card_code(site: Site, number: str) -> str:
    """The code on patron ``number``'s current card, as the desk printed it."""
    with on(site.desk):
        code = library.current_card(number)
    assert code is not None
    return code


def circulation_facts(db: pw.Database) -> list[str]:
    """The UUIDs of the circulation facts ``db`` holds (master facts left out)."""
    with on(db):
        return sorted(
            uuid
            for (uuid,) in Journal.select(Journal.uuid)
            .where(Journal.kind.not_in(list(kinds.MASTER)))
            .tuples()
        )


def cases(db: pw.Database) -> list[tuple[str, str | None, str | None]]:
    with on(db):
        return [
            (case.kind, case.patron, case.copy)
            for case in SyncCase.select().order_by(SyncCase.id)
        ]


def replay(db: pw.Database, folder: Path, name: str = "replay") -> dict[str, Any]:
    """The state a fresh database reaches by replaying ``db``'s journal in its order."""
    path = folder / (name + ".sqlite")
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    fresh = library.open_library(f"sqlite:///{path}", create=True)
    with on(db):
        rows = list(Journal.select().order_by(*journal.CANONICAL_ORDER))
    facts = [Fact.from_row(row) for row in rows]
    with on(fresh), fresh.atomic():
        master = [f for f in facts if f.kind in kinds.MASTER]
        masterdata.apply_many(master)
        for fact in facts:
            if fact.kind not in kinds.MASTER:
                journal.record(fact)
    result = state(fresh)
    fresh.close()
    return result


def rebuilt(db: pw.Database, folder: Path, name: str = "rebuilt") -> dict[str, Any]:
    """The state a copy of the SQLite database ``db`` reaches by replaying its own journal."""
    path = folder / (name + ".sqlite")
    path.unlink(missing_ok=True)
    with on(db):
        db.execute_sql("VACUUM INTO ?", (str(path),))
    copy = library.open_library(f"sqlite:///{path}")
    with on(copy), copy.atomic():
        journal.rebuild()
    result = state(copy)
    copy.close()
    return result


def days(n: int) -> timedelta:
    return timedelta(days=n)


def payload(fact_data: str) -> dict[str, Any]:
    return json.loads(fact_data)


def iso(day: date) -> str:
    return day.isoformat()


def converged(
    site: Site, folder: Path, *, alike: Callable[[pw.Database], Any] | None = None
) -> dict[str, Any]:
    """Sync every kiosk twice round; assert they all hold the desk's state and facts, have
    nothing left to send, and that a replay of the desk's journal gives its state. ``alike``
    reads something more that every kiosk must hold as the desk does."""
    for _ in range(2):
        for kiosk in site.kiosks.values():
            kiosk.sync(site.desk)
    desk = state(site.desk)
    for kiosk in site.kiosks.values():
        assert state(kiosk.db) == desk, kiosk.name
        assert circulation_facts(kiosk.db) == circulation_facts(site.desk), kiosk.name
        if alike is not None:
            assert alike(kiosk.db) == alike(site.desk), kiosk.name
        with on(kiosk.db):
            assert sync.pending_count() == 0
    assert replay(site.desk, folder) == desk
    return desk


def desk_circulation(site: Site, clock: Callable[[], datetime]) -> Circulation:
    """The librarian's own circulation service, on the desk's database."""
    return Circulation(Store(site.desk, "desk", clock=clock))
