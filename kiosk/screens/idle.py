"""The kiosk's idle watch, mixed into :class:`kiosk.app.KioskApp`: the countdown of the
last seconds, the way back to the start when the visitor has gone quiet, and the
database's checkpoints in the pauses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.screens.base import KioskScreen
from kiosk.widgets.status_bar import Countdown

if TYPE_CHECKING:
    from textual.screen import Screen

    from kiosk.bridges.db_thread import DatabaseThread
    from kiosk.config import Config


class IdleWatch:
    """Mixed into the app, which sets ``_monotonic``, ``_last_activity``, ``_db`` and
    ``config`` and calls :meth:`check_timeout` twice a second."""

    config: Config
    _monotonic: Callable[[], float]
    _last_activity: float
    _db: DatabaseThread

    # The app's own, declared here for the type checker only.
    if TYPE_CHECKING:
        screen_stack: list[Screen[Any]]
        screen: Screen[Any]

        def reset_to_attract(self) -> None: ...

    async def _checkpoint_when_quiet(self) -> None:
        """Checkpoint the database in a pause, so no scan's commit has to."""
        if self._monotonic() - self._last_activity >= 1.0:
            await self._db.checkpoint()

    def touch(self) -> None:
        """Someone is using the kiosk: restart the idle timeout."""
        self._last_activity = self._monotonic()

    def _kiosk_screen(self) -> KioskScreen | None:
        kiosk_screens = (s for s in reversed(self.screen_stack) if isinstance(s, KioskScreen))
        return next(kiosk_screens, None)

    def check_timeout(self) -> None:
        """Count down, and go back to the start when the visitor has gone quiet."""
        screen = self._kiosk_screen()
        if screen is None:
            return
        timeout = screen.timeout(self.config.idle_timeout)
        if timeout is None and self.screen is not screen:
            timeout = self.config.idle_timeout  # a dialog left open on the start screen
        left = None if timeout is None else timeout - (self._monotonic() - self._last_activity)
        if left is not None and left <= 0:
            self.reset_to_attract()
        else:
            seconds = math.ceil(left) if left and left <= self.config.countdown else None
            screen.countdown(seconds)
            if self.screen is not screen:  # a dialog on top shows it too
                for box in self.screen.query(Countdown):
                    box.seconds = seconds
