"""One line of tab names: the chosen one highlighted, each one clicked or touched.

A single widget instead of Textual's ``Tabs`` (a widget per tab and an animated
underline), so a screen with tabs opens quickly; the screen moves between tabs
with its function keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content
from textual.markup import escape
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class TabStrip(Widget):
    """Tab names in a row; a click posts :class:`TabStrip.Picked` with the tab's id."""

    DEFAULT_CSS = """
    TabStrip { height: 1; width: 1fr; background: $primary-darken-3; }
    """

    active = reactive("")

    @dataclass
    class Picked(Message):
        """A tab name was clicked."""

        strip: TabStrip
        tab: str

        @property
        def control(self) -> TabStrip:
            """The strip the tab belongs to."""
            return self.strip

    def __init__(self, tabs: Sequence[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.tabs = list(tabs)
        self.active = self.tabs[0][0] if self.tabs else ""

    def render(self) -> Content:
        parts = []
        for tab, label in self.tabs:
            style = "bold reverse " if tab == self.active else ""
            parts.append(f"[{style}@click=pick('{tab}')] {escape(label)} [/]")
        return Content.from_markup(" ".join(parts))

    def action_pick(self, tab: str) -> None:
        """A tab name was clicked or touched."""
        self.post_message(self.Picked(self, tab))
