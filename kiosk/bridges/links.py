"""The app's handlers for the messages its background threads send (camera, sync).

The camera thread and the sync thread never touch the screens; they post messages,
and these handlers, mixed into the app, pass them to their links on the UI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.bridges.camera import CameraLink
from kiosk.bridges.messages import CameraFrame, CameraRead, CameraState, SyncState
from kiosk.bridges.sync import SyncLink
from kiosk.config import Config


class ThreadMessages:
    """Mixed into :class:`kiosk.app.KioskApp`."""

    camera: CameraLink
    sync: SyncLink
    config: Config
    # The app's own, declared here for the type checker only (a stub here would
    # come before the app's in the method resolution order).
    if TYPE_CHECKING:

        def touch(self) -> None: ...

        def bell(self) -> None: ...

    def on_camera_frame(self, message: CameraFrame) -> None:
        self.camera.frame(message)

    def on_camera_read(self, message: CameraRead) -> None:
        if self.camera.read(message):
            self.touch()
            if self.config.bell:
                self.bell()  # the scan sound

    def on_camera_state(self, message: CameraState) -> None:
        self.camera.status(message)

    def on_sync_state(self, message: SyncState) -> None:
        self.sync.show(message)
