"""The filter field of a librarian's tab, which tells a scanner's code from typing.

The librarian types into the filter of the tab in view (the focus is there, not in the
scan field), and a keyboard-wedge scanner types there too when a card or a book is
scanned. As at the kiosk (:mod:`kiosk.devices.wedge`), the two are told apart by
timing: keys as fast as a scanner's, ended by Enter, are a scan. The
burst is taken back out of the filter (what the librarian typed before it stays)
and posted as :class:`FilterInput.CodeScanned`; any other Enter is
:class:`~textual.widgets.Input.Submitted` as usual (the tab acts on its highlighted
row). Up, down, page up and page down move the tab's cursor while typing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


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

    def __init__(self, *, max_gap_ms: float = 60.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_gap = max_gap_ms / 1000.0
        self._times: list[float] = []
        self._burst = ""
        self._before_burst = ""
        self._cursor_before = 0
        self._enter_time: float | None = None

    def on_key(self, event: events.Key) -> None:
        """Time the keys (before the field inserts them): a pause starts a new burst.

        The time is the key's own (when the terminal gave it), not when it is handled:
        a busy kiosk that redraws the filtered table between two keys of a scanner's
        burst must not take the burst for a person's typing.
        """
        if event.is_printable and event.character:
            self.note_key(event.character, event.time)
        elif event.key == "enter":
            self._enter_time = event.time
        elif event.key == "backspace":
            self._times = []  # a person correcting: no scanner's burst

    def note_key(self, character: str, at: float) -> None:
        """``character``, which arrived at ``at``, is about to be typed into the field."""
        if not self._times or at - self._times[-1] > self.max_gap:
            self._times = []
            self._burst = ""
            self._before_burst = self.value
            self._cursor_before = self.cursor_position
        self._times.append(at)
        self._burst += character

    def type_character(self, character: str, at: float) -> None:
        """Type ``character`` at the cursor, timed like a key (a key that reached the
        tab while its table had the focus)."""
        self.note_key(character, at)
        self.insert_text_at_cursor(character)

    def _scanned(self) -> bool:
        """Whether the keys since the last pause, ended by Enter now, are a scanner's
        (as :class:`~kiosk.devices.wedge.WedgeTimer` tells: four keys or more, Enter
        included, with a median gap no longer than a scanner's)."""
        if self._enter_time is None or not self._times:
            return False
        times = [*self._times, self._enter_time]
        if len(times) < 4:
            return False
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        return statistics.median(gaps) <= self.max_gap

    def action_nudge(self, step: int) -> None:
        """Up/down/page keys move the tab's cursor."""
        self.post_message(self.Nudge(self, step))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        burst = self._burst.strip()
        scanned = bool(burst) and self._scanned()
        self._times, self._burst, self._enter_time = [], "", None
        if scanned:
            event.stop()
            self.value = self._before_burst
            self.cursor_position = min(self._cursor_before, len(self.value))
            self.post_message(self.CodeScanned(self, burst))
