"""The filter field of a librarian's tab, which tells a scanner's code from typing.

The librarian types into the filter of the tab in view (the focus is there, not in the
scan field), and a keyboard-wedge scanner types there too when a card or a book is
scanned. As at the kiosk (:mod:`kiosk.devices.wedge`), the two are told apart by
timing: four keys or more as fast as a scanner's, ended by Enter, are a scan. The
burst is taken back out of the filter (what the librarian typed before it stays)
and posted as :class:`FilterInput.CodeScanned`; any other Enter is
:class:`~textual.widgets.Input.Submitted` as usual (the tab acts on its highlighted
row). Up, down, page up and page down move the tab's cursor while typing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from kiosk.devices.wedge import SCANNER, WedgeTimer


class FilterInput(Input):
    """A filter field; a scanner's burst ended by Enter becomes ``CodeScanned``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "nudge(-1)", show=False, id="filter.up"),
        Binding("down", "nudge(1)", show=False, id="filter.down"),
        Binding("pageup", "nudge(-1000)", show=False, id="filter.page_up"),
        Binding("pagedown", "nudge(1000)", show=False, id="filter.page_down"),
    ]

    @dataclass
    class CodeScanned(Message):
        """A scanner typed ``code`` (and Enter) into the filter."""

        field: FilterInput
        code: str

        @property
        def control(self) -> FilterInput:
            """The filter it was typed into."""
            return self.field

    @dataclass
    class Nudge(Message):
        """Move the tab's cursor by ``step`` rows (±1000: a page)."""

        field: FilterInput
        step: int

        @property
        def control(self) -> FilterInput:
            """The filter the key was pressed in."""
            return self.field

    def __init__(
        self, *, max_gap_ms: float = 60.0, now: Callable[[], float] = time.monotonic,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_gap = max_gap_ms / 1000.0
        self._now = now
        self._timer = WedgeTimer(max_gap_ms, now)
        self._last_key: float | None = None
        self._burst = ""
        self._before_burst = ""
        self._cursor_before = 0

    def on_key(self, event: events.Key) -> None:
        """Time the keys (before the field inserts them): a pause starts a new burst."""
        if event.is_printable and event.character:
            self.note_key(event.character)
        elif event.key == "backspace":
            self._last_key = None  # a person correcting: no scanner's burst

    def note_key(self, character: str) -> None:
        """A character is about to be typed into the field (by a key or forwarded)."""
        now = self._now()
        if self._last_key is None or now - self._last_key > self.max_gap:
            self._timer.reset()
            self._burst = ""
            self._before_burst = self.value
            self._cursor_before = self.cursor_position
        self._last_key = now
        self._timer.key()
        self._burst += character

    def type_character(self, character: str) -> None:
        """Type ``character`` at the cursor, timed like a key (a key that reached the
        tab while its table had the focus)."""
        self.note_key(character)
        self.insert_text_at_cursor(character)

    def action_nudge(self, step: int) -> None:
        """Up/down/page keys move the tab's cursor."""
        self.post_message(self.Nudge(self, step))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        burst, self._burst = self._burst, ""
        fresh = self._last_key is not None and self._now() - self._last_key <= self.max_gap
        self._last_key = None
        if fresh and burst.strip() and self._timer.finish() == SCANNER:
            event.stop()
            self.value = self._before_burst
            self.cursor_position = min(self._cursor_before, len(self.value))
            self.post_message(self.CodeScanned(self, burst.strip()))
        else:
            self._timer.reset()
