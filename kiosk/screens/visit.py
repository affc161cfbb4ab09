"""A class's reading visit: the teacher picks the class, students scan for a roll call.

The teacher's card opens the teacher's own page, whose "Class visit" key opens
:class:`ClassPickScreen` (the teacher's own classes first, then every class). Picking a class starts
the visit at once and shows :class:`VisitScreen`, where each student's card counts
them. "Borrowing" leaves the visit running and hands the kiosk back to the class, who
borrow with their own cards as usual; the teacher's card, scanned again anywhere,
asks to end the visit (:class:`EndVisitModal`, with a note of what the class read).
A visit not ended by hand ends itself at the end of the period (:func:`end_due_visits`);
the teacher's card, later that day, still adds the note and the count to it.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from kiosk.bridges.messages import Scanned
from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import PatronView
from kiosk.data.roles import ClassChoice, Roles, RollCall, VisitView
from kiosk.locale import t
from kiosk.locale.names import shown
from kiosk.screens.base import KioskScreen
from kiosk.screens.patron import PatronScreen
from kiosk.screens.session import Session
from kiosk.screens.shelf_check import ROLES_CSS, TouchScroll
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.status_bar import Countdown
from kiosk.widgets.verdict import Verdict

if TYPE_CHECKING:
    from kiosk.screens.host import KioskHost

log = logging.getLogger(__name__)

CODE_LIKE = re.compile(r"[A-Z0-9.\-]{6,}")
"""What a card's or a book label's code looks like (and a teacher's note does not)."""

OWN_CLASS_KEYS = ("f3", "f4", "f5", "f6")
"""The function keys that pick the teacher's own classes (the first four)."""


def clock_time(moment: datetime) -> str:
    """A time of day where the kiosk stands (``10:45``)."""
    return moment.astimezone().strftime("%H:%M")


class ClassPickScreen(KioskScreen):
    """"Which class has come to read?": the teacher's own classes first, then the rest.

    A book scanned here is the teacher borrowing for themselves: it opens their own
    page with the book.
    """

    CSS_PATH = ROLES_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "press('mine')", show=False, id="visit.mine"),
        *(
            Binding(key, f"press('own-{n}')", show=False, id=f"visit.own_{n}")
            for n, key in enumerate(OWN_CLASS_KEYS)
        ),
    ]

    def __init__(self, teacher: PatronView, session: Session | None = None) -> None:
        super().__init__()
        self.teacher = teacher
        self.receipt = session
        self.choices: dict[str, str] = {}
        self.starting = False
        """A visit has been asked for: a second tap does nothing."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="class-pick"):
            yield Static(t("visit.pick_heading", name=self.teacher.name), id="headline",
                         markup=False)
            yield Static(t("visit.pick_hint"), id="hint", markup=False)
            yield Verdict(id="verdict")
            yield Horizontal(id="own-classes")
            yield Static(t("visit.other_classes"), id="other-heading", markup=False)
            yield TouchScroll(id="other-classes")
            with Horizontal(id="actions"):
                yield BigButton(t("visit.my_books"), key="f2", id="mine", variant="primary")

    async def on_mount(self) -> None:  # type: ignore[override]  # (Textual awaits it)
        super().on_mount()
        try:
            choices = await self.call(self.roles.visits.classes_for, self.teacher.number)
        except KioskError as error:
            self.show_error(error)
            return
        await self._show_choices(choices)

    async def _show_choices(self, choices: list[ClassChoice]) -> None:
        own = [c for c in choices if c.own][: len(OWN_CLASS_KEYS)]
        others = [c for c in choices if c not in own]
        own_buttons = []
        for n, choice in enumerate(own):
            self.choices[f"own-{n}"] = choice.name
            own_buttons.append(
                BigButton(choice.name, key=OWN_CLASS_KEYS[n], id=f"own-{n}", variant="success")
            )
        other_buttons = []
        for n, choice in enumerate(others):
            self.choices[f"class-{n}"] = choice.name
            other_buttons.append(BigButton(choice.name, id=f"class-{n}", classes="class-choice"))
        await self.query_one("#own-classes").mount_all(own_buttons)
        await self.query_one("#other-classes").mount_all(other_buttons)
        self.query_one("#other-heading").display = bool(other_buttons)
        if not choices:
            self.query_one(Verdict).say(t("visit.no_classes"), "warn")

    @on(Button.Pressed, "#mine")
    def my_books(self) -> None:
        """The teacher only wants to borrow or return their own books."""
        self.app.switch_screen(PatronScreen(self.teacher, self.receipt))

    @on(Button.Pressed)
    async def pick(self, event: Button.Pressed) -> None:
        """A class was picked: its visit starts now."""
        name = self.choices.get(event.button.id or "")
        if name is None:
            return
        event.stop()
        if self.starting:
            return  # a double tap (or a second class touched meanwhile) starts one visit
        self.starting = True
        try:
            visit = await self.call(self.roles.visits.start_visit, self.teacher.number, name)
        except KioskError as error:
            self.starting = False  # nothing started: the teacher may try again
            self.show_error(error)
            return
        self.app.switch_screen(VisitScreen(visit))

    async def handle_scan(self, code: str) -> None:
        if not await self.call(self.circulation.is_card, code):
            screen = PatronScreen(self.teacher, self.receipt)
            self.app.switch_screen(screen)
            screen.post_message(Scanned(code, "scanner"))  # borrowed on the teacher's page
            return
        patron = await self.open_card(code)
        if patron is not None and patron.number != self.teacher.number:
            self.kiosk.open_patron(patron, replace=True)


class NoteInput(Input):
    """A field a person types into, which ignores a code a scanner types into it.

    A student scanning a card while the teacher writes the note must not end the
    visit with the card's code as the note: keys that come as fast as a scanner's,
    ended by Enter, are taken back out and the Enter does nothing.
    """

    def __init__(self, max_gap_ms: float = 60.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_gap = max_gap_ms / 1000.0
        self._burst: list[float] = []
        self._before_burst = ""

    def on_key(self, event: events.Key) -> None:
        """Time the keys; a pause starts a new burst (remembering the text before it)."""
        if not event.is_printable:
            return
        now = time.monotonic()
        if not self._burst or now - self._burst[-1] > self.max_gap:
            self._burst = []
            self._before_burst = self.value
        self._burst.append(now)

    def scanned(self, typed: str) -> bool:
        """Whether ``typed``, a fast burst ended by Enter, is a scanner's code.

        Only a burst that looks like a card or a label (capitals, digits, dots) is
        taken out: a quick typist's words stay.
        """
        return CODE_LIKE.fullmatch(typed) is not None

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        fast = len(self._burst) >= 4 and time.monotonic() - self._burst[-1] <= self.max_gap
        self._burst = []
        typed = self.value[len(self._before_burst):] if self.value.startswith(
            self._before_burst) else ""
        if fast and self.scanned(typed):
            event.stop()
            self.value = self._before_burst


class CountInput(NoteInput):
    """The teacher's head count, which ignores a card a scanner types into it.

    The field takes digits only, so a card's code leaves just its digits behind,
    and the scanner's Enter would end the visit with them as the count. A count has
    at most three digits: four keys or more, as fast as a scanner's and ended by
    Enter, can only be a scanner, so the whole burst is taken out, whatever it left.
    """

    def scanned(self, typed: str) -> bool:
        """Any fast burst of four keys or more is a scanner's (see the class)."""
        return True


class EndVisitModal(ModalScreen[tuple[str, int] | None]):
    """"End the visit?", with a note of what the class read (and the count, without a
    roll call); for a visit the period has ended, "What did the class read?" only.
    Dismisses with ``(note, headcount)``, ``None`` to carry on, or
    ``("", -1)`` for the teacher's own books."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose('back')", show=False, id="visit_end.back"),
        Binding("f2", "choose('end')", show=False, id="visit_end.end"),
        Binding("f4", "choose('mine')", show=False, id="visit_end.mine"),
    ]

    def __init__(self, visit: VisitView, now: datetime) -> None:
        super().__init__()
        self.visit = visit
        self.now = now

    def compose(self) -> ComposeResult:
        visit = self.visit
        yield Countdown(classes="-docked")
        with Vertical(id="dialog"):
            if visit.open:
                question = t("visit.end_question", name=visit.class_name,
                             count=visit.headcount, minutes=visit.minutes(self.now))
            else:  # ended by the period: the teacher adds the note (and the count)
                question = t("visit.note_question", name=visit.class_name,
                             count=visit.headcount, minutes=visit.minutes(self.now))
            yield Static(question, id="question", markup=False)
            yield NoteInput(
                self.app.config.scanner_max_gap_ms,  # type: ignore[attr-defined]
                placeholder=t("visit.note_placeholder"), max_length=200, id="note",
            )
            yield CountInput(
                self.app.config.scanner_max_gap_ms,  # type: ignore[attr-defined]
                placeholder=t("visit.count_placeholder"), type="integer", max_length=3,
                id="headcount",
            )
            with Horizontal(id="choices"):
                yield BigButton(t("visit.end" if visit.open else "visit.save"), key="f2", id="end",
                                variant="success")
                yield BigButton(t("visit.my_books"), key="f4", id="mine", variant="primary")
                yield BigButton(t("visit.not_yet" if visit.open else "visit.skip"), key="escape",
                                id="back")

    def on_mount(self) -> None:
        self.query_one("#headcount").display = self.visit.headcount == 0
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    def note_done(self) -> None:
        """Enter after the note: on to the count, or end the visit."""
        count = self.query_one("#headcount", Input)
        if count.display and not count.value:
            count.focus()
        else:
            self.action_choose("end")

    @on(Input.Submitted, "#headcount")
    def count_done(self) -> None:
        """Enter after the count ends the visit."""
        self.action_choose("end")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """Answer as the button says."""
        event.stop()
        self.action_choose(event.button.id or "back")

    def action_choose(self, choice: str) -> None:
        """End the visit, open the teacher's own books, or carry on."""
        if choice == "end":
            raw = self.query_one("#headcount", Input).value.strip()
            count = int(raw) if raw.isdigit() else 0
            self.dismiss((self.query_one("#note", Input).value, count))
        elif choice == "mine":
            self.dismiss(("", -1))
        else:
            self.dismiss(None)


class VisitScreen(KioskScreen):
    """A class visit going on: each student's card counts them (a repeat is ignored,
    another class's student is counted and flagged); the teacher's card ends it."""

    CSS_PATH = ROLES_CSS
    SHOWS_CAMERA = True
    IDLE_TIMEOUT: ClassVar[float | None] = 120.0
    ENDED_TIMEOUT = 20.0

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "primary", show=False, id="visit.borrowing"),
        Binding("f3", "press('end')", show=False, id="visit.end"),
        Binding("f4", "press('no-card')", show=False, id="visit.no_card"),
    ]

    def __init__(self, visit: VisitView, *, ask_end: bool = False) -> None:
        super().__init__()
        self.visit = visit
        self.ask_end = ask_end
        self.asking = False
        """The end dialog is open (the teacher has the time a running visit has)."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="visit"):
            yield Static(id="headline", markup=False)
            yield Static(id="hint", markup=False)
            yield Static(id="count", markup=False)
            yield Verdict(id="verdict")
            yield Static(id="names", markup=False)
            with Horizontal(id="actions"):
                yield BigButton(t("visit.borrowing"), key="f2", id="borrowing", variant="primary")
                yield BigButton(t("visit.end"), key="f3", id="end", variant="warning")
                yield BigButton(t("visit.no_card"), key="f4", id="no-card")
                yield BigButton(t("visit.ok"), key="f2", id="ok", variant="success")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_visit(self.visit)
        if self.ask_end:
            self.ask_to_end()

    def timeout(self, configured: float) -> float | None:
        return self.IDLE_TIMEOUT if self.visit.open or self.asking else self.ENDED_TIMEOUT

    def action_primary(self) -> None:
        """F2: "Borrowing" while the visit goes on, "OK" once it has ended."""
        self.action_press("borrowing" if self.visit.open else "ok")

    def now(self) -> datetime:
        """The kiosk's time (the circulation service's clock)."""
        return self.circulation.store.clock()

    def show_visit(self, visit: VisitView) -> None:
        """Draw the visit as it is now (running, or ended with its summary)."""
        self.visit = visit
        minutes = self.kiosk.config.visit_minutes
        self.query_one("#headline", Static).update(t("visit.heading", name=visit.class_name))
        if visit.open:
            ends = visit.started_at + timedelta(minutes=minutes)
            hint = t("visit.running", teacher=visit.teacher_name,
                     start=clock_time(visit.started_at), end=clock_time(ends))
            hint += "\n" + t("visit.roll_call_hint")
        else:
            hint = t("visit.ended_hint", minutes=visit.minutes(self.now()))
        self.query_one("#hint", Static).update(hint)
        self.query_one("#count", Static).update(t("visit.count", count=visit.headcount))
        recent = [shown(name) for name in visit.attendees[-6:]]
        self.query_one("#names", Static).update("  ".join(recent))
        for button in ("#borrowing", "#end", "#no-card"):
            self.query_one(button).display = visit.open
        self.query_one("#ok").display = not visit.open

    def show_ended(self, visit: VisitView, *, noted: bool = False) -> None:
        """The visit has ended (by the card, or by itself at the end of the period);
        ``noted``: the teacher has just added the note to a visit the period ended."""
        self.show_visit(visit)
        if noted:
            key = "visit.noted"
        else:
            key = "visit.ended_by_period" if visit.ended_by == "period" else "visit.thanks"
        self.query_one(Verdict).say(t(key, name=visit.class_name, count=visit.headcount), "ok")

    @on(Button.Pressed, "#borrowing")
    def borrowing(self) -> None:
        """Hand the kiosk to the class: they borrow with their own cards, the visit goes on."""
        self.kiosk.reset_to_attract()

    @on(Button.Pressed, "#no-card")
    def no_card(self) -> None:
        """A child forgot the card: the teacher picks the name from the class list."""
        self.pick_child()

    @work(group="visit-no-card", exclusive=True, exit_on_error=False)
    async def pick_child(self) -> None:
        """Count the child the teacher picks, then open the child's page, where the
        teacher lends for them (each loan's fact names the teacher)."""
        from kiosk.screens.choice import ChoiceModal

        try:
            students = await self.call(self.roles.visits.class_list, self.visit.id)
        except KioskError as error:
            self.show_error(error)
            return
        if not students:
            self.query_one(Verdict).say(t("visit.no_students"), "info")
            return
        answers = [(number, f"{name} ✓" if counted else name)
                   for number, name, counted in students]
        number = await self.app.push_screen_wait(
            ChoiceModal(t("visit.pick_child", name=self.visit.class_name), answers)
        )
        self.kiosk.touch()
        if number is None:
            return
        try:
            counted = await self.call(self._count_no_card, number)
            child = await self.call(self.circulation.patron, number)
        except KioskError as error:
            self.show_error(error)
            return
        self.show_roll_call(counted)
        self.app.push_screen(PatronScreen(child, lent_by=self.visit.teacher_number,
                                          lent_by_name=self.visit.teacher_name))

    def _count_no_card(self, number: str) -> RollCall:
        return self.roles.visits.roll_call(self.visit.id, number, no_card=True)

    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        """Back to the start after the visit."""
        self.kiosk.reset_to_attract()

    @on(Button.Pressed, "#end")
    def end_pressed(self) -> None:
        """Ask to end the visit."""
        self.ask_to_end()

    @work(group="visit-end", exclusive=True, exit_on_error=False)
    async def ask_to_end(self) -> None:
        """Ask for the note, then end the visit (or open the teacher's own books).

        A visit the period has ended without a note takes the note (and the count)
        all the same: the teacher's card finds it for the rest of its day.
        """
        noting = not self.visit.open
        if noting and not self.visit.wants_note:
            return
        self.asking = True
        try:
            answer = await self.app.push_screen_wait(EndVisitModal(self.visit, self.now()))
        finally:
            self.asking = False
        self.kiosk.touch()  # the idle time starts again from the answer
        if answer is None:
            return
        note, headcount = answer
        if headcount < 0:
            teacher = await self.open_teacher()
            if teacher is not None:
                self.app.switch_screen(PatronScreen(teacher))
            return
        try:
            visit = await self.call(
                self._end, self.visit.id, note, headcount
            )
        except KioskError as error:
            self.show_error(error)
            return
        self.show_ended(visit, noted=noting)

    def _end(self, visit_id: str, note: str, headcount: int) -> VisitView:
        return self.roles.visits.end_visit(
            visit_id, note=note, ended_by="card", headcount=headcount
        )

    async def open_teacher(self) -> PatronView | None:
        """The teacher's own page (their loans)."""
        try:
            return await self.call(self.circulation.patron, self.visit.teacher_number)
        except KioskError as error:
            self.show_error(error)
            return None

    async def handle_scan(self, code: str) -> None:
        verdict = self.query_one(Verdict)
        if not self.visit.open:
            self.kiosk.reset_to_attract()
            self.kiosk.attract.post_message(Scanned(code, "scanner"))
            return
        if not await self.call(self.circulation.is_card, code):
            verdict.say(t("visit.book_hint"), "info")
            return
        # A blocked card (may not borrow) is still a child who came: counted; only
        # borrowing is refused, later, at the student's page.
        patron = await self.open_card(code, blocked_ok=True)
        if patron is None:
            return
        if patron.number == self.visit.teacher_number:
            self.ask_to_end()
            return
        if patron.kind == "librarian":
            if not patron.blocked or await self.open_card(code):  # (refused and recorded)
                self.kiosk.open_patron(patron)
            return
        try:
            counted = await self.call(self.roles.visits.roll_call, self.visit.id, patron.number)
        except KioskError as error:
            verdict.refuse(error)
            return
        self.show_roll_call(counted)
        if patron.blocked and counted.status in ("counted", "other_class", "repeat"):
            verdict.say(f"{verdict.text}\n{t('visit.may_not_borrow')}", verdict.kind)

    def show_roll_call(self, counted: RollCall) -> None:
        """One card of the roll call: a name (and a flag for another class)."""
        verdict = self.query_one(Verdict)
        if counted.status == "counted":
            verdict.say(t("visit.counted", name=shown(counted.name)), "ok")
        elif counted.status == "other_class":
            verdict.say(t("visit.other_class", name=shown(counted.name), klass=counted.class_name),
                        "warn")
        elif counted.status == "repeat":
            verdict.say(t("visit.repeat", name=shown(counted.name)), "info")
        else:
            verdict.say(t("visit.not_student", name=shown(counted.name)), "info")
        if counted.status in ("counted", "other_class"):
            names = (*self.visit.attendees, counted.name)
            self.visit = replace(self.visit, attendees=names, headcount=counted.headcount)
            self.query_one("#count", Static).update(t("visit.count", count=counted.headcount))
            self.query_one("#names", Static).update("  ".join(names[-6:]))


async def open_teacher_page(
    app: KioskHost, teacher: PatronView, *, replace: bool, receipt: Session | None
) -> None:
    """The teacher's card: ask to end their visit going on (or to add the note to the
    one the period has just ended), or open their own page (where "Class visit"
    starts a new one)."""
    roles = Roles(app.circulation)
    try:
        visit = await app.run_db(roles.visits.visit_for_card, teacher.number)
    except KioskError as error:
        app.attract.refuse_on_return(error)
        app.reset_to_attract()
        return
    screen: KioskScreen
    if visit is not None:
        screen = VisitScreen(visit, ask_end=True)
    else:
        screen = PatronScreen(teacher, receipt)  # "Class visit" (F3) there picks the class
    app.show(screen, replace=replace)


async def end_due_visits(app: KioskHost) -> None:
    """End the visits whose period is over, and say so if one is on the screen."""
    try:
        ended = await app.run_db(Roles(app.circulation).visits.end_due_visits, app.config.visit_minutes)
    except Exception:  # tried again at the next round; the log says why
        log.exception("cannot end the visits whose period is over")
        return
    by_id = {visit.id: visit for visit in ended}
    for screen in app.screen_stack:
        if isinstance(screen, VisitScreen) and screen.visit.id in by_id:
            screen.show_ended(by_id[screen.visit.id])
