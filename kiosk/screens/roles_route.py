"""Where a teacher's or a helper's card leads: class visits and helper mode.

Kept out of :mod:`kiosk.app` (which only routes): the app asks :func:`open_role`
first, for every card, and opens the patron's page only when it declines.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from kiosk.data.circulation import PatronView
from kiosk.screens.helper import HelperScreen
from kiosk.screens.session import Visit
from kiosk.screens.visit import end_due_visits, open_teacher_page

if TYPE_CHECKING:
    from kiosk.app import KioskApp

VISIT_CHECK_SECONDS = 30.0
"""How often the kiosk ends the class visits whose period is over."""


def open_role(
    app: KioskApp, patron: PatronView, *, replace: bool, visit: Visit | None
) -> bool:
    """Open helper mode for a helper, the class visit for a teacher; ``False`` otherwise.

    (A helper's own page comes from helper mode's "My books", which opens it itself.)
    """
    if patron.kind == "helper":
        app.show(HelperScreen(patron), replace=replace)
        return True
    if patron.kind == "teacher":
        app.run_worker(
            open_teacher_page(app, patron, replace=replace, receipt=visit),
            group="route", exit_on_error=False,
        )
        return True
    return False


def watch_visits(app: KioskApp) -> None:
    """End class visits at the end of their period, every :data:`VISIT_CHECK_SECONDS`."""
    app.set_interval(VISIT_CHECK_SECONDS, partial(end_due_visits, app))
