"""The app's side of the background sync: start and stop the worker, show its state.

The worker (:class:`kiosk.data.sync.worker.SyncWorker`) is a plain thread; its reports
come here as :class:`~kiosk.bridges.messages.SyncState` messages and go into every
screen's status bar.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.bridges.messages import SyncState
from kiosk.data.sync.worker import SyncStatus, SyncWorker
from kiosk.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual.app import App


log = logging.getLogger(__name__)


class SyncLink:
    """The app's side of the background sync: start it, stop it, show its state."""

    def __init__(self, app: App[None], worker: SyncWorker | None) -> None:
        self.app = app
        self.worker = worker
        self.status: SyncStatus | None = None
        """The last state reported (``None``: this kiosk does not sync, or not yet)."""
        if worker is not None:
            worker.report = lambda status: app.post_message(SyncState(status))

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def show(self, message: SyncState) -> None:
        """Put the new state in the status bars (each screen has its own)."""
        self.status = message.status
        self.show_state()

    def show_state(self) -> None:
        """Bring the status bars up to the sync's state (the ones under a dialog too)."""
        for screen in self.app.screen_stack:
            for bar in screen.query(StatusBar):
                bar.sync = self.status

