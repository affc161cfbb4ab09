"""The line at the top of every kiosk screen, and the idle countdown at the bottom."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label, Static

from kiosk.data.sync.worker import SyncStatus
from kiosk.locale import t


class StatusBar(Horizontal):
    """Library name, the returns-only notice and the time."""

    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $primary-darken-3; }
    StatusBar #library { width: 1fr; padding: 0 1; text-style: bold; }
    StatusBar #mode { width: auto; padding: 0 1; background: $warning-darken-2; display: none; }
    StatusBar #mode.-on { display: block; }
    StatusBar #clock { width: auto; padding: 0 1; }
    StatusBar #camera { width: auto; padding: 0 1; display: none; }
    StatusBar #camera.-running { display: block; color: $success; }
    StatusBar #camera.-starting { display: block; }
    StatusBar #camera.-lost { display: block; background: $warning-darken-2; }
    StatusBar #sync { width: auto; padding: 0 1; display: none; }
    StatusBar #sync.-online { display: block; color: $success; }
    StatusBar #sync.-offline { display: block; background: $warning-darken-2; }
    """

    library = reactive("")
    returns_only = reactive(False)
    camera = reactive("off")
    """The camera's state: off (none configured), starting, running or lost."""
    sync: reactive[SyncStatus | None] = reactive(None)
    """The sync with the desk (``None``: this kiosk does not sync)."""

    def compose(self) -> ComposeResult:
        yield Label(self.library, id="library", markup=False)
        yield Label(t("status.returns_only"), id="mode")
        yield Label(id="camera")
        yield Label(id="sync", markup=False)
        yield Label(id="clock")

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(10, self._tick)

    def _label(self, name: str) -> Label | None:
        """The label ``name``, or None while the bar is still being built or torn down
        (a screen can close before its widgets are all mounted)."""
        return next(iter(self.query(f"#{name}").results(Label)), None)

    def _tick(self) -> None:
        if clock := self._label("clock"):
            clock.update(datetime.now().strftime("%H:%M"))

    def watch_library(self, name: str) -> None:
        if label := self._label("library"):
            label.update(name)

    def watch_camera(self, state: str) -> None:
        if label := self._label("camera"):
            label.set_classes(f"-{state}")
            if state != "off":
                label.update(t(f"status.camera_{state}"))

    def watch_sync(self, status: SyncStatus | None) -> None:
        if label := self._label("sync"):
            label.set_classes("" if status is None else "-online" if status.online else "-offline")
            if status is not None:
                label.update(sync_text(status))

    def watch_returns_only(self, on: bool) -> None:
        if label := self._label("mode"):
            label.set_class(on, "-on")


def sync_text(status: SyncStatus) -> str:
    """"Online", or "Offline since 10:32", and how many facts wait to be sent."""
    if status.problem:
        text = t("status.sync_refused")
    elif status.online:
        text = t("status.sync_online")
    elif status.offline_since is not None:
        text = t("status.sync_offline", since=status.offline_since.strftime("%H:%M"))
    else:
        text = t("status.sync_offline_unknown")
    if status.waiting > 0:
        text += " · " + t("status.sync_waiting", count=status.waiting)
    return text


class Countdown(Static):
    """"Going back to the start in N s": shown only in the last seconds before timeout.

    On a kiosk screen it stands just above the scan field (both in the screen's one
    bottom dock: two widgets docked at the bottom would lie on top of each other); a
    dialog gives it the class ``-docked`` to keep it at its own bottom edge.
    """

    DEFAULT_CSS = """
    Countdown {
        height: auto; width: 1fr; margin: 0 1; padding: 0 1;
        background: $warning; color: $text; text-style: bold; text-align: center;
        display: none;
    }
    Countdown.-shown { display: block; }
    Countdown.-docked { dock: bottom; width: 100%; margin: 0; }
    """

    seconds: reactive[int | None] = reactive(None)

    def watch_seconds(self, seconds: int | None) -> None:
        self.set_class(seconds is not None, "-shown")
        if seconds is not None:
            self.update(t("idle.countdown", seconds=seconds))
