"""The librarian's PIN lock, read from the journal: it survives a restart and syncs.

Every wrong PIN is a refusal fact (``pin.wrong``), every right one a
``librarian_login`` fact, and facts are kept and synced like every other: so the
lock is not kept in memory (where a restart, or a power cut, gave five fresh tries)
but worked out from them. Five wrong PINs in a row within an hour lock the card for
five minutes from the fifth; a right PIN starts the count again. The facts of every
kiosk count: guesses spread over two kiosks, offline, lock the card at both once
they have synced, and at the desk.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kiosk.data.core.facts import to_db_time
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Journal

PIN_ATTEMPTS = 5
"""Wrong PINs in a row before the librarian's card is locked for a while."""
PIN_LOCK = timedelta(minutes=5)
"""How long the card stays locked after the last of those."""
PIN_WINDOW = timedelta(hours=1)
"""Only wrong PINs this recent count (a typo a week ago is not a guess)."""


@dataclass(frozen=True)
class PinState:
    """Where a librarian's card stands: wrong PINs in a row, and a lock."""

    failures: int
    locked_until: datetime | None
    """Until when (aware UTC) the card is locked; ``None``: it is not."""

    def minutes_left(self, now: datetime) -> int:
        """Whole minutes of the lock still to run (at least 1 while locked)."""
        if self.locked_until is None:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds() / 60))


def pin_state(number: str, now: datetime) -> PinState:
    """The PIN lock of librarian ``number`` at ``now``, from this database's journal.

    Call with the models bound and, to decide an attempt, inside the transaction that
    records it (so two attempts at once cannot both be the fourth).
    """
    since = to_db_time(now - PIN_WINDOW - PIN_LOCK)
    rows = (
        Journal.select(Journal.kind, Journal.wall_time, Journal.data)
        .where(
            (Journal.patron == number)
            & (Journal.wall_time >= since)
            & Journal.kind.in_(["refusal", "librarian_login"])
        )
        .order_by(Journal.wall_time, Journal.hlc)
        .tuples()
    )
    recent: list[datetime] = []  # the wrong PINs in a row, within the window
    locked_until: datetime | None = None
    for kind, wall_time, data in rows:
        moment = _aware(wall_time)
        if kind == Kind.LIBRARIAN_LOGIN:
            recent, locked_until = [], None
            continue
        if json.loads(data).get("reason") != "pin.wrong":
            continue
        if locked_until is not None and moment < locked_until:
            continue  # (another kiosk, offline, did not know of the lock)
        recent = [*(earlier for earlier in recent if moment - earlier <= PIN_WINDOW), moment]
        if len(recent) >= PIN_ATTEMPTS:
            recent, locked_until = [], moment + PIN_LOCK
    if locked_until is not None and locked_until <= now:
        locked_until = None
    failures = sum(1 for moment in recent if now - moment <= PIN_WINDOW)
    return PinState(failures, locked_until)


def _aware(moment: datetime | str) -> datetime:
    """A stored wall time as an aware UTC datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
