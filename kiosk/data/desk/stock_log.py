"""The repair log and the write-off list of a period, read from ``copy_event``.

The librarian's decisions about copies (:mod:`kiosk.data.librarian.stock`) and damaged
returns are kept by their projection (:mod:`kiosk.data.core.projection_stock`); these
functions read them back for the term's lists (:mod:`kiosk.data.desk.stock_lists`) and
the term report (:mod:`kiosk.data.desk.term_stock`). Plain values out; read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core.facts import day_bounds
from kiosk.data.core.models import Copy, CopyEvent, Patron, SchoolClass, Title
from kiosk.data.core.projection_stock import ENTERS_REPAIR


@dataclass(frozen=True)
class RepairLine:
    """A copy's stay in the repair box: when and how it came in, when it left and how."""

    barcode: str
    title: str
    call_number: str
    came_in: date
    how: str
    """``damaged`` (returned damaged) or ``repair`` (the librarian sent it)."""
    left_on: date | None
    outcome: str
    """``repaired``, ``withdrawn``, ``lost``, or empty (still in the box)."""
    by: str


@dataclass(frozen=True)
class WriteOff:
    """A copy withdrawn or lost in the period: why, who lost it, what was agreed."""

    day: date
    barcode: str
    title: str
    call_number: str
    action: str
    reason: str
    settlement: str
    patron: str
    patron_name: str
    school_class: str
    by: str


def _day(moment: datetime) -> date:
    return moment.replace(tzinfo=UTC).astimezone().date()


def repair_log(start: date, end: date) -> list[RepairLine]:
    """Every stay in the repair box that began from ``start`` to ``end`` (both days),
    with how it ended if it has. Read-only; call with a connection."""
    low, high = day_bounds(start, end)
    rows = list(
        CopyEvent.select(CopyEvent.copy, CopyEvent.action, CopyEvent.at, CopyEvent.by,
                         Copy.barcode, Title.title, Title.classification)
        .join(Copy).join(Title)
        .where(CopyEvent.at >= low)
        .order_by(CopyEvent.at, CopyEvent.fact)
        .tuples()
    )
    lines: list[RepairLine] = []
    open_stays: dict[int, dict[str, Any]] = {}
    for copy_id, action, at, by, barcode, title, call in rows:
        if action in ENTERS_REPAIR:
            if at < high and copy_id not in open_stays:
                open_stays[copy_id] = {
                    "barcode": barcode, "title": title, "call_number": call,
                    "came_in": _day(at), "how": action, "by": by,
                }
        elif copy_id in open_stays and action in ("repaired", "withdrawn", "lost"):
            stay = open_stays.pop(copy_id)
            lines.append(RepairLine(**stay, left_on=_day(at), outcome=action))
    lines.extend(RepairLine(**stay, left_on=None, outcome="") for stay in open_stays.values())
    lines.sort(key=lambda line: (line.came_in, line.barcode))
    return lines


def write_offs(start: date, end: date) -> list[WriteOff]:
    """Every copy withdrawn or lost from ``start`` to ``end`` (both days), oldest first.
    Read-only; call with a connection."""
    low, high = day_bounds(start, end)
    query = (
        CopyEvent.select(CopyEvent.at, Copy.barcode, Title.title, Title.classification,
                         CopyEvent.action, CopyEvent.reason, CopyEvent.settlement,
                         Patron.number, Patron.name, SchoolClass.name, CopyEvent.by)
        .join(Copy).join(Title)
        .switch(CopyEvent).join(Patron, pw.JOIN.LEFT_OUTER)
        .join(SchoolClass, pw.JOIN.LEFT_OUTER)
        .where((CopyEvent.at >= low) & (CopyEvent.at < high)
               & CopyEvent.action.in_(["withdrawn", "lost"]))
        .order_by(CopyEvent.at, CopyEvent.fact)
        .tuples()
    )
    return [
        WriteOff(_day(at), barcode, title, call, action, reason, settlement, number or "",
                 name or "", class_name or "", by)
        for at, barcode, title, call, action, reason, settlement, number, name, class_name, by
        in query
    ]
