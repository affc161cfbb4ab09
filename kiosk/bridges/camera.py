"""The camera thread's link to the app: its callbacks become messages, and back on the
UI thread those messages update the preview and become scans.

The camera (``kiosk.devices.camera``) knows nothing of Textual; the screens never
open the camera. This module is the only place the two meet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.bridges.messages import CameraFrame, CameraRead, CameraState, Scanned
from kiosk.bridges.scans import takes_scans
from kiosk.locale import t
from kiosk.widgets.camera_preview import CameraPreview
from kiosk.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)


class CameraLike(Protocol):
    """What the app needs of a camera: start and stop."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 2.0) -> None: ...


CameraBuilder = Callable[..., CameraLike]
"""Makes the camera, given ``on_scan``, ``on_frame`` and ``on_status`` callbacks."""


class CameraLink:
    """Owns the app's camera, if it has one, and relays between thread and screen."""

    def __init__(self, app: App[Any], builder: CameraBuilder | None) -> None:
        self.app = app
        self.state = "off" if builder is None else "starting"
        self.camera: CameraLike | None = None
        if builder is not None:
            self.camera = builder(
                on_scan=self._scanned, on_frame=self._framed, on_status=self._status
            )

    # -- on the camera thread: only post messages (thread-safe) -------------------------

    def _scanned(self, detection: Any) -> None:
        self.app.post_message(CameraRead(detection.text))

    def _framed(self, frame: Any, detections: Any) -> None:
        outlines = [list(detection.polygon) for detection in detections]
        self.app.post_message(CameraFrame(frame, outlines))

    def _status(self, status: Any) -> None:
        self.app.post_message(CameraState(status.state, status.message))

    # -- on the UI thread -------------------------------------------------------------

    def start(self) -> None:
        """Start the camera thread (if there is a camera)."""
        if self.camera is not None:
            self.camera.start()

    def stop(self) -> None:
        """Stop the camera thread."""
        if self.camera is not None:
            self.camera.stop()

    def frame(self, message: CameraFrame) -> None:
        """Show a preview frame on the screen's preview."""
        for preview in self.app.screen.query(CameraPreview):
            preview.show(message.frame, message.outlines)

    def read(self, message: CameraRead) -> bool:
        """A code read by the camera: signal it and hand it to the screen as a scan.

        Returns whether a screen took it (a dialog on top does not).
        """
        screen = self.app.screen
        if not takes_scans(screen):
            return False  # a dialog (PIN, return-or-renew) is on top: not a scan now
        for preview in screen.query(CameraPreview):
            preview.seen()
        screen.post_message(Scanned(message.text, "camera"))
        return True

    def status(self, message: CameraState) -> None:
        """The camera came or went: say so on the screen, calmly."""
        if message.state != self.state:
            log.info("camera %s: %s", message.state, message.message)
        self.state = message.state
        self.show_state()

    def show_state(self) -> None:
        """Bring the current screen's preview and status bar up to the camera's state."""
        for preview in self.app.screen.query(CameraPreview):
            preview.display = self.state != "off"
            if self.state in ("starting", "lost"):
                preview.away(t(f"camera.{self.state}"))
        for bar in self.app.screen.query(StatusBar):
            bar.camera = self.state
