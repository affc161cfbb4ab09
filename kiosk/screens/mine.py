"""Asking a patron what to do with a book they already have: return it or renew it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.locale import t
from kiosk.widgets.big_button import BigButton
from kiosk.widgets.status_bar import Countdown


class MineModal(ModalScreen[str]):
    """Dismisses with ``return``, ``renew`` or ``cancel``."""

    BINDINGS = [
        Binding("escape", "cancel", show=False, id="mine.cancel"),
        Binding("f2", "choose('return')", show=False, id="mine.return"),
        Binding("f3", "choose('renew')", show=False, id="mine.renew"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.book_title = title

    def compose(self) -> ComposeResult:
        yield Countdown(classes="-docked")  # the idle timeout's last seconds
        with Vertical(id="dialog"):
            yield Static(t("mine.question", title=self.book_title), id="question", markup=False)
            with Horizontal(id="choices"):
                yield BigButton(t("mine.return"), key="f2", id="return", variant="primary")
                yield BigButton(t("mine.renew"), key="f3", id="renew", variant="success")
                yield BigButton(t("mine.cancel"), key="escape", id="cancel")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        """Answer with the button's id."""
        self.dismiss(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        """A function key answers as its button would."""
        self.dismiss(choice)

    def action_cancel(self) -> None:
        """Escape answers "cancel"."""
        self.dismiss("cancel")
