"""What circulation decides by, besides the patron and the copy: the settings (returns
only, the days the library is closed each week, the renewal window), the loan rules and
the closed days of the calendar.

The librarian sets these at the desk; they change a few times a term. A kiosk reads them
in every checkout's transaction (on SQLite that costs microseconds). The SIP2 server
reads them at most once a second (``ttl``): at a PostgreSQL desk the three reads were
three of a checkout's ten round trips, each made while the journal lock every other
terminal waits for is held. A change reaches the server's terminals within that second;
a kiosk learns it at its next sync, minutes later, so no terminal knows it later than a
kiosk would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from kiosk.data.core import settings
from kiosk.data.core.models import ClosedDay, LoanRule, Setting
from kiosk.data.core.prepared import Prepared
from kiosk.data.lending import renewals

_SETTINGS = Prepared(
    lambda: Setting.select(Setting.key, Setting.value)
    .where(Setting.key.in_(["returns_only", "closed_weekdays", renewals.SETTING]))
    .tuples()
)
_RULES = Prepared(
    lambda patron_kind, item_kind: LoanRule.select().where(
        (LoanRule.patron_kind == patron_kind) & LoanRule.item_kind.in_(["*", item_kind])
    )
)
_ALL_RULES = Prepared(lambda: LoanRule.select())
_CLOSED_DAYS = Prepared(
    lambda first, last: ClosedDay.select(ClosedDay.day)
    .where(ClosedDay.day.between(first, last))
    .tuples()
)

CLOSED_AHEAD = timedelta(days=800)
"""How far ahead of today the kept closed days reach (a due date is at most a loan period
and a renewal from today, and is moved on by at most 120 days)."""


@dataclass(frozen=True)
class _Kept:
    """The terms as read at ``read_at`` (monotonic seconds) on ``today``."""

    read_at: float
    today: date
    values: dict[str, str]
    rules: tuple[LoanRule, ...]
    closed: frozenset[date]


class Terms:
    """The settings, rules and closed days, read in the caller's transaction.

    Args:
        today: the library's date today (the store's clock).
        ttl: seconds a reading is kept (0: read every time, as a kiosk does).
    """

    def __init__(self, today: Callable[[], date], ttl: float = 0.0) -> None:
        self._today = today
        self.ttl = ttl
        self._kept: _Kept | None = None

    def _current(self) -> _Kept | None:
        """The kept reading, read again when it is ``ttl`` old or the day changed."""
        if self.ttl <= 0:
            return None
        now, today = time.monotonic(), self._today()
        kept = self._kept  # (one read: another thread may replace it meanwhile)
        if kept is None or now - kept.read_at >= self.ttl or kept.today != today:
            kept = _Kept(
                read_at=now, today=today, values=self._read_settings(),
                rules=tuple(_ALL_RULES.rows()),
                closed=frozenset(day for (day,) in _CLOSED_DAYS.rows(today, today + CLOSED_AHEAD)),
            )
            self._kept = kept
        return kept

    @staticmethod
    def _read_settings() -> dict[str, str]:
        values = {key: settings.DEFAULTS[key] for key in ("returns_only", "closed_weekdays")}
        values.update(_SETTINGS.rows())
        return values

    def settings(self) -> dict[str, str]:
        """``returns_only``, ``closed_weekdays`` and the renewal window's setting."""
        kept = self._current()
        return dict(kept.values) if kept is not None else self._read_settings()

    def rules(self, patron_kind: str, item_kind: str) -> list[LoanRule]:
        """The patron kind's rules for ``item_kind`` and for every kind (``*``)."""
        kept = self._current()
        if kept is None:
            return list(_RULES.rows(patron_kind, item_kind))
        return [
            rule for rule in kept.rules
            if rule.patron_kind == patron_kind and rule.item_kind in ("*", item_kind)
        ]

    def closed_days(self, first: date, last: date) -> set[date]:
        """The calendar's closed days from ``first`` to ``last``."""
        kept = self._current()
        if kept is not None and kept.today <= first and last <= kept.today + CLOSED_AHEAD:
            return {day for day in kept.closed if first <= day <= last}
        return {day for (day,) in _CLOSED_DAYS.rows(first, last)}


__all__ = ["CLOSED_AHEAD", "Terms"]
