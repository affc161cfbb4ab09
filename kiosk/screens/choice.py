"""A question with a few answers, each a big button with its function key (F2, F3...).

The librarian's and the teacher's dialogs ask what to do with a copy, why a book is
withdrawn, what was agreed for a lost one, which class or teacher: one modal for all,
which dismisses the chosen answer's key, or ``None`` (Esc).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.locale import t
from kiosk.screens.shelf_check import TouchScroll
from kiosk.widgets.big_button import BigButton

KEYS = ("f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9")
"""The function keys of the first answers (the rest are touched or clicked)."""


class ChoiceModal(ModalScreen[str | None]):
    """Asks ``question``; each answer is ``(key, label)``; dismisses the key or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "pick(-1)", show=False, id="choice.cancel"),
        *(Binding(key, f"pick({n})", show=False, id=f"choice.{key}")
          for n, key in enumerate(KEYS)),
    ]

    def __init__(self, question: str, answers: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.answers = list(answers)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="choice"):
            yield Static(self.question, id="question", markup=False)
            with TouchScroll(id="answers"):
                for n, (_, label) in enumerate(self.answers):
                    key = KEYS[n] if n < len(KEYS) else ""
                    yield BigButton(label, key=key, id=f"answer-{n}", classes="answer")
            yield BigButton(t("choice.cancel"), key="escape", id="cancel")

    def on_mount(self) -> None:
        # (an auto height would count every answer, scrolled away or not: the dialog
        # would run off a small screen)
        shown = min(len(self.answers), max(2, (self.app.size.height - 12) // 3))
        self.query_one("#answers").styles.height = 3 * shown

    @on(Button.Pressed, ".answer")
    def _answer(self, event: Button.Pressed) -> None:
        self.action_pick(int(str(event.button.id).rpartition("-")[2]))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_pick(self, index: int) -> None:
        """Answer ``index`` (``-1``: none)."""
        if 0 <= index < len(self.answers):
            self.dismiss(self.answers[index][0])
        elif index < 0:
            self.dismiss(None)
