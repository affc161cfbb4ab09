"""What a dialog that takes a pile of scanned codes shares: codes typed into its own
field, and codes from the camera or the kiosk's scan line while it is open."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from kiosk.bridges.messages import Scanned


class TakesCodes:
    """Mixed into a dialog (a Textual screen) that has ``take(code)``."""

    app: Any

    async def take(self, code: str) -> None:
        raise NotImplementedError

    async def take_typed(self, event: Input.Submitted) -> None:
        """A code typed (or a USB scanner's burst) into the dialog's own field."""
        event.stop()
        code = event.value.strip()
        event.input.value = ""
        if code:
            await self.take(code)

    async def on_scanned(self, message: Scanned) -> None:
        """A code from the camera (or the kiosk's scan line) while the dialog is open."""
        message.stop()
        touch = getattr(self.app, "touch", None)  # (the desk's app has no idle timeout)
        if touch is not None:
            touch()
        try:
            await self.take(message.code)
        finally:
            if message.done is not None:
                message.done.set()
