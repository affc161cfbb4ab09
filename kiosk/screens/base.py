"""What every full kiosk screen shares: status bar, scan field, countdown, service calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button

from kiosk.bridges.messages import Scanned
from kiosk.data.core.errors import KioskError
from kiosk.data.lending.circulation import Circulation, PatronView
from kiosk.data.roles import Roles
from kiosk.widgets.camera_preview import CameraPreview
from kiosk.widgets.scan_bar import ScanBar
from kiosk.widgets.status_bar import Countdown, StatusBar
from kiosk.widgets.verdict import Verdict

if TYPE_CHECKING:
    from kiosk.screens.host import KioskHost

T = TypeVar("T")

log = logging.getLogger(__name__)

ACTIVITY = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp, events.Paste)
"""What counts as someone at the screen, for the kiosk's and the desk's idle timers."""


class KioskScreen(Screen[None]):
    """A kiosk screen: subclasses give ``compose_body`` and ``handle_scan``.

    ``IDLE_TIMEOUT`` is the seconds of quiet after which the kiosk goes back to the
    attract screen (``None``: never; the app's configured value when not set).
    """

    IDLE_TIMEOUT: ClassVar[float | None] = -1.0
    """-1 means: the configured idle timeout."""

    SHOWS_CAMERA: ClassVar[bool] = False
    """Whether the camera preview is shown (on the screens that take scans)."""

    TAKES_SCANS: ClassVar[bool] = True
    """Every kiosk screen handles ``Scanned`` (:mod:`kiosk.bridges.scans` asks; a dialog
    does not)."""

    @property
    def kiosk(self) -> KioskHost:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def circulation(self) -> Circulation:
        """The circulation service."""
        return self.kiosk.circulation

    @property
    def roles(self) -> Roles:
        """The roles service (class visits, helper shifts, shelf checks)."""
        return Roles(self.circulation)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        if self.SHOWS_CAMERA and self.kiosk.camera.state != "off":
            yield CameraPreview(id="preview")
        yield from self.compose_body()
        with Vertical(id="bottom"):  # one dock: the countdown stands on the scan field
            yield Countdown()
            yield ScanBar(id="scan")

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the status bar and the scan field."""
        return iter(())

    def on_mount(self) -> None:
        bar = self.query_one(StatusBar)
        bar.library = self.kiosk.library_name
        bar.returns_only = self.kiosk.returns_only
        self.query_one(ScanBar).focus()
        self.kiosk.scans.show()  # a code being typed as this screen came up
        self.kiosk.camera.show_state()
        self.kiosk.sync.show_state()

    def on_screen_resume(self) -> None:
        self.query_one(ScanBar).focus()
        self.kiosk.scans.show()
        self.query_one(StatusBar).returns_only = self.kiosk.returns_only
        self.kiosk.camera.show_state()
        self.kiosk.sync.show_state()

    def timeout(self, configured: float) -> float | None:
        """Seconds of quiet before this screen gives way to the start (``None``: never)."""
        if self.IDLE_TIMEOUT is not None and self.IDLE_TIMEOUT < 0:
            return configured
        return self.IDLE_TIMEOUT

    def countdown(self, seconds: int | None) -> None:
        """Show the last seconds before the timeout (``None`` hides the countdown)."""
        for box in self.query(Countdown):
            box.seconds = seconds

    def action_press(self, button_id: str) -> None:
        """A function key presses the button it is shown on."""
        for button in self.query(f"#{button_id}"):
            if isinstance(button, Button) and button.display and not button.disabled:
                button.press()

    async def open_card(self, code: str, *, blocked_ok: bool = False) -> PatronView | None:
        """Check a scanned card: its patron, or ``None`` after showing why it is refused
        (``blocked_ok``: a blocked card is its patron, marked ``blocked``)."""
        try:
            return await self.call(partial(self.circulation.open_card, blocked_ok=blocked_ok),
                                   code)
        except KioskError as error:
            self.show_error(error)
            return None

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a service call on the database thread without blocking the screen."""
        return await self.kiosk.run_db(function, *args)

    async def on_scanned(self, message: Scanned) -> None:
        """Every code, from any device, arrives here; no error escapes to end the app."""
        message.stop()
        if not self.is_current:
            # Queued while this screen was giving way (a card opened another page):
            # the scan belongs to the screen now on top, never to this one.
            screen = self.app.screen
            if isinstance(screen, KioskScreen) and screen.post_message(
                Scanned(message.code, message.source, done=message.done)
            ):
                return  # (that screen says when it is done)
            if message.done is not None:
                message.done.set()
            return
        try:
            self.kiosk.touch()
            await self.handle_scan(message.code)
        except KioskError as error:
            self.show_error(error)
        except Exception:
            log.exception("a scan failed on %s", type(self).__name__)
            self.show_error(KioskError("error.unexpected"))
        finally:
            if message.done is not None:
                message.done.set()

    def show_error(self, error: KioskError) -> None:
        """Say what went wrong in this screen's message box."""
        for box in self.query(Verdict):
            box.refuse(error)

    async def handle_scan(self, code: str) -> None:
        """What this screen does with a scanned code."""
