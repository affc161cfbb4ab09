"""The keyboard's scans: one line for the whole app, and one scan at a time.

A keyboard-wedge scanner (or a paste) can send ``CARD⏎BOOK⏎`` in one burst, and
key events reach the app faster than the screens handle scans. Typed into each
screen's own field, the card's Enter opened the patron page while the book's keys
were still arriving: they were split between two fields, or cleared with the card's
field, or merged with it ("card cannot be read", "book not found"), and what was left
spoiled the next visitor's card. So:

* :class:`ScanLink` takes the scan field's keys in the app, in the order they arrive,
  into one :class:`~kiosk.devices.wedge.KeyLine`; every Enter (or line end of a
  paste) ends one code, whatever screen is on top meanwhile. The scan field on
  screen only shows the line.
* Codes wait in one queue and are handed out one at a time, each to the screen on
  top when the one before it has been handled: the card opens the patron page, then
  the book is borrowed on that page.
* What was typed without an Enter is dropped when the visitor's session ends (the
  idle timeout, the receipt): nothing typed for one visitor reaches the next.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from textual import events

from kiosk.bridges.messages import Scanned
from kiosk.data.core.text import MAX_CODE_LENGTH
from kiosk.devices.wedge import KeyLine
from kiosk.widgets.scan_bar import ScanBar

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

log = logging.getLogger(__name__)


def takes_scans(screen: Screen[Any]) -> bool:
    """Whether ``screen`` is a kiosk screen, which handles ``Scanned`` (a dialog does not)."""
    return bool(getattr(screen, "TAKES_SCANS", False))


class ScanLink:
    """The app's side of the scan field: assembles typed codes and delivers them."""

    def __init__(self, app: App[None], max_gap_ms: float) -> None:
        self.app = app
        self.line = KeyLine(max_gap_ms, MAX_CODE_LENGTH + 1)
        self._queue: asyncio.Queue[tuple[str, str]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start handing out scans (the app is running)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._deliver_all(), name="kiosk scans")

    def stop(self) -> None:
        """Stop handing out scans."""
        if self._task is not None:
            self._task.cancel()

    # -- keys -------------------------------------------------------------------------

    def take(self, event: events.Event) -> bool:
        """Take a key or a paste meant for the scan field; whether it was taken.

        Only while the scan field has the focus (or a kiosk screen just came up and
        has not given it yet): a dialog's own fields get their keys as usual.
        """
        if not self._for_scan_field():
            return False
        if isinstance(event, events.Paste):
            for code, source in self.line.paste(event.text):
                self.scanned(code, source)
        elif isinstance(event, events.Key):
            if event.key == "enter":
                typed = self.line.enter()
                if typed is not None:
                    self.scanned(*typed)
            elif event.key == "backspace":
                self.line.backspace()
            elif event.is_printable and event.character:
                self.line.type(event.character)
            else:
                return False
        else:
            return False
        event.stop()
        self.show()
        return True

    def _for_scan_field(self) -> bool:
        screen = self.app.screen
        focused = screen.focused
        return takes_scans(screen) and (focused is None or isinstance(focused, ScanBar))

    def show(self) -> None:
        """Show the line in the scan field of the screen on top."""
        for bar in self.app.screen.query(ScanBar):
            bar.show(self.line.text)

    def clear(self) -> None:
        """The visitor has gone: drop what was typed without an Enter."""
        if self.line.text:
            log.info("dropped %d characters typed without Enter", len(self.line.text))
        self.line.clear()
        self.show()

    # -- scans ------------------------------------------------------------------------

    def scanned(self, code: str, source: str) -> None:
        """A code to hand out (after the ones before it)."""
        if self._queue is None:  # not running: straight to the screen on top
            self.app.screen.post_message(Scanned(code, source))
        else:
            self._queue.put_nowait((code, source))

    async def _deliver_all(self) -> None:
        assert self._queue is not None
        while True:
            code, source = await self._queue.get()
            try:
                await self.deliver(code, source)
            except Exception:  # one scan must never stop the next ones
                log.exception("handing out a scan failed")

    async def deliver(self, code: str, source: str) -> None:
        """Hand one code to the screen on top and wait until it has been handled.

        A screen that goes away before it takes the code (it was closing) passes it
        on: the code goes to the screen on top then. A dialog on top (the PIN) is
        not a place for a scan: the code is dropped, as the camera's would be.
        """
        while True:
            screen = self.app.screen
            if not takes_scans(screen):
                log.info("a scan arrived while a dialog was open: not taken")
                return
            done = asyncio.Event()
            if screen.post_message(Scanned(code, source, done=done)):
                while not done.is_set() and not screen._closed:
                    try:
                        await asyncio.wait_for(done.wait(), 0.1)
                    except TimeoutError:
                        continue
                if done.is_set():
                    return
            await asyncio.sleep(0)  # that screen closed without it: the next one on top
