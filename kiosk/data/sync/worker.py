"""The kiosk's background sync: a plain thread (no Textual) that pushes and pulls.

:class:`SyncWorker` runs one :func:`kiosk.data.sync.sync_once` every few seconds, or at
once when woken, on its own connections (its own connection to the kiosk's SQLite
file, and the desk's), and reports a :class:`SyncStatus` through a callback. A sync
never runs on the kiosk's database thread, so a scan waits at most for one batch's
commit, never for the network. The app shows the reports (:mod:`kiosk.bridges.sync`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import peewee as pw

from kiosk.data import sync
from kiosk.data.core.db import KioskSqliteDatabase, database
from kiosk.data.core.network import DeskTimeouts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar says about the sync with the desk."""

    online: bool
    waiting: int
    """Facts made here that the desk has not accepted yet (-1: unknown)."""
    offline_since: datetime | None = None
    last_sync: datetime | None = None
    problem: str = ""
    """A translation key when the desk refuses this kiosk (``sync.not_registered``...)."""


class SyncWorker:
    """Syncs the kiosk with its desk in the background, every ``interval`` seconds."""

    def __init__(
        self,
        local: pw.Database,
        ident: sync.Identity,
        *,
        interval: float = 5.0,
        timeouts: DeskTimeouts | None = None,
        report: Callable[[SyncStatus], None] = lambda status: None,
        settings_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.local = local
        """The kiosk's own database (this thread opens its own connection to it)."""
        self.ident = ident
        self.interval = interval
        self.timeouts = timeouts if timeouts is not None else DeskTimeouts()
        """Bounds on every wait for the desk: a stalled network ends a sync, never hangs it."""
        self.report = report
        self.settings_changed = settings_changed
        """Called after a sync brought new settings (the card secret, say)."""
        self._desk: pw.Database | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kiosk-sync", daemon=True)
        self._offline_since: datetime | None = None
        self._last_sync: datetime | None = None
        self.runs = 0
        self.syncing_since: float | None = None
        """When the sync in progress began (``time.monotonic``), or ``None`` between syncs."""

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Sync now (after a scan, or when asked), not at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the sync in progress, if any (it is safe to interrupt it anyway)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.report(self.run_once())
            self._wake.wait(self.interval)
            self._wake.clear()
        self._close_desk()
        local = self.local
        if not local.is_closed():
            local.close()

    def run_once(self) -> SyncStatus:
        """One sync; never raises (a failure is a status: offline since...)."""
        self.runs += 1
        self.syncing_since = time.monotonic()
        try:
            return self._sync()
        finally:
            self.syncing_since = None

    def _sync(self) -> SyncStatus:
        local = self.local
        try:
            if self._desk is None:
                self._desk = sync.open_desk(self.ident.desk_url, timeouts=self.timeouts)
            if isinstance(self._desk, KioskSqliteDatabase):
                self._desk.check_file()  # a desk file moved or replaced is a desk gone
            if self._desk.is_closed():
                self._desk.connect()  # kept open between syncs: an idle sync costs a query
            if local.is_closed():
                local.connect()
            outcome = sync.sync_once(
                local, self._desk, self.ident, max_seconds=10.0, deadline=self.timeouts.deadline
            )
        except sync.SyncError as refused:
            log.warning("the desk refuses this kiosk: %s", refused.key)
            self._close_desk()
            return self._offline(refused.key)
        except Exception as error:  # the network, the desk, a locked file: all the same here
            log.warning("sync failed: %s: %s", type(error).__name__, error)
            log.debug("sync failure", exc_info=True)
            self._close_desk()
            return self._offline("")
        if outcome.master_changed:
            self.settings_changed()
        self._offline_since = None
        self._last_sync = datetime.now()
        if outcome.pushed or outcome.pulled:
            log.info(
                "synced: %d pushed, %d pulled in %.2f s; %d waiting",
                outcome.pushed, outcome.pulled, outcome.seconds, outcome.waiting,
            )
        return SyncStatus(True, outcome.waiting, None, self._last_sync)

    def _offline(self, problem: str) -> SyncStatus:
        if self._offline_since is None:
            self._offline_since = datetime.now()
        return SyncStatus(False, self._waiting(), self._offline_since, self._last_sync, problem)

    def _waiting(self) -> int:
        local = self.local
        try:
            with database.session(local):
                return sync.pending_count()
        except pw.DatabaseError:
            return -1

    def _close_desk(self) -> None:
        desk, self._desk = self._desk, None
        if desk is not None:
            try:
                desk.close()
            except Exception:  # the connection is dead already; nothing more to close
                log.debug("closing the desk connection failed", exc_info=True)
