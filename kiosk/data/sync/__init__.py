"""Sync between a kiosk's database and the desk's: push, pull, conflicts (docs/sync.md).

The kiosk talks to the desk's database directly (PostgreSQL for a school, or an
SQLite file for a desk on the same computer) through the same models: the calling
thread points the models at the desk with ``database.using(desk)`` for the desk's
half of each step, so the kiosk's own database thread never notices.

- **Push**: the kiosk's unsent facts, oldest first, in batches. The desk inserts
  each fact it has not seen (by UUID) and applies it in the same transaction,
  recording a :class:`~kiosk.data.core.models.SyncCase` where a conflict rule decided;
  then the kiosk marks the batch sent. A batch repeated after a crash is a no-op.
- **Pull**: the desk's facts after the kiosk's cursor, in the desk's order, in
  batches; each batch is applied and the cursor moved in one kiosk transaction.
  Where the batch brings another kiosk's fact about a title whose history here
  still holds facts the desk has not placed, that title's loans and holds are
  replayed in the canonical order (a *rebase*, per title, never global).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import peewee as pw

from kiosk.data.core import (
    cards,
    journal,
    kinds,
    library,
    masterdata,
    migrations,
    network,
    passfile,
    settings,
)
from kiosk.data.core.conflicts import Case
from kiosk.data.core.db import database, is_postgres, keep_secret, open_database, redact, write_gate
from kiosk.data.core.facts import Fact, to_db_time, utcnow
from kiosk.data.core.journal import CANONICAL_ORDER
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    Copy,
    Hold,
    Journal,
    KioskRegistration,
    Loan,
    LoanRule,
    LocalState,
    Patron,
    Setting,
    Sip2Terminal,
    SyncCase,
)
from kiosk.data.core.network import DeskTimeouts
from kiosk.data.core.prepared import Prepared, pipelined
from kiosk.data.core.projection import Known
from kiosk.data.sync.batch import State, apply_facts, bound, select_in

log = logging.getLogger(__name__)

PUSH_BATCH = 500
"""Facts per push transaction at the desk."""
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


class SyncError(Exception):
    """The sync cannot go on; ``key`` is the translation key of the reason."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# -- the database's own state ---------------------------------------------------------


_LOCAL_GET = Prepared(
    lambda key: LocalState.select(LocalState.value).where(LocalState.key == key).limit(1).tuples()
)
_LOCAL_PUT = Prepared(
    lambda key, value: LocalState.insert(key=key, value=value).on_conflict(
        conflict_target=[LocalState.key], preserve=[LocalState.value]
    )
)


def local_get(key: str, default: str | None = None) -> str | None:
    """A value of this database's own state (see :class:`LocalState`)."""
    row = _LOCAL_GET.first(key)
    return row[0] if row else default


def local_put(key: str, value: str) -> None:
    """Store a value of this database's own state."""
    _LOCAL_PUT.execute(key, value)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Who this kiosk is at its desk: its id, its secret token and the desk's URL."""

    kiosk: str
    token: str
    desk_url: str

    def __repr__(self) -> str:  # never the token or the password, even in a traceback
        return f"Identity(kiosk={self.kiosk!r}, desk_url={redact(self.desk_url)!r})"


def identity(local: pw.Database) -> Identity | None:
    """This kiosk's registration, or ``None`` if it has not joined a desk.

    The desk's URL is the one to connect with: it names the password file beside the
    kiosk's database, where the desk's password is kept (:mod:`kiosk.data.core.passfile`).
    """
    with database.session(local):
        values = dict(
            LocalState.select(LocalState.key, LocalState.value)
            .where(LocalState.key.in_(["kiosk_id", "token", "desk_url"]))
            .tuples()
        )
        if len(values) < 3:
            return None
        _keep_secret(values["token"], values["desk_url"])
        stored = passfile.move_out(local, values["desk_url"])  # (a kiosk joined before)
    url = passfile.naming(stored, passfile.beside(local))
    return Identity(values["kiosk_id"], values["token"], url)


def _keep_secret(token: str, url: str) -> None:
    keep_secret(token)
    password = urlparse(url).password
    if password:
        keep_secret(password)


# -- the desk -------------------------------------------------------------------------


def open_desk(
    url: str, *, create: bool = False, migrate: bool = False,
    timeouts: DeskTimeouts | None = None,
) -> pw.Database:
    """Open the desk's database beside the kiosk's (the models stay bound to the kiosk's).

    A kiosk never changes the desk's schema: a desk that needs a migration is refused,
    unless ``migrate`` (the desk's own app) brings it up to this version's schema.
    ``timeouts`` bound every wait on a PostgreSQL desk (a kiosk's sync gives them).

    Raises:
        SyncError: ``sync.not_desk`` (a database that is not a desk).
        kiosk.data.core.db.DatabaseMissing: an SQLite desk file that does not exist.
    """
    desk = open_database(url, create=create, bind=False, desk_timeouts=timeouts)
    if not create:
        with database.using(desk), desk.connection_context():
            if (not migrate and migrations.pending(desk)) or local_get("role") != "desk":
                raise SyncError("sync.not_desk", url=redact(url))
            if migrate:
                migrations.migrate(desk)
    return desk


def init_desk(url: str) -> pw.Database:
    """Create the desk's database at ``url``: a new SQLite file, or an empty PostgreSQL
    database.

    A new desk gets its card secret, settings and loan rules as master facts, so that
    every kiosk receives them in its first pull. A database that is a library already
    (a desk, a kiosk's, a library of its own) is refused and left as it is: a second
    init would give the library a new card secret, or revoke the librarian's card,
    rename the library and reset the PIN on every kiosk.

    Raises:
        kiosk.data.core.library.AlreadyALibrary: the database is a library already.
        kiosk.data.core.db.NotALibrary: an existing file or database that is not empty and
            not a library (another program's, damaged).
    """
    desk = open_database(url, create=True, bind=False)
    try:
        with database.using(desk), desk.connection_context():
            library.check_library(desk, url, create=True, new=True)
            migrations.migrate(desk)
            with desk.atomic():
                local_put("role", "desk")
                masterdata.save_many(
                    Kind.SETTING_SAVED,
                    [
                        {"key": "card_secret", "value": cards.new_secret()},
                        *({"key": k, "value": v} for k, v in settings.DEFAULTS.items()),
                    ],
                )
                masterdata.save_many(
                    Kind.RULE_SAVED,
                    [
                        {"patron_kind": p, "item_kind": i, "loan_days": d, "max_items": n,
                         "max_renewals": r}
                        for p, i, d, n, r in settings.DEFAULT_RULES
                    ],
                )
    except BaseException:
        desk.close()
        raise
    return desk


def join(
    local: pw.Database, url: str, kiosk_id: str, *, name: str = "",
    timeouts: DeskTimeouts | None = None,
) -> Identity:
    """Register this kiosk at the desk at ``url`` as ``kiosk_id``.

    The kiosk's database must be new (no patrons, no facts): from now on its master
    data is the desk's. Nothing about the desk is stored but its URL (without its
    password, which goes to a password file: :mod:`kiosk.data.core.passfile`), the kiosk's
    id and a secret token; the desk keeps only the token's hash.

    Raises:
        SyncError: ``sync.not_fresh``, ``sync.name_taken``, ``sync.not_desk``.
    """
    desk = open_desk(url, timeouts=timeouts)
    token = secrets.token_urlsafe(24)
    _keep_secret(token, url)
    with database.session(local):
        if local_get("role") == "desk":
            raise SyncError("sync.is_desk")
        if local_get("kiosk_id") is not None:
            raise SyncError("sync.already_joined", kiosk=local_get("kiosk_id"))
        if Journal.select().exists() or Patron.select().exists():
            raise SyncError("sync.not_fresh")
    try:
        with database.using(desk), desk.connection_context(), desk.atomic():
            # a SIP2 terminal's facts carry its name as their kiosk: one name, one machine
            if KioskRegistration.get_or_none(KioskRegistration.kiosk == kiosk_id) or (
                Sip2Terminal.get_or_none(Sip2Terminal.name == kiosk_id)
            ):
                raise SyncError("sync.name_taken", kiosk=kiosk_id)
            KioskRegistration.create(
                kiosk=kiosk_id, name=name or kiosk_id, token_hash=_token_hash(token),
                registered_at=to_db_time(utcnow()),
            )
    finally:
        desk.close()
    with database.session(local), local.atomic():
        # The desk's settings and rules replace the ones this new database started with.
        Setting.delete().execute()
        LoanRule.delete().execute()
        stored = passfile.keep_out(local, url)
        for key, value in (
            ("role", "kiosk"), ("kiosk_id", kiosk_id), ("token", token), ("desk_url", stored),
            ("cursor", "0"), ("placed_upto", "0"),
        ):
            local_put(key, value)
    log.info("joined the desk at %s as %s", redact(url), kiosk_id)
    return Identity(kiosk_id, token, passfile.naming(stored, passfile.beside(local)))


def _check_registration(ident: Identity) -> KioskRegistration:
    row = KioskRegistration.get_or_none(KioskRegistration.kiosk == ident.kiosk)
    if row is None or not secrets.compare_digest(row.token_hash, _token_hash(ident.token)):
        raise SyncError("sync.not_registered", kiosk=ident.kiosk)
    return row


# -- conflicts (at the desk) ----------------------------------------------------------


class Preloaded:
    """The rows a batch of facts needs, read once for the whole batch.

    Applying a fact then costs only its writes: the copies, patrons and open loans
    are read here in a few queries, and kept current as the facts are applied (the
    projection mutates the cached copies and reports each copy's open loan). Titles
    with no waiting or ready hold skip the hold queries altogether.
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
            if f.kind == Kind.HOLD and f.copy in self.copies
        }
        for part in masterdata.chunks(titles):
            self.held.update(
                title
                for (title,) in Hold.select(Hold.title)
                .where(Hold.title.in_(part) & Hold.status.in_(["waiting", "ready"]))
                .distinct()
                .tuples()
            )

    def known(self, fact: Fact) -> Known:
        """What the projection needs to know about ``fact``'s copy and patron."""
        known = Known()
        copy = self.copies.get(fact.copy) if fact.copy else None
        if copy is not None:
            known.copy = copy
            known.open_loan = self.open.get(copy.id)
            known.holds_possible = copy.title_id in self.held
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
    registration = _check_registration(ident)
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


# -- one whole sync -------------------------------------------------------------------


@dataclass
class SyncReport:
    """What one sync did."""

    pushed: int = 0
    pulled: int = 0
    waiting: int = 0
    cursor: int = 0
    seconds: float = 0.0
    master_changed: bool = False


@contextmanager
def _connected(*dbs: pw.Database) -> Iterator[None]:
    opened = [db for db in dbs if db.is_closed()]
    for db in opened:
        db.connect()
    try:
        yield
    finally:
        for db in opened:
            db.close()


def sync_once(
    local: pw.Database, desk: pw.Database, ident: Identity, *, max_seconds: float | None = None,
    deadline: float | None = None,
) -> SyncReport:
    """Push everything waiting, then pull everything new (or until ``max_seconds``).

    ``deadline`` bounds the whole conversation with a PostgreSQL desk opened with
    timeouts (:func:`kiosk.data.core.network.deadline`): past it, the wait in progress
    ends with :class:`~kiosk.data.core.network.DeskSilent`. No new pull begins after half
    of it, so a long catch-up ends in time and goes on at the next sync.

    Raises:
        SyncError: ``sync.not_registered``.
        peewee.PeeweeException: the desk (or this database) failed (a cut connection is an
            ``InterfaceError``, as its rollback fails too); nothing is lost and
            the next sync goes on from where this one stopped.
    """
    start = time.perf_counter()
    report = SyncReport()
    if deadline is not None:
        max_seconds = min(max_seconds or deadline, deadline / 2)
    with network.deadline(deadline), _connected(local, desk):
        with database.using(desk):
            _check_registration(ident)
        with database.using(local):
            upto = Journal.select(pw.fn.MAX(Journal.seq)).scalar() or 0
        # what was made up to now: a kiosk that keeps lending does not keep this going
        while (sent := push(local, desk, ident, upto=upto)) > 0:
            report.pushed += sent
        while max_seconds is None or time.perf_counter() - start < max_seconds:
            stats = pull(local, desk, ident)
            if not stats["facts"]:
                break
            report.pulled += stats["facts"]
            report.master_changed = report.master_changed or stats["master"] > 0
        with database.using(local):
            report.cursor = int(local_get("cursor") or 0)
            report.waiting = pending_count()
        if report.pushed or report.pulled:
            with database.using(desk), desk.atomic():
                KioskRegistration.update(
                    last_seen_at=to_db_time(utcnow()), cursor=report.cursor
                ).where(KioskRegistration.kiosk == ident.kiosk).execute()
    report.seconds = time.perf_counter() - start
    return report
