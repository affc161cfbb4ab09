"""The one keyboard input path: a field that a scanner or a person types a code into."""

from __future__ import annotations

from textual import events, on
from textual.widgets import Input

from kiosk.data.text import MAX_CODE_LENGTH
from kiosk.devices.wedge import WedgeTimer
from kiosk.locale import t
from kiosk.messages import Scanned


class ScanBar(Input):
    """Takes a code typed by a keyboard-wedge scanner or a person and posts ``Scanned``.

    It keeps the focus on every kiosk screen so a scanner's keys always land here.
    One character more than the longest valid code is kept, so an overlong code is
    always seen as overlong rather than cut into a valid-looking one.
    """

    DEFAULT_CSS = """
    ScanBar { dock: bottom; margin: 0 1; }
    """

    def __init__(self, max_gap_ms: float = 60.0, **kwargs: object) -> None:
        super().__init__(
            placeholder=t("scanbar.placeholder"),
            max_length=MAX_CODE_LENGTH + 1,
            select_on_focus=False,
            **kwargs,  # type: ignore[arg-type]
        )
        self._timer = WedgeTimer(max_gap_ms)

    def on_key(self, event: events.Key) -> None:
        """Time each printable key, for telling a scanner from a person."""
        if event.is_printable:
            self._timer.key()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        source = self._timer.finish()
        code = event.value
        self.clear()
        if code.strip():
            self.post_message(Scanned(code, source))

    def on_blur(self) -> None:
        """Half-typed input is dropped when the field loses focus."""
        self._timer.reset()
