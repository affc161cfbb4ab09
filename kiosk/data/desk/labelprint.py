"""Which book labels to print: the data side of ``kiosk labels``.

Two ways to choose: the copies *new since the last label run*, or a range of
accession barcodes (``--from T000100 --to T000150``), to reprint a worn shelf.

"New" is remembered in this database's own :class:`~kiosk.data.core.models.LocalState`
(key :data:`WATERMARK`): the highest copy row id whose label was printed here. Copy
rows are numbered in the order this database received them (an import, the sync),
so every copy above the mark is one whose label this desk has not printed. It is
local on purpose: labels are printed at one desk, the mark never travels to kiosks,
and a second desk keeps its own. The mark moves only when the PDF was written (the
caller's ``render`` step runs inside the transaction), so a failed print is printed
again next time. A range never moves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from kiosk.data.core import models
from kiosk.data.core.db import database
from kiosk.data.core.errors import KioskError
from kiosk.data.core.titles import issue_title

WATERMARK = "labels.printed_through"
"""LocalState key: the highest ``Copy.id`` whose label this database printed."""

SKIPPED_STATUSES = ("withdrawn", "lost")
"""Copies that get no label (they are not on the shelves)."""

TITLE_CHARS = 40
"""How much of a title goes on a label."""

# peewee's models are dynamic: their columns are typed Any in this module
Copy: Any = models.Copy
LocalState: Any = models.LocalState
Title: Any = models.Title


class LabelPrintError(KioskError):
    """Nothing to print; ``key`` (with ``params``) names the reason for :func:`t`."""


@dataclass(frozen=True)
class LabelRow:
    """One label: the copy's accession barcode, call number and a short title."""

    barcode: str
    call_number: str
    title: str


def _split(barcode: str) -> tuple[str, int | None, int]:
    """``T000123`` -> (``T``, 123, 6): prefix, number and width of the digits at its end."""
    match = re.fullmatch(r"(.*?)(\d+)", barcode)
    if match is None:
        return barcode, None, 0
    return match[1], int(match[2]), len(match[2])


def _row(copy: Any) -> LabelRow:
    # a magazine issue keeps its date on the label, whatever is cut from its title
    short = issue_title(copy.title.title, copy.title.issue_date, limit=TITLE_CHARS)
    return LabelRow(copy.barcode, copy.title.classification or copy.shelf or "", short)


def _query() -> Any:
    return (
        Copy.select(Copy.id, Copy.barcode, Copy.shelf, Title.title, Title.classification,
                    Title.issue_date)
        .join(Title)
        .where(Copy.status.not_in(SKIPPED_STATUSES))
    )


def watermark() -> int:
    """The highest copy id whose label was printed here (0: none yet)."""
    row = LocalState.get_or_none(LocalState.key == WATERMARK)
    return int(row.value) if row else 0


def new_labels(
    render: Callable[[list[LabelRow]], object] | None = None, *, limit: int | None = None
) -> list[LabelRow]:
    """The labels of the copies not yet labelled here, in the order they arrived.

    ``render`` runs inside the transaction; when it returns, the mark moves past
    the printed copies (when it raises, nothing is marked). ``limit`` prints only
    the first copies (a sheet at a time).

    Raises:
        LabelPrintError: ``print.error.no_new_labels`` when every copy has its label.
    """
    db: Any = database.obj
    with db.atomic():
        query = _query().where(Copy.id > watermark()).order_by(Copy.id)
        if limit:
            query = query.limit(limit)
        copies = list(query)
        if not copies:
            raise LabelPrintError("print.error.no_new_labels")
        rows = [_row(copy) for copy in copies]
        if render is not None:
            render(rows)
        highest = str(max(copy.id for copy in copies))
        LocalState.insert(key=WATERMARK, value=highest).on_conflict(
            conflict_target=[LocalState.key], update={LocalState.value: highest}
        ).execute()
    return rows


def range_labels(
    first: str, last: str, render: Callable[[list[LabelRow]], object] | None = None
) -> list[LabelRow]:
    """The labels of the copies from barcode ``first`` to ``last``, both included.

    Barcodes with the same prefix and a number at the end (``T000100``..``T000150``,
    ``B7``..``B12``) are compared by that number; others as text. When both ends have
    the same width (the usual case) the range holds barcodes of that width only
    (``T0120`` is not in ``T000100``..``T000150``), and it is read through the unique
    index on the barcode, so a reprint of one shelf reads only that shelf's copies.

    Raises:
        LabelPrintError: ``print.error.bad_range`` (first after last, or two prefixes),
            ``print.error.empty_range`` (no copy in it).
    """
    first, last = first.strip(), last.strip()
    prefix, low, width = _split(first)
    other, high, other_width = _split(last)
    if low is not None and high is not None and prefix == other:
        if low > high:
            raise LabelPrintError("print.error.bad_range", first=first, last=last)
        if width == other_width:
            # The usual shelf (T000100..T000150): a range of the unique barcode index,
            # so only the copies in it are read, not the whole library.
            candidates = _query().where(Copy.barcode.between(first, last))
        else:  # B7..B12: compared by number, whatever the width
            candidates = _query().where(
                pw.fn.SUBSTR(Copy.barcode, 1, len(prefix)) == prefix if prefix else pw.SQL("1=1")
            )
        copies = []
        for copy in candidates:
            p, number, _ = _split(copy.barcode)
            if p == prefix and number is not None and low <= number <= high:
                copies.append((number, copy))
        ordered = [copy for _, copy in sorted(copies, key=lambda pair: (pair[0], pair[1].barcode))]
    else:
        if first > last:
            raise LabelPrintError("print.error.bad_range", first=first, last=last)
        ordered = list(_query().where(Copy.barcode.between(first, last)).order_by(Copy.barcode))
    if not ordered:
        raise LabelPrintError("print.error.empty_range", first=first, last=last)
    rows = [_row(copy) for copy in ordered]
    if render is not None:
        render(rows)
    return rows
