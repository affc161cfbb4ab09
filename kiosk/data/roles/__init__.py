"""The school's roles at the kiosk: class visits, helpers' shifts and shelf checks.

A teacher brings a class for its reading lesson (a *visit*, :mod:`.visits`); a student
helper returns piles of books in a *shift* (:mod:`.shifts`); a helper checks a shelf
area against the catalogue (a *shelf check*, :mod:`.shelf_checks`); a teacher lends a
set of books to a class's reading corner (a *corner*, :mod:`.corners`). Each service takes
and returns plain values; no Peewee object leaves this package. :class:`Roles` holds
the role services over one circulation service, for the screens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.data.lending.circulation import Circulation
from kiosk.data.roles.corners import CornerBook, Corners, CornerScan, CornerView
from kiosk.data.roles.shelf_checks import ShelfChecks, ShelfCopy, ShelfReport, ShelfScan
from kiosk.data.roles.shifts import HelperScan, Shifts, ShiftView
from kiosk.data.roles.visits import ClassChoice, RollCall, Visits, VisitView

__all__ = [
    "ClassChoice", "CornerBook", "CornerScan", "CornerView", "Corners", "HelperScan", "Roles",
    "RollCall", "ShelfChecks", "ShelfCopy", "ShelfReport", "ShelfScan", "ShiftView", "Shifts",
    "VisitView", "Visits",
]


@dataclass(frozen=True)
class Roles:
    """The role services over one circulation service (creating it costs nothing)."""

    circulation: Circulation
    visits: Visits = field(init=False)
    shifts: Shifts = field(init=False)
    shelf_checks: ShelfChecks = field(init=False)
    corners: Corners = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "visits", Visits(self.circulation))
        object.__setattr__(self, "shifts", Shifts(self.circulation))
        object.__setattr__(self, "shelf_checks", ShelfChecks(self.circulation))
        object.__setattr__(self, "corners", Corners(self.circulation))
