"""What the librarian's screens show, as plain values: day-log entries, cases, overdue
loans, figures, activities, a patron's and a copy's details, the kiosks' sync state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kiosk.data.core.models import COPY_STATUSES as COPY_STATUSES  # (for the screens)
from kiosk.data.lending.circulation import LoanView


def local_time(moment: datetime) -> datetime:
    """A journal time (naive UTC) as the local wall-clock time the librarian reads."""
    return moment.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


@dataclass(slots=True)
class LogEntry:
    """One fact of the day, in words."""

    seq: int
    uuid: str
    at: datetime
    """Local wall-clock time."""
    kind: str
    kind_label: str
    patron: str
    patron_name: str
    class_name: str
    copy: str
    title: str
    what: str
    """What happened, in a sentence (a refusal's reason in words)."""
    kiosk: str
    reason: str = ""
    """A refusal's reason key (``card.forged``...)."""
    haystack: str = field(default="", repr=False, compare=False)
    """Everything the filter matches, case-folded."""


@dataclass(frozen=True)
class Case:
    """Something the librarian should look at: a refusal worth a look or a sync conflict.

    ``ref`` names it in a ``case_reviewed`` fact: ``refusal:<fact uuid>`` or
    ``sync:<fact uuid>:<case kind>`` (the natural key of a desk's ``SyncCase``).
    """

    ref: str
    source: str
    at: datetime
    kind: str
    what: str
    patron: str
    patron_name: str
    copy: str
    title: str
    kiosk: str


@dataclass(frozen=True)
class OverdueLoan:
    """An open loan past its due date."""

    class_name: str
    patron: str
    patron_name: str
    copy: str
    title: str
    due_on: date
    days_overdue: int
    loan_id: str


@dataclass(frozen=True)
class DayFigures:
    """The day in numbers, and the two small charts."""

    loans: int
    returns: int
    renewals: int
    refusals: int
    visitors: int
    per_hour: tuple[tuple[int, int], ...]
    """(hour, loans) for every hour from the first to the last hour with a loan."""
    per_class: tuple[tuple[str, int], ...]
    """(class, loans), most first."""


@dataclass(frozen=True)
class Activity:
    """A class visit or a helper's shift, put together from its facts."""

    kind: str
    """``visit`` or ``shift``."""
    ref: str
    who: str
    """The class (visits) or the helper (shifts)."""
    by: str
    """The teacher who brought the class (visits)."""
    started: datetime | None
    ended: datetime | None
    count: int
    """Students who came (visits) or books put back (shifts)."""
    kiosk: str


@dataclass(frozen=True)
class CardInfo:
    """One of a patron's cards."""

    serial: int
    issued_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class PatronDetail:
    """A patron as the librarian sees them: cards, loans, and what happened lately."""

    number: str
    name: str
    kind: str
    class_name: str
    active: bool
    blocked_reason: str
    cards: tuple[CardInfo, ...]
    loans: tuple[LoanView, ...]
    recent: tuple[LogEntry, ...]

    @property
    def current_card(self) -> int | None:
        """The serial of the card that works now, if any."""
        live = [card.serial for card in self.cards if card.revoked_at is None]
        return max(live) if live else None


@dataclass(frozen=True)
class CopyDetail:
    """A copy as the librarian sees it: where it is, who has it, what happened lately."""

    barcode: str
    title: str
    author: str
    shelf: str
    status: str
    borrower: str
    borrower_name: str
    loan_id: str
    due_on: date | None
    recent: tuple[LogEntry, ...]


@dataclass(frozen=True)
class KioskState:
    """At the desk: a kiosk and how its last sync went."""

    kiosk: str
    name: str
    last_seen: datetime | None
    facts_pushed: int


@dataclass(frozen=True)
class SyncOverview:
    """This database's part in the sync: a kiosk (facts waiting) or the desk (its kiosks)."""

    role: str
    """``desk``, ``kiosk`` (joined a desk) or ``alone``."""
    waiting: int
    kiosks: tuple[KioskState, ...]


@dataclass(frozen=True)
class Exported:
    """Where the day's log was written."""

    csv: Path
    xlsx: Path
    rows: int
