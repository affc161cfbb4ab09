"""Helpers for the Pilot tests: start the kiosk on a test library, scan, read the screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Static

from kiosk.app import KioskApp
from kiosk.bridges.messages import Scanned
from kiosk.config import Config
from kiosk.data.lending.circulation import Circulation
from kiosk.widgets.verdict import Verdict


class FakeMonotonic:
    """A monotonic clock the test moves, for the idle timeout."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.now += seconds


def make_app(
    circulation: Circulation, *, language: str = "en", monotonic: FakeMonotonic | None = None,
    camera: Any = None, sync: Any = None, **settings: Any,
) -> KioskApp:
    """The kiosk app on ``circulation`` with test settings (no bell, no sound, English, no
    camera)."""
    settings.setdefault("bell", False)
    settings.setdefault("sound", False)
    config = Config(language=language, **settings)
    return KioskApp(
        circulation, config, camera=camera, sync=sync, monotonic=monotonic or FakeMonotonic()
    )


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds (database calls run on a thread)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting; screen is {screen_name(pilot)}:\n"
                                 f"{screen_text(pilot)}")
        await pilot.pause(0.01)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``condition()`` (a database read, such as the desk's) to hold, calling it
    in a thread, off the app's loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(condition):
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def type_code(pilot: Pilot[Any], code: str) -> None:
    """Type ``code`` and Enter into the scan field, as a keyboard-wedge scanner does."""
    await pilot.press(*code, "enter")


def post_scan(pilot: Pilot[Any], code: str, source: str = "scanner") -> None:
    """Deliver ``code`` the way the camera does (any characters, no keyboard)."""
    pilot.app.screen.post_message(Scanned(code, source))


def screen_name(pilot: Pilot[Any]) -> str:
    """The class name of the screen on top."""
    return type(pilot.app.screen).__name__


def screen_text(pilot: Pilot[Any]) -> str:
    """All the text the visible Static widgets of the top screen show, one per line."""
    parts = []
    for widget in pilot.app.screen.query(Static):
        if widget.display and widget.is_mounted:
            parts.append(str(widget.render()))
    return "\n".join(parts)


def verdict(pilot: Pilot[Any]) -> str:
    """The text of the big message box of the top screen ('' when hidden or none)."""
    boxes = pilot.app.screen.query("#verdict")
    if not boxes:
        return ""  # a dialog is on top
    box = boxes.first(Static)
    return str(box.render()) if box.has_class("-shown") else ""


def verdict_count(pilot: Pilot[Any]) -> int:
    """How many messages the top screen's message box has shown."""
    return pilot.app.screen.query_one("#verdict", Verdict).count


async def scan_and_wait(pilot: Pilot[Any], code: str, *, typed: bool = False) -> str:
    """Scan ``code`` and return the message the kiosk answers with.

    Delivered as a scanner's code (the same ``Scanned`` message the scan field posts),
    or, with ``typed``, typed key by key into the scan field (slow under Pilot: about
    60 ms a key, so only the tests of the keyboard path do it).
    """
    before = verdict_count(pilot)
    if typed:
        await type_code(pilot, code)
    else:
        post_scan(pilot, code)
    await wait_until(pilot, lambda: verdict_count(pilot) > before)
    return verdict(pilot)


async def scan_to(pilot: Pilot[Any], code: str, screen: str) -> None:
    """Scan ``code`` and wait until the screen (or dialog) named ``screen`` is on top."""
    post_scan(pilot, code)
    await on_screen(pilot, screen)


async def on_screen(pilot: Pilot[Any], screen: str) -> None:
    """Wait until the screen named ``screen`` is on top, mounted and drawn.

    (On a busy machine a new screen is on the stack a moment before its ``on_mount``
    has filled it in.)
    """
    await wait_until(pilot, lambda: screen_name(pilot) == screen and pilot.app.screen.is_mounted)
    await pilot.pause()


async def click(pilot: Pilot[Any], selector: str) -> None:
    """Click ``selector`` once it is laid out on the screen on top.

    A click sent while a freshly pushed screen is still being laid out lands where
    the button is not yet (Pilot clicks at the widget's current region), so wait for
    the region and one more refresh first.
    """

    def placed() -> bool:
        try:
            return bool(pilot.app.screen.query_one(selector).region)
        except NoMatches:
            return False

    await wait_until(pilot, placed)
    await pilot.pause()
    await pilot.click(selector)


async def click_to(pilot: Pilot[Any], selector: str, screen: str) -> None:
    """Click ``selector`` and wait until the screen named ``screen`` is on top."""
    await click(pilot, selector)
    await on_screen(pilot, screen)


def uncovered(app: Any, widget: Any) -> bool:
    """Whether ``widget`` is on the screen on top, whole, and no other widget hides any
    of it (a Pilot test passes while a widget is drawn under another)."""
    region = widget.region
    if not widget.display or not region.width or not region.height:
        return False
    if not app.screen.region.contains_region(region):
        return False
    for y in range(region.y, region.bottom):
        for x in (region.x, region.x + region.width // 2, region.right - 1):
            found, _ = app.screen.get_widget_at(x, y)
            if found is not widget and widget not in found.ancestors:
                return False
    return True


class QuietCamera:
    """A webcam that is plugged in and shows nothing yet (its preview takes its place
    on screen; the camera thread itself is tested elsewhere)."""

    def __init__(self, **callbacks: object) -> None:
        self.callbacks = callbacks

    def start(self) -> None:
        """Nothing to start."""

    def stop(self, timeout: float = 2.0) -> None:
        """Nothing to stop."""
