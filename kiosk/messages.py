"""Messages that travel from the input devices to the screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Scanned(Message):
    """A code arrived from a scanner, the camera or the keyboard.

    Every screen that accepts codes handles this one message, whatever the device.
    """

    code: str
    source: str
