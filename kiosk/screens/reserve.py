"""Reserving a book at the kiosk, and telling a patron their reserved book is waiting.

:class:`ReserveModal` asks which book (a scanned or typed barcode or ISBN), shows it,
and reserves it for the patron; :func:`reserve` opens it from any screen: the patron's
page (its "Reserve" button) or the find-a-book screen, which passes the title it found
(``title_key``) so the dialog goes straight to the question. :func:`waiting_lines` says
what a patron's page shows of their holds. The holds' rules are the service's
(:class:`kiosk.data.lending.holds.Holds`); this module only asks and says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kiosk.data.core.errors import KioskError
from kiosk.data.lending.holds import HoldRules, Holds, HoldView, Placed, TitleChoice
from kiosk.locale import format_date, t
from kiosk.widgets.big_button import BigButton

if TYPE_CHECKING:
    from textual.app import App

    from kiosk.screens.host import KioskHost

log = logging.getLogger(__name__)

HOLD_CHECK_SECONDS = 600.0
"""How often the kiosk ends the holds whose time ran out."""

SHOWN_HOLDS = 2
"""Ready holds named one by one on the patron's page (more are counted)."""

Done = Callable[[str, str], None]
"""What a finished reservation says: ``done(text, kind)``, kind as :class:`Verdict` takes."""


def place_words(rules: HoldRules) -> str:
    """Where reserved books are picked up, as the library named it."""
    return rules.place or t("holds.place")


def _grouped(holds: list[HoldView]) -> list[list[HoldView]]:
    """Holds as the patron thinks of them: each on its own, a class set's together."""
    groups: dict[str, list[HoldView]] = {}
    for hold in holds:
        groups.setdefault(hold.class_set or hold.hold_id, []).append(hold)
    return list(groups.values())


def waiting_lines(holds: tuple[HoldView, ...], rules: HoldRules) -> str:
    """What the patron's page says of their holds: each book waiting on the hold shelf
    (title, where, until when), then the first still waiting for a copy, and how many
    more ('' if none). A class set's copies are said together."""
    ready = _grouped([hold for hold in holds if hold.ready])
    lines = []
    for group in ready[:SHOWN_HOLDS]:
        first = group[0]
        until = format_date(first.until) if first.until else ""
        if len(group) > 1:
            lines.append(t("holds.ready_set", title=first.title, count=len(group),
                           place=place_words(rules), until=until))
        else:
            lines.append(t("holds.ready", title=first.title, place=place_words(rules),
                           until=until))
    if len(ready) > SHOWN_HOLDS:
        lines.append(t("holds.more", count=len(ready) - SHOWN_HOLDS))
    waiting = _grouped([hold for hold in holds if not hold.ready])
    if waiting and len(lines) < SHOWN_HOLDS:
        group = waiting[0]
        first = group[0]
        if first.class_set:
            day = format_date(first.needed_on) if first.needed_on else ""
            lines.append(t("holds.queued_set", title=first.title, count=len(group), date=day))
        else:
            lines.append(t("holds.queued", title=first.title, position=first.position))
        if len(waiting) > 1:
            lines[-1] += " " + t("holds.more", count=len(waiting) - 1)
    return "\n".join(lines)


def placed_words(placed: Placed, rules: HoldRules) -> str:
    """What the kiosk says when a reservation is made."""
    if placed.ready:
        return t("holds.placed_ready", title=placed.title, place=place_words(rules))
    if placed.on_shelf:
        return t("holds.placed_on_shelf", title=placed.title, shelf=placed.on_shelf)
    return t("holds.placed", title=placed.title, position=placed.position)


class ReserveModal(ModalScreen[tuple[str, str] | None]):
    """Which book, then "Reserve?": dismisses with what to say (text, kind), or ``None``.

    Args:
        number: the patron who reserves.
        title_key: the title already chosen (the find-a-book screen), if any.
    """

    BINDINGS = [
        Binding("escape", "cancel", show=False, id="reserve.cancel"),
        Binding("f2", "reserve", show=False, id="reserve.ok"),
    ]

    def __init__(self, number: str, title_key: str | None = None) -> None:
        super().__init__()
        self.number = number
        self.title_key = title_key
        self.choice: TitleChoice | None = None

    @property
    def kiosk(self) -> KioskHost:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def holds(self) -> Holds:
        """The holds service on the kiosk's database."""
        return Holds(self.kiosk.circulation)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("reserve.heading"), id="question", markup=False)
            yield Static(t("reserve.prompt"), id="reserve-prompt", markup=False)
            yield Input(placeholder=t("reserve.field"), max_length=64, id="reserve-code")
            yield Static("", id="reserve-found", markup=False)
            with Horizontal(id="choices"):
                yield BigButton(t("reserve.yes"), key="f2", id="reserve-yes",
                                variant="success", disabled=True)
                yield BigButton(t("reserve.no"), key="escape", id="reserve-no")

    async def on_mount(self) -> None:
        self.query_one("#reserve-code", Input).focus()
        if self.title_key is not None:
            self.query_one("#reserve-prompt").display = False
            self.query_one("#reserve-code").display = False
            await self._look_up(self.title_key)

    @on(Input.Submitted, "#reserve-code")
    async def _entered(self, event: Input.Submitted) -> None:
        code, event.input.value = event.value.strip(), ""
        if code:
            await self._look_up(code)

    async def _look_up(self, code: str) -> None:
        found = self.query_one("#reserve-found", Static)
        button = self.query_one("#reserve-yes", Button)
        try:
            choice = await self.kiosk.run_db(self.holds.find_title, code)
        except KioskError as error:
            self.choice = None
            button.disabled = True
            found.update(t(error.key, **error.params))
            return
        self.choice = choice
        key = "reserve.found" if choice.available else "reserve.found_none_in"
        found.update(t(key, title=choice.title, author=choice.author or "?",
                       available=choice.available, copies=choice.copies))
        button.disabled = False
        button.focus()

    @on(Button.Pressed, "#reserve-yes")
    async def action_reserve(self) -> None:
        """Reserve the book shown, and close with what to say."""
        if self.choice is None:
            return
        holds = self.holds
        try:
            placed = await self.kiosk.run_db(
                partial(holds.place, self.number, title_key=self.choice.key)
            )
            rules = await self.kiosk.run_db(holds.rules)
        except KioskError as error:
            self.dismiss((f"{t(error.title_key)}\n{t(error.key, **error.params)}", "refused"))
            return
        self.dismiss((placed_words(placed, rules), "ok"))

    @on(Button.Pressed, "#reserve-no")
    def action_cancel(self) -> None:
        """Back, reserving nothing."""
        self.dismiss(None)


def reserve(app: App[Any], number: str, *, title_key: str | None = None,
            done: Done | None = None) -> None:
    """Let patron ``number`` reserve a book: the dialog asks which (or, given the
    ``title_key`` the find-a-book screen found, only whether), and ``done(text, kind)``
    says the outcome (on the calling screen's message box). Nothing is said when the
    patron goes back."""

    def finished(outcome: tuple[str, str] | None) -> None:
        if outcome is not None and done is not None:
            done(*outcome)

    app.push_screen(ReserveModal(number, title_key), callback=finished)


async def expire_holds(app: KioskHost) -> None:
    """End the holds whose time ran out (on the database thread; a failure is logged,
    and the next look tries again)."""
    try:
        await app.run_db(Holds(app.circulation).expire_due)
    except Exception:
        log.exception("could not end the holds whose time ran out")


def watch_holds(app: KioskHost) -> None:
    """End expired holds now and every :data:`HOLD_CHECK_SECONDS`."""
    app.run_worker(expire_holds(app), group="holds", exit_on_error=False)
    app.set_interval(HOLD_CHECK_SECONDS, lambda: app.run_worker(
        expire_holds(app), group="holds", exit_on_error=False
    ))
