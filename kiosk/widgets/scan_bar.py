"""The scan field: where the code being typed by a scanner or a person is shown."""

from __future__ import annotations

from textual.widgets import Input

from kiosk.data.core.text import MAX_CODE_LENGTH
from kiosk.locale import t


class ScanBar(Input):
    """Shows the code a keyboard-wedge scanner or a person is typing.

    It keeps the focus on every kiosk screen so a scanner's keys always land here;
    the app takes those keys, in the order they arrive, into one line for the whole
    app and hands out each code ended by Enter (:mod:`kiosk.bridges.scans`), so a burst
    of codes is never split or merged by the screens changing under it. This field
    only shows that line.
    """

    DEFAULT_CSS = """
    ScanBar { margin: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            placeholder=t("scanbar.placeholder"),
            max_length=MAX_CODE_LENGTH + 1,
            select_on_focus=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def show(self, text: str) -> None:
        """Show ``text``, the code typed so far, with the cursor after it."""
        if self.value != text:
            self.value = text
        self.cursor_position = len(text)
