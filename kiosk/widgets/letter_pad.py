"""Letter keys on the screen, for a touch screen without a keyboard.

Children type pinyin initials (``cfz``) and the letters of English titles, so the pad
has the Latin letters in the order of a computer keyboard (the one they learn pinyin
typing on), the digits where there is room, a space, a key that takes the last letter
back and one that clears. The pad never takes the focus: typing stays in the field
the screen gives it, and a USB scanner's keys still land there.

The pad is one widget that draws its keys itself (the line API) and finds the key
under a touch from its place: forty buttons would each be laid out again whenever
anything on the screen changes size, which on the find screen is at every key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Offset, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

ROWS: tuple[str, ...] = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
"""The keys, row by row (the first row, the digits, shows only where there is room)."""

BACKSPACE = "backspace"
CLEAR = "clear"
SPACE = " "

PRESSED_SECONDS = 0.15
"""How long a touched key shows that it was touched."""


@dataclass(frozen=True)
class _Key:
    value: str
    label: str
    x: int
    width: int


class LetterPad(Widget, can_focus=False):
    """The letter keys; each touch posts :class:`LetterPad.Pressed` with what it types.

    ``roomy`` (set by the screen where there are lines to spare) makes the keys three
    lines high and wider, and adds the digits.
    """

    DEFAULT_CSS = """
    LetterPad { height: auto; width: 1fr; }
    LetterPad > .letter-pad--key { background: $primary-darken-1; color: $text; text-style: bold; }
    LetterPad > .letter-pad--special { background: $secondary-darken-2; color: $text; }
    LetterPad > .letter-pad--pressed { background: $accent; color: $text; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "letter-pad--key", "letter-pad--special", "letter-pad--pressed",
    }
    LABELS: ClassVar[dict[str, str]] = {BACKSPACE: "⌫", CLEAR: "✕", SPACE: "␣"}
    """How the keys that type no letter are shown (the screen may give words)."""

    roomy: reactive[bool] = reactive(False, layout=True)
    pressed: reactive[str | None] = reactive(None)

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

    # -- geometry ---------------------------------------------------------------------

    @property
    def key_height(self) -> int:
        """Lines a key takes."""
        return 3 if self.roomy else 1

    def _rows(self) -> list[list[_Key]]:
        """The keys of each row shown, with their columns (before centring)."""
        width, special, gap = (6, 10, 1) if self.roomy else (4, 7, 1)
        rows: list[list[_Key]] = []
        for number, row in enumerate(ROWS):
            if number == 0 and not self.roomy:
                continue
            keys = [(char.lower(), char, width) for char in row]
            if row == ROWS[-1]:
                keys += [(BACKSPACE, self.labels[BACKSPACE], width),
                         (SPACE, self.labels[SPACE], special),
                         (CLEAR, self.labels[CLEAR], special)]
            x, placed = 0, []
            for value, label, size in keys:
                placed.append(_Key(value, label, x, size))
                x += size + gap
            rows.append(placed)
        return rows

    def _left(self, row: list[_Key]) -> int:
        used = row[-1].x + row[-1].width
        return max(0, (self.content_region.width - used) // 2)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows()) * self.key_height

    def key_at(self, offset: Offset) -> str | None:
        """The value of the key at ``offset`` (in the pad), if any."""
        rows = self._rows()
        row_number = offset.y // self.key_height
        if not 0 <= row_number < len(rows):
            return None
        row = rows[row_number]
        x = offset.x - self._left(row)
        return next((k.value for k in row if k.x <= x < k.x + k.width), None)

    def key_offset(self, value: str) -> Offset:
        """Where the key ``value`` is (its middle, in the pad): what a finger touches."""
        for number, row in enumerate(self._rows()):
            for key in row:
                if key.value == value:
                    return Offset(self._left(row) + key.x + key.width // 2,
                                  number * self.key_height + self.key_height // 2)
        raise KeyError(value)

    # -- drawing ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        rows = self._rows()
        number, line = divmod(y, self.key_height)
        if number >= len(rows):
            return Strip.blank(width, self.rich_style)
        row = rows[number]
        base = self.rich_style
        segments = [Segment(" " * self._left(row), base)]
        column = self._left(row)
        for key in row:
            if key.x + self._left(row) > column:
                segments.append(Segment(" " * (key.x + self._left(row) - column), base))
            if key.value == self.pressed:
                style = self.get_component_rich_style("letter-pad--pressed")
            elif key.value in (BACKSPACE, SPACE, CLEAR):
                style = self.get_component_rich_style("letter-pad--special")
            else:
                style = self.get_component_rich_style("letter-pad--key")
            text = key.label if line == self.key_height // 2 else ""
            pad = max(0, key.width - cell_len(text))
            cell = " " * (pad // 2) + text + " " * (pad - pad // 2)
            segments.append(Segment(cell, style + Style.from_meta({"key": key.value})))
            column = self._left(row) + key.x + key.width
        return Strip(segments).crop_extend(0, width, base)

    def watch_pressed(self) -> None:
        self.refresh()

    # -- touching ---------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        """A touch (or a click) on a key types it."""
        value = self.key_at(event.offset)
        if value is None:
            return
        event.stop()
        self.pressed = value
        self.set_timer(PRESSED_SECONDS, self._release)
        self.post_message(self.Pressed(self, value))

    def _release(self) -> None:
        self.pressed = None


def typed(text: str, value: str, limit: int = 60) -> str:
    """``text`` after the key ``value`` of the pad (at most ``limit`` characters)."""
    if value == BACKSPACE:
        return text[:-1]
    if value == CLEAR:
        return ""
    return (text + value)[:limit]
