"""Telling a keyboard-wedge barcode scanner from a person typing, by timing.

A wedge scanner "types" a whole code in a few milliseconds per character and ends
it with Enter; a person needs 100 ms or more per key. Both are accepted as scans;
the source is recorded so the librarian can see which input a kiosk really uses,
and the screens can be less strict with a person's typing (e.g. trim spaces).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

SCANNER = "scanner"
KEYBOARD = "keyboard"


class WedgeTimer:
    """Collects the times of the keys of one code and says who typed it.

    Args:
        max_gap_ms: the median gap between keys below which input is a scanner's.
        now: the clock, in seconds (tests pass their own).
    """

    def __init__(self, max_gap_ms: float = 60.0, now: Callable[[], float] = time.monotonic):
        self.max_gap = max_gap_ms / 1000.0
        self._now = now
        self._times: list[float] = []

    def key(self) -> None:
        """Note that a character key arrived now."""
        self._times.append(self._now())

    def finish(self) -> str:
        """The source of the code ended by Enter now (``scanner`` or ``keyboard``)."""
        times = self._times + [self._now()]
        self._times = []
        if len(times) < 4:
            return KEYBOARD
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        return SCANNER if statistics.median(gaps) <= self.max_gap else KEYBOARD

    def reset(self) -> None:
        """Forget the keys so far (the field was cleared)."""
        self._times = []


class KeyLine:
    """The code being typed, key by key, in the order the keys arrive; Enter ends it.

    The kiosk has one line for the whole app, not one per screen: a scanner (or a
    paste) sending ``CARD⏎BOOK⏎`` in one burst gives two codes even when the first
    opens another screen while the second is still being typed, and no key of one
    code lands in another. :meth:`clear` drops what was typed without an Enter (a
    visitor who walked away leaves nothing for the next).

    Args:
        max_gap_ms: the median gap between keys below which a code is a scanner's.
        max_length: the most characters kept (the rest of an overlong code is dropped,
            one more than the longest valid code, so it is still seen as overlong).
        now: the clock, in seconds (tests pass their own).
    """

    def __init__(
        self, max_gap_ms: float = 60.0, max_length: int = 1000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_length = max_length
        self.text = ""
        self._timer = WedgeTimer(max_gap_ms, now)

    def type(self, characters: str) -> None:
        """Characters typed (a key, or a pasted piece without line ends)."""
        for character in characters:
            self._timer.key()
            if len(self.text) < self.max_length:
                self.text += character

    def backspace(self) -> None:
        """The last character typed is taken back (a person correcting a typo)."""
        self.text = self.text[:-1]

    def enter(self) -> tuple[str, str] | None:
        """Enter: the code typed and who typed it (``None`` for an empty line)."""
        code, self.text = self.text, ""
        source = self._timer.finish()
        return (code, source) if code.strip() else None

    def paste(self, text: str) -> list[tuple[str, str]]:
        """A paste: every line it ends is a code (CR, LF or CRLF); a last piece without
        a line end stays typed, waiting for its Enter."""
        codes = []
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for piece in lines[:-1]:
            self.type(piece)
            code = self.enter()
            if code is not None:
                codes.append(code)
        self.type(lines[-1])
        return codes

    def clear(self) -> None:
        """Forget what was typed without an Enter."""
        self.text = ""
        self._timer.reset()
