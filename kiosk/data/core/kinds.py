"""The registry of fact kinds: every kind of fact, and one row saying all it means.

A fact's kind decides how it changes the state tables (its projection), whether the
sync's batch path may play it in memory (:mod:`kiosk.data.sync.batch`), which conflict
rule the desk applies when a kiosk pushes it (:mod:`kiosk.data.core.conflicts`), and how
the librarian's day log says it (:mod:`kiosk.data.core.fact_words`, under a short label).
All of that is one row of :data:`KINDS`; nothing else in the code keeps a list of
kinds. Adding a kind is a :class:`Kind` member, a row, its messages in the locale
catalogues (``lib.log.kind.<label>`` and, for the plain wording, ``lib.log.what.<kind>``)
and a test (``tests/test_kinds.py`` checks every row is complete in both languages).

Master data (classes, patrons, the catalogue, rules, the calendar, settings) is made
only at the desk and applied many facts at a time (:mod:`kiosk.data.core.masterdata`); its
rows say so and have no projection of their own here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from kiosk.data.core import (
    conflicts,
    fact_words,
    projection,
    projection_holds,
    projection_roles,
    projection_stock,
)
from kiosk.data.core.conflicts import Case
from kiosk.data.core.fact_words import Words
from kiosk.data.core.facts import Fact
from kiosk.data.core.projection import Extra, Known
from kiosk.locale import t

Apply = Callable[[Fact, Known], None]
Rule = Callable[[Fact, Known], list[Case]]


class Kind(StrEnum):
    """Every kind of fact (the value is what the journal stores)."""

    # lending
    CHECKOUT = "checkout"
    CHECKIN = "checkin"
    RENEW = "renew"
    HOLD = "hold"
    # reservations (holds are placed above; docs/holds.md)
    CLASS_SET = "class_set"
    HOLD_CANCELLED = "hold_cancelled"
    HOLD_EXPIRED = "hold_expired"
    # cards, copies, the librarian
    CARD_ISSUED = "card_issued"
    CARD_REVOKED = "card_revoked"
    COPY_STATUS = "copy_status"
    REFUSAL = "refusal"
    LIBRARIAN_LOGIN = "librarian_login"
    CASE_REVIEWED = "case_reviewed"
    # class visits, helpers, shelf checks
    VISIT_STARTED = "visit_started"
    VISIT_ATTENDEE = "visit_attendee"
    VISIT_ENDED = "visit_ended"
    SHIFT_STARTED = "shift_started"
    SHIFT_ENDED = "shift_ended"
    SHELF_CHECK_STARTED = "shelf_check_started"
    SHELF_SCAN = "shelf_scan"
    SHELF_CHECK_ENDED = "shelf_check_ended"
    # class book corners
    CORNER_LENT = "corner_lent"
    CORNER_RETURNED = "corner_returned"
    # master data, made at the desk
    CLASS_SAVED = "class_saved"
    PATRON_SAVED = "patron_saved"
    TEACHER_CLASSES = "teacher_classes"
    TITLE_SAVED = "title_saved"
    COPY_SAVED = "copy_saved"
    RULE_SAVED = "rule_saved"
    RULE_DELETED = "rule_deleted"
    CLOSED_DAY_SAVED = "closed_day_saved"
    CLOSED_DAY_DELETED = "closed_day_deleted"
    SETTING_SAVED = "setting_saved"


class Batch(Enum):
    """How the sync's batch path (:mod:`kiosk.data.sync.batch`) treats a kind's facts."""

    MEMORY = "memory"
    """Played in memory against the rows the batch holds (the batch knows its rules:
    ``checkout``, ``checkin``, ``renew``, and the kinds that change nothing)."""
    SCOPED = "scoped"
    """Applied one by one; it touches only its copy's loans and status, its title's
    holds, its patron's cards or tables of its own, which the batch then reads again."""
    WHOLE = "whole"
    """Applied one by one, after which the batch reads everything again (the default
    for a kind whose reach the batch does not know)."""
    MASTER = "master"
    """Master data: applied many at a time by :mod:`kiosk.data.core.masterdata`, made only at
    the desk, never kept in a kiosk's journal."""


@dataclass(frozen=True)
class KindRow:
    """All a kind of fact means, in one place."""

    apply: Apply | None
    """Its projection on the state tables (``None`` for master data)."""
    batch: Batch
    label: str | None
    """Its short name in the day log, the message ``lib.log.kind.<label>`` (``None``:
    not shown in the day log, as master data is not)."""
    words: Words = fact_words.plain
    """Its sentence in the day log (default: the message ``lib.log.what.<kind>``)."""
    conflicts: Rule | None = None
    """The desk's conflict rule for it when a kiosk pushes it (``None``: none)."""
    extras: tuple[Extra, ...] = ()
    """Further effects on the facts they concern (a helper's return counts for the shift)."""
    places_holds: bool = False
    """Its facts place holds on their copy's title: the batch path then leaves that
    title's facts to the per-fact way (the hold rules read and write holds)."""


def _master() -> KindRow:
    return KindRow(None, Batch.MASTER, None)


KINDS: dict[str, KindRow] = {
    Kind.CHECKOUT: KindRow(
        projection.checkout, Batch.MEMORY, "checkout", fact_words.with_due, conflicts.checkout
    ),
    Kind.CHECKIN: KindRow(
        projection.checkin, Batch.MEMORY, "checkin", fact_words.checkin, conflicts.checkin,
        extras=(
            Extra(projection_roles.in_shift, projection_roles.count_for_shift),
            Extra(projection_stock.damaged_return, projection_stock.log_damaged),
        ),
    ),
    Kind.RENEW: KindRow(
        projection.renew, Batch.MEMORY, "renew", fact_words.with_due, conflicts.renew
    ),
    Kind.HOLD: KindRow(
        projection_holds.hold, Batch.SCOPED, "hold", fact_words.hold, places_holds=True
    ),
    Kind.CLASS_SET: KindRow(
        projection_holds.class_set, Batch.SCOPED, "class_set", fact_words.hold,
        places_holds=True,
    ),
    Kind.HOLD_CANCELLED: KindRow(
        projection_holds.hold_cancelled, Batch.SCOPED, "hold_ended", fact_words.hold_ended
    ),
    Kind.HOLD_EXPIRED: KindRow(
        projection_holds.hold_expired, Batch.SCOPED, "hold_ended", fact_words.hold_ended
    ),
    Kind.CARD_ISSUED: KindRow(projection.card_issued, Batch.SCOPED, "card_issued", fact_words.card),
    Kind.CARD_REVOKED: KindRow(
        projection.card_revoked, Batch.SCOPED, "card_revoked", fact_words.card
    ),
    Kind.COPY_STATUS: KindRow(
        projection_stock.copy_status, Batch.SCOPED, "copy_status", fact_words.copy_status,
        conflicts.copy_status,
    ),
    Kind.REFUSAL: KindRow(projection.nothing, Batch.MEMORY, "refusal", fact_words.refusal),
    Kind.LIBRARIAN_LOGIN: KindRow(projection.nothing, Batch.MEMORY, "librarian_login"),
    Kind.CASE_REVIEWED: KindRow(projection.nothing, Batch.MEMORY, "case_reviewed"),
    Kind.VISIT_STARTED: KindRow(projection_roles.visit_started, Batch.SCOPED, "visit_started"),
    Kind.VISIT_ATTENDEE: KindRow(
        projection_roles.visit_attendee, Batch.SCOPED, "visit_attendee", fact_words.visit_attendee
    ),
    Kind.VISIT_ENDED: KindRow(
        projection_roles.visit_ended, Batch.SCOPED, "visit_ended", fact_words.visit_ended
    ),
    Kind.SHIFT_STARTED: KindRow(projection_roles.shift_started, Batch.SCOPED, "shift_started"),
    Kind.SHIFT_ENDED: KindRow(projection_roles.shift_ended, Batch.SCOPED, "shift_ended"),
    Kind.SHELF_CHECK_STARTED: KindRow(
        projection_roles.shelf_check_started, Batch.SCOPED, "shelf_check", fact_words.shelf_check
    ),
    Kind.SHELF_SCAN: KindRow(
        projection_roles.shelf_scan, Batch.SCOPED, "shelf_check", fact_words.shelf_check
    ),
    Kind.SHELF_CHECK_ENDED: KindRow(
        projection_roles.shelf_check_ended, Batch.SCOPED, "shelf_check", fact_words.shelf_check
    ),
    Kind.CORNER_LENT: KindRow(
        projection_stock.corner_lent, Batch.SCOPED, "corner", fact_words.corner_lent,
        conflicts.checkout,
    ),
    Kind.CORNER_RETURNED: KindRow(
        projection_stock.corner_returned, Batch.SCOPED, "corner", fact_words.corner_returned
    ),
    **{kind: _master() for kind in (
        Kind.CLASS_SAVED, Kind.PATRON_SAVED, Kind.TEACHER_CLASSES, Kind.TITLE_SAVED,
        Kind.COPY_SAVED, Kind.RULE_SAVED, Kind.RULE_DELETED, Kind.CLOSED_DAY_SAVED,
        Kind.CLOSED_DAY_DELETED, Kind.SETTING_SAVED,
    )},
}
"""Every kind's row (keyed by the kind's value, so a journal row's text finds it)."""

MASTER = frozenset(kind for kind, row in KINDS.items() if row.batch is Batch.MASTER)
"""The kinds of master data: made only at the desk, never kept in a kiosk's journal."""

PLACES_HOLDS = frozenset(kind for kind, row in KINDS.items() if row.places_holds)
"""The kinds whose facts place holds on their copy's title (``hold``, ``class_set``)."""


# -- what the rows mean, for the journal, the sync and the day log -----------------------


def known(kind: str) -> bool:
    """Whether this version knows ``kind`` (a newer kiosk may make kinds it does not)."""
    return kind in KINDS


def applies(kind: str) -> bool:
    """Whether facts of ``kind`` are applied one at a time to the state (not master data,
    and known to this version: a kind only a newer kiosk knows is kept, not applied)."""
    row = KINDS.get(kind)
    return row is not None and row.apply is not None


def apply(fact: Fact, known: Known | None = None) -> Known:
    """Apply one fact to the state tables (inside the caller's transaction).

    ``known`` passes rows the caller already read; what the projection found or
    changed is returned in it.

    Raises:
        KeyError: the fact is of a kind this version does not apply (master data, or a
            kind made by a newer kiosk: the sync keeps such facts without applying them).
    """
    known = known or Known()
    row = KINDS[fact.kind]
    if row.apply is None:
        raise KeyError(fact.kind)
    row.apply(fact, known)
    for extra in row.extras:
        if extra.concerns(fact):
            extra.apply(fact, known)
    return known


def in_memory(fact: Fact) -> bool:
    """Whether the batch path may play ``fact`` in memory: its kind's are and no extra
    concerns it (a helper's return also counts for the shift: the per-fact way)."""
    row = KINDS.get(fact.kind)
    if row is None or row.batch is not Batch.MEMORY:
        return False
    return not any(extra.concerns(fact) for extra in row.extras)


def in_memory_kind(kind: str) -> bool | None:
    """Whether every fact of ``kind`` may be played in memory (``True``), none
    (``False``), or it depends on the fact (``None``: an extra may concern it)."""
    row = KINDS.get(kind)
    if row is None or row.batch is not Batch.MEMORY:
        return False
    return None if row.extras else True


def scoped(kind: str) -> bool:
    """Whether a fact of ``kind`` applied on its own touches only its copy's loans and
    status, its title's holds, its patron's cards or tables of its own."""
    row = KINDS.get(kind)
    return row is not None and row.batch in (Batch.MEMORY, Batch.SCOPED)


def cases(fact: Fact, known: Known) -> list[Case]:
    """The cases ``fact`` raises at the desk, before it is applied (its kind's rule)."""
    row = KINDS.get(fact.kind)
    if row is None or row.conflicts is None:
        return []
    return row.conflicts(fact, known)


def shown(kind: str) -> bool:
    """Whether the day log shows facts of ``kind`` (master data it does not)."""
    row = KINDS.get(kind)
    return row is None or row.label is not None


def label(kind: str) -> str:
    """The short name of a kind of fact in the day log (``Loan``, ``Refused``...)."""
    row = KINDS.get(kind)
    if row is None or row.label is None:
        return kind  # (a kind a newer kiosk made: its name, rather than nothing)
    return t(f"lib.log.kind.{row.label}")


def describe(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """What a fact says, in a sentence the librarian reads."""
    row = KINDS.get(kind)
    if row is None or row.label is None:
        return kind
    return row.words(kind, data, title, patron_name)
