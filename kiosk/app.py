"""The Textual app: screen routing, the kiosk lock and the idle timeout; nothing else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from kiosk.bridges.camera import CameraBuilder, CameraLink
from kiosk.bridges.db_thread import DatabaseThread
from kiosk.bridges.links import ThreadMessages
from kiosk.bridges.scans import ScanLink
from kiosk.bridges.sync import SyncLink
from kiosk.config import Config
from kiosk.data.lending.circulation import Circulation, PatronView
from kiosk.data.sync.worker import SyncWorker
from kiosk.devices.sound import SoundPlayer
from kiosk.locale import set_language, t
from kiosk.locale.names import set_given_names_only
from kiosk.screens.attract import AttractScreen
from kiosk.screens.base import ACTIVITY
from kiosk.screens.idle import IdleWatch
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.reserve import watch_holds
from kiosk.screens.returns import ReturnScreen
from kiosk.screens.routes import open_card_page, pick_class, watch_visits
from kiosk.screens.session import Session
from kiosk.widgets import text_wrap
from kiosk.widgets.status_bar import StatusBar
from kiosk.widgets.verdict import Verdict

T = TypeVar("T")

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 2.0
"""Seconds between database checkpoints in the kiosk's quiet moments."""


class KioskApp(ThreadMessages, IdleWatch, App[None], inherit_bindings=False):
    """The kiosk. In kiosk mode no key a student can press quits or suspends it.

    Textual's own quit (ctrl+q), ctrl+c and the command palette are replaced; the
    terminal's signal keys arrive as plain keys (Textual turns ISIG off, and the
    command line removes ``TEXTUAL_ALLOW_SIGNALS``). Only the librarian's screen,
    opened with card and PIN, leaves.
    """

    TITLE = "Library Kiosk"
    CSS_PATH = str(files("kiosk.assets").joinpath("kiosk.tcss"))
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = [
        Binding("ctrl+q", "quit_request", show=False, priority=True, id="app.quit"),
        Binding("ctrl+c", "quit_request", show=False, priority=True, id="app.interrupt"),
    ]

    def __init__(
        self,
        circulation: Circulation,
        config: Config,
        *,
        camera: CameraBuilder | None = None,
        sync: SyncWorker | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.camera = CameraLink(self, camera)
        self.sync = SyncLink(self, sync)
        self.scans = ScanLink(self, config.scanner_max_gap_ms)
        self.circulation = circulation
        self.config = config
        self.library_name = ""
        self._returns_only = False
        self._monotonic = monotonic
        self._last_activity = monotonic()
        self._db = DatabaseThread(circulation.store)
        self.sounds = SoundPlayer(
            enabled=config.sound, volume=config.sound_volume, player=config.sound_player
        )
        set_language(config.language)
        set_given_names_only(config.given_names_only)
        text_wrap.install()  # Chinese lines break by Chinese rules
        self.attract = AttractScreen()

    @property
    def returns_only(self) -> bool:
        """Whether the end-of-term "returns only" switch is on (as this kiosk last read it)."""
        return self._returns_only

    @returns_only.setter
    def returns_only(self, on: bool) -> None:
        self._returns_only = on
        for screen in self.screen_stack:  # the top bar says it at once, on every screen
            for bar in screen.query(StatusBar):
                bar.returns_only = on

    async def run_db(self, function: Callable[..., T], *args: Any) -> T:
        """Run a database call on the kiosk's database thread and await its result."""
        return await self._db.run(function, *args)

    async def on_mount(self) -> None:
        try:
            self.library_name = await self.run_db(self.circulation.library_name)
            self.returns_only = await self.run_db(self.circulation.returns_only)
        except Exception:  # the screens say what is wrong at the first scan
            log.exception("cannot read the library's settings")
        await self.push_screen(self.attract)
        self.scans.start()
        self.camera.start()
        self.sync.start()
        self.set_interval(0.5, self.check_timeout)
        self.set_interval(CHECKPOINT_EVERY, self._checkpoint_when_quiet)
        watch_visits(self)
        watch_holds(self)

    def on_unmount(self) -> None:
        self.scans.stop()
        self.camera.stop()
        self.sync.stop()
        self._db.close()
        self.sounds.close()

    def on_verdict_said(self, message: Verdict.Said) -> None:
        """A message on screen wants its sound (done, refused, see the librarian)."""
        self.sounds.play(message.sound)

    # -- idle timeout -----------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, ACTIVITY):
            self.touch()
        if (
            isinstance(event, (events.Key, events.Paste))
            and not event.is_forwarded
            and self.scans.take(event)  # the scan field's keys, in the order they come
        ):
            return
        await super().on_event(event)

    # -- routing ----------------------------------------------------------------------

    def reset_to_attract(self) -> None:
        """Back to the attract screen, forgetting everything about the last visitor."""
        while len(self.screen_stack) > 1 and self.screen is not self.attract:
            self.pop_screen()
        self.scans.clear()  # half a code typed for the last visitor is not the next one's
        set_language(self.config.language)  # the next visitor starts in the kiosk's language
        self.touch()

    def open_patron(
        self, patron: PatronView, *, replace: bool = False, session: Session | None = None
    ) -> None:
        """Show the page a card opens (:func:`kiosk.screens.routes.open_card_page`)."""
        self.touch()
        open_card_page(self, patron, replace=replace, session=session)

    def open_class_visit(self, teacher: PatronView, session: Session) -> None:
        """A teacher's "Class visit": pick the class."""
        pick_class(self, teacher, session)

    def show(self, screen: Screen[Any], *, replace: bool) -> None:
        """Show ``screen`` in place of the current one, or over the start screen."""
        if replace and self.screen is not self.attract:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def open_returns(self, first_code: str | None = None) -> None:
        """Start returning books, optionally with the book just scanned."""
        self.touch()
        self.push_screen(ReturnScreen(first_code))

    def show_receipt(self, session: Session) -> None:
        """End a visit with its receipt."""
        self.touch()
        self.scans.clear()
        self.switch_screen(ReceiptScreen(session))

    def action_quit_request(self) -> None:
        """ctrl+q / ctrl+c: quits only outside kiosk mode."""
        if self.config.kiosk_mode:
            self.notify(t("status.locked"), severity="warning", timeout=4)
        else:
            self.exit()
