"""Facts and the clock that orders them: what travels between databases.

A :class:`Fact` is one thing that happened (a loan, a return, a class's visit...),
made here with :func:`new_fact` and kept in the journal (:mod:`kiosk.data.core.journal`).
Its hybrid logical clock reading (:class:`HybridClock`) orders it among the facts of
every kiosk; its wall time is stored as naive UTC (:func:`to_db_time`). This module
imports only the models, so every other part of the data layer can use it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kiosk.data.core.models import new_id

if TYPE_CHECKING:
    from kiosk.data.core.models import Journal


def utcnow() -> datetime:
    """The current time in UTC (the journal's and the database's time)."""
    return datetime.now(UTC)


def to_db_time(moment: datetime) -> datetime:
    """``moment`` as the naive UTC datetime the database stores."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """The stored (naive UTC) times from local midnight of ``first`` to local midnight
    after ``last`` (``first`` if not given): the school's days, wherever the database's
    clock is."""

    def midnight(day: date) -> datetime:
        return to_db_time(datetime.combine(day, datetime.min.time()).astimezone())

    return midnight(first), midnight((last or first) + timedelta(days=1))


MAX_COUNTER = 99_999
"""The largest counter a reading can hold (five digits, so readings sort as text)."""


class HybridClock:
    """A hybrid logical clock: wall-clock milliseconds plus a counter, plus the node.

    Its readings are strings that sort in causal order across kiosks even when their
    wall clocks disagree a little: a reading is never below one already seen.
    """

    def __init__(self, node: str, last: str | None = None) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._ms = 0
        self._counter = 0
        if last:
            self.observe(last)

    @staticmethod
    def parse(reading: str) -> tuple[int, int, str]:
        """Split a reading into milliseconds, counter and node."""
        ms, counter, node = reading.split(".", 2)
        return int(ms), int(counter), node

    def observe(self, reading: str) -> None:
        """Move the clock past a reading seen from elsewhere (or from before a restart)."""
        ms, counter, _ = self.parse(reading)
        with self._lock:
            self._ms, self._counter = max((self._ms, self._counter), (ms, counter))

    def tick(self, wall: datetime | None = None) -> str:
        """A new reading, later than every reading made or observed so far."""
        wall_ms = int((wall.timestamp() if wall else time.time()) * 1000)
        with self._lock:
            if wall_ms > self._ms:
                self._ms, self._counter = wall_ms, 0
            elif self._counter < MAX_COUNTER:
                self._counter += 1
            else:
                # Readings are compared as text, so the counter keeps its five digits:
                # past 99999 the clock borrows a millisecond instead.
                self._ms, self._counter = self._ms + 1, 0
            return f"{self._ms:013d}.{self._counter:05d}.{self.node}"


@dataclass(slots=True)
class Fact:
    """One thing that happened, as it travels between databases.

    Treat it as a value: nothing changes a fact once made. (Not a frozen dataclass only
    because a frozen one takes five times as long to make, and a kiosk catching up
    makes one for each of the other kiosks' facts: with it, the catch-up of
    ``bench/sync_instructions.py`` executed 6% more instructions.)
    """

    kind: str
    uuid: str
    kiosk: str
    wall_time: datetime
    hlc: str
    patron: str | None = None
    copy: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Journal) -> Fact:
        """The fact a journal row holds."""
        return cls(
            kind=row.kind,
            uuid=row.uuid,
            kiosk=row.kiosk,
            wall_time=row.wall_time,
            hlc=row.hlc,
            patron=row.patron,
            copy=row.copy,
            data=json.loads(row.data),
        )


def new_fact(
    clock: HybridClock,
    kiosk: str,
    kind: str,
    wall: datetime,
    *,
    patron: str | None = None,
    copy: str | None = None,
    **data: Any,
) -> Fact:
    """A new fact made here and now."""
    return Fact(
        kind=str(kind),  # (a Kind member is stored as its plain text)
        uuid=new_id(),
        kiosk=kiosk,
        wall_time=to_db_time(wall),
        hlc=clock.tick(wall),
        patron=patron,
        copy=copy,
        data=data,
    )
