"""A yes/no question before the librarian changes something by hand."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.locale import t
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.status_bar import Countdown


class ConfirmModal(ModalScreen[bool]):
    """Asks ``question``; dismisses ``True`` for yes (F2), ``False`` for no (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "answer(True)", show=False, id="confirm.yes"),
        Binding("escape", "answer(False)", show=False, id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Countdown(classes="-docked")  # the idle timeout's last seconds
        with Vertical(id="dialog"):
            yield Static(self.question, id="question", markup=False)
            with Horizontal(id="choices"):
                yield BigButton(t("lib.confirm.yes"), key="f2", id="yes", variant="warning")
                yield BigButton(t("lib.confirm.no"), key="escape", id="no")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """Yes or no, as pressed."""
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """A key answers as its button would."""
        self.dismiss(yes)
