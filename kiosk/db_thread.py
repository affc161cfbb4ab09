"""The kiosk's one database thread: every service call runs there, off the UI thread.

One thread keeps one open connection (SQLite connections belong to the thread that
opened them), so calls are serialised, the connection is never reopened per scan,
and WAL checkpoints happen in quiet moments rather than inside a scan's commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from kiosk.data.circulation import Circulation

T = TypeVar("T")


class DatabaseThread:
    """Runs the circulation service's calls on a dedicated thread."""

    def __init__(self, circulation: Circulation) -> None:
        self.circulation = circulation
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kiosk-db", initializer=self._open)

    def _open(self) -> None:
        self.circulation.db.connect(reuse_if_open=True)
        self.circulation.defer_checkpoints()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the database thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(function, *args))

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database (call it when nobody is scanning)."""
        await self.run(self.circulation.checkpoint)

    def close(self) -> None:
        """Close the connection and end the thread (waits for a call in progress)."""
        self._pool.submit(self.circulation.db.close)
        self._pool.shutdown(wait=True)
