"""Messages that travel from the input devices to the screens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from kiosk.data.sync.worker import SyncStatus


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


@dataclass
class SyncState(Message):
    """The background sync finished a round: online or offline, and what is waiting."""

    status: SyncStatus
