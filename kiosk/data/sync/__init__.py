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

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import peewee as pw

from kiosk.data.core import (
    network,
)
from kiosk.data.core.db import database
from kiosk.data.core.facts import to_db_time, utcnow
from kiosk.data.core.models import (
    Journal,
    KioskRegistration,
)
from kiosk.data.sync.joining import check_registration, init_desk, join, open_desk
from kiosk.data.sync.local import Identity, SyncError, identity, local_get, local_put
from kiosk.data.sync.pulling import (
    PULL_BATCH,
    PULL_CIRCULATION_BATCH,
    PULL_IDLE_AFTER,
    PULL_IDLE_BATCH,
    pull,
    rebase_title,
)
from kiosk.data.sync.pushing import PUSH_BATCH, accept, accept_made_elsewhere, pending_count, push

__all__ = [
    "Identity", "PULL_BATCH", "PULL_CIRCULATION_BATCH", "PULL_IDLE_AFTER", "PULL_IDLE_BATCH",
    "PUSH_BATCH", "SyncError", "SyncReport", "accept", "accept_made_elsewhere", "identity",
    "init_desk", "join", "local_get", "local_put", "open_desk", "pending_count", "pull",
    "push", "rebase_title", "sync_once",
]

log = logging.getLogger(__name__)


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
            check_registration(ident)
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
