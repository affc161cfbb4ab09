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
