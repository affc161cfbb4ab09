"""The term report's figures of class corners, repairs and write-offs.

The plans rate each class's book corner every term (每一学期对各年级班级图书角进行评比)
and keep a repair log and a write-off list (图书修补记载表, 图书注销、剔除登记表): the term
report counts, per class, the corners lent and their books (and how many did not come
back), and the books repaired, withdrawn and lost in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core.models import ClassCorner, Loan, SchoolClass
from kiosk.data.desk.stock_log import repair_log, write_offs


@dataclass(frozen=True)
class CornerFigures:
    """One class's book corners opened in the period."""

    school_class: str
    corners: int
    books: int
    """Books lent to the class's corners."""
    missing: int
    """Books that did not come back when a corner was brought back."""
    out: int
    """Books still in the class's corners."""


@dataclass(frozen=True)
class StockFigures:
    """Repairs and write-offs of the period."""

    repairs: int
    """Books that went to the repair box."""
    repaired: int
    withdrawn: int
    lost: int
    lost_paid_or_replaced: int


def corner_figures(low: datetime, high: datetime) -> list[CornerFigures]:
    """Per class (in no order), the corners opened from ``low`` to ``high`` (stored
    times). Read-only."""
    books = pw.fn.COUNT(Loan.id)
    out = pw.fn.SUM(pw.Case(None, [(Loan.returned_at.is_null(), 1)], 0))
    per_corner: Any = (
        ClassCorner.select(SchoolClass.name, ClassCorner.id, ClassCorner.missing, books, out)
        .join(SchoolClass)
        .switch(ClassCorner)
        .join(Loan, pw.JOIN.LEFT_OUTER, on=Loan.corner == ClassCorner.id)
        .where((ClassCorner.opened_at >= low) & (ClassCorner.opened_at < high))
        .group_by(SchoolClass.name, ClassCorner.id, ClassCorner.missing)
        .tuples()
    )
    totals: dict[str, list[int]] = {}
    for name, _, missing, count, still in per_corner:
        row = totals.setdefault(name, [0, 0, 0, 0])
        row[0] += 1
        row[1] += int(count)
        row[2] += int(missing)
        row[3] += int(still or 0)
    return [CornerFigures(name, *values) for name, values in totals.items()]


def stock_figures(start: date, end: date) -> StockFigures:
    """The period's repairs and write-offs, counted. Read-only."""
    repairs = repair_log(start, end)
    gone = write_offs(start, end)
    lost = [x for x in gone if x.action == "lost"]
    return StockFigures(
        repairs=len(repairs),
        repaired=sum(1 for x in repairs if x.outcome == "repaired"),
        withdrawn=sum(1 for x in gone if x.action == "withdrawn"),
        lost=len(lost),
        lost_paid_or_replaced=sum(1 for x in lost if x.settlement in ("paid", "replaced")),
    )
