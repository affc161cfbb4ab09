"""Student helpers' shifts: a helper returns piles of books at break, under a shift.

The shift counts the books its helper returned; it ends with the helper's card, or
when the kiosk sits idle. Facts applied by :mod:`kiosk.data.core.projection_roles`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.errors import NotFound
from kiosk.data.core.facts import to_db_time
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    HelperReturn,
    HelperShift,
    Patron,
)
from kiosk.data.lending.circulation import ReturnResult
from kiosk.data.roles.common import RoleService, aware

log = logging.getLogger(__name__)


# -- values ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftView:
    """A helper's shift: who, when, and how many books they returned."""

    id: str
    helper_number: str
    helper_name: str
    started_at: datetime
    ended_at: datetime | None
    books: int
    kiosk: str


@dataclass(frozen=True)
class HelperScan:
    """A book returned in a helper's shift: where it goes, and the shift's count.

    ``books`` is the shift's own count (each book once), not a tally of scans.
    """

    result: ReturnResult
    books: int


# -- the service -------------------------------------------------------------------


class Shifts(RoleService):
    """Helpers' shifts: start, the books returned under them, end."""


    def _shift_view(self, shift: Any) -> ShiftView:
        return ShiftView(
            id=shift.id,
            helper_number=shift.helper.number,
            helper_name=shift.helper.name,
            started_at=aware(shift.started_at),  # type: ignore[arg-type]
            ended_at=aware(shift.ended_at),
            books=shift.books,
            kiosk=shift.kiosk,
        )

    def _shifts(self) -> Any:
        return HelperShift.select(HelperShift, Patron).join(Patron)

    def shift(self, shift_id: str) -> ShiftView:
        """One shift.

        Raises:
            NotFound: ``helper.unknown_shift``.
        """
        with self.store.reading():
            row = self._shifts().where(HelperShift.id == shift_id).first()
            if row is None:
                raise NotFound("helper.unknown_shift")
            return self._shift_view(row)

    def shifts(self, since: datetime, until: datetime | None = None) -> list[ShiftView]:
        """The shifts started from ``since`` (to ``until``), oldest first (for the award)."""
        with self.store.reading():
            query = self._shifts().where(HelperShift.started_at >= to_db_time(since))
            if until is not None:
                query = query.where(HelperShift.started_at < to_db_time(until))
            return [self._shift_view(row) for row in query.order_by(HelperShift.started_at)]

    def _end_shift(self, shift: Any, ended_by: str) -> None:
        data: dict[str, Any] = {"shift": shift.id, "ended_by": ended_by}
        if ended_by in ("timeout", "new_shift"):
            # The helper left after their last book, not when the kiosk noticed.
            last = (
                HelperReturn.select(pw.fn.MAX(HelperReturn.returned_at))
                .where(HelperReturn.shift == shift.id)
                .scalar()
            )
            data["at"] = (last or shift.started_at).isoformat()
        journal.record(self.fact(Kind.SHIFT_ENDED, patron=shift.helper.number, **data))

    def start_shift(self, helper: str) -> ShiftView:
        """Start helper ``helper``'s shift now (ending one they left open here).

        Raises:
            NotFound: ``patron.unknown``.
        """
        with self.store.writing():
            if not Patron.select().where(Patron.number == helper).exists():
                raise NotFound("patron.unknown")
            for left_open in self._shifts().where(
                (Patron.number == helper)
                & HelperShift.ended_at.is_null()
                & (HelperShift.kiosk == self.store.kiosk_id)
            ):
                self._end_shift(left_open, "new_shift")
            fact = self.record_started(Kind.SHIFT_STARTED, "shift", patron=helper)
            return self._shift_view(self._shifts().where(HelperShift.id == fact.uuid).get())

    def helper_return(self, shift_id: str, raw_barcode: str, *, damaged: bool = False) -> ReturnResult:
        """Return a book in the helper's shift (counted for them) and say where it goes.

        Raises:
            NotFound: ``copy.unknown`` or ``copy.damaged_code`` (as ``checkin`` does).
        """
        return self.circulation.checkin(raw_barcode, damaged=damaged, shift=shift_id)

    def helper_scan(self, shift_id: str, raw_code: str, *, damaged: bool = False) -> HelperScan | None:
        """A code scanned in helper mode: ``None`` for a card (the screen decides what
        it does), else the book returned as :meth:`helper_return` does, with the
        shift's count of books after it. One call, so a scan costs one trip to the
        database thread.

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code`` or ``helper.unknown_shift``.
        """
        if self.circulation.is_card(raw_code):
            return None
        result = self.helper_return(shift_id, raw_code, damaged=damaged)
        return HelperScan(result, self.shift(shift_id).books)

    def end_shift(self, shift_id: str, ended_by: str = "card") -> ShiftView:
        """End the shift (``card``, ``timeout``, ``other_card``...); an ended one stays as it is.

        A shift ended by the idle timeout ends at its last book.

        Raises:
            NotFound: ``helper.unknown_shift``.
        """
        with self.store.writing():
            shift = self._shifts().where(HelperShift.id == shift_id).first()
            if shift is None:
                raise NotFound("helper.unknown_shift")
            if shift.ended_at is None:
                self._end_shift(shift, ended_by)
            return self._shift_view(self._shifts().where(HelperShift.id == shift_id).get())
