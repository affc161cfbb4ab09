"""Shelf checks: a helper scans every book on one shelf area and learns what is missing.

The report compares what was scanned with the catalogue's copies of that area that
should be on the shelf, and names the books found out of place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.errors import NotFound
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    SHELF_LENGTH,
    Copy,
    Patron,
    ShelfCheck,
    ShelfCheckItem,
    Title,
    shelf_area,
)
from kiosk.data.core.text import clean_code, printable
from kiosk.data.core.titles import issue_title
from kiosk.data.roles.common import RoleService, area_sql, aware, primary_key, tuples

log = logging.getLogger(__name__)


# -- values ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShelfCopy:
    """A copy as a shelf check lists it: ``area`` is where it belongs."""

    barcode: str
    title: str
    area: str
    status: str


@dataclass(frozen=True)
class ShelfScan:
    """One book scanned in a shelf check: ``here`` (it belongs on this shelf),
    ``misplaced`` (it belongs on ``copy.area``) or ``repeat`` (scanned already)."""

    status: str
    copy: ShelfCopy
    scanned: int
    """How many different books this check has found so far."""


@dataclass(frozen=True)
class ShelfReport:
    """The result of a shelf check.

    ``found`` are the copies scanned that belong on this shelf; ``misplaced`` were
    scanned but belong elsewhere (counted apart: a stray book is not one of this
    shelf's books found); ``missing`` are the copies that belong on the shelf and
    should be there (status ``available``) but were not scanned.
    """

    check_id: str
    shelf: str
    helper_name: str
    started_at: datetime
    ended_at: datetime | None
    found: tuple[ShelfCopy, ...]
    missing: tuple[ShelfCopy, ...]
    misplaced: tuple[ShelfCopy, ...]


# -- the service -------------------------------------------------------------------


class ShelfChecks(RoleService):
    """Checks of a shelf area against the catalogue."""


    def shelf_areas(self) -> list[str]:
        """Every shelf area the catalogue's copies belong to, sorted."""
        area = area_sql()
        with self.store.reading():
            found = {
                value for (value,) in tuples(Copy.select(area).join(Title).distinct()) if value
            }
        return sorted(found)

    def _copy(self, raw_barcode: str) -> tuple[Any, ShelfCopy]:
        barcode = clean_code(raw_barcode)
        if barcode is None:
            raise NotFound("copy.damaged_code")
        copy: Any = Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode).first()
        if copy is None:
            raise NotFound("copy.unknown", code=printable(barcode, 40))
        return copy, self._shelf_copy(copy, copy.title)

    @staticmethod
    def _shelf_copy(copy: Any, title: Any) -> ShelfCopy:
        return ShelfCopy(
            copy.barcode, issue_title(title.title, title.issue_date),
            shelf_area(copy.shelf, title.classification), copy.status
        )

    def area_of(self, raw_barcode: str) -> str:
        """The shelf area the scanned book belongs to (to start a check from a book).

        Raises:
            NotFound: ``copy.unknown`` or ``copy.damaged_code``.
        """
        with self.store.reading():
            return self._copy(raw_barcode)[1].area

    def start_shelf_check(self, shelf: str, helper: str | None = None) -> str:
        """Start checking shelf area ``shelf`` (by ``helper``, if a helper); return its id."""
        with self.store.writing():
            fact = self.record_started(
                Kind.SHELF_CHECK_STARTED, "check", patron=helper, shelf=printable(shelf, SHELF_LENGTH)
            )
            return fact.uuid

    def shelf_scan(self, check_id: str, raw_barcode: str) -> ShelfScan:
        """Note a book found on the shelf; say whether it belongs there.

        Raises:
            NotFound: ``copy.unknown``, ``copy.damaged_code`` or ``shelf.unknown_check``.
        """
        with self.store.writing():
            check: Any = ShelfCheck.get_or_none(ShelfCheck.id == check_id)
            if check is None:
                raise NotFound("shelf.unknown_check")
            copy, view = self._copy(raw_barcode)
            repeat = ShelfCheckItem.select().where(
                (ShelfCheckItem.check == check_id) & (ShelfCheckItem.copy == copy.id)
            ).exists()
            if not repeat:
                journal.record(self.fact(Kind.SHELF_SCAN, copy=copy.barcode, check=check_id))
            scanned = ShelfCheckItem.select().where(ShelfCheckItem.check == check_id).count()
            if repeat:
                status = "repeat"
            else:
                status = "here" if view.area == check.shelf else "misplaced"
            return ShelfScan(status, view, scanned)

    def end_shelf_check(self, check_id: str) -> ShelfReport:
        """Finish the check and report what is missing and misplaced.

        Raises:
            NotFound: ``shelf.unknown_check``.
        """
        with self.store.writing():
            check = ShelfCheck.get_or_none(ShelfCheck.id == check_id)
            if check is None:
                raise NotFound("shelf.unknown_check")
            if check.ended_at is None:
                journal.record(self.fact(Kind.SHELF_CHECK_ENDED, check=check_id))
        return self.shelf_report(check_id)

    def shelf_report(self, check_id: str) -> ShelfReport:
        """What a shelf check found, missed and found out of place.

        Raises:
            NotFound: ``shelf.unknown_check``.
        """
        with self.store.reading():
            check: Any = (
                ShelfCheck.select(ShelfCheck, Patron)
                .join(Patron, pw.JOIN.LEFT_OUTER)
                .where(ShelfCheck.id == check_id)
                .first()
            )
            if check is None:
                raise NotFound("shelf.unknown_check")
            scanned_copies = self._copies(
                Copy.select(Copy, Title)
                .join(Title)
                .join_from(Copy, ShelfCheckItem)
                .where(ShelfCheckItem.check == check_id)
                .order_by(ShelfCheckItem.scanned_at, ShelfCheckItem._meta.primary_key)
            )
            scanned = ShelfCheckItem.select(ShelfCheckItem.copy).where(
                ShelfCheckItem.check == check_id
            )
            missing = self._copies(
                Copy.select(Copy, Title)
                .join(Title)
                .where(
                    (area_sql() == check.shelf)
                    & (Copy.status == "available")
                    & primary_key(Copy).not_in(scanned)
                )
                .order_by(Title.classification, Copy.barcode)
            )
        return ShelfReport(
            check_id=check.id,
            shelf=check.shelf,
            helper_name=check.helper.name if check.helper_id else "",
            started_at=aware(check.started_at),  # type: ignore[arg-type]
            ended_at=aware(check.ended_at),
            found=tuple(c for c in scanned_copies if c.area == check.shelf),
            missing=tuple(missing),
            misplaced=tuple(c for c in scanned_copies if c.area != check.shelf),
        )

    def _copies(self, query: Iterable[Any]) -> list[ShelfCopy]:
        return [self._shelf_copy(copy, copy.title) for copy in query]
