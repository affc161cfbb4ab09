"""The kiosk's one database thread: every service call runs there, off the UI thread.

One thread keeps one open connection (SQLite connections belong to the thread that
opened them), so calls are serialised, the connection is never reopened per scan,
and WAL checkpoints happen in quiet moments rather than inside a scan's commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from kiosk.data.core.store import Store

T = TypeVar("T")

log = logging.getLogger(__name__)


class DatabaseThread:
    """Runs the services' calls on a dedicated thread, on one store's connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0
        self._checkpointed = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kiosk-db", initializer=self._open)

    def _open(self) -> None:
        """Open this thread's connection (again, after a failure closed it)."""
        try:
            self.store.db.connect(reuse_if_open=True)
            self.store.defer_checkpoints()
        except Exception:  # the service turns the next call's failure into a message
            log.exception("cannot open the database")

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self.store.db.is_closed():
            self._open()
        self.calls += 1
        return function(*args)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the database thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(self._call, function, *args))

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database, if anything ran since the last time.

        Call it when nobody is scanning; a failure is logged, never raised (the next
        scan will say what is wrong, if anything still is).
        """
        if self.calls == self._checkpointed:
            return
        try:
            await self.run(self.store.checkpoint)
        except Exception:
            log.exception("checkpoint failed")
        self._checkpointed = self.calls

    def close(self) -> None:
        """Close the connection and end the thread (waits for a call in progress)."""
        self._pool.submit(self.store.db.close)
        self._pool.shutdown(wait=True)
