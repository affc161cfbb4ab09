"""Messages that travel from the input devices to the screens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from textual.message import Message


@dataclass
class Scanned(Message):
    """A code arrived from a scanner, the camera or the keyboard.

    Every screen that accepts codes handles this one message, whatever the device.
    """

    code: str
    source: str
    done: asyncio.Event | None = field(default=None, compare=False, repr=False)
    """Set when a screen has handled the scan (:mod:`kiosk.bridges.scans` waits for it
    before it hands out the next one)."""


@dataclass
class CameraFrame(Message):
    """A preview frame from the camera thread, with the outlines of codes found in it.

    A newer frame replaces one not yet shown: the preview never falls behind.
    """

    frame: Any
    outlines: list[list[tuple[int, int]]]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CameraFrame)


@dataclass
class CameraRead(Message):
    """The camera read a code that is a new scan (the same code held up is one scan)."""

    text: str


@dataclass
class CameraState(Message):
    """The camera started, is running, or went away (``starting``, ``running``, ``lost``)."""

    state: str
    message: str


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar says about the sync with the desk."""

    online: bool
    waiting: int
    """Facts made here that the desk has not accepted yet (-1: unknown)."""
    offline_since: datetime | None = None
    last_sync: datetime | None = None
    problem: str = ""
    """A translation key when the desk refuses this kiosk (``sync.not_registered``...)."""


@dataclass
class SyncState(Message):
    """The background sync finished a round: online or offline, and what is waiting."""

    status: SyncStatus
