"""Letter keys on the screen, for a touch screen without a keyboard.

Children type pinyin initials (``cfz``) and the letters of English titles, so the pad
has the Latin letters in the order of a computer keyboard (the one they learn pinyin
typing on), the digits where there is room, a space, a key that takes the last letter
back and one that clears. Its keys never take the focus: typing stays in the field
the screen gives it, and a USB scanner's keys still land there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button

ROWS: tuple[str, ...] = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
"""The keys, row by row (the first row, the digits, shows only where there is room)."""

BACKSPACE = "backspace"
CLEAR = "clear"
SPACE = " "


class PadKey(Button, can_focus=False):
    """One key of the pad: touched or clicked, never focused."""

    def __init__(self, label: str, value: str, **kwargs: object) -> None:
        super().__init__(label, compact=True, **kwargs)  # type: ignore[arg-type]
        self.value = value


class LetterPad(Vertical):
    """The letter keys; each touch posts :class:`LetterPad.Pressed` with what it types."""

    DEFAULT_CSS = """
    LetterPad { height: auto; width: 100%; align-horizontal: center; }
    LetterPad > Horizontal { height: auto; width: auto; }
    LetterPad .-digits { display: none; }
    LetterPad.-roomy .-digits { display: block; }
    """
    # (The keys' own size is in assets/find.tcss: the app's rule for every Button,
    # in kiosk.tcss, would win over a widget's default CSS.)

    LABELS: ClassVar[dict[str, str]] = {BACKSPACE: "⌫", CLEAR: "✕", SPACE: "␣"}
    """How the keys that type no letter are shown (the screen may give words)."""

    @dataclass
    class Pressed(Message):
        """A key was touched: ``value`` is a letter or digit (lower case), a space,
        :data:`BACKSPACE` or :data:`CLEAR`."""

        pad: LetterPad
        value: str

        @property
        def control(self) -> LetterPad:
            """The pad whose key was touched."""
            return self.pad

    def __init__(self, labels: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.labels = {**self.LABELS, **(labels or {})}

    def compose(self) -> ComposeResult:
        for number, row in enumerate(ROWS):
            with Horizontal(classes="-digits" if number == 0 else ""):
                for char in row:
                    yield PadKey(char, char.lower(), id=f"key-{char.lower()}")
                if row == ROWS[-1]:
                    yield PadKey(self.labels[BACKSPACE], BACKSPACE, id="key-backspace")
                    yield PadKey(self.labels[SPACE], SPACE, id="key-space", classes="-wide")
                    yield PadKey(self.labels[CLEAR], CLEAR, id="key-clear", classes="-wide")

    @on(Button.Pressed, "PadKey")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        assert isinstance(event.button, PadKey)
        self.post_message(self.Pressed(self, event.button.value))


def typed(text: str, value: str, limit: int = 60) -> str:
    """``text`` after the key ``value`` of the pad (at most ``limit`` characters)."""
    if value == BACKSPACE:
        return text[:-1]
    if value == CLEAR:
        return ""
    return (text + value)[:limit]
