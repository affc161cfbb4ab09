"""Applying a batch of circulation facts at once, with the state one fact at a time gives.

The sync applies facts by the hundred: the desk a kiosk's push, a kiosk the other
kiosks' facts it pulls. Applied one by one (:func:`kiosk.data.core.kinds.apply`),
every checkout, return and renewal costs a few statements, and on a busy desk the
server's work on those small statements, or at a kiosk the Python around them, is
most of a sync. Here the common facts -- ``checkout``, ``checkin``, ``renew`` and
the facts that change nothing -- are played in memory against the rows they touch
(read once for the batch), and only their net effect is written: one statement per
table (new loans, changed loans, copy statuses, the desk's cases).

Exactness comes first. A fact is played here only where its effect is known to be
the projection's, written out below rule by rule:

- its kind's row says the batch may play it in memory (``Batch.MEMORY`` in
  :mod:`kiosk.data.core.kinds`) and no extra of the kind concerns it;
- its title has no waiting or ready hold and gets none in the batch (the hold rules
  read and write holds: those facts go the per-fact way);
- a checkout by a patron who is no longer active (the case lists the patron's open
  loans), a renewal of a copy this database does not know, a card serial that is not
  a number: the per-fact way.

Every other fact is handed, in order, to the caller's per-fact applier after the net
writes so far are written, so it sees the database as a fact-by-fact application
would; the rows it may have changed are read again before the batch goes on. The
tests compare both ways on random batches (``tests/test_sync_batch.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core import kinds
from kiosk.data.core.conflicts import Case
from kiosk.data.core.db import database, is_postgres
from kiosk.data.core.facts import Fact
from kiosk.data.core.journal import sqlite_time
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Card, Loan

log = logging.getLogger(__name__)

CHUNK = 400
"""Values per ``IN (...)`` list and rows per many-row statement."""

_OUT_AT = Loan.out_at.python_value
_RETURNED_AT = Loan.returned_at.python_value
_DUE_ON = Loan.due_on.python_value
_REVOKED_AT = Card.revoked_at.python_value


@dataclass(slots=True)
class _Loan:
    id: str
    copy_id: int
    patron_id: int
    out_at: datetime
    due_on: date
    returned_at: datetime | None
    renewals: int
    kiosk: str
    stored: bool
    """In the database already (else inserted at the next write)."""


@dataclass(slots=True)
class _Copy:
    id: int
    title_id: int
    status: str
    stored: str
    """The status the database holds."""


def bound() -> pw.Database:
    """The database the models are bound to in this thread."""
    db = database.obj
    if db is None:
        raise RuntimeError("no database is open")
    return db


def select_in(sql: str, values: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (which ends in ``IN``) for ``values``, a chunk at a time."""
    db = bound()
    items = list(values)
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(items), CHUNK):
        part = items[start : start + CHUNK]
        marks = ", ".join(db.param for _ in part)
        rows.extend(db.execute_sql(f"{sql} ({marks})", part).fetchall())
    return rows


class State:
    """The rows a batch's facts touch, read once, and kept current as they are played.

    ``copies`` (barcode -> id, title, status) also serves the caller that must know
    the titles of a batch's copies before applying it (the pull, to find rebases).
    """

    def __init__(self) -> None:
        self.copies: dict[str, _Copy] = {}
        self.absent: set[str] = set()
        self.by_id: dict[int, str] = {}
        self.open: dict[int, _Loan | None] = {}
        self.loans: dict[str, _Loan] = {}
        self.checked_loans: set[str] = set()
        self.patrons: dict[str, tuple[int, bool]] = {}
        self.no_patron: set[str] = set()
        self.cards: dict[tuple[int, int], datetime | None] = {}
        self.card_patrons: set[int] = set()
        self.held: set[int] = set()
        self.ready_on: set[int] = set()
        """Copies a reservation is ready on (a copy moved to another title may carry one
        its new title does not show)."""
        self.checked_titles: set[int] = set()
        self.hold_barcodes: set[str] = set()
        self.plain: dict[str, bool | None] = {}

    # -- reading ------------------------------------------------------------------

    def load(self, facts: Sequence[Fact], barcodes: Iterable[str] = ()) -> None:
        """Read what ``facts`` (and the copies ``barcodes``) need and this state does not
        hold yet."""
        barcodes = {
            b for b in [*(f.copy for f in facts if f.copy), *barcodes] if b not in self.copies
        } - self.absent
        found = select_in('SELECT "id", "barcode", "title_id", "status" FROM "copy" WHERE "barcode" IN', barcodes)
        for copy_id, barcode, title_id, status in found:
            self.copies[barcode] = _Copy(copy_id, title_id, status, status)
            self.by_id[copy_id] = barcode
        self.absent |= barcodes - {row[1] for row in found}
        new_ids = [row[0] for row in found]
        for copy_id in new_ids:
            self.open[copy_id] = None
        self.ready_on.update(
            copy_id for (copy_id,) in select_in(
                'SELECT "copy_id" FROM "hold" WHERE "status" = \'ready\' AND "copy_id" IN', new_ids
            )
        )
        for row in select_in(
            'SELECT "id", "copy_id", "patron_id", "out_at", "due_on", "returned_at", "renewals",'
            ' "kiosk" FROM "loan" WHERE "returned_at" IS NULL AND "copy_id" IN',
            new_ids,
        ):
            loan = self._loan(row)
            self.open[loan.copy_id] = loan
        wanted = {
            named for f in facts
            if f.kind == Kind.RENEW and isinstance(named := f.data.get("loan"), str)
        } - self.checked_loans - set(self.loans)
        for row in select_in(
            'SELECT "id", "copy_id", "patron_id", "out_at", "due_on", "returned_at", "renewals",'
            ' "kiosk" FROM "loan" WHERE "id" IN',
            wanted,
        ):
            self._loan(row)
        self.checked_loans |= wanted
        numbers = {
            f.patron for f in facts if f.patron and f.patron not in self.patrons
        } - self.no_patron
        for patron_id, number, active in select_in(
            'SELECT "id", "number", "active" FROM "patron" WHERE "number" IN', numbers
        ):
            self.patrons[number] = (patron_id, bool(active))
        self.no_patron |= numbers - set(self.patrons)
        carded = {
            self.patrons[f.patron][0]
            for f in facts
            if f.kind in (Kind.CHECKOUT, Kind.RENEW) and f.data.get("card") is not None
            and f.patron in self.patrons
        } - self.card_patrons
        for patron_id, serial, revoked_at in select_in(
            'SELECT "patron_id", "serial", "revoked_at" FROM "card" WHERE "patron_id" IN', carded
        ):
            self.cards[(patron_id, serial)] = _REVOKED_AT(revoked_at)
        self.card_patrons |= carded
        self.hold_barcodes |= {f.copy for f in facts if f.kind in kinds.PLACES_HOLDS and f.copy}
        titles = {copy.title_id for copy in self.copies.values()} - self.checked_titles
        self.held.update(
            title for (title,) in select_in(
                'SELECT DISTINCT "title_id" FROM "hold" WHERE "status" IN (\'waiting\', \'ready\')'
                ' AND "title_id" IN',
                titles,
            )
        )
        self.checked_titles |= titles
        self.held.update(
            self.copies[b].title_id for b in self.hold_barcodes if b in self.copies
        )

    def _loan(self, row: tuple[Any, ...]) -> _Loan:
        loan = self.loans.get(row[0])
        if loan is None:
            loan = self.loans[row[0]] = _Loan(
                row[0], row[1], row[2], _OUT_AT(row[3]), _DUE_ON(row[4]), _RETURNED_AT(row[5]),
                row[6], row[7], True,
            )
        return loan

    def forget(self, facts: Sequence[Fact]) -> None:
        """Drop what the per-fact application of ``facts`` may have changed."""
        copy_ids = set()
        for fact in facts:
            if fact.copy in self.copies:
                copy_ids.add(self.copies[fact.copy].id)
            loan_id = fact.data.get("loan")
            if fact.kind == Kind.RENEW and isinstance(loan_id, str) and loan_id in self.loans:
                copy_ids.add(self.loans[loan_id].copy_id)
            if fact.kind in (Kind.CARD_ISSUED, Kind.CARD_REVOKED) and fact.patron in self.patrons:
                patron_id = self.patrons[fact.patron][0]
                self.card_patrons.discard(patron_id)
                for key in [key for key in self.cards if key[0] == patron_id]:
                    del self.cards[key]
        for copy_id in copy_ids:
            barcode = self.by_id.pop(copy_id, None)
            if barcode is not None:
                del self.copies[barcode]
            self.open.pop(copy_id, None)
        for loan_id in [i for i, loan in self.loans.items() if loan.copy_id in copy_ids]:
            del self.loans[loan_id]
            self.checked_loans.discard(loan_id)
        for fact in facts:
            if fact.kind == Kind.RENEW and isinstance(fact.data.get("loan"), str):
                self.loans.pop(fact.data["loan"], None)
                self.checked_loans.discard(fact.data["loan"])


class _Writes:
    """The net writes of the facts played since the last :meth:`flush`."""

    def __init__(self, state: State, now: datetime | None) -> None:
        self.state = state
        self.now = now
        self.loans: dict[str, _Loan] = {}
        self.copies: dict[int, _Copy] = {}
        self.cases: list[tuple[Any, ...]] = []

    def flush(self) -> None:
        """Write the net effect: changed loans, new loans, copy statuses, cases."""
        db = bound()
        changed = sorted(
            ((loan.returned_at, loan.due_on, loan.renewals, loan.id)
             for loan in self.loans.values() if loan.stored),
            key=lambda row: row[3],
        )
        added = [
            (loan.id, loan.copy_id, loan.patron_id, loan.out_at, loan.due_on, loan.kiosk,
             loan.returned_at, loan.renewals)
            for loan in self.loans.values() if not loan.stored
        ]
        statuses = sorted(
            (copy.status, copy.id) for copy in self.copies.values() if copy.status != copy.stored
        )
        if is_postgres(db):
            _pg_writes(db, changed, added, statuses, self.cases)
        else:
            _sqlite_writes(db, changed, added, statuses, self.cases)
        for loan in self.loans.values():
            loan.stored = True
        for copy in self.copies.values():
            copy.stored = copy.status
        self.loans.clear()
        self.copies.clear()
        self.cases.clear()


_LOAN_COLUMNS = '"id", "copy_id", "patron_id", "out_at", "due_on", "kiosk", "returned_at", "renewals"'
_CASE_COLUMNS = '"kind", "fact", "other", "kiosk", "patron", "copy", "created_at", "data"'


def _sqlite_writes(
    db: pw.Database, changed: list[Any], added: list[Any], statuses: list[Any], cases: list[Any]
) -> None:
    # times as text (what sqlite3's adapter would make of them, without its call)
    changed = [(sqlite_time(r), d.isoformat(), n, i) for r, d, n, i in changed]
    added = [
        (i, c, p, sqlite_time(out), d.isoformat(), k, sqlite_time(r), n)
        for i, c, p, out, d, k, r, n in added
    ]
    cases = [(*row[:6], sqlite_time(row[6]), row[7]) for row in cases]
    cursor = db.cursor()
    with pw.__exception_wrapper__:  # type: ignore[attr-defined]  # sqlite3's errors as peewee's
        if changed:
            cursor.executemany(
                'UPDATE "loan" SET "returned_at" = ?, "due_on" = ?, "renewals" = ? WHERE "id" = ?',
                changed,
            )
        if added:
            cursor.executemany(
                f'INSERT INTO "loan" ({_LOAN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', added
            )
        if statuses:
            cursor.executemany('UPDATE "copy" SET "status" = ? WHERE "id" = ?', statuses)
        if cases:
            cursor.executemany(
                f'INSERT OR IGNORE INTO "sync_case" ({_CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                cases,
            )


def _pg_writes(
    db: pw.Database, changed: list[Any], added: list[Any], statuses: list[Any], cases: list[Any]
) -> None:
    cursor = db.cursor()  # only to quote values the server's way

    def values(template: str, rows: list[Any]) -> str:
        return b", ".join(cursor.mogrify(template, row) for row in rows).decode()

    statements = []
    for start in range(0, len(changed), CHUNK):
        statements.append(
            'UPDATE "loan" AS t SET "returned_at" = v.r::timestamp, "due_on" = v.d::date,'
            ' "renewals" = v.n::integer FROM (VALUES '
            + values("(%s, %s, %s, %s)", changed[start : start + CHUNK])
            + ') AS v (r, d, n, id) WHERE t."id" = v.id'
        )
    for start in range(0, len(added), CHUNK):
        statements.append(
            f'INSERT INTO "loan" ({_LOAN_COLUMNS}) VALUES '
            + values("(%s, %s, %s, %s, %s, %s, %s, %s)", added[start : start + CHUNK])
        )
    for start in range(0, len(statuses), CHUNK):
        statements.append(
            'UPDATE "copy" AS t SET "status" = v.s FROM (VALUES '
            + values("(%s, %s)", statuses[start : start + CHUNK])
            + ') AS v (s, id) WHERE t."id" = v.id'
        )
    for start in range(0, len(cases), CHUNK):
        statements.append(
            f'INSERT INTO "sync_case" ({_CASE_COLUMNS}) VALUES '
            + values("(%s, %s, %s, %s, %s, %s, %s, %s)", cases[start : start + CHUNK])
            + " ON CONFLICT DO NOTHING"
        )
    if statements:
        db.execute_sql(";\n".join(statements))


# -- the rules, played in memory --------------------------------------------------------


def _fast(fact: Fact, state: State) -> bool:
    """Whether ``fact`` is played here (else it goes the per-fact way)."""
    kind = fact.kind
    if kind not in state.plain:  # the kind's row, read once per batch
        state.plain[kind] = kinds.in_memory_kind(kind)
    plain = state.plain[kind]
    if plain is False or (plain is None and not kinds.in_memory(fact)):
        return False
    if kind not in (Kind.CHECKOUT, Kind.CHECKIN, Kind.RENEW):
        return True  # a fact that changes nothing
    copy = state.copies.get(fact.copy) if fact.copy else None
    if copy is None:
        # checkout and checkin of an unknown copy change nothing (nor raise a case)
        return kind != Kind.RENEW
    if copy.title_id in state.held or copy.id in state.ready_on:
        return False
    card = fact.data.get("card")
    if card is not None and type(card) is not int:
        return False
    if kind == Kind.RENEW:
        return isinstance(fact.data.get("loan"), str)
    if kind == Kind.CHECKOUT:
        patron = state.patrons.get(fact.patron) if fact.patron else None
        return patron is None or patron[1]
    return True


def _revoked(fact: Fact, state: State, patron: tuple[int, bool] | None) -> Case | None:
    serial = fact.data.get("card")
    if serial is None or patron is None:
        return None
    revoked_at = state.cards.get((patron[0], serial))
    if revoked_at is not None and revoked_at <= fact.wall_time:
        return Case("revoked_card", data={"serial": serial, "revoked_at": str(revoked_at)})
    return None


def _play(fact: Fact, state: State, writes: _Writes, cases: bool) -> list[Case]:
    """Apply one fast fact to ``state`` (what the projection would do), and its cases."""
    found: list[Case] = []
    kind = fact.kind
    if kind not in (Kind.CHECKOUT, Kind.CHECKIN, Kind.RENEW):
        return found
    copy = state.copies.get(fact.copy) if fact.copy else None
    patron = state.patrons.get(fact.patron) if fact.patron else None
    wall = fact.wall_time
    if kind == Kind.CHECKOUT:
        if copy is None:
            return found
        earlier = state.open[copy.id]
        if cases:
            if earlier is not None:
                found.append(Case("lent_twice", earlier.id,
                                  {"this_loan_ended": earlier.out_at > wall}))
            if copy.status == "withdrawn":
                found.append(Case("lent_written_off", data={"status": copy.status}))
            elif copy.status in ("lost", "repair"):
                found.append(Case("lent_unavailable", data={"status": copy.status}))
            if (case := _revoked(fact, state, patron)) is not None:
                found.append(case)
        if patron is None:
            return found
        due_on = date.fromisoformat(fact.data["due_on"])
        if earlier is not None and earlier.out_at > wall:
            loan = _Loan(fact.uuid, copy.id, patron[0], wall, due_on, earlier.out_at, 0,
                         fact.kiosk, False)
        else:
            if earlier is not None:
                earlier.returned_at = wall
                writes.loans[earlier.id] = earlier
            loan = _Loan(fact.uuid, copy.id, patron[0], wall, due_on, None, 0, fact.kiosk, False)
            state.open[copy.id] = loan
        state.loans[loan.id] = loan
        writes.loans[loan.id] = loan
        copy.status = "withdrawn" if copy.status == "withdrawn" else "on_loan"
        writes.copies[copy.id] = copy
    elif kind == Kind.CHECKIN:
        if copy is None:
            return found
        current = state.open[copy.id]
        if cases:
            believed = fact.data.get("loan")
            if current is not None and current.out_at > wall:
                found.append(Case("stale_return", current.id))
            elif current is None and believed and copy.status != "lost":
                found.append(Case("returned_twice", believed))
            elif current is not None and believed and believed != current.id:
                found.append(Case("returned_other_loan", current.id, {"believed": believed}))
            if copy.status in ("lost", "withdrawn"):
                found.append(Case("lost_copy_returned", data={"status": copy.status}))
        if current is not None and current.out_at > wall:
            return found
        if current is not None:
            current.returned_at = wall
            writes.loans[current.id] = current
            state.open[copy.id] = None
        if fact.data.get("damaged"):
            copy.status = "repair"
        elif copy.status in ("on_loan", "available", "hold_shelf"):
            copy.status = "available"  # no hold waits for this title
        writes.copies[copy.id] = copy
    else:  # renew; its copy is known
        assert copy is not None
        loan_id = fact.data["loan"]
        if cases:
            current = state.open[copy.id]
            if current is None or current.id != loan_id:
                found.append(Case("renew_ended", loan_id))
            if (case := _revoked(fact, state, patron)) is not None:
                found.append(case)
        due_on = date.fromisoformat(fact.data["due_on"])
        renewed = state.loans.get(loan_id)
        if renewed is not None and renewed.returned_at is None:
            renewed.due_on = due_on
            renewed.renewals += 1
            writes.loans[renewed.id] = renewed
    return found


def apply_facts(
    facts: Sequence[Fact],
    per_fact: Callable[[list[Fact]], None],
    *,
    now: datetime | None = None,
    state: State | None = None,
) -> int:
    """Apply ``facts`` in order (inside the caller's transaction); return how many went
    the per-fact way.

    ``per_fact`` applies a run of consecutive facts this module does not play (as the
    caller always has: projection, and at the desk the conflict rules). With ``now``
    (the desk), each fact's conflict cases are recorded as ``sync_case`` rows created
    at ``now``, as ``per_fact`` records its own. ``state`` is one the caller has read
    in this transaction already (and not changed since).
    """
    state = state or State()
    state.load(facts)
    writes = _Writes(state, now)
    slow = 0
    i = 0
    while i < len(facts):
        fact = facts[i]
        if _fast(fact, state):
            for case in _play(fact, state, writes, now is not None):
                log.info("sync case %s: fact %s from %s", case.kind, fact.uuid, fact.kiosk)
                writes.cases.append((
                    case.kind, fact.uuid, case.other, fact.kiosk, fact.patron, fact.copy, now,
                    json.dumps(case.data or {}, ensure_ascii=False, sort_keys=True),
                ))
            i += 1
            continue
        j = i + 1
        while j < len(facts) and not _fast(facts[j], state):
            j += 1
        run = list(facts[i:j])
        writes.flush()
        per_fact(run)
        slow += len(run)
        if all(kinds.scoped(f.kind) or not kinds.applies(f.kind) for f in run):
            state.forget(run)
        else:
            state = State()
            writes = _Writes(state, now)
        state.load(facts[j:])
        i = j
    writes.flush()
    return slow
