"""Where a scanned card leads: the patron's page, helper mode, a teacher's page, the
librarian's PIN; and the class visits the period ends.

Kept out of :mod:`kiosk.app` (which only routes): the app hands every card's patron to
:func:`open_card_page`, and the screens ask for a class visit through the app.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from kiosk.data.lending.circulation import PatronView
from kiosk.screens.helper import HelperScreen
from kiosk.screens.librarian import LibrarianScreen
from kiosk.screens.patron import PatronScreen
from kiosk.screens.pin import PinModal
from kiosk.screens.session import Session
from kiosk.screens.visit import ClassPickScreen, end_due_visits, open_teacher_page

if TYPE_CHECKING:
    from textual.app import App

    from kiosk.screens.host import KioskHost

VISIT_CHECK_SECONDS = 30.0
"""How often the kiosk ends the class visits whose period is over."""


def open_card_page(
    app: KioskHost, patron: PatronView, *, replace: bool, session: Session | None
) -> None:
    """Show the page ``patron``'s card opens (replacing the current screen, or over the
    start): the PIN for the librarian, helper mode for a helper, the teacher's page
    for a teacher, the patron's page for everyone else.

    ``session`` carries on a session begun without a card (books returned first). (A
    helper's own page comes from helper mode's "My books", which opens it itself.)
    """
    if patron.kind == "librarian":
        ask_librarian_pin(app, patron)
    elif patron.kind == "helper":
        app.show(HelperScreen(patron), replace=replace)
    elif patron.kind == "teacher":
        app.run_worker(
            open_teacher_page(app, patron, replace=replace, receipt=session),
            group="route", exit_on_error=False,
        )
    else:
        app.show(PatronScreen(patron, session), replace=replace)


def ask_librarian_pin(app: KioskHost, librarian: PatronView) -> None:
    """Ask for the librarian's PIN; the right one opens the librarian screen."""
    textual_app: App[None] = app  # type: ignore[assignment]

    def opened(ok: bool | None) -> None:
        if ok:
            textual_app.push_screen(LibrarianScreen(librarian))

    textual_app.push_screen(PinModal(librarian), callback=opened)


def pick_class(app: KioskHost, teacher: PatronView, session: Session) -> None:
    """A teacher's "Class visit" (F3 on their page): pick the class."""
    textual_app: App[None] = app  # type: ignore[assignment]
    textual_app.switch_screen(ClassPickScreen(teacher, session))


def watch_visits(app: KioskHost) -> None:
    """End class visits at the end of their period, every :data:`VISIT_CHECK_SECONDS`."""
    app.set_interval(VISIT_CHECK_SECONDS, partial(end_due_visits, app))
